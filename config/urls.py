"""Routes: public pages, media, the REST API under /api/v1/, its schema and docs, the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.docs import ApiDocs
from evaluation import api as evaluation_api
from evaluation import api_ratings
from evaluation import views as evaluation_views
from leaderboards import api as leaderboards_api
from leaderboards import api_exports as leaderboards_exports
from leaderboards import views as leaderboards_views

handler403 = "config.handlers.forbidden"
handler404 = "config.handlers.not_found"
handler500 = "config.handlers.server_error"

api_v1 = [
    path("benchmarks/", leaderboards_api.BenchmarkListCreate.as_view(), name="benchmark-list"),
    path(
        "benchmarks/<int:benchmark_id>/",
        leaderboards_api.BenchmarkDetail.as_view(),
        name="benchmark-detail",
    ),
    path(
        "benchmarks/<int:benchmark_id>/leaderboards/",
        leaderboards_api.BenchmarkLeaderboardCreate.as_view(),
        name="benchmark-leaderboards",
    ),
    path(
        "benchmarks/<int:benchmark_id>/models/",
        evaluation_api.BenchmarkModels.as_view(),
        name="benchmark-models",
    ),
    path(
        "leaderboards/", leaderboards_api.LeaderboardListCreate.as_view(), name="leaderboard-list"
    ),
    path(
        "leaderboards/<int:leaderboard_id>/",
        leaderboards_api.LeaderboardDetail.as_view(),
        name="leaderboard-detail",
    ),
    path(
        "leaderboards/<int:leaderboard_id>/models/",
        evaluation_api.LeaderboardModels.as_view(),
        name="leaderboard-models",
    ),
    path(
        "leaderboards/<int:leaderboard_id>/standings/",
        api_ratings.LeaderboardStandings.as_view(),
        name="leaderboard-standings",
    ),
    path(
        "leaderboards/<int:leaderboard_id>/win-loss/",
        api_ratings.LeaderboardWinLoss.as_view(),
        name="leaderboard-win-loss",
    ),
]

api_v1 += [
    path(
        "leaderboards/<int:leaderboard_id>/votes/",
        leaderboards_exports.LeaderboardVotesExport.as_view(),
        name="leaderboard-votes",
    ),
]

# Public pages of a leaderboard (its voting page, /leaderboards/<id>/vote/, is matchmaking's).
leaderboard_pages = [
    path("", leaderboards_views.leaderboard_detail, name="page-leaderboard"),
    path("data.json", leaderboards_views.leaderboard_data, name="page-leaderboard-data"),
    path("prompts/", leaderboards_views.prompt_gallery, name="page-prompts"),
    path("models/<int:model_id>/", leaderboards_views.model_detail, name="page-model"),
    path("outputs/<int:output_id>", leaderboards_views.output_file, name="page-output"),
]

# Voting first: the page of a leaderboard and the voter's JSON API (matchmaking/urls.py)
# take nearly every request of a busy site, and Django tries the routes in order.
urlpatterns = [
    path("", include("matchmaking.urls")),
    path("", leaderboards_views.index, name="index"),
    path("leaderboards/<int:leaderboard_id>/", include(leaderboard_pages)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocs.as_view(url_name="schema"), name="api-docs"),
    path("media/o/<uuid:public_id>", evaluation_views.output_media, name="output-media"),
    path("media/a/<int:prompt_id>", evaluation_views.prompt_asset, name="prompt-asset"),
]


# Metric leaderboards: automatic scores per run, their API and pages (metrics/).
urlpatterns += [
    path("api/v1/", include("metrics.api_urls")),
    path("metrics/", include("metrics.urls")),
]
