"""Published standings: scores on the Elo-like scale, 95% intervals, shared ranks, tallies.

Representation of models that cannot be rated
---------------------------------------------
Every array is indexed by model and holds no NaN. A model with no counted vote has
``rated == False`` and placeholder values that are safe to compute with and never to be shown
as a measurement: ``theta = 0`` and ``score = 1000`` (the centre of the scale), an interval of
``(-inf, +inf)`` (nothing is known), ``rank = 1 + number of rated models`` (after all of them),
``component = -1``, ``win_rate = 0.5``, ``provisional = True``, and in ``cov`` ``+inf`` on its
diagonal and 0 elsewhere in its row and column. Callers that publish should test ``rated``
and show "unrated" (JSON ``null``) instead of the placeholders.

Parts of the comparison graph
-----------------------------
Models that were never compared, directly or through others, have no common scale. The fit
centres each connected part on its own (the mean rated model of every part sits at 1000), ranks
count only models of the same part, ``component`` says which part a model is in (0 for the
largest), and ``connected`` is false when there is more than one part.

Models with an infinite maximum-likelihood score
------------------------------------------------
A model that won every counted vote (or lost every one), or more generally a group of models
that never lost (never won) against the rest of its part, has no finite maximum-likelihood
strength: the likelihood keeps growing as it moves away. The fit's weak prior (see
:mod:`~evaluation.rating.bradley_terry`) keeps it finite, far above (below) the others with a
huge interval; ``separated`` flags it and it is always ``provisional``. Its score says "above
(below) the rest" and nothing more. Each part is centred on its models that are not separated,
so such a model moves neither the others' scores nor their intervals (it would through the
mean: its variance is of the order of the prior's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri  # type: ignore[import-untyped, unused-ignore]

from evaluation.rating.bradley_terry import (
    DEFAULT_MAX_ITER,
    DEFAULT_RIDGE,
    DEFAULT_TOL,
    BothBadPolicy,
    CovarianceKind,
    TieModel,
    check_options,
    fit_prepared,
    prepare,
    separated,
)
from evaluation.rating.counts import PairCounts

SCORE_CENTRE: Final = 1000.0
"""Score of the mean rated model (of each part), and of the anchor when there is one."""

SCORE_PER_THETA: Final = 400.0 / math.log(10.0)
"""Score points per unit of ``theta``: 400 points is a factor of 10 in the odds of winning."""

DEFAULT_MIN_VOTES: Final = 30
"""Default number of counted votes below which a model is provisional."""

DEFAULT_LEVEL: Final = 0.95
"""Default coverage of the published intervals."""


def theta_to_score(theta: NDArray[np.float64]) -> NDArray[np.float64]:
    """Strengths on the natural-log scale to scores: ``1000 + 400 * theta / ln(10)``."""
    score: NDArray[np.float64] = SCORE_CENTRE + SCORE_PER_THETA * np.asarray(theta)
    return score


def overlap_rank(
    low: NDArray[np.float64],
    high: NDArray[np.float64],
    *,
    component: NDArray[np.int64],
    rated: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """LMArena's rank: 1 + the number of models whose lower bound is above this upper bound.

    Models whose intervals overlap share a rank. Only models of the same part count; unrated
    models get ``1 + number of rated models``.

    Parameters
    ----------
    low, high : ndarray of float, shape (n,)
        Interval bounds (scores or strengths; only their order matters).
    component : ndarray of int64, shape (n,)
        Part of each model.
    rated : ndarray of bool, shape (n,)
        Which models to rank.
    """
    rank = np.full(low.size, int(rated.sum()) + 1, dtype=np.int64)
    for part in np.unique(component[rated]):
        members = np.flatnonzero(rated & (component == part))
        lows = np.sort(low[members])
        above = lows.size - np.searchsorted(lows, high[members], side="right")
        rank[members] = 1 + above
    return rank


def display_order(
    *,
    rated: NDArray[np.bool_],
    component: NDArray[np.int64],
    rank: NDArray[np.int64],
    score: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Model indices in display order: by part, then rank, then score; unrated models last."""
    n = rated.size
    part = np.where(rated, component, n)
    order: NDArray[np.int64] = np.lexsort((np.arange(n), -score, rank, part)).astype(np.int64)
    return order


