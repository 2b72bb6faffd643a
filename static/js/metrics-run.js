// Run page: each metric over the checkpoint steps of the run's training run, one line per
// evaluation dataset, the best step starred. Data comes from the page (json_script).
(function () {
  "use strict";
  const holder = document.getElementById("checkpoint-plot");
  const source = document.getElementById("checkpoint-data");
  if (!holder || !source || typeof Plotly === "undefined") return;
  const data = JSON.parse(source.textContent);
  const tools = document.querySelector("[data-plot-metrics]");
  const metrics = data.metrics.filter((m) => data.points.some((p) => m.name in p.values));
  if (!metrics.length) return;
  const palette = ["#3d5afe", "#1b873f", "#c62828", "#a86400", "#6a1b9a", "#00838f"];

  function draw(metric) {
    const byEval = new Map();
    data.points.forEach((p) => {
      if (!(metric.name in p.values)) return;
      if (!byEval.has(p.eval)) byEval.set(p.eval, []);
      byEval.get(p.eval).push(p);
    });
    const traces = [];
    let k = 0;
    byEval.forEach((points, label) => {
      const color = palette[k++ % palette.length];
      traces.push({
        x: points.map((p) => p.step),
        y: points.map((p) => p.values[metric.name]),
        text: points.map((p) => p.run_id),
        mode: "lines+markers",
        name: label,
        line: { color: color, width: 2 },
        marker: { size: points.map((p) => (p.current ? 11 : 7)), color: color },
        hovertemplate: "step %{x}<br>" + metric.name + " %{y}<br>%{text}<extra>" + label + "</extra>",
      });
      const best = (data.best_steps[metric.name] || {})[label === "(no eval dataset)" ? "" : label];
      const bestPoint = points.find((p) => p.step === best);
      if (bestPoint) {
        traces.push({
          x: [bestPoint.step], y: [bestPoint.values[metric.name]], mode: "markers", showlegend: false,
          marker: { symbol: "star", size: 18, color: "#f5b400", line: { color: "#7a5a00", width: 1 } },
          hovertemplate: "best step %{x}: %{y}<extra></extra>",
        });
      }
    });
    Plotly.react(holder, traces, {
      margin: { l: 60, r: 20, t: 10, b: 45 },
      xaxis: { title: { text: "checkpoint step" }, zeroline: false },
      yaxis: { title: { text: metric.name + (metric.higher_is_better ? " (higher is better)" : " (lower is better)") } },
      legend: { orientation: "h", y: 1.12 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fbfbfd",
    }, { displayModeBar: false, responsive: true });
    tools.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.metric === metric.name)));
  }

  metrics.forEach((metric) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = metric.name;
    button.dataset.metric = metric.name;
    button.addEventListener("click", () => draw(metric));
    tools.appendChild(button);
  });
  draw(metrics.find((m) => m.name === data.primary) || metrics[0]);
})();
