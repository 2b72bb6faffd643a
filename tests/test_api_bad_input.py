"""Malformed requests any API endpoint may get: a clear 4xx, never a 500, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from config.validation import JSON_TOO_DEEP, json_loads
from evaluation.models import Model, Vote
from leaderboards.models import Benchmark, Leaderboard
from tests.factories import make_leaderboard, make_models
from tests.matchmaking.conftest import browser_client, open_page

pytestmark = pytest.mark.django_db

TOO_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def board(owner: Any) -> Leaderboard:
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 2)
    return leaderboard


def assert_too_deep(response: Any) -> None:
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("JSON parse error - request body:")
    assert JSON_TOO_DEEP in detail


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/leaderboards/",
        "/api/v1/benchmarks/",  # a view with its own parsers (JSON and multipart)
        "/api/v1/benchmarks/{benchmark}/leaderboards/",
        "/api/v1/benchmarks/{benchmark}/models/",  # ditto
        "/api/v1/leaderboards/{board}/models/",  # ditto
    ],
)
def test_it_answers_400_for_an_owners_json_nested_too_deeply(
    api: APIClient, board: Leaderboard, path: str
) -> None:
    url = path.format(benchmark=board.benchmark_id, board=board.pk)
    assert_too_deep(api.post(url, TOO_DEEP, content_type="application/json"))
    assert (Benchmark.objects.count(), Leaderboard.objects.count()) == (1, 1)
    assert Model.objects.count() == 2


def test_it_answers_400_for_a_vote_nested_too_deeply(board: Leaderboard) -> None:
    voter = browser_client()
    matchup_id = open_page(voter, board).context["matchup"]["id"]
    response = voter.post(
        f"/api/v1/matchups/{matchup_id}/vote/",
        TOO_DEEP,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=voter.cookies["csrftoken"].value,
    )
    assert_too_deep(response)
    assert not Vote.objects.exists()


def test_json_loads_refuses_a_document_nested_too_deeply_as_malformed_json() -> None:
    with pytest.raises(ValueError, match=JSON_TOO_DEEP):
        json_loads(TOO_DEEP)
    assert json_loads('{"a": [[1]]}') == {"a": [[1]]}
