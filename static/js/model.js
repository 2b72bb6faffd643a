/* Model page: score history (line with its 95% band) and observed vs predicted win rates
   against each opponent. The tables below the plots hold the same numbers without JavaScript. */
(function () {
  "use strict";
  var V = window.Versus;
  var RECORD_MAX = 60;

  V.ready(function () {
    var data = V.data();
    if (!data || !V.hasPlotly()) return;
    var c = V.colors();

    var history = data.history || [];
    var node = document.getElementById("history-plot");
    if (node && history.length) {
      var x = history.map(function (p) { return p.at; });
      var band = "rgba(61, 90, 254, 0.16)";
      var traces = [
        { x: x, y: history.map(function (p) { return p.ci_high; }), type: "scatter", mode: "lines", line: { width: 0, shape: "hv" }, hoverinfo: "skip", showlegend: false },
        { x: x, y: history.map(function (p) { return p.ci_low; }), type: "scatter", mode: "lines", line: { width: 0, shape: "hv" }, fill: "tonexty", fillcolor: band, name: "95% interval", hoverinfo: "skip" },
        {
          x: x,
          y: history.map(function (p) { return p.score; }),
          type: "scatter",
          mode: history.length > 60 ? "lines" : "lines+markers",
          line: { color: c.accent, width: 2.5, shape: "hv" },
          marker: { size: 6, color: c.accent },
          name: "Score",
          customdata: history.map(function (p) { return [p.ci_low, p.ci_high, p.rank, p.votes]; }),
          hovertemplate: "%{x|%Y-%m-%d %H:%M}<br><b>Score %{y:.0f}</b> (95%: %{customdata[0]:.0f} to %{customdata[1]:.0f})<br>Rank %{customdata[2]} · %{customdata[3]:,} votes<extra></extra>",
        },
      ];
      Plotly.react(node, traces, V.layout({
        height: 320,
        showlegend: true,
        legend: { orientation: "h", yanchor: "bottom", y: 1, x: 0 },
        margin: { l: 10, r: 10, t: 40, b: 40 },
        xaxis: { type: "date", gridcolor: c.line, automargin: true },
        yaxis: { title: { text: "Score" }, gridcolor: c.line, automargin: true, zeroline: false },
        hovermode: "x unified",
      }), V.config);
    }

    var record = (data.record || []).slice();
    var recordNode = document.getElementById("record-plot");
    if (recordNode && record.length) {
      if (record.length > RECORD_MAX) {
        record.sort(function (a, b) { return b.votes - a.votes; });
        record = record.slice(0, RECORD_MAX);
      }
      var names = record.map(function (r) { return r.opponent; });
      var traces2 = [
        {
          type: "bar",
          orientation: "h",
          y: names,
          x: record.map(function (r) { return r.observed; }),
          name: "Observed",
          marker: { color: record.map(function (r) { return r.observed !== null && r.observed >= 0.5 ? c.accent : "#ef9a9a"; }) },
          customdata: record.map(function (r) { return r.votes; }),
          hovertemplate: "vs <b>%{y}</b><br>won %{x:.1%} of %{customdata} votes<extra></extra>",
        },
        {
          type: "scatter",
          mode: "markers",
          y: names,
          x: record.map(function (r) { return r.predicted; }),
          name: "Predicted by the scores",
          marker: { symbol: "line-ns-open", size: 16, color: c.fg, line: { width: 2.5 } },
          hovertemplate: "vs <b>%{y}</b><br>predicted %{x:.1%}<extra></extra>",
        },
      ];
      Plotly.react(recordNode, traces2, V.layout({
        height: Math.max(200, 24 * record.length + 90),
        barmode: "overlay",
        showlegend: true,
        legend: { orientation: "h", yanchor: "bottom", y: 1, x: 0 },
        margin: { l: 10, r: 10, t: 40, b: 40 },
        xaxis: { range: [0, 1], tickformat: ".0%", gridcolor: c.line, title: { text: "Win rate against this model" } },
        yaxis: { type: "category", autorange: "reversed", automargin: true },
        shapes: [{ type: "line", x0: 0.5, x1: 0.5, yref: "paper", y0: 0, y1: 1, line: { color: c.muted, width: 1, dash: "dot" } }],
      }), V.config);
    }
  });
})();
