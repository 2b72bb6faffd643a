"""The rater's Celery path: debounce, lock, bootstrap after refresh, beat's sweep."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerDown

from config.celery import app as celery_app
from evaluation import tasks
from evaluation.models import RatingSnapshot
from evaluation.selectors import snapshot_latest
from tests.rating.boards import add_votes, board, random_votes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    cache.clear()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict[str, Any]]]:
    """Record what would be sent to the broker instead of running it."""
    sent: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(
        tasks.ratings_refresh, "apply_async", lambda args, **kw: sent.append((args, kw))
    )
    return sent


def test_it_queues_one_refresh_a_few_seconds_ahead_however_many_votes_arrive(owner, queued):
    leaderboard, _ = board(owner, 2)
    for _ in range(5):
        tasks.ratings_refresh_soon(leaderboard.pk)
    assert queued == [((leaderboard.pk,), {"countdown": tasks.debounce_seconds()})]
    other, _ = board(owner, 2, name="Other")
    tasks.ratings_refresh_soon(other.pk)
    assert len(queued) == 2


def test_a_refresh_clears_the_pending_mark_so_later_votes_queue_the_next_one(
    owner, queued, monkeypatch
):
    leaderboard, models = board(owner, 2)
    tasks.ratings_refresh_soon(leaderboard.pk)
    add_votes(leaderboard, [(models[0], models[1], "left")])
    # The queued run starts when its countdown is over.
    later = time.time() + tasks.debounce_seconds()
    monkeypatch.setattr(tasks.time, "time", lambda: later)
    assert tasks.ratings_refresh.run(leaderboard.pk) is not None
    tasks.ratings_refresh_soon(leaderboard.pk)
    assert len(queued) == 2


def test_another_process_learns_when_the_pending_refresh_starts_and_trusts_it_until_then(
    owner, queued, monkeypatch
):
    leaderboard, _ = board(owner, 2)
    tasks.ratings_refresh_soon(leaderboard.pk)
    tasks.pending_forget()  # as in another web process
    asked: list[str] = []
    get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **k: asked.append(key) or get(key, *a, **k))
    for _ in range(3):
        tasks.ratings_refresh_soon(leaderboard.pk)
    assert len(asked) == 1  # read once, then remembered
    assert len(queued) == 1
    # Shortly before the pending refresh starts, a vote asks again (and queues the next run
    # once that one has cleared the mark).
    starts = time.time() + tasks.debounce_seconds()
    monkeypatch.setattr(tasks.time, "time", lambda: starts - tasks.PENDING_MARGIN_SECONDS / 2)
    cache.delete(tasks._pending_key(leaderboard.pk))
    tasks.ratings_refresh_soon(leaderboard.pk)
    assert len(queued) == 2


def test_it_never_raises_when_the_broker_is_down_and_lets_the_next_vote_try_again(
    owner, monkeypatch
):
    leaderboard, _ = board(owner, 2)
    calls = []

    def down(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise BrokerDown("connection refused")

    monkeypatch.setattr(tasks.ratings_refresh, "apply_async", down)
    tasks.ratings_refresh_soon(leaderboard.pk)
    tasks.ratings_refresh_soon(leaderboard.pk)
    assert len(calls) == 2


def test_it_never_raises_when_the_cache_is_down_too(owner, monkeypatch, queued):
    leaderboard, _ = board(owner, 2)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "add", broken)
    tasks.ratings_refresh_soon(leaderboard.pk)
    assert len(queued) == 1


def test_a_run_that_loses_the_lock_publishes_nothing_and_asks_for_a_later_run(owner, queued):
    leaderboard, models = board(owner, 2)
    add_votes(leaderboard, [(models[0], models[1], "left")])
    with tasks.leaderboard_lock(leaderboard.pk) as held:
        assert held
        with tasks.leaderboard_lock(leaderboard.pk) as second:
            assert not second
        assert tasks.ratings_refresh.run(leaderboard.pk) is None
    assert RatingSnapshot.objects.count() == 0
    assert queued == [((leaderboard.pk,), {"countdown": tasks.debounce_seconds()})]
    # Released: the next run goes ahead.
    assert tasks.ratings_refresh.run(leaderboard.pk) is not None


def test_after_commit_a_vote_is_published_with_bootstrap_rank_intervals(
    owner, django_capture_on_commit_callbacks
):
    leaderboard, models = board(owner, 3)
    with django_capture_on_commit_callbacks(execute=True):
        add_votes(leaderboard, random_votes(models, 90, seed=1))
        transaction.on_commit(lambda: tasks.ratings_refresh_soon(leaderboard.pk))
    snapshot = snapshot_latest(leaderboard=leaderboard)
    assert snapshot is not None
    assert snapshot.vote_count == 90
    assert snapshot.has_bootstrap
    assert all(r.rank_low is not None for r in snapshot.ratings.all())


def test_a_refresh_of_a_deleted_leaderboard_is_quietly_done(owner):
    leaderboard, _ = board(owner, 2)
    leaderboard_id = leaderboard.pk
    leaderboard.delete()
    assert tasks.ratings_refresh.run(leaderboard_id) is None


def test_the_sweep_refreshes_boards_whose_votes_were_never_published(owner, monkeypatch):
    behind, models = board(owner, 2, name="Behind")
    up_to_date, others = board(owner, 2, name="Current")
    add_votes(up_to_date, [(others[0], others[1], "left")])
    tasks.ratings_refresh.run(up_to_date.pk)
    # Votes stored while the broker was down: nothing was queued for them.
    add_votes(behind, [(models[0], models[1], "right")] * 3)
    assert tasks.ratings_sweep.run() == {"refresh": 1, "bootstrap": 0}
    assert snapshot_latest(leaderboard=behind).vote_count == 3
    assert tasks.ratings_sweep.run() == {"refresh": 0, "bootstrap": 0}


def test_beat_runs_the_sweep_and_the_thinning_periodically() -> None:
    schedule = celery_app.conf.beat_schedule
    tasks_scheduled = {entry["task"] for entry in schedule.values()}
    for name in ("evaluation.tasks.ratings_sweep", "evaluation.tasks.snapshots_thin_all"):
        assert name in tasks_scheduled
        assert name in celery_app.tasks
