"""Per-voter and per-IP rate limits: 429 with Retry-After, nothing recorded."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from evaluation.models import Vote
from tests.matchmaking.conftest import browser_client, next_matchup, open_page, vote

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_counters() -> None:
    cache.clear()


def test_it_limits_one_voter(board: Any, voter_api: APIClient, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ""
    open_page(voter_api, board)  # the session exists before the first counted request
    for _ in range(2):
        assert vote(voter_api, next_matchup(voter_api, board).json()["id"]).status_code == 201
    body = next_matchup(voter_api, board)
    assert body.status_code == 429
    assert int(body["Retry-After"]) > 0
    # Another voter is not held back by the first one's limit.
    other = browser_client()
    assert next_matchup(other, board).status_code == 200


def test_it_limits_votes_of_one_voter(board: Any, voter_api: APIClient, settings: Any) -> None:
    settings.VERSUS_RATE_IP = ""
    settings.VERSUS_RATE_VOTER = "1/min"
    first = next_matchup(voter_api, board).json()["id"]
    assert vote(voter_api, first).status_code == 201
    response = vote(voter_api, first)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert Vote.objects.count() == 1


def test_it_limits_one_ip_across_sessions(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = ""
    settings.VERSUS_RATE_IP = "3/min"
    answers = [next_matchup(browser_client(), board).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_it_ignores_a_forged_forwarded_for_header(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = ""
    settings.VERSUS_RATE_IP = "2/min"
    answers = [
        browser_client()
        .get(
            f"/api/v1/leaderboards/{board.pk}/matchups/next/",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{k}",
        )
        .status_code
        for k in range(3)
    ]
    assert answers == [200, 200, 429]


def test_it_lets_voters_through_when_the_limit_store_is_down(
    board: Any, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_RATE_VOTER = "1/min"
    settings.VERSUS_QUEUE_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    for _ in range(3):
        assert vote(voter_api, next_matchup(voter_api, board).json()["id"]).status_code == 201


@pytest.mark.parametrize(
    ("ip_rate", "longest"),
    [("", 60), ("2/hour", 3600)],
    ids=["voter limit reached", "IP limit reached first, with the longer window"],
)
def test_it_counts_both_limits_in_redis_and_answers_the_longest_wait(
    board: Any, voter_api: APIClient, settings: Any, fake_redis: Any, ip_rate: str, longest: int
) -> None:
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ip_rate
    open_page(voter_api, board)
    answers = [next_matchup(voter_api, board) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert longest - 60 < int(answers[-1]["Retry-After"]) <= longest
    keys = fake_redis.keys("versus:throttle_*")
    assert any(b"next-VERSUS_RATE_VOTER_voter-" in key for key in keys)
    assert any(b"next-VERSUS_RATE_IP_ip-" in key for key in keys) == bool(ip_rate)
