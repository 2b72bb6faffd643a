"""Celery tasks of the matchmaker: ids in, one service call, safe to run twice.

- `matchups_refill_task(leaderboard_id)`: a fresh batch of candidate pairs into the
  leaderboard's Redis queue. Queued by `queue_refill_soon` when a voter pops from a short or
  empty queue, and after commit when a model is added to the benchmark.
- `matchups_sweep` (Celery beat, every `VERSUS_QUEUE_REFILL_SECONDS`): refills the queues of
  boards voted on lately or running short, so batches follow the ratings even if a refill
  request was lost with the broker.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from matchmaking import queue
from matchmaking.services import leaderboards_due_refill, matchups_refill

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def matchups_refill_task(leaderboard_id: int) -> int | None:
    """Refill one leaderboard's queue of candidate pairs (see `matchups_refill`)."""
    try:
        return matchups_refill(leaderboard_id=leaderboard_id)
    finally:
        # Cleared once the new batch is in (or the refill failed), not before: a busy board
        # pops below the low mark many times while a batch is chosen, and each pop would
        # otherwise queue another refill to run right after this one.
        queue.refill_unclaim(leaderboard_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def matchups_sweep() -> int:
    """Refill every leaderboard that needs it; return how many were refilled."""
    queue.breaker_reset()  # a worker retries Redis on each beat rather than trusting old news
    refilled = 0
    for leaderboard_id in leaderboards_due_refill():
        if matchups_refill(leaderboard_id=leaderboard_id) is not None:
            refilled += 1
    if refilled:
        logger.info("matchmaking sweep: %s queues refilled", refilled)
    return refilled
