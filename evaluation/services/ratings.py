"""Ratings: keep the pair counters equal to the counted votes, fit, and publish a snapshot.

The counters (`PairCount`, one row per leaderboard, prompt and pair) are the only thing a fit
reads, so a recompute costs the same with a thousand votes or ten million once they are
counted. `Vote.counted` says whether a vote is in the counters; every run first brings the
counters up to date (adding new votes, taking out votes excluded since they were counted, and
putting back votes whose exclusion was lifted), then fits and stores a snapshot, all in one
transaction under the leaderboard's row lock.
"""

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

from config.errors import NotFound
from evaluation.models import PairCount, Rating, RatingSnapshot, Vote
from evaluation.rating import Standings, bootstrap_standings
from evaluation.selectors import (
    board_counts_get,
    board_models,
    excluded_votes,
    rating_options,
    snapshot_latest,
    standings_fit,
)
from leaderboards.models import Leaderboard

logger = logging.getLogger(__name__)

# Snapshots older than this are thinned to one per hour (history plots need no finer grain).
SNAPSHOT_FULL_HISTORY = timedelta(days=1)

BOOTSTRAP_ROUNDS = 100

Delta = dict[tuple[int | None, int, int], list[int]]


def _leaderboard_locked(leaderboard_id: int) -> Leaderboard:
    # NO KEY UPDATE: serialises rater runs of one leaderboard without blocking vote inserts,
    # which take only a KEY SHARE lock on the leaderboard row for their foreign key.
    leaderboard = (
        Leaderboard.objects.select_for_update(no_key=True, of=("self",))
        .select_related("benchmark")
        .filter(pk=leaderboard_id)
        .first()
    )
    if leaderboard is None:
        raise NotFound(f"leaderboard {leaderboard_id} does not exist")
    return leaderboard


def _claim(leaderboard_id: int, which: Q, *, counted: bool) -> Delta:
    """Flip `counted` on the votes matching `which` and return their per-pair counts.

    The update marks exactly the rows it flips with a fresh batch id, so the counts read back
    are those rows and no others, whatever arrives meanwhile.
    """
    batch = uuid.uuid4()
    flipped = Vote.objects.filter(which, leaderboard_id=leaderboard_id).update(
        count_batch=batch, counted=counted
    )
    deltas: Delta = defaultdict(lambda: [0, 0, 0, 0])
    if not flipped:
        return deltas
    grouped = (
        Vote.objects.filter(count_batch=batch)
        .values_list("prompt_id", "left_model_id", "right_model_id", "choice")
        .annotate(n=Count("id"))
        .order_by()
    )
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
    return deltas


def _pair_counts_sync(leaderboard_id: int) -> int:
    """Bring the counters in line with the votes; the caller holds the leaderboard's lock."""
    added = _claim(leaderboard_id, Q(counted=False, excluded=""), counted=True)
    removed = _claim(leaderboard_id, Q(counted=True) & ~Q(excluded=""), counted=False)
    flipped = sum(map(sum, added.values())) + sum(map(sum, removed.values()))
    for key, delta in removed.items():
        total = added[key]
        for k in range(4):
            total[k] -= delta[k]
    changes = {key: delta for key, delta in added.items() if any(delta)}
    if changes:
        pair_counts_add(leaderboard_id=leaderboard_id, deltas=changes)
    return flipped


def pair_counts_add(*, leaderboard_id: int, deltas: Delta) -> None:
    """Add signed per-(prompt, pair) deltas to the counters; the caller holds the lock.

    Keys are `(prompt_id or None, smaller model id, larger model id)`, values the changes of
    `[a_wins, b_wins, ties, both_bad]`.
    """
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
            row = PairCount(
                leaderboard_id=leaderboard_id,
                prompt_id=key[0],
                model_a_id=key[1],
                model_b_id=key[2],
            )
            created.append(row)
        else:
            changed.append(row)
        row.a_wins += a_wins
        row.b_wins += b_wins
        row.ties += ties
        row.both_bad += both_bad
    PairCount.objects.bulk_update(
        changed, ["a_wins", "b_wins", "ties", "both_bad"], batch_size=2000
    )
    PairCount.objects.bulk_create(created, batch_size=2000)


def pair_counts_update(*, leaderboard_id: int) -> int:
    """Bring the leaderboard's pair counters in line with its votes; return the votes flipped.

    Adds votes not yet counted, takes out votes excluded after they were counted, and puts back
    votes whose exclusion was lifted. The claim and the additions happen in one transaction
    under the leaderboard's row lock, so each vote is added exactly once even when two runs
    race or a run dies half-way: a rerun finds nothing left, or redoes a rolled-back claim.
    """
    with transaction.atomic():
        _leaderboard_locked(leaderboard_id)
        return _pair_counts_sync(leaderboard_id)


def standings_compute(
    *, leaderboard: Leaderboard, prompt_ids: list[int] | None = None
) -> tuple[list[int], Standings]:
    """Fit the leaderboard's counted votes (on `prompt_ids` only, if given); nothing is stored.

    Returns the model ids (index k of the arrays is `model_ids[k]`) and the fitted standings.
    For published rows, `evaluation.selectors.standings_get` does this and builds them.
    """
    board = board_counts_get(leaderboard=leaderboard, prompt_ids=prompt_ids)
    return board.model_ids, standings_fit(leaderboard=leaderboard, counts=board.counts)


