"""Pages of metric leaderboards, mounted under /metrics/ by config/urls.py."""

from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.board_list, name="index"),
    path("compare/", views.compare_page, name="compare"),
    path("<int:board_id>/", views.board_page, name="board"),
    path("<int:board_id>/runs/<run_id:run_id>/", views.run_page, name="run"),
]
