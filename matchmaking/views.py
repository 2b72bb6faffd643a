"""The voting page: server-rendered, then driven by static/js/vote.js without full reloads.

Without JavaScript the page still works: its buttons POST a form to the page itself (a vote, or
a report of one output), and the answer redirects back to the page, which shows the next pair
and, on a board that reveals them, the names of the models just judged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from config.errors import NotFound, VersusError
from matchmaking.api import matchup_payload
from matchmaking.identity import matchup_issue_to, voter_cookie_set, voter_of
from matchmaking.selectors import voting_leaderboard_get
from matchmaking.services import output_report, vote_record
from matchmaking.throttles import request_wait


@dataclass(frozen=True)
class Choice:
    """One answer button: its value, its text, and its keys (as `aria-keyshortcuts` names
    them, and as the button shows them)."""

    value: str
    text: str
    keys: str
    shown: tuple[str, ...]


# The panes are "Left" and "Right", and no key is a pane's initial: the letters sit under the
# left hand as the arrows sit under the right (W A S D), so nothing reads two ways.
CHOICES = [
    Choice("left", "Left is better", "ArrowLeft A", ("←", "A")),
    Choice("tie", "Tie", "ArrowUp W", ("↑", "W")),
    Choice("both_bad", "Both bad", "ArrowDown S", ("↓", "S")),
    Choice("right", "Right is better", "ArrowRight D", ("→", "D")),
]
CHOICE_TEXT = {choice.value: choice.text for choice in CHOICES}

# A message carrying the models just judged, as JSON, for the page after a form vote.
REVEAL_TAG = "reveal"


@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def vote_page(request: HttpRequest, leaderboard_id: int) -> HttpResponse:
    """Show the voter a blinded pair of the leaderboard; a plain form POST also votes (no JS)."""
    # Limited before anything is read or written: a browser without a cookie gets a new voter
    # and matchup on every GET, so this is what bounds a script that discards its cookies.
    scope = "next"
    if request.method == "POST":
        scope = "report" if "report" in request.POST else "vote"
    wait = request_wait(request, scope=scope)
    if wait is not None:
        return _slow_down(request, wait=wait, scope=scope)
    try:
        leaderboard = voting_leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
    except NotFound:
        raise Http404("no such leaderboard") from None
    if request.method == "POST":
        _form_post(request)
        # Post/redirect/get: a reload never sends the vote twice.
        return voter_cookie_set(request, HttpResponseRedirect(request.path))

    revealed, notices = _after_post(request)
    matchup = payload = None
    reason = "closed"
    if leaderboard.is_active:
        issued = matchup_issue_to(request, leaderboard)
        matchup, reason = issued.matchup, issued.reason
        if matchup is not None:
            payload = matchup_payload(matchup, leaderboard)
    context = {
        "leaderboard": leaderboard,
        "matchup": payload,
        "reason": reason,
        "choices": CHOICES,
        "revealed": revealed,
        "notices": notices,
        "config": {
            "leaderboard": leaderboard.pk,
            "next": f"/api/v1/leaderboards/{leaderboard.pk}/matchups/next/",
            "reveal": leaderboard.reveal_models,
            "matchup": payload,
        },
    }
    return voter_cookie_set(request, render(request, "matchmaking/vote.html", context))


def _form_post(request: HttpRequest) -> None:
    """Carry out the page's form: a vote, or a report of one output; say how it went."""
    try:
        matchup_id = int(request.POST.get("matchup", "") or 0)
    except ValueError:
        messages.warning(request, "That form was not valid: reload the page and try again.")
        return
    try:
        if "report" in request.POST:
            output_report(
                matchup_id=matchup_id,
                voter=voter_of(request),
                side=request.POST.get("report", ""),
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, "Thank you: output reported. Here is another pair.")
            return
        vote = vote_record(
            matchup_id=matchup_id, voter=voter_of(request), choice=request.POST.get("choice", "")
        )
    except VersusError as exc:
        messages.warning(request, exc.message)
        return
    if vote.leaderboard.reveal_models:
        names = {"left": vote.left_model.name, "right": vote.right_model.name}
        messages.info(request, json.dumps({**names, "choice": vote.choice}), extra_tags=REVEAL_TAG)
    else:
        messages.success(request, f"Vote recorded: {CHOICE_TEXT[vote.choice]}.")


def _after_post(request: HttpRequest) -> tuple[dict[str, str] | None, list[str]]:
    """What the last form POST left to show: the models just judged, and notices."""
    revealed = None
    notices = []
    for message in messages.get_messages(request):
        if REVEAL_TAG in message.extra_tags.split():
            shown = json.loads(message.message)
            revealed = {**shown, "choice_text": CHOICE_TEXT.get(shown.get("choice"), "")}
        else:
            notices.append(str(message.message))
    return revealed, notices


def _slow_down(request: HttpRequest, *, wait: int, scope: str) -> HttpResponse:
    """429 with Retry-After and a page that says so, then reloads the voting page itself."""
    what = {
        "vote": "Your vote was not recorded",
        "report": "Your report was not sent",
    }.get(scope, "No new pair was issued")
    context = {"wait": wait, "what": what, "back": request.path}
    response = render(request, "matchmaking/slow_down.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
