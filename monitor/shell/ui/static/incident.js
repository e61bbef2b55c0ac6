// The incident page's charts: per series, mentions per window against the expected count and
// its usual range, anomalous windows in red. Data comes from <script id="chart-data">.
(function () {
  "use strict";
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
