// Metric board page: show the inputs of the chosen ranking mode, keep empty fields out of the
// shared URL, and enable "Compare selected" for 2 to 5 ticked rows. The page works without it.
(function () {
  "use strict";
  const controls = document.getElementById("metric-controls");
  if (controls) {
    const mode = controls.querySelector("[data-mode-select]");
    const showMode = () => {
      controls.querySelectorAll("[data-mode]").forEach((el) => {
        el.hidden = el.dataset.mode !== mode.value;
      });
    };
    mode.addEventListener("change", showMode);
    showMode();
    controls.addEventListener("submit", () => {
      controls.querySelectorAll("input, select").forEach((el) => {
        const hiddenMode = el.closest("[data-mode]") && el.closest("[data-mode]").hidden;
        const defaultValue = (el.name === "mode" && el.value === "metric") ||
          (el.name === "checkpoints" && el.value === "best") ||
          (el.name === "normalize" && el.value === "minmax");
        if (!el.name || el.value === "" || hiddenMode || defaultValue) el.disabled = true;
      });
    });
    controls.querySelectorAll("select").forEach((el) => {
      if (el.closest("fieldset") && el.closest("fieldset").querySelector("legend").textContent === "Filter") {
        el.addEventListener("change", () => controls.requestSubmit());
      }
    });
  }
  const compare = document.getElementById("compare-form");
  if (compare) {
    const table = document.getElementById("metric-table");
    const max = Number(table.dataset.maxCompare || 5);
    const button = compare.querySelector("[data-compare-button]");
    const count = compare.querySelector("[data-compare-count]");
    const update = () => {
      const ticked = compare.querySelectorAll("input[name=result]:checked").length;
      count.textContent = "(" + ticked + ")";
      button.disabled = ticked < 2 || ticked > max;
      button.title = ticked > max ? "Compare at most " + max + " runs" : "";
    };
    compare.addEventListener("change", update);
    update();
  }
})();
