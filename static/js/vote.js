/* Voting page: vote with a click or a key, then the next pair without a full reload.
   Talks to the JSON API with the voter cookie and the CSRF token; never learns which model
   made an output until the vote is in (and only if the leaderboard reveals it). Without this
   script the page's forms do the same by plain POSTs. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("vote-config").textContent);
  var root = document.getElementById("vote-matchup");
  var form = document.getElementById("vote-form");
  var statusLine = document.getElementById("vote-status");
  var toast = document.getElementById("vote-toast");
  var nextBox = document.getElementById("vote-next");
  var nextButton = document.getElementById("vote-next-button");
  var busy = false;
  var toastTimer = null;
  // After a vote on a board that reveals the models: what comes next, shown after a pause.
  var pending = null;
  var REVEAL_MS = 2500;
  // The next pair's media, built (so the browser fetches them) before the pair is shown.
  var preloaded = null;
  var READY_WAIT_MS = 400;
  // The arrows and W A S D, in the same layout under either hand.
  var KEYS = {
    ArrowLeft: "left", a: "left",
    ArrowRight: "right", d: "right",
    ArrowUp: "tie", w: "tie",
    ArrowDown: "both_bad", s: "both_bad"
  };
  var NAMES = { left: "Left is better", right: "Right is better", tie: "Tie", both_bad: "Both bad" };
  // Focus in any of these means the arrows (or letters) belong to it: seeking a video,
  // moving a slider, typing a report.
  var OWNS_KEYS = "input, textarea, select, video, audio, [contenteditable], " +
    "[role=slider], [role=spinbutton], [role=listbox], [role=combobox], [role=menu], " +
    "[role=menubar], [role=radiogroup], [role=tablist], [role=tree], [role=grid]";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(text) { if (statusLine) statusLine.textContent = text || ""; }

  function setBusy(value) {
    busy = value;
    if (!form) return;
    form.querySelectorAll("button").forEach(function (b) { b.disabled = value; });
  }

  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, 2500);
  }

  function mediaElement(media, label) {
    var el;
    if (media.kind === "image") {
      el = document.createElement("img");
      el.alt = label;
      el.decoding = "async";
      el.src = media.url;
    } else if (media.kind === "video") {
      el = document.createElement("video");
      el.controls = true; el.loop = true; el.playsInline = true; el.preload = "auto";
      el.setAttribute("aria-label", label);
      el.src = media.url;
    } else if (media.kind === "audio") {
      el = document.createElement("audio");
      el.controls = true; el.preload = "auto";
      el.setAttribute("aria-label", label);
      el.src = media.url;
    } else {
      el = document.createElement("div");
      el.className = "text-output";
      el.setAttribute("aria-label", label);
      el.textContent = media.text || "";
    }
    return el;
  }

  function preload(m) {
    if (preloaded && preloaded.id === m.id) return preloaded;
    preloaded = {
      id: m.id,
      left: mediaElement(m.left, "Left output"),
      right: mediaElement(m.right, "Right output"),
      asset: m.prompt_asset ? mediaElement(m.prompt_asset, "Prompt asset") : null
    };
    return preloaded;
  }

  // Resolves once the preloaded pictures are decoded, or after READY_WAIT_MS: the old pair
  // stays up meanwhile instead of two empty frames.
  function ready(set) {
    var images = [set.left, set.right, set.asset].filter(function (el) {
      return el && el.tagName === "IMG" && typeof el.decode === "function";
    });
    var decoded = Promise.all(images.map(function (img) {
      return img.decode().catch(function () { return null; });
    }));
    var timeout = new Promise(function (resolve) { setTimeout(resolve, READY_WAIT_MS); });
    return Promise.race([decoded, timeout]);
  }

  function place(id, el) {
    var box = document.getElementById(id);
    box.replaceChildren();
    if (el) box.appendChild(el);
  }

  function clearReveal() {
    root.querySelectorAll("[data-reveal]").forEach(function (el) {
      el.replaceChildren();
      el.hidden = true;
    });
    root.querySelectorAll(".vote-pane").forEach(function (pane) { pane.classList.remove("chosen"); });
    root.classList.remove("revealing");
    nextBox.hidden = true;
  }

  function render(m) {
    var set = preload(m);
    preloaded = null;
    root.dataset.matchup = String(m.id);
    root.querySelectorAll("input[name=matchup]").forEach(function (input) { input.value = String(m.id); });
    root.querySelectorAll("details.report").forEach(function (box) {
      box.open = false;
      box.querySelector("input[name=reason]").value = "";
    });
    var prompt = document.getElementById("vote-prompt");
    document.getElementById("vote-prompt-text").textContent = m.prompt || "";
    place("vote-prompt-asset", set.asset);
    prompt.hidden = !(m.prompt || m.prompt_asset);
    var kinds = [m.left.kind, m.right.kind];
    document.getElementById("vote-pair").dataset.kind = kinds.indexOf("text") >= 0 ? "text" : kinds[0];
    place("vote-left", set.left);
    place("vote-right", set.right);
    clearReveal();
    root.hidden = false;
    document.getElementById("vote-empty").hidden = true;
    config.matchup = m;
  }

  // Shows `m` once its pictures are ready (or nearly), then takes votes again.
  function show(m) {
    return ready(preload(m)).then(function () { render(m); say(""); setBusy(false); });
  }

  function showEmpty(reason) {
    root.hidden = true;
    config.matchup = null;
    var title = document.getElementById("vote-empty-title");
    var text = document.getElementById("vote-empty-text");
    if (reason === "all_seen") {
      title.textContent = "You have compared every pair";
      text.textContent = "Thank you: you have seen every pair of models on every prompt of " +
        "this leaderboard. New models will bring new pairs.";
    } else if (reason === "closed") {
      title.textContent = "This leaderboard takes no more votes";
      text.textContent = "Its standings stay published.";
    } else {
      title.textContent = "Nothing to compare yet";
      text.textContent = "This leaderboard needs outputs of at least two models on the same " +
        "prompt before there is anything to vote on.";
    }
    document.getElementById("vote-empty").hidden = false;
  }

  function api(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrfToken();
      options.body = JSON.stringify(body);
    }
    return fetch(url, options);
  }

  // An error answer's JSON body ({detail, code}), or {} when it has none.
  function problem(response) {
    return response.json().then(function (d) { return d || {}; }, function () { return {}; });
  }

  function detail(response) {
    return problem(response).then(function (d) { return d.detail || response.statusText; });
  }

  function retryAfter(response) {
    var seconds = parseInt(response.headers.get("Retry-After") || "2", 10);
    return Math.max(1, isNaN(seconds) ? 2 : seconds) * 1000;
  }

  function loadNext() {
    return api("GET", config.next).then(function (response) {
      if (response.status === 200) {
        return response.json().then(show);
      }
      if (response.status === 204) {
        showEmpty(response.headers.get("Versus-Reason"));
        setBusy(false);
        return null;
      }
      return detail(response).then(function (text) {
        say(text + " Retrying…");
        setTimeout(loadNext, retryAfter(response));
      });
    }, function () {
      say("Connection lost. Retrying…");
      setTimeout(loadNext, 2000);
    });
  }

  // What follows a vote (or a report): the pair its answer carried, the reason there is
  // none, or a fresh request.
  function advance(after) {
    if (after.next) return show(after.next);
    if (after.reason) { showEmpty(after.reason); setBusy(false); return null; }
    return loadNext();
  }

  function reveal(models, choice, after) {
    ["left", "right"].forEach(function (side) {
      var line = root.querySelector("[data-reveal=" + side + "]");
      var name = document.createElement("strong");
      name.textContent = models[side];
      line.replaceChildren(name);
      if (choice === side) line.append(" · your pick");
      line.hidden = false;
      root.querySelector(".vote-pane[data-side=" + side + "]").classList.toggle("chosen", choice === side);
    });
    root.classList.add("revealing");
    say("You chose: " + NAMES[choice] + ".");
    if (after.next) preload(after.next);
    pending = { after: after, timer: setTimeout(moveOn, REVEAL_MS) };
    nextBox.hidden = false;
  }

  function moveOn() {
    if (!pending) return;
    var after = pending.after;
    clearTimeout(pending.timer);
    pending = null;
    advance(after);
  }

  // `resent`: this is the same vote sent again after the connection dropped, so it may have
  // been stored already (a matchup takes one vote: sending it twice is safe).
  function vote(choice, resent) {
    if (busy || !config.matchup) return;
    setBusy(true);
    var id = config.matchup.id;
    // "next": the answer carries the next pair, so a vote costs one request, not two.
    api("POST", "/api/v1/matchups/" + id + "/vote/", { choice: choice, next: true }).then(function (response) {
      if (response.status === 201) {
        return response.json().then(function (v) {
          var after = { next: v.next, reason: v.next ? "" : v.next_reason };
          if (v.models) { reveal(v.models, choice, after); return null; }
          showToast("Vote recorded: " + NAMES[choice]);
          return advance(after);
        });
      }
      if (response.status === 409 || response.status === 410 || response.status === 404) {
        return problem(response).then(function (d) {
          if (resent && d.code === "already_voted") showToast("Vote recorded: " + NAMES[choice]);
          else say(d.detail || response.statusText);
          return loadNext();
        });
      }
      if (response.status === 503) {
        // Nothing was stored (the database was out of reach): send the same vote again.
        var again = retryAfter(response);
        say("Your vote could not be saved just now; sending it again in " + Math.round(again / 1000) + " s.");
        setTimeout(function () { setBusy(false); vote(choice, resent); }, again);
        return null;
      }
      if (response.status === 429) {
        var wait = retryAfter(response);
        say("Slow down a little: you can vote again in " + Math.round(wait / 1000) + " s.");
        setTimeout(function () { setBusy(false); say(""); }, wait);
        return null;
      }
      return detail(response).then(function (text) { say(text); setBusy(false); });
    }, function () {
      say("Connection lost; sending your vote again…");
      setTimeout(function () { setBusy(false); vote(choice, true); }, 2000);
    });
  }

  function report(side, reason) {
    if (busy || !config.matchup) return;
    setBusy(true);
    api("POST", "/api/v1/matchups/" + config.matchup.id + "/report/", { side: side, reason: reason })
      .then(function (response) {
        if (response.status === 201) { showToast("Thank you: output reported."); return loadNext(); }
        return detail(response).then(function (text) { say(text); setBusy(false); });
      }, function () { say("The report could not be sent."); setBusy(false); });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = event.submitter;
      if (button && button.dataset.choice) vote(button.dataset.choice);
    });
    root.querySelectorAll("details.report").forEach(function (box) {
      box.querySelector("form").addEventListener("submit", function (event) {
        event.preventDefault();
        report(box.dataset.report, box.querySelector("input[name=reason]").value);
      });
    });
    nextButton.addEventListener("click", moveOn);
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || root.hidden) return;
      // A held key repeats: one press is one vote.
      if (event.repeat) return;
      var target = event.target;
      if (target && target.closest && target.closest(OWNS_KEYS)) return;
      if (pending) {
        if (event.key === "Enter" && !(target && target.closest && target.closest("button, a"))) {
          event.preventDefault();
          moveOn();
        }
        return;
      }
      var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      var choice = KEYS[key];
      if (!choice) return;
      event.preventDefault();
      vote(choice);
    });
  }
})();
