"""Ratings: count new votes into the pair counters, fit, and publish a snapshot."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from evaluation.models import PairCount, Rating, RatingSnapshot, Vote
from evaluation.rating import Standings, bootstrap_standings, compute_standings
from evaluation.selectors import board_models, pair_counts_get
from leaderboards.models import Leaderboard

logger = logging.getLogger(__name__)

# Snapshots older than this are thinned to one per hour (history plots need no finer grain).
SNAPSHOT_FULL_HISTORY = timedelta(days=1)


def pair_counts_update(*, leaderboard_id: int) -> int:
    """Add the leaderboard's not-yet-counted votes to its pair counters; return how many.

    The claim (marking votes with a fresh batch id) and the additions happen in one transaction
    under the leaderboard's row lock, so each vote is added exactly once even when two runs race
    or a run dies half-way: a rerun finds nothing unclaimed, or redoes a rolled-back claim.
    """
    with transaction.atomic():
        # NO KEY UPDATE: serialises rater runs without blocking vote inserts, which only take
        # a KEY SHARE lock on the leaderboard row for their foreign key.
        Leaderboard.objects.select_for_update(no_key=True).filter(pk=leaderboard_id).first()
        batch = uuid.uuid4()
        claimed = Vote.objects.filter(
            leaderboard_id=leaderboard_id, count_batch__isnull=True
        ).update(count_batch=batch)
        if not claimed:
            return 0
        grouped = (
            Vote.objects.filter(count_batch=batch, excluded="")
            .values_list("prompt_id", "left_model_id", "right_model_id", "choice")
            .annotate(n=Count("id"))
            .order_by()
        )
        deltas: dict[tuple[int | None, int, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for prompt_id, left, right, choice, n in grouped:
            a, b = (left, right) if left < right else (right, left)
            delta = deltas[(prompt_id, a, b)]
            if choice == Vote.Choice.TIE:
                delta[2] += n
            elif choice == Vote.Choice.BOTH_BAD:
                delta[3] += n
            elif (choice == Vote.Choice.LEFT) == (left == a):
                delta[0] += n
            else:
                delta[1] += n
        if deltas:
            _pair_counts_add(leaderboard_id, deltas)
        return claimed


def _pair_counts_add(
    leaderboard_id: int, deltas: dict[tuple[int | None, int, int], list[int]]
) -> None:
    prompts = {key[0] for key in deltas}
    models_a = {key[1] for key in deltas}
    existing_q = Q(prompt_id__in=[p for p in prompts if p is not None])
    if None in prompts:
        existing_q |= Q(prompt__isnull=True)
    existing = {
        (row.prompt_id, row.model_a_id, row.model_b_id): row
        for row in PairCount.objects.filter(
            existing_q, leaderboard_id=leaderboard_id, model_a_id__in=models_a
        )
    }
    changed, created = [], []
    for key, (a_wins, b_wins, ties, both_bad) in deltas.items():
        row = existing.get(key)
        if row is None:
            created.append(
                PairCount(
                    leaderboard_id=leaderboard_id,
                    prompt_id=key[0],
                    model_a_id=key[1],
                    model_b_id=key[2],
                    a_wins=a_wins,
                    b_wins=b_wins,
                    ties=ties,
                    both_bad=both_bad,
                )
            )
        else:
            row.a_wins += a_wins
            row.b_wins += b_wins
            row.ties += ties
            row.both_bad += both_bad
            changed.append(row)
    PairCount.objects.bulk_update(
        changed, ["a_wins", "b_wins", "ties", "both_bad"], batch_size=2000
    )
    PairCount.objects.bulk_create(created, batch_size=2000)


def standings_compute(
    *, leaderboard: Leaderboard, prompt_ids: list[int] | None = None
) -> tuple[list[int], Standings]:
    """Fit the leaderboard's counted votes (on `prompt_ids` only, if given); nothing is stored."""
    model_ids = [m.pk for m in board_models(leaderboard=leaderboard)]
    counts = pair_counts_get(leaderboard=leaderboard, model_ids=model_ids, prompt_ids=prompt_ids)
    standings = compute_standings(
        counts,
        tie_model=leaderboard.tie_model,
        both_bad=leaderboard.both_bad,
        min_votes=leaderboard.min_votes,
        inverse=leaderboard.inverse_ranking,
    )
    return model_ids, standings


