"""Redis dies in the middle of a voting session: votes are still recorded, pages still served.

The test runs its own redis-server on a free port as the queue, the rate limits, the cache and
the Celery broker, serves pairs from a real queue, then kills it. Unlike the dead-port test in
test_queue.py, every client here held live connections to Redis when it went away, and the
broker publishes after each vote's commit really go out, then really fail.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kombu.pools
import pytest
from rest_framework.test import APIClient

from config.celery import app as celery_app
from evaluation.models import Vote
from evaluation.tasks import pending_forget
from matchmaking import queue
from matchmaking.models import Matchup
from matchmaking.services import matchups_refill
from tests.factories import make_models
from tests.matchmaking.conftest import browser_client, csrf_post, next_matchup, open_page
from tests.ports import free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, on a free port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs the redis-server binary (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Tasks published to `url` for real (no worker reads them), as the web processes do."""

    def forget_connections() -> None:
        # Close every pooled broker connection and forget the pools. Closing only the app's
        # pool left it, closed, in kombu's registry under the old broker's address, and the
        # tests after this one could no longer publish there ("Acquire on closed pool").
        kombu.pools.reset()
        celery_app._pool = None
        amqp = celery_app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    conf = celery_app.conf
    before = conf.broker_url, conf.task_always_eager
    forget_connections()
    conf.broker_url, conf.task_always_eager = url, False
    try:
        yield
    finally:
        forget_connections()
        conf.broker_url, conf.task_always_eager = before


def vote_next(client: APIClient, matchup_id: int, choice: str = "left") -> Any:
    """The page's way to vote: the answer carries the next matchup."""
    return csrf_post(
        client, f"/api/v1/matchups/{matchup_id}/vote/", {"choice": choice, "next": True}
    )


def form_vote(client: APIClient, board: Any, matchup_id: int) -> Any:
    return client.post(
        f"/leaderboards/{board.pk}/vote/",
        {
            "matchup": matchup_id,
            "choice": "tie",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )


def test_it_keeps_voting_when_redis_dies_mid_session(
    board: Any,
    settings: Any,
    own_redis: tuple[str, subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, server = own_redis
    make_models(board, 1, prefix="fourth")  # 4 models, 2 prompts: 12 pairs per voter
    settings.REDIS_URL = url
    settings.VERSUS_QUEUE_REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.5},
        }
    }
    settings.VERSUS_RATE_VOTER = "1000/min"  # counted in Redis while it lives
    settings.VERSUS_RATE_IP = "1000/min"
    settings.VERSUS_QUEUE_SIZE = 40
    settings.VERSUS_QUEUE_LOW = 0
    answers: list[Any] = []

    def check(response: Any, status: int) -> Any:
        answers.append(response)
        assert response.status_code == status, response.content[:300]
        return response

    with celery_broker(url):
        assert matchups_refill(leaderboard_id=board.pk, seed=3) == 40
        voter = browser_client()
        check(open_page(voter, board), 200)
        current = Matchup.objects.get().pk
        for _ in range(3):
            current = check(vote_next(voter, current), 201).json()["next"]["id"]
        check(form_vote(voter, board, current), 302)
        check(open_page(voter, board), 200)
        # Every pair so far came from the queue, none was chosen directly.
        served = Matchup.objects.count()
        assert served == 5
        assert queue.queue_length(board.pk) == 40 - served
        assert Vote.objects.count() == 4
        # Live Redis: the ratings refresh went to the broker, and the counters to Redis.
        assert "could not queue" not in caplog.text

        server.kill()
        server.wait(timeout=10)
        # The refresh queued before was lost with the broker; once the time it was due has
        # passed, the next vote asks again (and the sweep catches up whatever it misses).
        pending_forget()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            current = Matchup.objects.filter(closed_at__isnull=True).get().pk
            for choice in ("left", "right", "both_bad"):
                body = check(vote_next(voter, current, choice), 201).json()
                assert body["next"] is not None
                current = body["next"]["id"]
            check(form_vote(voter, board, current), 302)
            check(open_page(voter, board), 200)
            check(next_matchup(voter, board), 200)
            newcomer = browser_client()  # no cookie: a new voter while Redis is down
            check(open_page(newcomer, board), 200)
            fresh = next_matchup(newcomer, board)
            check(fresh, 200)
            check(vote_next(newcomer, fresh.json()["id"]), 201)

    assert Vote.objects.count() == 4 + 5
    assert all(answer.status_code < 500 for answer in answers)
    # The publishes after commit did fail: the votes are stored regardless, for the sweep.
    assert "could not queue a ratings refresh" in caplog.text
    assert Vote.objects.filter(counted=False).count() == 9
