"""Fixtures for matchmaking: a board with models, voters' API clients, a fake Redis queue."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leaderboards.models import Leaderboard
from matchmaking import queue
from tests.factories import make_leaderboard, make_models


@pytest.fixture(autouse=True)
def _fresh_breaker(settings: Any) -> Iterator[None]:
    """No Redis failure from an earlier test leaks into this one, nor its rate-limit counts
    (every test client is 127.0.0.1); votes are slow enough."""
    settings.VERSUS_MIN_VIEW_MS = 0
    settings.VERSUS_GOLD_SHARE_PERCENT = 0
    queue.breaker_reset()
    # A test may have pointed the cache at a stopped Redis: nothing to clear then.
    with contextlib.suppress(Exception):
        cache.clear()
    yield
    queue.breaker_reset()


@pytest.fixture
def board(owner: Any) -> Leaderboard:
    """Three models on two prompts: three pairs, six (pair, prompt) matchups."""
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 3)
    return leaderboard


@pytest.fixture
def voter_api() -> APIClient:
    """An anonymous browser: a session cookie and the CSRF token, checked as a browser would."""
    return browser_client()


def browser_client() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


def csrf_post(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    """POST as the voting page does: JSON body and the X-CSRFToken header from the cookie."""
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    return client.post(url, data, format="json", HTTP_X_CSRFTOKEN=token)


def next_matchup(client: APIClient, leaderboard: Leaderboard) -> Any:
    return client.get(f"/api/v1/leaderboards/{leaderboard.pk}/matchups/next/")


def open_page(client: APIClient, leaderboard: Leaderboard) -> Any:
    """The voting page: it sets the CSRF cookie and the session."""
    return client.get(f"/leaderboards/{leaderboard.pk}/vote/")


def vote(client: APIClient, matchup_id: int, choice: str = "left") -> Any:
    return csrf_post(client, f"/api/v1/matchups/{matchup_id}/vote/", {"choice": choice})


@pytest.fixture
def fake_redis(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Any:
    """The queue on an in-process fake Redis (the real one is tested under `services`)."""
    fakeredis = pytest.importorskip("fakeredis")
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    settings.VERSUS_QUEUE_REDIS_URL = "redis://fake"
    monkeypatch.setattr(queue, "_client_for", lambda url: client)
    return client
