"""Online Elo: a live estimate between full fits, never the published score.

Elo updates after every vote, so it depends on the order of the votes and never settles; the
published score is the Bradley-Terry fit. Between two fits, though, a few new votes can move a
model visibly, and ``online_elo`` started from the last published scores gives a cheap live
estimate of that move.

The pass is sequential by nature (each update reads the previous ones), so it is a loop over
the votes given; about a microsecond per vote. Feed it the votes since the last fit, not the
board's history.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaluation.rating.bradley_terry import BOTH_BAD_POLICIES, BothBadPolicy
from evaluation.rating.counts import BOTH_BAD, LEFT, N_OUTCOMES, RIGHT, TIE
from evaluation.rating.standings import SCORE_CENTRE

DEFAULT_K: Final = 4.0
"""Default step size, LMArena's: small, because between fits the scores are already good."""

_SCORE_OF: Final = {LEFT: 1.0, RIGHT: 0.0, TIE: 0.5, BOTH_BAD: 0.5}


def online_elo(
    left: ArrayLike,
    right: ArrayLike,
    outcome: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    n_models: int,
    initial: ArrayLike | None = None,
    k: float = DEFAULT_K,
    both_bad: BothBadPolicy = "tie",
    inverse: bool = False,
) -> NDArray[np.float64]:
    """Scores after an Elo pass over the votes, in the order given.

    Parameters
    ----------
    left, right, outcome : array_like of int, shape (v,)
        The votes, oldest first, as in :meth:`PairCounts.from_votes`.
    weight : array_like of float, shape (v,), optional
        Multiplies each vote's step (0 skips the vote).
    n_models : int
        Number of models on the board.
    initial : array_like of float, shape (n_models,), optional
        Starting scores, typically the last published ``Standings.score`` (placeholders of
        unrated models are 1000, the right start). 1000 for every model when omitted.
    k : float, default DEFAULT_K
        Largest change of a score per vote, in score points.
    both_bad : {"tie", "drop"}, default "tie"
        Count "both bad" votes as ties, or skip them.
    inverse : bool, default False
        Swap wins and losses ("which is worse?" boards).

    Returns
    -------
    ndarray of float, shape (n_models,)
        Scores on the published scale (400 points is a factor of 10 in the odds).
    """
    left_ = np.asarray(left, dtype=np.int64)
    right_ = np.asarray(right, dtype=np.int64)
    outcome_ = np.asarray(outcome, dtype=np.int64)
    size = left_.size
    if right_.shape != (size,) or outcome_.shape != (size,) or left_.ndim != 1:
        raise ValueError("left, right and outcome must be 1-D arrays of the same length")
    weights = np.ones(size) if weight is None else np.asarray(weight, dtype=np.float64)
    if weights.shape != (size,) or not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise ValueError(f"weight must hold {size} finite values >= 0")
    if size and (min(left_.min(), right_.min()) < 0 or max(left_.max(), right_.max()) >= n_models):
        raise ValueError(f"left and right must hold model indices in [0, {n_models})")
    if size and (outcome_.min() < 0 or outcome_.max() >= N_OUTCOMES):
        raise ValueError("outcome must hold LEFT=0, RIGHT=1, TIE=2 or BOTH_BAD=3")
    if both_bad not in BOTH_BAD_POLICIES:
        raise ValueError(f"both_bad must be one of {BOTH_BAD_POLICIES}, got {both_bad!r}")
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"k must be a finite number > 0, got {k!r}")
    scores = (
        np.full(n_models, SCORE_CENTRE)
        if initial is None
        else np.array(initial, dtype=np.float64, copy=True)
    )
    if scores.shape != (n_models,) or not np.isfinite(scores).all():
        raise ValueError(f"initial must hold {n_models} finite scores")
    rating = scores.tolist()
    step = math.log(10.0) / 400.0
    for a, b, code, w in zip(
        left_.tolist(), right_.tolist(), outcome_.tolist(), weights.tolist(), strict=True
    ):
        if w == 0.0 or (code == BOTH_BAD and both_bad == "drop"):
            continue
        result = _SCORE_OF[code]
        if inverse:
            result = 1.0 - result
        expected = 1.0 / (1.0 + math.exp(step * (rating[b] - rating[a])))
        change = k * w * (result - expected)
        rating[a] += change
        rating[b] -= change
    return np.asarray(rating, dtype=np.float64)
