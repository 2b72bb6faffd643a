"""Celery tasks of the evaluation app: ids in, one service call, safe to run twice.

The rater's path after a vote commits:

1. `ratings_refresh_soon(leaderboard_id)` (from `transaction.on_commit`) queues one
   `ratings_refresh` a few seconds ahead unless one is already pending for that leaderboard
   (a cache key marks it), so a busy leaderboard is refitted at most once per
   `VERSUS_RATINGS_DEBOUNCE_SECONDS` however many votes arrive.
2. `ratings_refresh` clears the pending mark first (a vote committed after that queues the
   next run), takes the leaderboard's lock (a Redis lock; a run that finds it taken queues a
   later run and returns: losing the race is not an error), recomputes and publishes, then
   queues `ratings_bootstrap_refresh` for the rank intervals.
3. Celery beat runs `ratings_sweep` every `VERSUS_RATINGS_SWEEP_SECONDS`: it refreshes every
   leaderboard whose votes, settings or models changed since its latest snapshot, and
   bootstraps latest snapshots that missed theirs. This is what catches up after the broker or
   a worker was down, since votes are in the database either way.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache as memoize
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone

from config.errors import NotFound
from evaluation.selectors import ratings_due
from evaluation.services.ratings import ratings_bootstrap, ratings_recompute, snapshots_thin
from evaluation.services.screening import boards_to_screen, networks_screen
from leaderboards.models import Leaderboard

logger = logging.getLogger(__name__)

# Longer than any recompute (a 300-model board takes about a second); a crashed worker's lock
# frees itself after this.
LOCK_SECONDS = 600


def debounce_seconds() -> float:
    """Delay between the first new vote and the refresh that counts it."""
    return float(getattr(settings, "VERSUS_RATINGS_DEBOUNCE_SECONDS", 5))


def _pending_key(leaderboard_id: int) -> str:
    return f"ratings:pending:{leaderboard_id}"


def _lock_key(leaderboard_id: int) -> str:
    return f"versus:ratings:lock:{leaderboard_id}"


@memoize
def _redis() -> Any:
    """A Redis client for locks when REDIS_URL is set, else None (embedded mode)."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


@contextmanager
def leaderboard_lock(leaderboard_id: int) -> Iterator[bool]:
    """Hold the leaderboard's rater lock; yields False when another run holds it.

    On Redis the lock is `SET NX` with a random token and released only by its holder (a
    `redis-py` Lock), so an expired holder cannot free a successor's lock. Without Redis
    (embedded mode) the cache's atomic `add` does the same within the process. If Redis cannot
    be reached the run goes ahead unlocked: the database row lock in `ratings_recompute` still
    keeps the counts exact, the Redis lock only keeps workers from queueing behind it.
    """
    client = _redis()
    if client is not None:
        import redis

        lock = client.lock(_lock_key(leaderboard_id), timeout=LOCK_SECONDS, blocking=False)
        try:
            held = bool(lock.acquire())
        except redis.RedisError:
            logger.warning("ratings lock unavailable for leaderboard %s", leaderboard_id)
            yield True
            return
        if not held:
            yield False
            return
        try:
            yield True
        finally:
            try:
                lock.release()
            except redis.RedisError:
                # Expired or Redis gone: the TTL frees it.
                logger.warning("could not release ratings lock of leaderboard %s", leaderboard_id)
        return
    token = uuid.uuid4().hex
    if not cache.add(_lock_key(leaderboard_id), token, timeout=LOCK_SECONDS):
        yield False
        return
    try:
        yield True
    finally:
        if cache.get(_lock_key(leaderboard_id)) == token:
            cache.delete(_lock_key(leaderboard_id))


PENDING_MARGIN_SECONDS = 0.5
"""How long before a queued refresh starts a web process stops trusting it to count a vote."""

_refresh_starts: dict[int, float] = {}
"""This process's knowledge, per leaderboard, of when its queued refresh starts (epoch
seconds): until shortly before then a vote needs no round trip to learn that."""


