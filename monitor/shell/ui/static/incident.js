// The incident page's charts: per series, mentions per window against the expected count and
// its usual range, anomalous windows in red. Data comes from <script id="chart-data">.
// When the live stream (/events) says this incident changed, a banner offers to reload.
(function () {
  "use strict";
  var banner = document.getElementById("incident-changed");
  if (banner && typeof EventSource !== "undefined") {
    // What the page shows: an event that says the same (such as this page's own Acknowledge,
    // announced after the reload) is not a change.
    var shown = {
      id: Number(banner.getAttribute("data-incident")),
      status: banner.getAttribute("data-status"),
      severity: banner.getAttribute("data-severity"),
      acknowledged_by: banner.getAttribute("data-acknowledged-by") || null,
      anomaly_count: Number(banner.getAttribute("data-anomaly-count"))
    };
    new EventSource("/events").addEventListener("incident", function (event) {
      var now = JSON.parse(event.data);
      if (now.id !== shown.id) { return; }
      if (now.status !== shown.status || now.severity !== shown.severity ||
          now.acknowledged_by !== shown.acknowledged_by || now.anomaly_count !== shown.anomaly_count) {
        banner.hidden = false;
      }
    });
  }
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(source.textContent || "[]");
  var styles = getComputedStyle(document.documentElement);
  var accent = styles.getPropertyValue("--accent").trim() || "#1f5fbf";
  var bad = styles.getPropertyValue("--bad").trim() || "#b42318";

  function hhmm(iso) { return iso.slice(11, 16); }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var chart = charts[Number(canvas.getAttribute("data-chart"))];
    if (!chart) { return; }
    var points = chart.points;
    var anomalous = points.map(function (p) { return p.anomalous.length > 0; });
    new Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) { return hhmm(p.start); }),
        datasets: [
          { label: "usual range (low)", data: points.map(function (p) { return p.lower; }),
            borderWidth: 0, pointRadius: 0, fill: false, spanGaps: true },
          { label: "usual range", data: points.map(function (p) { return p.upper; }),
            borderWidth: 0, pointRadius: 0, fill: "-1", backgroundColor: "rgba(31,95,191,0.12)",
            spanGaps: true },
          { label: "expected", data: points.map(function (p) { return p.expected; }),
            borderColor: "#5b6675", borderDash: [5, 4], borderWidth: 1.5, pointRadius: 0,
            spanGaps: true },
          { label: "mentions", data: points.map(function (p) { return p.n; }),
            borderColor: accent, borderWidth: 2, tension: 0.2,
            pointRadius: anomalous.map(function (a) { return a ? 5 : 0; }),
            pointBackgroundColor: anomalous.map(function (a) { return a ? bad : accent; }),
            pointBorderColor: anomalous.map(function (a) { return a ? bad : accent; }) }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true }, x: { ticks: { maxTicksLimit: 8, autoSkip: true } } },
        plugins: {
          legend: { labels: { filter: function (item) { return item.text !== "usual range (low)"; } } },
          tooltip: {
            callbacks: {
              afterBody: function (items) {
                var point = points[items[0].dataIndex];
                return point.anomalous.length ? "anomalous: " + point.anomalous.join(", ") : "";
              }
            }
          }
        }
      }
    });
  });
})();
