// The admin dashboard's charts, drawn with the local Chart.js (static/vendor/chartjs/) from the
// JSON block the server wrote (#dashboard-data): no inline script, no request of its own. Every
// label and number comes from the server, already translated; without JavaScript the tables under
// the charts carry the same numbers.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || !window.Chart) { return; }
  var charts = JSON.parse(source.textContent);

  var styles = getComputedStyle(document.documentElement);
  function cssColor(name, fallback) { return (styles.getPropertyValue(name) || "").trim() || fallback; }
  var COLORS = {
    brand: cssColor("--brand", "#d7263d"),
    ok: cssColor("--ok", "#1a7f37"),
    hot: "#c2410c",
    muted: "#cfd4da"
  };
  var INK = cssColor("--ink", "#1f2328");
  var LINE = cssColor("--line", "#e5e7eb");

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = INK;

  // Long course and article titles would squeeze the bars to nothing on a 375 px phone: the axis
  // shows the start of a label, the tooltip the whole of it.
  var LABEL_CHARS = window.matchMedia("(min-width: 768px)").matches ? 24 : 11;
  function shorten(label) {
    label = String(label);
    return label.length > LABEL_CHARS ? label.slice(0, LABEL_CHARS - 1) + "…" : label;
  }

  function datasets(spec) {
    return spec.datasets.map(function (set) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: COLORS[set.color] || COLORS.brand,
        borderRadius: 3,
        maxBarThickness: 28
      };
    });
  }

  function config(spec) {
    var horizontal = spec.kind !== "bars";
    var percent = spec.kind === "percent-hbar";
    var stacked = spec.kind === "stacked-hbar";
    var valueAxis = {
      beginAtZero: true,
      stacked: stacked,
      grid: { color: LINE },
      ticks: { precision: 0 }
    };
    if (spec.max) { valueAxis.max = spec.max; }  // a rate that cannot pass 100 %
    if (percent) {
      valueAxis.ticks.callback = function (value) { return value + "%"; };
    }
    var labelAxis = {
      stacked: stacked,
      grid: { display: false },
      ticks: horizontal
        ? { autoSkip: false, callback: function (value) { return shorten(this.getLabelForValue(value)); } }
        : { autoSkip: true, maxRotation: 0 }
    };
    return {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets(spec) },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,  // the container's CSS height decides, whatever the width
        animation: false,
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (item) {
                var value = item.raw === null ? "—" : item.formattedValue + (percent ? "%" : "");
                return item.dataset.label + "：" + value;
              },
              afterBody: function (items) {
                return spec.tooltips && items.length ? spec.tooltips[items[0].dataIndex] : "";
              }
            }
          }
        }
      }
    };
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), function (canvas) {
    var spec = charts[canvas.dataset.chart];
    if (spec) { new Chart(canvas, config(spec)); }
  });
})();
