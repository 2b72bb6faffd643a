/* Shared helpers of the public pages: number formats (the same as the server's template filters)
   and the Plotly look. Loaded with `defer` after plotly-cartesian.min.js. */
(function () {
  "use strict";
  var V = (window.Versus = window.Versus || {});
  var MISSING = "\u2013";

  V.fmt = {
    score: function (x) { return x === null || x === undefined ? MISSING : x.toFixed(0); },
    percent: function (x) { return x === null || x === undefined ? MISSING : (100 * x).toFixed(1) + "%"; },
    count: function (x) { return x === null || x === undefined ? MISSING : Math.round(x).toLocaleString("en-US"); },
    plus: function (row) { return row.score === null || row.ci_high === null ? MISSING : (row.ci_high - row.score).toFixed(0); },
    minus: function (row) { return row.score === null || row.ci_low === null ? MISSING : (row.score - row.ci_low).toFixed(0); },
  };

  V.data = function (id) {
    var node = document.getElementById(id || "page-data");
    return node ? JSON.parse(node.textContent) : null;
  };

  V.escape = function (text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };

  function css(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  V.colors = function () {
    return {
      accent: css("--accent", "#3d5afe"),
      muted: css("--muted", "#62626f"),
      line: css("--line", "#e3e3ea"),
      fg: css("--fg", "#1d1d24"),
      card: css("--card", "#ffffff"),
      warn: css("--warn", "#a86400"),
    };
  };

  V.config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"] };

  V.layout = function (extra) {
    var c = V.colors();
    var base = {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: getComputedStyle(document.body).fontFamily, size: 12, color: c.fg },
      margin: { l: 10, r: 10, t: 10, b: 40 },
      hoverlabel: { bgcolor: c.card, bordercolor: c.line, font: { color: c.fg } },
      xaxis: { gridcolor: c.line, zerolinecolor: c.line, automargin: true },
      yaxis: { gridcolor: c.line, zerolinecolor: c.line, automargin: true },
    };
    return Object.assign(base, extra || {});
  };

  V.ready = function (fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  };

  V.hasPlotly = function () { return typeof window.Plotly !== "undefined"; };

  /* A diverging colour scale for win rates: red below one half, white at it, blue above. */
  V.winScale = [[0, "#c62828"], [0.25, "#ef9a9a"], [0.5, "#f7f7f7"], [0.75, "#90a4ff"], [1, "#2a3eb1"]];
})();
