/* Leaderboard page: interval plot, head-to-head heatmaps, client-side sorting of the standings
   table, and live refresh (polls the standings API; on a new snapshot, reads the page's numbers
   once and updates the table and plots in place). Without JavaScript the server-rendered table,
   its sort links and its inline interval bars do the same job. */
(function () {
  "use strict";
  var V = window.Versus;
  var INTERVAL_TOP = 40;

  V.ready(function () {
    var data = V.data();
    if (!data) return;
    var table = document.getElementById("standings-table");
    var state = { rows: data.rows, h2h: data.h2h, snapshot: data.snapshot_id, showAll: false, byId: {} };
    function index(rows) {
      state.rows = rows;
      state.byId = {};
      rows.forEach(function (r) { state.byId[r.model_id] = r; });
    }
    index(data.rows);

    function modelUrl(id) { return data.model_url.replace(/\/0\/$/, "/" + id + "/"); }

    /* ---------------------------------------------------------------- interval plot */
    function drawIntervals() {
      var node = document.getElementById("interval-plot");
      if (!node || !V.hasPlotly()) return;
      var rated = state.rows.filter(function (r) { return r.score !== null; });
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
      var row = rowOf(tr);
      if (key === "model") return (row.model || "").toLowerCase();
      if (key === "interval") return row.ci_high === null || row.ci_high === undefined ? null : row.ci_high - row.ci_low;
      var value = row[key];
      return value === null || value === undefined ? null : value;
    }

    function sortTable(key, dir) {
      if (!table) return;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = sortValue(a, key), y = sortValue(b, key);
        if (x === null && y === null) return parseFloat(a.dataset.order) - parseFloat(b.dataset.order);
        if (x === null) return 1;
        if (y === null) return -1;
        var cmp = typeof x === "string" ? x.localeCompare(y) : x - y;
        if (cmp === 0) cmp = parseFloat(a.dataset.order) - parseFloat(b.dataset.order);
        return dir === "desc" ? -cmp : cmp;
      });
      rows.forEach(function (tr) { body.appendChild(tr); });
      table.dataset.sort = key;
      table.dataset.dir = dir;
      table.querySelectorAll("th[data-sort-key]").forEach(function (th) {
        th.setAttribute("aria-sort", th.dataset.sortKey === key ? (dir === "desc" ? "descending" : "ascending") : "none");
      });
    }

    if (table) {
      table.querySelectorAll("th[data-sort-key] a").forEach(function (link) {
        link.addEventListener("click", function (event) {
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
      });
    }

    /* ---------------------------------------------------------------- live refresh */
    var status = document.getElementById("live-status");
    function setStatus(text) { if (status) status.textContent = text; }

    function setText(tr, field, text) {
      var cell = tr.querySelector('[data-field="' + field + '"]');
      if (cell && cell.textContent !== text) {
        cell.textContent = text;
        var target = cell.closest("td, th") || cell;
        target.classList.remove("changed");
        void target.offsetWidth;
        target.classList.add("changed");
      }
    }

    function applyRows(rows) {
      if (!table) return true;
      var body = table.tBodies[0];
      if (rows.length !== body.rows.length) return false;
      index(rows);
      var rated = rows.filter(function (r) { return r.score !== null && r.ci_low !== null; });
      var low = Math.min.apply(null, rated.map(function (r) { return r.ci_low; }));
      var high = Math.max.apply(null, rated.map(function (r) { return r.ci_high; }));
      var span = high - low || 1;
      for (var k = 0; k < rows.length; k++) {
        var r = rows[k];
        var tr = body.querySelector('tr[data-model-id="' + r.model_id + '"]');
        if (!tr) return false;
        tr.dataset.order = k;
        tr.classList.toggle("provisional", !!r.provisional);
        setText(tr, "rank", r.rank === null ? "\u2013" : String(r.rank));
        setText(tr, "score", V.fmt.score(r.score));
        setText(tr, "votes", V.fmt.count(r.votes));
        setText(tr, "win_rate", V.fmt.percent(r.win_rate));
        var interval = tr.querySelector('[data-field="interval"]');
        if (interval && r.score !== null) {
          interval.innerHTML = '<span class="plus">+' + V.fmt.plus(r) + '</span> <span class="minus">\u2212' + V.fmt.minus(r) + "</span>";
          interval.title = "95% interval " + V.fmt.score(r.ci_low) + " \u2013 " + V.fmt.score(r.ci_high);
        }
        var badge = tr.querySelector('[data-field="provisional"]');
        if (badge && !r.provisional) badge.remove();
        var bar = tr.querySelector(".ci-bar");
        if (bar && r.score !== null && r.ci_low !== null) {
          bar.firstElementChild.style.left = (100 * (r.ci_low - low) / span).toFixed(2) + "%";
          bar.firstElementChild.style.width = Math.max(100 * (r.ci_high - r.ci_low) / span, 0.5).toFixed(2) + "%";
          bar.lastElementChild.style.left = (100 * (r.score - low) / span).toFixed(2) + "%";
        }
      }
      sortTable(table.dataset.sort || "rank", table.dataset.dir || "asc");
      return true;
    }

    function setStats(voteCount, at) {
      var votes = document.querySelector('[data-stat="votes"]');
      if (votes) votes.textContent = V.fmt.count(voteCount);
      var updated = document.querySelector('[data-stat="updated"]');
      if (updated && at) {
        var when = new Date(at);
        updated.innerHTML = '<time datetime="' + V.escape(at) + '">' + V.escape(when.toLocaleTimeString()) + "</time>";
      }
    }

    function getJson(url) {
      return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
    }

    var busy = false;
    function refresh() {
      if (busy || document.hidden || !data.standings_url) return;
      busy = true;
      getJson(data.standings_url)
        .then(function (published) {
          if (published.snapshot === state.snapshot) {
            setStatus("Live · checked " + new Date().toLocaleTimeString());
            return null;
          }
          var filtered = data.tags && data.tags.length;
          if (!filtered) {
            if (!applyRows(published.rows)) { window.location.reload(); return null; }
            setStats(published.vote_count, published.computed_at);
          }
          return getJson(data.data_url).then(function (numbers) {
            if (filtered) {
              if (!applyRows(numbers.rows)) { window.location.reload(); return; }
              setStats(numbers.vote_count, numbers.computed_at);
            }
            state.h2h = numbers.h2h;
            state.snapshot = published.snapshot;
            drawIntervals();
            drawH2H();
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
