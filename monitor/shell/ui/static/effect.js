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
    // A send is a vertical line across the chart: a two-point dataset on the share axis.
    var sendLines = segment.sends.map(function (s, index) {
      var at = ms(s.sent_at);
      return { label: index === 0 ? "send" : "send " + (index + 1), data: [{ x: at, y: 0 }, { x: at, y: 100 }],
               yAxisID: "share", borderColor: muted, borderWidth: 2, borderDash: [3, 3], pointRadius: 0,
               note: s.step + " (" + s.channel + " × " + s.messages + ")" };
    });
    var xs = segment.points.map(function (p) { return ms(p.at); })
      .concat(segment.sends.map(function (s) { return ms(s.sent_at); }));
    var span = Math.max.apply(null, xs) - Math.min.apply(null, xs);
    var minute = 60000;
    var step = [5, 10, 15, 30, 60, 120, 240, 720, 1440].map(function (m) { return m * minute; })
      .find(function (candidate) { return span / candidate <= 6; }) || 2880 * minute;
    var lo = Math.floor(Math.min.apply(null, xs) / step) * step;
    var hi = Math.max(Math.ceil(Math.max.apply(null, xs) / step) * step, lo + step);
    new Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          { label: "negative share %", data: share, yAxisID: "share", borderColor: bad,
            backgroundColor: bad, borderWidth: 2, pointRadius: 0, tension: 0, spanGaps: false },
          { label: "volume", data: volume, yAxisID: "volume", borderColor: accent,
            backgroundColor: accent, borderWidth: 1.5, pointRadius: 0, borderDash: [4, 3] }
        ].concat(sendLines)
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", min: lo, max: hi, ticks: { stepSize: step, callback: hhmm } },
          share: { position: "left", min: 0, max: 100, title: { display: true, text: "negative %" } },
          volume: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                    title: { display: true, text: "mentions" } }
        },
        plugins: {
          legend: { labels: { filter: function (item) { return !/^send \d/.test(item.text); } } },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? hhmm(items[0].parsed.x) + " UTC" : ""; },
              label: function (item) {
                if (item.dataset.note) { return "sent: " + item.dataset.note; }
                return item.dataset.label + ": " + (item.parsed.y === null ? "–" : Math.round(item.parsed.y));
              }
            }
          }
        }
      }
    });
  });
})();
