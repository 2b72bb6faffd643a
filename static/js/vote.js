/* Voting page: vote with a click or a key, then the next pair without a full reload.
   Talks to the JSON API with the session cookie and the CSRF token; never learns which model
   made an output until the vote is in (and only if the leaderboard reveals it). */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("vote-config").textContent);
  var root = document.getElementById("vote-matchup");
  var form = document.getElementById("vote-form");
  var statusLine = document.getElementById("vote-status");
  var toast = document.getElementById("vote-toast");
  var busy = false;
  var toastTimer = null;
  var KEYS = {
    ArrowLeft: "left", a: "left", A: "left",
    ArrowRight: "right", d: "right", D: "right",
    ArrowUp: "tie", t: "tie", T: "tie",
    ArrowDown: "both_bad", b: "both_bad", B: "both_bad"
  };
  var NAMES = { left: "A", right: "B", tie: "Tie", both_bad: "Both bad" };

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

  function fill(id, media, label) {
    var box = document.getElementById(id);
    box.replaceChildren();
    if (media) box.appendChild(mediaElement(media, label));
  }

  function render(m) {
    root.dataset.matchup = String(m.id);
    document.getElementById("vote-matchup-id").value = String(m.id);
    var prompt = document.getElementById("vote-prompt");
    document.getElementById("vote-prompt-text").textContent = m.prompt || "";
    fill("vote-prompt-asset", m.prompt_asset, "Prompt asset");
    prompt.hidden = !(m.prompt || m.prompt_asset);
    fill("vote-left", m.left, "Output A");
    fill("vote-right", m.right, "Output B");
    root.querySelectorAll("[data-reveal]").forEach(function (el) { el.textContent = ""; });
    root.hidden = false;
    document.getElementById("vote-empty").hidden = true;
    config.matchup = m;
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

  function detail(response) {
    return response.json().then(function (d) { return d.detail || response.statusText; },
      function () { return response.statusText; });
  }

  function loadNext() {
    return api("GET", config.next).then(function (response) {
      if (response.status === 200) {
        return response.json().then(function (m) { render(m); say(""); setBusy(false); });
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

  function retryAfter(response) {
    var seconds = parseInt(response.headers.get("Retry-After") || "2", 10);
    return Math.max(1, isNaN(seconds) ? 2 : seconds) * 1000;
  }

  function vote(choice) {
    if (busy || !config.matchup) return;
    setBusy(true);
    var id = config.matchup.id;
    // "next": the answer carries the next pair, so a vote costs one request, not two.
    api("POST", "/api/v1/matchups/" + id + "/vote/", { choice: choice, next: true }).then(function (response) {
      if (response.status === 201) {
        return response.json().then(function (v) {
          if (v.models) {
            showToast("You chose " + NAMES[choice] + ". A: " + v.models.left + " · B: " + v.models.right);
          } else {
            showToast("Vote recorded: " + NAMES[choice]);
          }
          if (v.next) { render(v.next); say(""); setBusy(false); return null; }
          if (v.next_reason) { showEmpty(v.next_reason); setBusy(false); return null; }
          return loadNext();
        });
      }
      if (response.status === 409 || response.status === 410 || response.status === 404) {
        return detail(response).then(function (text) { say(text); return loadNext(); });
      }
      if (response.status === 429) {
        var wait = retryAfter(response);
        say("Slow down a little: you can vote again in " + Math.round(wait / 1000) + " s.");
        setTimeout(function () { setBusy(false); say(""); }, wait);
        return null;
      }
      return detail(response).then(function (text) { say(text); setBusy(false); });
    }, function () {
      say("Your vote could not be sent (connection lost). Try again.");
      setBusy(false);
    });
  }

  function report(side) {
    if (busy || !config.matchup) return;
    var reason = window.prompt("What is wrong with output " + NAMES[side] + "? (optional)", "");
    if (reason === null) return;
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
    root.querySelectorAll("[data-report]").forEach(function (button) {
      button.addEventListener("click", function () { report(button.dataset.report); });
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || root.hidden) return;
      var tag = (event.target && event.target.tagName) || "";
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
      var choice = KEYS[event.key];
      if (!choice) return;
      event.preventDefault();
      vote(choice);
    });
  }
})();