def _opt(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def ratings_recompute(*, leaderboard_id: int, now: datetime | None = None) -> RatingSnapshot:
    """Count new votes, fit the leaderboard, and publish a new snapshot, in one transaction.

    Readers see the whole new snapshot or none of it. Runs of one leaderboard are serialised by
    its row lock, so snapshots appear in the order their counts were taken: the newest snapshot
    always holds the most votes. Raises NotFound if the leaderboard is gone.
    """
    started = time.perf_counter()
    with transaction.atomic():
        leaderboard = _leaderboard_locked(leaderboard_id)
        _pair_counts_sync(leaderboard_id)
        models = board_models(leaderboard=leaderboard)
        board = board_counts_get(leaderboard=leaderboard, model_ids=[m.pk for m in models])
        st = standings_fit(leaderboard=leaderboard, counts=board.counts)
        snapshot = RatingSnapshot.objects.create(
            leaderboard=leaderboard,
            created=now or timezone.now(),
            vote_count=board.votes,
            excluded_count=excluded_votes(leaderboard=leaderboard),
            model_count=len(models),
            tie_model=leaderboard.tie_model,
            tie_parameter=_opt(st.tie_parameter),
            connected=bool(st.connected),
            component_count=int(st.n_components),
            options=rating_options(leaderboard=leaderboard),
        )
        Rating.objects.bulk_create(
            Rating(
                snapshot=snapshot,
                model_id=model.pk,
                rank=int(st.rank[k]) if st.rated[k] else None,
                score=_opt(st.score[k]) if st.rated[k] else None,
                ci_low=_opt(st.ci_low[k]) if st.rated[k] else None,
                ci_high=_opt(st.ci_high[k]) if st.rated[k] else None,
                votes=round(float(st.votes[k])),
                wins=float(st.wins[k]),
                losses=float(st.losses[k]),
                ties=float(st.ties[k]),
                both_bad=float(st.both_bad[k]),
                win_rate=_opt(st.win_rate[k]) if st.votes[k] else None,
                provisional=bool(st.provisional[k]),
                component=int(st.component[k]) if st.rated[k] else None,
            )
            for k, model in enumerate(models)
        )
        snapshot.elapsed_ms = (time.perf_counter() - started) * 1000
        snapshot.save(update_fields=["elapsed_ms"])
    logger.info(
        "leaderboard %s: published snapshot %s (%s votes, %s models) in %.0f ms",
        leaderboard_id,
        snapshot.pk,
        snapshot.vote_count,
        snapshot.model_count,
        snapshot.elapsed_ms,
    )
    return snapshot


def ratings_bootstrap(
    *, snapshot_id: int, rounds: int = BOOTSTRAP_ROUNDS, seed: int | None = None
) -> bool:
    """Add bootstrap rank intervals to a snapshot, if it is still its leaderboard's newest.

    The counters are read under the leaderboard's lock and must still hold exactly the
    snapshot's votes, so the intervals belong to the published fit. Returns False (and changes
    nothing) when a newer snapshot exists or is being made (its own bootstrap will run), when
    the snapshot has no votes, or when it is gone. The seed defaults to the snapshot's id, so a
    rerun gives the same intervals.
    """
    snapshot = RatingSnapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None or snapshot.vote_count == 0:
        return False
    with transaction.atomic():
        leaderboard = _leaderboard_locked(snapshot.leaderboard_id)
        latest = snapshot_latest(leaderboard=leaderboard)
        if latest is None or latest.pk != snapshot.pk:
            return False
        models = board_models(leaderboard=leaderboard)
        board = board_counts_get(leaderboard=leaderboard, model_ids=[m.pk for m in models])
        if board.votes != snapshot.vote_count or len(models) != snapshot.model_count:
            return False
        base = standings_fit(leaderboard=leaderboard, counts=board.counts)
    # The fit is slow on big boards; the lock is not needed for it and is released first.
    boot = bootstrap_standings(
        board.counts,
        rounds=rounds,
        rng=np.random.default_rng(seed if seed is not None else snapshot.pk),
        base=base,
    )
    index = {model.pk: k for k, model in enumerate(models)}
    with transaction.atomic():
        rows = list(Rating.objects.select_for_update().filter(snapshot=snapshot))
        for row in rows:
            k = index.get(row.model_id)
            if k is None or not base.rated[k]:
                continue
            row.rank_low = int(boot.rank_low[k])
            row.rank_high = int(boot.rank_high[k])
        Rating.objects.bulk_update(rows, ["rank_low", "rank_high"])
        RatingSnapshot.objects.filter(pk=snapshot.pk).update(has_bootstrap=True)
    return True


def ratings_rebuild(*, leaderboard_id: int, now: datetime | None = None) -> RatingSnapshot:
    """Recount every vote of a leaderboard from scratch and publish a fresh snapshot.

    For repairs and after bulk changes made outside the services; the incremental path already
    follows exclusions. One transaction: readers never see the counters half rebuilt.
    """
    with transaction.atomic():
        _leaderboard_locked(leaderboard_id)
        PairCount.objects.filter(leaderboard_id=leaderboard_id).delete()
        Vote.objects.filter(leaderboard_id=leaderboard_id, counted=True).update(
            count_batch=None, counted=False
        )
        return ratings_recompute(leaderboard_id=leaderboard_id, now=now)


def snapshots_thin(*, leaderboard_id: int, now: datetime | None = None) -> int:
    """Keep every snapshot of the last day and the newest of each hour before; return how many
    went. The leaderboard's latest snapshot is always kept."""
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