def _opt(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def ratings_recompute(*, leaderboard_id: int, now: datetime | None = None) -> RatingSnapshot:
    """Count new votes, fit the leaderboard, and publish a new snapshot atomically."""
    started = time.perf_counter()
    pair_counts_update(leaderboard_id=leaderboard_id)
    leaderboard = Leaderboard.objects.select_related("benchmark").get(pk=leaderboard_id)
    model_ids, st = standings_compute(leaderboard=leaderboard)
    excluded = Vote.objects.filter(leaderboard=leaderboard).exclude(excluded="").count()
    with transaction.atomic():
        snapshot = RatingSnapshot.objects.create(
            leaderboard=leaderboard,
            created=now or timezone.now(),
            vote_count=round(float(st.votes.sum()) / 2),
            excluded_count=excluded,
            model_count=len(model_ids),
            tie_model=leaderboard.tie_model,
            tie_parameter=_opt(st.tie_parameter) if st.tie_parameter is not None else None,
            connected=bool(st.connected),
            component_count=int(st.n_components),
        )
        Rating.objects.bulk_create(
            Rating(
                snapshot=snapshot,
                model_id=model_id,
                rank=int(st.rank[k]) if st.rated[k] else None,
                score=_opt(st.score[k]) if st.rated[k] else None,
                ci_low=_opt(st.ci_low[k]) if st.rated[k] else None,
                ci_high=_opt(st.ci_high[k]) if st.rated[k] else None,
                votes=int(st.votes[k]),
                wins=float(st.wins[k]),
                losses=float(st.losses[k]),
                ties=float(st.ties[k]),
                both_bad=float(st.both_bad[k]),
                win_rate=_opt(st.win_rate[k]) if st.votes[k] else None,
                provisional=bool(st.provisional[k]),
                component=int(st.component[k]),
            )
            for k, model_id in enumerate(model_ids)
        )
        snapshot.elapsed_ms = (time.perf_counter() - started) * 1000
        snapshot.save(update_fields=["elapsed_ms"])
    return snapshot


def ratings_bootstrap(*, snapshot_id: int, rounds: int = 100, seed: int | None = None) -> bool:
    """Add bootstrap rank intervals to a snapshot, if it is still the newest one.

    Returns False when a newer snapshot exists (its own bootstrap will run) or no votes.
    """
    snapshot = RatingSnapshot.objects.select_related("leaderboard").get(pk=snapshot_id)
    leaderboard = snapshot.leaderboard
    newest = RatingSnapshot.objects.filter(leaderboard=leaderboard).order_by("-created", "-id")
    if newest.values_list("id", flat=True).first() != snapshot.pk or snapshot.vote_count == 0:
        return False
    model_ids = [m.pk for m in board_models(leaderboard=leaderboard)]
    counts = pair_counts_get(leaderboard=leaderboard, model_ids=model_ids)
    base = compute_standings(
        counts,
        tie_model=leaderboard.tie_model,
        both_bad=leaderboard.both_bad,
        min_votes=leaderboard.min_votes,
        inverse=leaderboard.inverse_ranking,
    )
    rng = np.random.default_rng(seed if seed is not None else snapshot.pk)
    boot = bootstrap_standings(
        counts,
        rounds=rounds,
        rng=rng,
        base=base,
        tie_model=leaderboard.tie_model,
        both_bad=leaderboard.both_bad,
        inverse=leaderboard.inverse_ranking,
    )
    index = {model_id: k for k, model_id in enumerate(model_ids)}
    with transaction.atomic():
        rows = list(snapshot.ratings.all())
        for row in rows:
            k = index.get(row.model_id)
            if k is None or not base.rated[k]:
                continue
            row.rank_low = int(boot.rank_low[k])
            row.rank_high = int(boot.rank_high[k])
        Rating.objects.bulk_update(rows, ["rank_low", "rank_high"])
        snapshot.has_bootstrap = True
        snapshot.save(update_fields=["has_bootstrap"])
    return True


def ratings_rebuild(*, leaderboard_id: int) -> RatingSnapshot:
    """Recount every vote of a leaderboard from scratch (after exclusions change) and refit."""
    with transaction.atomic():
        Leaderboard.objects.select_for_update(no_key=True).filter(pk=leaderboard_id).first()
        PairCount.objects.filter(leaderboard_id=leaderboard_id).delete()
        Vote.objects.filter(leaderboard_id=leaderboard_id).update(count_batch=None)
    return ratings_recompute(leaderboard_id=leaderboard_id)


def snapshots_thin(*, leaderboard_id: int, now: datetime | None = None) -> int:
    """Keep every snapshot of the last day and one per hour before; return how many went."""
    cutoff = (now or timezone.now()) - SNAPSHOT_FULL_HISTORY
    old = list(
        RatingSnapshot.objects.filter(leaderboard_id=leaderboard_id, created__lt=cutoff)
        .order_by("created", "id")
        .values_list("id", "created")
    )
    keep_hours: set[tuple[int, int, int, int]] = set()
    drop: list[int] = []
    for snapshot_id, created in reversed(old):
        hour = (created.year, created.month, created.day, created.hour)
        if hour in keep_hours:
            drop.append(snapshot_id)
        else:
            keep_hours.add(hour)
    if drop:
        RatingSnapshot.objects.filter(id__in=drop).delete()
    return len(drop)
