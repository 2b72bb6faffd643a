"""Reads of the evaluation app: pair counts, standings, head-to-head records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Sum

from evaluation.models import Model, PairCount, Rating, RatingSnapshot
from evaluation.rating import PairCounts, collapse_majority
from leaderboards.models import Leaderboard


@dataclass(frozen=True)
class BoardCounts:
    """A leaderboard's counted votes as pair counts over its models (index k is `model_ids[k]`)."""

    model_ids: list[int]
    counts: PairCounts


def board_models(*, leaderboard: Leaderboard) -> list[Model]:
    """Every model of the leaderboard's benchmark, in id order (the rater's index order)."""
    return list(Model.objects.filter(benchmark_id=leaderboard.benchmark_id).order_by("id"))


def pair_counts_get(
    *, leaderboard: Leaderboard, model_ids: list[int], prompt_ids: list[int] | None = None
) -> PairCounts:
    """Counted votes of `leaderboard` as pair counts, optionally only on `prompt_ids`.

    Reads the pair counters, never the raw votes, so the cost follows pairs x prompts, not votes.
    With the `majority` option the votes on each pair and prompt count once, as their majority.
    """
    index = {model_id: k for k, model_id in enumerate(model_ids)}
    rows = PairCount.objects.filter(leaderboard=leaderboard)
    if prompt_ids is not None:
        rows = rows.filter(prompt_id__in=prompt_ids)
    n = len(model_ids)
    if leaderboard.repeat_votes == Leaderboard.RepeatVotes.MAJORITY:
        raw = np.array(
            list(
                rows.values_list("model_a_id", "model_b_id", "a_wins", "b_wins", "ties", "both_bad")
            ),
            dtype=np.int64,
        ).reshape(-1, 6)
        raw = raw[np.isin(raw[:, 0], model_ids) & np.isin(raw[:, 1], model_ids)]
        i = np.array([index[a] for a in raw[:, 0]], dtype=np.int64)
        j = np.array([index[b] for b in raw[:, 1]], dtype=np.int64)
        return collapse_majority(
            n_models=n,
            i=i,
            j=j,
            wins_i=raw[:, 2],
            wins_j=raw[:, 3],
            ties=raw[:, 4],
            both_bad=raw[:, 5],
        )
    grouped = list(
        rows.values("model_a_id", "model_b_id")
        .annotate(a=Sum("a_wins"), b=Sum("b_wins"), t=Sum("ties"), bb=Sum("both_bad"))
        .values_list("model_a_id", "model_b_id", "a", "b", "t", "bb")
    )
    grouped = [g for g in grouped if g[0] in index and g[1] in index]
    arr = np.array(grouped, dtype=np.int64).reshape(-1, 6)
    return PairCounts(
        n_models=n,
        i=np.array([index[a] for a in arr[:, 0]], dtype=np.int64),
        j=np.array([index[b] for b in arr[:, 1]], dtype=np.int64),
        wins_i=arr[:, 2].astype(float),
        wins_j=arr[:, 3].astype(float),
        ties=arr[:, 4].astype(float),
        both_bad=arr[:, 5].astype(float),
    )


def snapshot_latest(*, leaderboard: Leaderboard) -> RatingSnapshot | None:
    """The leaderboard's newest published snapshot, or None before the first fit."""
    return (
        RatingSnapshot.objects.filter(leaderboard=leaderboard).order_by("-created", "-id").first()
    )


def snapshot_rows(*, snapshot: RatingSnapshot) -> list[Rating]:
    """The snapshot's rows, best first, unrated models last."""
    rows = list(snapshot.ratings.select_related("model"))
    rows.sort(key=lambda r: (r.score is None, r.rank or 10**9, -(r.score or 0.0), r.model.name))
    return rows


def win_loss_matrix(
    *, leaderboard: Leaderboard, prompt_ids: list[int] | None = None
) -> dict[str, Any]:
    """Head-to-head counts: for each ordered pair, the row model's wins, losses and ties.

    Answers in the leaderboard's own sense: on an inverse board a "win" is being judged worse
    less often, as in the standings.
    """
    models = board_models(leaderboard=leaderboard)
    ids = [m.pk for m in models]
    counts = pair_counts_get(leaderboard=leaderboard, model_ids=ids, prompt_ids=prompt_ids)
    n = len(ids)
    wins = np.zeros((n, n))
    ties = np.zeros((n, n))
    both_bad = np.zeros((n, n))
    for a, b, wa, wb, t, bb in zip(
        counts.i, counts.j, counts.wins_i, counts.wins_j, counts.ties, counts.both_bad, strict=True
    ):
        if leaderboard.inverse_ranking:
            wa, wb = wb, wa
        wins[a, b] += wa
        wins[b, a] += wb
        ties[a, b] += t
        ties[b, a] += t
        both_bad[a, b] += bb
        both_bad[b, a] += bb
    names = [m.name for m in models]
    return {
        "models": names,
        "wins": wins.astype(int).tolist(),
        "ties": ties.astype(int).tolist(),
        "both_bad": both_bad.astype(int).tolist(),
    }
