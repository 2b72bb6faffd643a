"""Public pages of leaderboards."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leaderboards.selectors import leaderboards_visible


def index(request: HttpRequest) -> HttpResponse:
    """Every leaderboard the visitor may see, newest first, searchable by name."""
    query = request.GET.get("q", "").strip()
    leaderboards = leaderboards_visible(user=request.user).annotate(
        model_count=Count("benchmark__models", distinct=True),
        prompt_count=Count("benchmark__prompts", distinct=True),
    )
    if query:
        leaderboards = leaderboards.filter(name__icontains=query)
    return render(
        request,
        "leaderboards/index.html",
        {"leaderboards": leaderboards[:200], "query": query},
    )
