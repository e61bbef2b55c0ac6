// "Did our message help?": per segment, negative share (left axis, %) and volume (right axis)
// per closed window, with a marker at each send. Data comes from <script id="effect-data">.
(function () {
  "use strict";
  var source = document.getElementById("effect-data");
  if (!source || typeof Chart === "undefined") { return; }
  var effect = JSON.parse(source.textContent || "{}");
  var styles = getComputedStyle(document.documentElement);
  var bad = styles.getPropertyValue("--bad").trim() || "#b42318";
  var accent = styles.getPropertyValue("--accent").trim() || "#1f5fbf";
  var muted = styles.getPropertyValue("--muted").trim() || "#5b6675";

  function ms(iso) { return Date.parse(iso); }
  function hhmm(value) { return new Date(value).toISOString().slice(11, 16); }

  document.querySelectorAll("canvas[data-effect]").forEach(function (canvas) {
    var segment = (effect.segments || [])[Number(canvas.getAttribute("data-effect"))];
    if (!segment) { return; }
    var share = segment.points.map(function (p) {
      return { x: ms(p.at), y: p.negative_share === null ? null : p.negative_share * 100 };
    });
    var volume = segment.points.map(function (p) { return { x: ms(p.at), y: p.volume }; });
    var sends = segment.sends.map(function (s) {
      return { x: ms(s.sent_at), y: 100, label: s.step + " (" + s.channel + ", " + s.messages + ")" };
    });
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          { label: "negative share %", data: share, yAxisID: "share", borderColor: bad,
            backgroundColor: bad, borderWidth: 2, pointRadius: 0, tension: 0.2, spanGaps: false },
          { label: "volume", data: volume, yAxisID: "volume", borderColor: accent,
            backgroundColor: accent, borderWidth: 1.5, pointRadius: 0, borderDash: [4, 3] },
          { type: "scatter", label: "send", data: sends, yAxisID: "share", pointStyle: "line",
            rotation: 90, radius: 60, borderColor: muted, borderWidth: 2, hoverRadius: 60 }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", ticks: { maxTicksLimit: 6, callback: hhmm } },
          share: { position: "left", min: 0, max: 100, title: { display: true, text: "negative %" } },
          volume: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                    title: { display: true, text: "mentions" } }
        },
        plugins: {
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? hhmm(items[0].parsed.x) + " UTC" : ""; },
              label: function (item) {
                if (item.dataset.type === "scatter") { return "sent: " + item.raw.label; }
                return item.dataset.label + ": " + (item.parsed.y === null ? "–" : Math.round(item.parsed.y));
              }
            }
          }
        }
      }
    });
  });
})();