@dataclass(frozen=True, eq=False)
class Standings:
    """Everything published about a board, as numpy arrays indexed by model.

    See the module docstring for how unrated models and parts are represented.

    Attributes
    ----------
    theta : ndarray of float, shape (n,)
        Strengths on the natural-log scale: centred on the mean rated model of each part
        (leaving out its separated models, see below), or 0 at the anchor in the anchor's
        part.
    score : ndarray of float, shape (n,)
        ``1000 + 400 * theta / ln(10)``.
    ci_low, ci_high : ndarray of float, shape (n,)
        Bounds of the ``level`` interval of ``score`` (sandwich by default).
    rank : ndarray of int64, shape (n,)
        1 + the number of models of the same part whose ``ci_low`` is above this ``ci_high``.
    votes : ndarray of float, shape (n,)
        Every vote the model took part in (weighted), both-bad votes included even when
        dropped from the fit.
    wins, losses, ties, both_bad : ndarray of float, shape (n,)
        Outcomes of those votes, in the board's sense (swapped on inverse boards); ``ties``
        excludes ``both_bad``.
    win_rate : ndarray of float, shape (n,)
        Share of counted votes won, a tie counting one half: ``(wins + ties / 2) / counted``,
        with both-bad votes counted as ties unless dropped; 0.5 with no counted vote.
    provisional : ndarray of bool, shape (n,)
        Unrated, fewer than ``min_votes`` counted votes, or ``separated``.
    rated : ndarray of bool, shape (n,)
        At least one counted vote.
    separated : ndarray of bool, shape (n,)
        The model (with the group it belongs to) won, or lost, every counted vote against the
        rest of its part, so its maximum-likelihood score is infinite: the published score is
        held finite by the prior alone, says only "above (below) the others", and its
        interval is accordingly huge. Always provisional. See the module docstring.
    component : ndarray of int64, shape (n,)
        Part of the comparison graph (0 for the largest); ``-1`` for unrated models.
    cov : ndarray of float, shape (n, n)
        Covariance of ``theta`` in the published gauge (the matchmaker uses
        ``cov[i, i] + cov[j, j] - 2 cov[i, j]``). Entries across parts are 0 and mean nothing.
    tie_parameter : float or None
        Davidson's ``nu``; ``None`` for ties as half.
    tie_parameter_ci : tuple of float or None
        ``level`` interval of ``nu`` (from the interval of ``log nu``).
    connected : bool
        Whether all rated models are in one part.
    n_components : int
        Number of parts among rated models.
    converged : bool
        Whether the fit met its tolerance.
    iterations : int
        Newton iterations used.
    log_likelihood : float
        Log-likelihood of the counted votes at the estimate.
    tie_model, both_bad_policy, ridge, inverse, anchor, level, min_votes, interval
        The options the standings were computed with.
    """

    theta: NDArray[np.float64]
    score: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    rank: NDArray[np.int64]
    votes: NDArray[np.float64]
    wins: NDArray[np.float64]
    losses: NDArray[np.float64]
    ties: NDArray[np.float64]
    both_bad: NDArray[np.float64]
    win_rate: NDArray[np.float64]
    provisional: NDArray[np.bool_]
    rated: NDArray[np.bool_]
    separated: NDArray[np.bool_]
    component: NDArray[np.int64]
    cov: NDArray[np.float64]
    tie_parameter: float | None
    tie_parameter_ci: tuple[float, float] | None
    connected: bool
    n_components: int
    converged: bool
    iterations: int
    log_likelihood: float
    tie_model: TieModel
    both_bad_policy: BothBadPolicy
    ridge: float
    inverse: bool
    anchor: int | None
    level: float
    min_votes: float
    interval: CovarianceKind

    @property
    def n_models(self) -> int:
        """Number of models on the board."""
        return int(self.theta.size)

    def order(self) -> NDArray[np.int64]:
        """Model indices in display order: by part, rank, then score; unrated models last."""
        return display_order(
            rated=self.rated, component=self.component, rank=self.rank, score=self.score
        )