def ratings_refresh_soon(leaderboard_id: int) -> None:
    """Ask for a ratings refresh of one leaderboard; call it from `transaction.on_commit`.

    Debounced: when a refresh is already pending for this leaderboard nothing is queued, since
    that refresh counts every vote committed before it starts. The pending mark holds the time
    it starts, and each process remembers it, so on a busy board a vote costs no cache round
    trip until shortly (`PENDING_MARGIN_SECONDS`) before that refresh starts. Never raises:
    when the broker or the cache is down the votes are safe in the database and the periodic
    sweep publishes them.
    """
    now = time.time()
    if _refresh_starts.get(leaderboard_id, 0.0) - PENDING_MARGIN_SECONDS > now:
        return
    starts = now + debounce_seconds()
    try:
        if not cache.add(_pending_key(leaderboard_id), starts, timeout=debounce_seconds() + 60):
            pending = cache.get(_pending_key(leaderboard_id))
            if isinstance(pending, float):
                _refresh_starts[leaderboard_id] = pending
            return
    except Exception:  # the cache may be down; queue anyway
        logger.warning("ratings debounce unavailable for leaderboard %s", leaderboard_id)
    try:
        ratings_refresh.apply_async((leaderboard_id,), countdown=debounce_seconds())
    except Exception:  # the broker may be down; the sweep catches up
        logger.warning(
            "could not queue a ratings refresh for leaderboard %s", leaderboard_id, exc_info=True
        )
        try:
            cache.delete(_pending_key(leaderboard_id))
        except Exception:
            logger.warning("could not clear the pending refresh of %s", leaderboard_id)
        return
    _refresh_starts[leaderboard_id] = starts


def pending_forget() -> None:
    """Forget every refresh this process knows to be pending (tests: ids are reused)."""
    _refresh_starts.clear()


def _bootstrap_soon(snapshot_id: int) -> None:
    try:
        ratings_bootstrap_refresh.delay(snapshot_id)
    except Exception:  # the sweep bootstraps snapshots that missed theirs
        logger.warning("could not queue the bootstrap of snapshot %s", snapshot_id, exc_info=True)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def ratings_refresh(leaderboard_id: int) -> int | None:
    """Count the leaderboard's new votes and publish fresh standings; then queue the bootstrap.

    Returns the new snapshot's id, or None when another run held the lock (a later run is
    queued instead) or the leaderboard no longer exists.
    """
    try:
        cache.delete(_pending_key(leaderboard_id))
    except Exception:
        logger.warning("could not clear the pending refresh of %s", leaderboard_id)
    with leaderboard_lock(leaderboard_id) as held:
        if not held:
            # The holder may have read the counters before our votes: run once more after it.
            logger.info("ratings of leaderboard %s are being refreshed already", leaderboard_id)
            ratings_refresh_soon(leaderboard_id)
            return None
        try:
            snapshot = ratings_recompute(leaderboard_id=leaderboard_id)
        except NotFound:
            return None
    _bootstrap_soon(snapshot.pk)
    return snapshot.pk


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def ratings_bootstrap_refresh(snapshot_id: int) -> bool:
    """Add bootstrap rank intervals to a snapshot if it is still the newest (else do nothing)."""
    return ratings_bootstrap(snapshot_id=snapshot_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def ratings_sweep() -> dict[str, int]:
    """The periodic safety net: refresh stale leaderboards, bootstrap snapshots that missed it."""
    refresh, bootstrap = ratings_due(bootstrap_after_seconds=2 * debounce_seconds() + 60)
    for leaderboard_id in refresh:
        ratings_refresh_soon(leaderboard_id)
    for snapshot_id in bootstrap:
        _bootstrap_soon(snapshot_id)
    if refresh or bootstrap:
        logger.info("ratings sweep: %s refreshes, %s bootstraps", len(refresh), len(bootstrap))
    return {"refresh": len(refresh), "bootstrap": len(bootstrap)}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def snapshots_thin_all() -> int:
    """Thin the snapshot history of every leaderboard (see `snapshots_thin`)."""
    return sum(
        snapshots_thin(leaderboard_id=pk) for pk in Leaderboard.objects.values_list("pk", flat=True)
    )


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def networks_screen_board(leaderboard_id: int) -> dict[str, Any]:
    """Screen one leaderboard's votes by network (`networks_screen`)."""
    screened = networks_screen(leaderboard_id=leaderboard_id)
    if screened.flagged or screened.relabelled:
        logger.info(
            "screened leaderboard %s: %s networks flagged, %s votes relabelled",
            leaderboard_id,
            len(screened.flagged),
            screened.relabelled,
        )
    return {"tests": screened.tests, "flagged": screened.flagged, "relabelled": screened.relabelled}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def networks_screen_all() -> int:
    """Every `VERSUS_SCREEN_SECONDS` (beat): screen each leaderboard voted on since the last
    two screenings, one task each."""
    since = timezone.now() - timedelta(seconds=2 * settings.VERSUS_SCREEN_SECONDS)
    boards = boards_to_screen(since=since)
    for leaderboard_id in boards:
        networks_screen_board.delay(leaderboard_id)
    return len(boards)
