"""What Django answers when no view could (`config/handlers.py`): 404 for an unknown address,
503 when the database cannot be reached, 500 otherwise; JSON under /api/, pages elsewhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from evaluation.models import Vote
from leaderboards.models import Leaderboard
from tests.factories import make_leaderboard, make_models
from tests.matchmaking.conftest import browser_client, open_page
from tests.rating.boards import add_votes
from tests.rating.boards import board as rating_board

pytestmark = pytest.mark.django_db

DOWN = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def board(owner: Any) -> Leaderboard:
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 2)
    return leaderboard


def fail(monkeypatch: pytest.MonkeyPatch, target: str, exc: BaseException) -> None:
    def raise_it(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(target, raise_it)


def test_the_api_answers_503_json_while_the_database_is_unreachable(client, monkeypatch):
    fail(monkeypatch, "leaderboards.api.leaderboards_visible", DOWN)
    response = client.get("/api/v1/leaderboards/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "the database is unavailable for a moment; nothing was recorded, "
        "try again in 5 seconds",
        "code": "unavailable",
    }


def test_a_vote_the_database_could_not_take_is_a_503_and_stores_nothing(board, monkeypatch):
    voter = browser_client()
    voter.raise_request_exception = False
    matchup_id = open_page(voter, board).context["matchup"]["id"]
    fail(monkeypatch, "matchmaking.api.vote_record_and_offer", InterfaceError("connection closed"))
    response = voter.post(
        f"/api/v1/matchups/{matchup_id}/vote/",
        {"choice": "left", "next": True},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=voter.cookies["csrftoken"].value,
    )
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert not Vote.objects.exists()


def test_a_page_answers_503_in_the_site_layout_and_comes_back_by_itself(client, monkeypatch):
    fail(monkeypatch, "leaderboards.views.leaderboards_listed", DOWN)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "<h1>Back in a moment</h1>" in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert 'class="site-header"' in page


def test_a_failure_in_middleware_is_answered_the_same(client, monkeypatch):
    # The session is read before any view: a database down there must not be a bare 500.
    fail(monkeypatch, "django.contrib.sessions.backends.db.SessionStore.load", DOWN)
    client.cookies["sessionid"] = "x" * 32
    response = client.get("/")
    assert response.status_code == 503
    assert "<h1>Back in a moment</h1>" in response.content.decode()


def test_any_other_failure_is_a_500_that_says_so(client, monkeypatch):
    fail(monkeypatch, "leaderboards.api.leaderboards_visible", RuntimeError("bug"))
    response = client.get("/api/v1/leaderboards/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "Retry-After" not in response
    fail(monkeypatch, "leaderboards.views.leaderboards_listed", RuntimeError("bug"))
    page = client.get("/")
    assert page.status_code == 500
    assert "<h1>Something went wrong</h1>" in page.content.decode()


def test_an_unknown_address_is_a_404_json_under_the_api_and_a_page_elsewhere(client):
    api = client.get("/api/v1/no-such-thing/")
    assert api.status_code == 404
    assert api.json() == {"detail": "nothing at /api/v1/no-such-thing/", "code": "not_found"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.content.decode()


def test_a_page_this_user_may_not_see_is_a_403_page_in_the_site_layout(client, owner):
    # The admin's delete page of a vote: votes are never deleted, only excluded.
    leaderboard, models = rating_board(owner, 2)
    (vote,) = add_votes(leaderboard, [(models[0], models[1], "left")])
    owner.is_staff = owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    response = client.get(f"/admin/evaluation/vote/{vote.pk}/delete/")
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in response.content.decode()
    assert Vote.objects.filter(pk=vote.pk).exists()