def regauged(
    theta: NDArray[np.float64],
    cov: NDArray[np.float64] | None,
    *,
    members: NDArray[np.int64],
    reference: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Move the gauge of one part so that its ``reference``-weighted mean strength is 0.

    ``members`` are the board indices of the part and ``reference`` their weights (summing to
    1): the mean of the part's reference models, or a one-hot anchor. ``theta`` may be one
    vector ``(n,)`` or bootstrap rounds ``(rounds, n)``; ``cov`` is transformed as
    ``A cov A^T`` with ``A = I - 1 reference^T`` on the part. Differences are unchanged.
    """
    theta = theta.copy()
    theta[..., members] -= (theta[..., members] @ reference)[..., None]
    if cov is None:
        return theta, None
    cov = cov.copy()
    block = cov[np.ix_(members, members)]
    towards = block @ reference
    block = block - towards[None, :] - towards[:, None] + float(reference @ towards)
    cov[np.ix_(members, members)] = block
    return theta, cov


def anchored(
    theta: NDArray[np.float64],
    cov: NDArray[np.float64] | None,
    *,
    anchor: int,
    component: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Move the gauge of ``anchor``'s part so that ``theta[anchor] == 0``; see :func:`regauged`."""
    members = np.flatnonzero(component == component[anchor])
    reference = (members == anchor).astype(np.float64)
    return regauged(theta, cov, members=members, reference=reference)


def published_gauge(
    theta: NDArray[np.float64],
    cov: NDArray[np.float64] | None,
    *,
    component: NDArray[np.int64],
    separated: NDArray[np.bool_],
    anchor: int | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Strengths (and covariance) from the fit's gauge to the published one.

    The fit centres every part on the mean of all its models. A separated model (see
    :func:`~evaluation.rating.bradley_terry.separated`) has an unbounded strength held only
    by the prior, so a mean that included it would lend its enormous variance to every other
    model of the part, widening all their intervals and merging their ranks. The published
    gauge therefore centres each part on the mean of its models that are not separated (all
    of them when every model is), or fixes the anchor at 0 in the anchor's part.
    """
    parts = np.unique(component[(component >= 0) & separated])
    for part in parts:
        if anchor is not None and component[anchor] == part:
            continue
        members = np.flatnonzero(component == part)
        core = ~separated[members]
        if not core.any():
            continue
        theta, cov = regauged(theta, cov, members=members, reference=core / core.sum())
    if anchor is not None:
        theta, cov = anchored(theta, cov, anchor=anchor, component=component)
    return theta, cov


def check_anchor(anchor: int | None, *, n_models: int) -> int | None:
    """Validate ``anchor`` as a model index (or ``None``)."""
    if anchor is None:
        return None
    if isinstance(anchor, bool) or not isinstance(anchor, int | np.integer):
        raise ValueError(f"anchor must be a model index or None, got {anchor!r}")
    if not 0 <= anchor < n_models:
        raise ValueError(f"anchor must be in [0, {n_models}), got {anchor}")
    return int(anchor)


def check_level(level: float) -> float:
    """Validate an interval coverage ``level`` in (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return float(level)


def compute_standings(
    counts: PairCounts,
    *,
    tie_model: TieModel = "half",
    both_bad: BothBadPolicy = "tie",
    min_votes: float = DEFAULT_MIN_VOTES,
    anchor: int | None = None,
    ridge: float = DEFAULT_RIDGE,
    inverse: bool = False,
    level: float = DEFAULT_LEVEL,
    interval: CovarianceKind = "sandwich",
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> Standings:
    """Fit the board and compute everything it publishes.

    Parameters
    ----------
    counts : PairCounts
        The board's votes, reduced.
    tie_model : {"half", "davidson"}, default "half"
        See :func:`~evaluation.rating.fit_bradley_terry`.
    both_bad : {"tie", "drop"}, default "tie"
        Count "both bad" votes as ties, or leave them out of the fit (they stay reported).
    min_votes : float, default DEFAULT_MIN_VOTES
        Models with fewer counted votes are provisional.
    anchor : int, optional
        Model whose score is fixed at 1000 (its part's gauge); the others in its part are
        measured against it, and their intervals are those of the difference. Must be rated.
    ridge : float, default DEFAULT_RIDGE
        Prior precision; see :func:`~evaluation.rating.fit_bradley_terry`.
    inverse : bool, default False
        Swap wins and losses first ("which is worse?" boards); tallies are reported swapped.
    level : float, default 0.95
        Coverage of the intervals.
    interval : {"sandwich", "fisher"}, default "sandwich"
        Covariance behind ``cov`` and the intervals.
    tol, max_iter
        Newton's tolerance and iteration cap.

    Returns
    -------
    Standings

    Raises
    ------
    ValueError
        When an option is invalid or the anchor is unrated; the message names the option.
    """
    check_options(tie_model=tie_model, both_bad=both_bad, ridge=ridge)
    anchor = check_anchor(anchor, n_models=counts.n_models)
    level = check_level(level)
    if not min_votes >= 0:
        raise ValueError(f"min_votes must be >= 0, got {min_votes!r}")
    if interval not in ("sandwich", "fisher"):
        raise ValueError(f"interval must be 'sandwich' or 'fisher', got {interval!r}")
    design, outcomes = prepare(counts, both_bad=both_bad, inverse=inverse)
    fit, _ = fit_prepared(
        design,
        outcomes,
        tie_model=tie_model,
        ridge=ridge,
        covariance_kind=interval,
        tol=tol,
        max_iter=max_iter,
    )
    rated, component = fit.rated, fit.component
    if anchor is not None and not rated[anchor]:
        raise ValueError(
            f"anchor model {anchor} has no counted vote, so it has no score to fix; "
            "anchor a rated model or pass anchor=None"
        )
    flagged = separated(design, outcomes)
    theta, published_cov = published_gauge(
        fit.theta, fit.cov, component=component, separated=flagged, anchor=anchor
    )
    assert published_cov is not None
    cov = published_cov
    z = float(ndtri(0.5 + 0.5 * level))
    spread = np.full(theta.size, np.inf)
    spread[rated] = z * np.sqrt(np.maximum(np.diagonal(cov)[rated], 0.0))
    score = theta_to_score(theta)
    with np.errstate(invalid="ignore"):
        ci_low = np.where(rated, score - SCORE_PER_THETA * spread, -np.inf)
        ci_high = np.where(rated, score + SCORE_PER_THETA * spread, np.inf)
    rank = overlap_rank(ci_low, ci_high, component=component, rated=rated)

    tallies = (counts.inverted() if inverse else counts).tallies()
    counted_ties = tallies.ties + tallies.both_bad if both_bad == "tie" else tallies.ties
    counted = tallies.wins + tallies.losses + counted_ties
    win_rate = np.full(theta.size, 0.5)
    has = counted > 0
    win_rate[has] = (tallies.wins[has] + 0.5 * counted_ties[has]) / counted[has]
    tie_ci = None
    if fit.tie_parameter is not None and fit.tie_parameter_se is not None:
        nu, spread_nu = fit.tie_parameter, z * fit.tie_parameter_se
        tie_ci = (nu * math.exp(-spread_nu), nu * math.exp(spread_nu))
    return Standings(
        theta=theta,
        score=score,
        ci_low=ci_low,
        ci_high=ci_high,
        rank=rank,
        votes=tallies.votes,
        wins=tallies.wins,
        losses=tallies.losses,
        ties=tallies.ties,
        both_bad=tallies.both_bad,
        win_rate=win_rate,
        provisional=~rated | (counted < min_votes) | flagged,
        rated=rated,
        separated=flagged,
        component=component,
        cov=cov,
        tie_parameter=fit.tie_parameter,
        tie_parameter_ci=tie_ci,
        connected=fit.n_components <= 1,
        n_components=fit.n_components,
        converged=fit.converged,
        iterations=fit.iterations,
        log_likelihood=fit.log_likelihood,
        tie_model=tie_model,
        both_bad_policy=both_bad,
        ridge=float(ridge),
        inverse=bool(inverse),
        anchor=anchor,
        level=level,
        min_votes=float(min_votes),
        interval=interval,
    )
