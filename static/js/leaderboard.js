/* Leaderboard page: interval plot, head-to-head heatmaps, client-side sorting of the standings
   table, and live refresh (polls the standings API; on a new snapshot or new rank intervals,
   reads the page's numbers once, with the server's markup of the table, its notices and the
   head-to-head table, and swaps those in: new models, rank ranges and ranks on the other
   questions included, without a reload). Without JavaScript the server-rendered table, its sort
   links and its inline interval bars do the same job. */
(function () {
  "use strict";
  var V = window.Versus;
  var INTERVAL_TOP = 40;

  V.ready(function () {
    var data = V.data();
    if (!data) return;
    function versionOf(snapshot, bootstrap) { return String(snapshot) + ":" + Boolean(bootstrap); }
    var state = { rows: data.rows, h2h: data.h2h, version: versionOf(data.snapshot_id, data.has_bootstrap), showAll: false, byId: {} };
    function index(rows) {
      state.rows = rows;
      state.byId = {};
      rows.forEach(function (r) { state.byId[r.model_id] = r; });
    }
    index(data.rows);
    // The table is swapped whole by the live refresh: always look it up.
    function standingsTable() { return document.getElementById("standings-table"); }

    function modelUrl(id) { return data.model_url.replace(/\/0\/$/, "/" + id + "/"); }

    /* ---------------------------------------------------------------- interval plot */
    function drawIntervals() {
      var node = document.getElementById("interval-plot");
      if (!node || !V.hasPlotly()) return;
      var rated = state.rows.filter(function (r) { return r.score !== null; });
      if (!rated.length) return; // the section stays hidden until the first votes are counted
      var shown = state.showAll ? rated : rated.slice(0, INTERVAL_TOP);
      var c = V.colors();
      var trace = {
        type: "scatter",
        mode: "markers",
        orientation: "h",
        x: shown.map(function (r) { return r.score; }),
        y: shown.map(function (r) { return r.model; }),
        customdata: shown.map(function (r) {
          return [r.rank, r.ci_low, r.ci_high, r.votes, V.fmt.percent(r.win_rate), r.provisional ? " · provisional" : "", r.model_id];
        }),
        error_x: {
          type: "data",
          symmetric: false,
          array: shown.map(function (r) { return r.ci_high - r.score; }),
          arrayminus: shown.map(function (r) { return r.score - r.ci_low; }),
          color: c.accent,
          thickness: 2.5,
          width: 0,
        },
        marker: {
          size: 9,
          color: shown.map(function (r) { return r.provisional ? c.warn : c.accent; }),
          line: { color: c.card, width: 1.5 },
        },
        hovertemplate:
          "<b>%{y}</b><br>Score %{x:.0f} (95%: %{customdata[1]:.0f} to %{customdata[2]:.0f})" +
          "<br>Rank %{customdata[0]} · %{customdata[3]:,} votes · win rate %{customdata[4]}%{customdata[5]}<extra></extra>",
      };
      var layout = V.layout({
        height: Math.max(220, 26 * shown.length + 70),
        xaxis: { title: { text: "Score (95% interval)" }, gridcolor: c.line, zeroline: false, automargin: true },
        yaxis: { type: "category", autorange: "reversed", automargin: true, gridcolor: "rgba(0,0,0,0)", ticks: "" },
        shapes: [{ type: "line", x0: 1000, x1: 1000, yref: "paper", y0: 0, y1: 1, line: { color: c.muted, width: 1, dash: "dot" } }],
      });
      Plotly.react(node, [trace], layout, V.config);
      if (!node.dataset.bound) {
        node.dataset.bound = "1";
        node.on("plotly_click", function (e) {
          if (e.points && e.points[0]) window.location.href = modelUrl(e.points[0].customdata[6]);
        });
      }
      var more = document.getElementById("interval-more");
      if (rated.length > INTERVAL_TOP) {
        if (!more) {
          more = document.createElement("button");
          more.id = "interval-more";
          more.type = "button";
          more.className = "small";
          node.parentNode.insertBefore(more, node.nextSibling);
          more.addEventListener("click", function () { state.showAll = !state.showAll; drawIntervals(); });
        }
        more.textContent = state.showAll ? "Show the top " + INTERVAL_TOP : "Show all " + rated.length + " models";
      }
    }

    /* ---------------------------------------------------------------- head-to-head */
    function heatmap(nodeId, z, h2h, hover) {
      var node = document.getElementById(nodeId);
      if (!node || !V.hasPlotly()) return;
      var n = h2h.models.length;
      var labels = h2h.models.map(function (m) { return m.length > 18 ? m.slice(0, 17) + "…" : m; });
      // Same label twice would merge categories: suffix duplicates after truncation.
      var seen = {};
      labels = labels.map(function (l) { seen[l] = (seen[l] || 0) + 1; return seen[l] > 1 ? l + " (" + seen[l] + ")" : l; });
      var trace = {
        type: "heatmap",
        x: labels,
        y: labels,
        z: z,
        customdata: h2h.votes.map(function (row, i) {
          return row.map(function (v, j) { return [v, h2h.models[i], h2h.models[j]]; });
        }),
        zmin: 0,
        zmax: 1,
        zmid: 0.5,
        colorscale: V.winScale,
        xgap: 1,
        ygap: 1,
        hoverongaps: false,
        // Numbers in the cells only where a cell is wide enough to hold them.
        texttemplate: node.clientWidth / (n + 3) >= 34 ? "%{z:.0%}" : "",
        textfont: { size: node.clientWidth / (n + 3) >= 48 ? 12 : 10 },
        colorbar: { thickness: 10, tickformat: ".0%", len: 0.8, outlinewidth: 0 },
        hovertemplate: hover,
      };
      var size = Math.max(300, Math.min(760, 30 * n + 150));
      var layout = V.layout({
        height: size,
        margin: { l: 10, r: 10, t: 10, b: 10 },
        xaxis: { type: "category", tickangle: -45, automargin: true, side: "bottom", showgrid: false },
        yaxis: { type: "category", autorange: "reversed", automargin: true, showgrid: false },
      });
      Plotly.react(node, [trace], layout, V.config);
    }

    function drawH2H() {
      var h2h = state.h2h;
      var section = document.getElementById("head-to-head");
      if (!section || !h2h || h2h.models.length < 2) return;
      heatmap("h2h-observed", h2h.observed, h2h,
        "<b>%{customdata[1]}</b> beat <b>%{customdata[2]}</b><br>%{z:.1%} of %{customdata[0]} votes<extra></extra>");
      heatmap("h2h-predicted", h2h.predicted, h2h,
        "<b>%{customdata[1]}</b> vs <b>%{customdata[2]}</b><br>predicted %{z:.1%}<extra></extra>");
    }

    /* ---------------------------------------------------------------- sorting */
    function rowOf(tr) { return state.byId[tr.dataset.modelId] || {}; }
    function sortValue(tr, key) {
      if (key === "rank") return parseFloat(tr.dataset.order);
      if (key.indexOf("on-") === 0) {
        // Rank on another question of the benchmark: read from the cell, empty when unranked.
        var cell = tr.querySelector('td[data-sibling="' + key.slice(3) + '"]');
        return cell && cell.dataset.rank ? parseFloat(cell.dataset.rank) : null;
      }
      var row = rowOf(tr);
      if (key === "model") return (row.model || "").toLowerCase();
      if (key === "interval") return row.ci_high === null || row.ci_high === undefined ? null : row.ci_high - row.ci_low;
      var value = row[key];
      return value === null || value === undefined ? null : value;
    }

    /* The forms of the other controls (tag filter, head-to-head size) carry the sort along. */
    function keepSortInForms(key, dir) {
      var plain = key === "rank" && dir === "asc";
      document.querySelectorAll("form[data-keep-sort]").forEach(function (form) {
        [["sort", key], ["dir", dir]].forEach(function (pair) {
          var input = form.querySelector('input[type="hidden"][name="' + pair[0] + '"]');
          if (plain) {
            if (input) input.remove();
            return;
          }
          if (!input) {
            input = document.createElement("input");
            input.type = "hidden";
            input.name = pair[0];
            form.insertBefore(input, form.firstChild);
          }
          input.value = pair[1];
        });
        // And the filter's "Clear" link, which drops only the tags.
        form.querySelectorAll("a[href]").forEach(function (link) {
          var url = new URL(link.href);
          if (plain) {
            url.searchParams.delete("sort");
            url.searchParams.delete("dir");
          } else {
            url.searchParams.set("sort", key);
            url.searchParams.set("dir", dir);
          }
          link.href = url.pathname + url.search + url.hash;
        });
      });
    }

    function sortTable(key, dir) {
      var table = standingsTable();
      if (!table) return;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function order(tr) { return parseFloat(tr.dataset.order); }
      // As the server sorts: values in the chosen direction, ties and missing values in the
      // published order, missing values last.
      rows.sort(function (a, b) {
        var x = sortValue(a, key), y = sortValue(b, key);
        if (x === null && y === null) return order(a) - order(b);
        if (x === null) return 1;
        if (y === null) return -1;
        var cmp = typeof x === "string" ? x.localeCompare(y) : x - y;
        if (cmp !== 0) return dir === "desc" ? -cmp : cmp;
        return order(a) - order(b);
      });
      rows.forEach(function (tr) { body.appendChild(tr); });
      table.dataset.sort = key;
      table.dataset.dir = dir;
      table.querySelectorAll("th[data-sort-key]").forEach(function (th) {
        th.setAttribute("aria-sort", th.dataset.sortKey === key ? (dir === "desc" ? "descending" : "ascending") : "none");
      });
      keepSortInForms(key, dir);
    }

    // Delegated: the header is replaced with the table on every live refresh.
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("#standings-table th[data-sort-key] a") : null;
      var table = standingsTable();
      if (!link || !table) return;
      event.preventDefault();
      var th = link.parentNode;
      var key = th.dataset.sortKey;
      var dir = table.dataset.sort === key ? (table.dataset.dir === "desc" ? "asc" : "desc") : th.dataset.first;
      sortTable(key, dir);
      var url = new URL(window.location.href);
      url.searchParams.set("sort", key);
      url.searchParams.set("dir", dir);
      window.history.replaceState(null, "", url.pathname + url.search + "#standings");
    });

    /* ---------------------------------------------------------------- live refresh */
    var status = document.getElementById("live-status");
    function setStatus(text) { if (status) status.textContent = text; }

    /* What each row shows, to mark the cells a refresh changed. */
    function shownCells() {
      var shown = {};
      var table = standingsTable();
      if (!table) return shown;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
        var cells = {};
        tr.querySelectorAll("[data-field]").forEach(function (node) { cells[node.dataset.field] = node.textContent; });
        shown[tr.dataset.modelId] = cells;
      });
      return shown;
    }

    function markChanged(before) {
      var table = standingsTable();
      if (!table) return;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
        var old = before[tr.dataset.modelId];
        tr.querySelectorAll("[data-field]").forEach(function (node) {
          if (old && old[node.dataset.field] === node.textContent) return;
          var target = node.closest("td, th") || node;
          target.classList.add("changed");
        });
      });
    }

    /* Replace the element of the same id with the server's fresh markup of it. */
    function swap(html) {
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var fresh = holder.firstElementChild;
      var old = fresh && fresh.id ? document.getElementById(fresh.id) : null;
      if (!old) return;
      var details = old.querySelector("details");
      var opened = details && details.open;
      old.replaceWith(fresh);
      var again = opened ? fresh.querySelector("details") : null;
      if (again) again.open = true;
    }

    function setStats(numbers) {
      var models = document.querySelector('[data-stat="models"]');
      if (models) models.textContent = V.fmt.count(numbers.rows.length);
      var votes = document.querySelector('[data-stat="votes"]');
      if (votes) votes.textContent = V.fmt.count(numbers.vote_count);
      var updated = document.querySelector('[data-stat="updated"]');
      if (updated && numbers.computed_at) {
        var when = new Date(numbers.computed_at);
        updated.innerHTML = '<time datetime="' + V.escape(numbers.computed_at) + '">' + V.escape(when.toLocaleTimeString()) + "</time>";
      }
    }

    function apply(numbers) {
      var before = shownCells();
      index(numbers.rows);
      state.h2h = numbers.h2h;
      swap(numbers.html.standings_notices);
      swap(numbers.html.standings_table);
      swap(numbers.html.h2h_table);
      markChanged(before);
      setStats(numbers);
      var rated = numbers.rows.some(function (r) { return r.score !== null; });
      ["intervals", "head-to-head"].forEach(function (id) {
        var section = document.getElementById(id);
        if (section) section.hidden = !rated;
      });
      drawIntervals();
      drawH2H();
    }

    /* The page's numbers for its current tags, head-to-head size and sort (the address bar
       holds them: sorting in the page updates it), with the server's markup. */
    function dataUrl() {
      var params = new URLSearchParams(window.location.search);
      params.set("html", "1");
      return data.data_url + "?" + params.toString();
    }

    function getJson(url) {
      return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
    }

    var busy = false;
    function refresh() {
      if (busy || document.hidden || !data.standings_url) return Promise.resolve();
      busy = true;
      return getJson(data.standings_url)
        .then(function (published) {
          if (versionOf(published.snapshot, published.has_bootstrap) === state.version) {
            setStatus("Live · checked " + new Date().toLocaleTimeString());
            return null;
          }
          return getJson(dataUrl()).then(function (numbers) {
            apply(numbers);
            state.version = versionOf(numbers.snapshot_id, numbers.has_bootstrap);
            setStatus("Live · new votes counted at " + new Date().toLocaleTimeString());
          });
        })
        .catch(function () { setStatus("Live updates paused; retrying"); })
        .then(function () { busy = false; });
    }

    drawIntervals();
    drawH2H();
    if (data.standings_url && data.refresh_seconds) {
      setStatus("Live · updates every " + data.refresh_seconds + " s");
      window.setInterval(refresh, data.refresh_seconds * 1000);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
    }
    V.refreshNow = refresh; // for tests and the console
  });
})();
