// The overview's three charts (mentions, negative share, mean sentiment) for one series; they
// refresh from /api/series when the live stream (/events) says a newer window closed.
(function () {
  "use strict";
  var source = document.getElementById("series-data");
  if (!source || typeof Chart === "undefined") { return; }
  var series = JSON.parse(source.textContent || "{}");
  var accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#1f5fbf";
  var bad = getComputedStyle(document.documentElement).getPropertyValue("--bad").trim() || "#b42318";

  function label(iso) { return series.range === "week" ? iso.slice(5, 13).replace("T", " ") + "h" : iso.slice(11, 16); }

  function line(id, title, values, color, scale) {
    return new Chart(document.getElementById(id), {
      type: "line",
      data: { labels: series.points.map(function (p) { return label(p.start); }),
              datasets: [{ label: title, data: values(series.points), borderColor: color, borderWidth: 2,
                           pointRadius: 0, tension: 0.2, spanGaps: true }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { display: false } },
                 scales: { y: scale, x: { ticks: { maxTicksLimit: 8, autoSkip: true } } } }
    });
  }

  var volume = function (points) { return points.map(function (p) { return p.n; }); };
  var negative = function (points) { return points.map(function (p) { return p.negative_share === null ? null : Math.round(p.negative_share * 1000) / 10; }); };
  var sentiment = function (points) { return points.map(function (p) { return p.mean_sentiment; }); };
  var charts = [
    [line("volume", "mentions", volume, accent, { beginAtZero: true }), volume],
    [line("negative", "% negative", negative, bad, { min: 0, max: 100 }), negative],
    [line("sentiment", "mean sentiment", sentiment, "#1e7f3c", { min: -1, max: 1 }), sentiment]
  ];

  function refresh() {
    var url = "/api/series?key=" + encodeURIComponent(series.series) + "&range=" + encodeURIComponent(series.range);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (fresh) {
        if (!fresh) { return; }
        series = fresh;
        charts.forEach(function (pair) {
          pair[0].data.labels = fresh.points.map(function (p) { return label(p.start); });
          pair[0].data.datasets[0].data = pair[1](fresh.points);
          pair[0].update();
        });
      })
      .catch(function () { /* the next tick tries again */ });
  }

  var picker = document.getElementById("picker");
  if (picker) {
    picker.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { picker.submit(); });
    });
  }
  if (typeof EventSource !== "undefined") {
    var events = new EventSource("/events");
    events.addEventListener("tick", refresh);
  }
})();
