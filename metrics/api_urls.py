"""API routes of metric leaderboards, mounted under /api/v1/ by config/urls.py."""

from django.urls import path

from metrics import api

urlpatterns = [
    path(
        "metric-leaderboards/",
        api.MetricBoardListCreate.as_view(),
        name="metric-leaderboard-list",
    ),
    path(
        "metric-leaderboards/compare/",
        api.RunsCompare.as_view(),
        name="metric-leaderboard-compare",
    ),
    path(
        "metric-leaderboards/<int:board_id>/",
        api.MetricBoardDetail.as_view(),
        name="metric-leaderboard-detail",
    ),
    path(
        "metric-leaderboards/<int:board_id>/metrics/",
        api.MetricDeclare.as_view(),
        name="metric-leaderboard-metrics",
    ),
    path(
        "metric-leaderboards/<int:board_id>/results/",
        api.ResultListCreate.as_view(),
        name="metric-leaderboard-results",
    ),
    path(
        "metric-leaderboards/<int:board_id>/results/<int:result_id>/",
        api.ResultDetail.as_view(),
        name="metric-leaderboard-result",
    ),
    path(
        "metric-leaderboards/<int:board_id>/ranking/",
        api.BoardRanking.as_view(),
        name="metric-leaderboard-ranking",
    ),
    path(
        "metric-leaderboards/<int:board_id>/champion/",
        api.BoardChampion.as_view(),
        name="metric-leaderboard-champion",
    ),
    path(
        "metric-leaderboards/<int:board_id>/runs/<run_id:run_id>/",
        api.RunDetail.as_view(),
        name="metric-leaderboard-run",
    ),
]
