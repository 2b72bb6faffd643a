"""Voting routes: the page under /leaderboards/<id>/vote/ and the voter's JSON API."""

from django.urls import path

from matchmaking import api, views

urlpatterns = [
    path("leaderboards/<int:leaderboard_id>/vote/", views.vote_page, name="vote"),
    path(
        "api/v1/leaderboards/<int:leaderboard_id>/matchups/next/",
        api.MatchupNext.as_view(),
        name="matchup-next",
    ),
    path("api/v1/matchups/<int:matchup_id>/vote/", api.VoteCreate.as_view(), name="matchup-vote"),
    path(
        "api/v1/matchups/<int:matchup_id>/report/",
        api.ReportCreate.as_view(),
        name="matchup-report",
    ),
]
