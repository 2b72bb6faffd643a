"""The voting page: server-rendered, then driven by static/js/vote.js without full reloads."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from config.errors import VersusError
from leaderboards.models import Leaderboard
from leaderboards.selectors import leaderboards_visible
from matchmaking.api import matchup_payload
from matchmaking.identity import matchup_issue_to, voter_cookie_set, voter_of
from matchmaking.services import vote_record

CHOICES = [
    ("left", "A is better", ["←", "A"]),
    ("tie", "Tie", ["↑", "T"]),
    ("both_bad", "Both bad", ["↓", "B"]),
    ("right", "B is better", ["→", "D"]),
]


@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def vote_page(request: HttpRequest, leaderboard_id: int) -> HttpResponse:
    """Show the voter a blinded pair of the leaderboard; a plain form POST also votes (no JS)."""
    leaderboard: Leaderboard | None = (
        leaderboards_visible(user=request.user).filter(pk=leaderboard_id).first()
    )
    if leaderboard is None:
        raise Http404("no such leaderboard")
    if request.method == "POST":
        try:
            vote_record(
                matchup_id=int(request.POST.get("matchup", "0") or 0),
                voter=voter_of(request),
                choice=request.POST.get("choice", ""),
            )
        except (VersusError, ValueError) as exc:
            messages.warning(request, getattr(exc, "message", "That vote was not valid."))
        # Post/redirect/get: a reload never sends the vote twice.
        return voter_cookie_set(request, HttpResponseRedirect(request.path))

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
        "config": {
            "leaderboard": leaderboard.pk,
            "next": f"/api/v1/leaderboards/{leaderboard.pk}/matchups/next/",
            "reveal": leaderboard.reveal_models,
            "matchup": payload,
        },
    }
    return voter_cookie_set(request, render(request, "matchmaking/vote.html", context))
