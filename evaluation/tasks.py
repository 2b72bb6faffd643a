"""Celery tasks of the evaluation app: ids in, one service call, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from evaluation.services.ratings import ratings_recompute

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def ratings_refresh(leaderboard_id: int) -> None:
    """Count the leaderboard's new votes and publish fresh standings."""
    ratings_recompute(leaderboard_id=leaderboard_id)


def ratings_refresh_soon(leaderboard_id: int) -> None:
    """Ask for a ratings refresh of one leaderboard; call it from `transaction.on_commit`.

    Never raises: when the broker is down the votes are safe in the database and the periodic
    sweep publishes them later.
    """
    try:
        ratings_refresh.delay(leaderboard_id)
    except Exception:  # the broker may be down; the sweep catches up
        logger.warning(
            "could not queue a ratings refresh for leaderboard %s", leaderboard_id, exc_info=True
        )
