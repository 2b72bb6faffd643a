"""Bootstrap of the standings over the pair counts, for rank intervals.

Resampling votes with replacement only changes how many times each distinct (pair, outcome)
occurs, and those numbers follow a multinomial distribution over the distinct cells with
probabilities proportional to their counts. So each round draws one multinomial vector over
the nonzero cells (``O(cells)``, never ``O(votes)``) and refits by Newton, warm-started from the
full fit. Each round first tries the chord method (Newton steps with the full board's
factored information matrix, which a resample barely changes), falling back to full Newton if
the steps stop contracting. Rounds are sequential and use only the
``numpy.random.Generator`` passed in, so a seed reproduces them exactly.

With weighted votes the cells hold weighted counts; a round then draws ``round(total)`` unit
votes with probabilities proportional to those weights, the same approximation the sandwich
makes when it treats a weighted count as that many votes.

This is meant for a background task: 100 rounds take 0.2 to 0.25 s at 100 models and 1M votes
and 2 to 3.5 s at 300 models and 5M votes (benchmarks/README.md), mostly the multinomial draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from evaluation.rating.bradley_terry import (
    DEFAULT_RIDGE,
    BothBadPolicy,
    Outcomes,
    TieModel,
    check_options,
    chord,
    factor_information,
    fit_prepared,
    newton,
    prepare,
    separated,
)
from evaluation.rating.counts import PairCounts
from evaluation.rating.standings import (
    DEFAULT_LEVEL,
    SCORE_CENTRE,
    Standings,
    check_anchor,
    check_level,
    overlap_rank,
    published_gauge,
    theta_to_score,
)


@dataclass(frozen=True, eq=False)
class BootstrapStandings:
    """Bootstrap distribution of the standings, indexed by model like :class:`Standings`.

    Unrated models get ``rank_low == rank_high == 1 + number of rated models``, score bounds
    ``(-inf, +inf)`` and ``score_median == 1000``, as in :class:`Standings`.

    Attributes
    ----------
    rounds : int
        Number of bootstrap rounds.
    level : float
        Coverage of the intervals below.
    theta : ndarray of float, shape (rounds, n)
        Strengths of every round, in the published gauge (see
        :func:`~evaluation.rating.standings.published_gauge`).
    score_low, score_high, score_median : ndarray of float, shape (n,)
        Percentile interval and median of each model's score.
    rank_low, rank_high : ndarray of int64, shape (n,)
        Percentile interval of each model's ordinal rank within its part (1 is best):
        ``rank_low`` is the best rank it reaches in all but ``(1 - level) / 2`` of rounds.
    rank : ndarray of int64, shape (n,)
        Overlap rank (as in :class:`Standings`) from the bootstrap score intervals.
    tie_parameter_low, tie_parameter_high : float or None
        Percentile interval of Davidson's ``nu``; ``None`` for ties as half.
    converged_rounds : int
        Rounds whose Newton iterations met the tolerance.
    """

    rounds: int
    level: float
    theta: NDArray[np.float64]
    score_low: NDArray[np.float64]
    score_high: NDArray[np.float64]
    score_median: NDArray[np.float64]
    rank_low: NDArray[np.int64]
    rank_high: NDArray[np.int64]
    rank: NDArray[np.int64]
    tie_parameter_low: float | None
    tie_parameter_high: float | None
    converged_rounds: int


T = TypeVar("T")


def _resolve(name: str, given: T | None, from_base: T | None, default: T) -> T:
    if given is not None and from_base is not None and given != from_base:
        raise ValueError(
            f"{name}={given!r} differs from the base standings' {name}={from_base!r}; "
            "pass the same options, or leave it out to use the base's"
        )
    if given is not None:
        return given
    return from_base if from_base is not None else default


def _ordinal_ranks(
    theta: NDArray[np.float64], *, component: NDArray[np.int64], rated: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """Rank of every model in every round within its part (1 = strongest); 0 if unrated."""
    ranks = np.zeros(theta.shape, dtype=np.int64)
    for part in np.unique(component[rated]):
        members = np.flatnonzero(rated & (component == part))
        order = np.argsort(-theta[:, members], axis=1, kind="stable")
        part_ranks = np.empty_like(order)
        np.put_along_axis(part_ranks, order, np.arange(1, members.size + 1)[None, :], axis=1)
        ranks[:, members] = part_ranks
    return ranks


def bootstrap_standings(
    counts: PairCounts,
    *,
    rounds: int = 100,
    rng: np.random.Generator,
    base: Standings | None = None,
    tie_model: TieModel | None = None,
    both_bad: BothBadPolicy | None = None,
    ridge: float | None = None,
    inverse: bool | None = None,
    anchor: int | None = None,
    level: float | None = None,
    tol: float = 1e-7,
    max_iter: int = 50,
) -> BootstrapStandings:
    """Resample the votes ``rounds`` times (as multinomial pair counts) and refit each time.

    Parameters
    ----------
    counts : PairCounts
        The board's votes, reduced (the same ones ``base`` was computed from).
    rounds : int, default 100
        Number of bootstrap rounds.
    rng : numpy.random.Generator
        The only source of randomness.
    base : Standings, optional
        The full fit, used as warm start and as the source of every option left ``None``
        here; computed when omitted.
    tie_model, both_bad, ridge, inverse, anchor, level : optional
        As in :func:`~evaluation.rating.compute_standings`. Each defaults to ``base``'s value
        (or the usual default without ``base``); a value that contradicts ``base`` is an
        error.
    tol : float, default 1e-7
        Newton tolerance per round (looser than the full fit: the bootstrap spread is many
        orders of magnitude larger).
    max_iter : int, default 50
        Newton iteration cap per round.

    Returns
    -------
    BootstrapStandings
    """
    if isinstance(rounds, bool) or not isinstance(rounds, int | np.integer) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    tie_model_: TieModel = _resolve(
        "tie_model", tie_model, base.tie_model if base else None, "half"
    )
    both_bad_: BothBadPolicy = _resolve(
        "both_bad", both_bad, base.both_bad_policy if base else None, "tie"
    )
    ridge_ = _resolve("ridge", ridge, base.ridge if base else None, DEFAULT_RIDGE)
    inverse_ = _resolve("inverse", inverse, base.inverse if base else None, False)
    anchor_ = check_anchor(
        _resolve("anchor", anchor, base.anchor if base else None, None), n_models=counts.n_models
    )
    level_ = check_level(_resolve("level", level, base.level if base else None, DEFAULT_LEVEL))
    check_options(tie_model=tie_model_, both_bad=both_bad_, ridge=ridge_)
    if base is not None and base.n_models != counts.n_models:
        raise ValueError(
            f"base has {base.n_models} models but counts has {counts.n_models}; "
            "pass the standings computed from these counts"
        )

    design, outcomes = prepare(counts, both_bad=both_bad_, inverse=inverse_)
    active, m, component = design.active, design.m, design.component
    rated = component >= 0
    davidson = tie_model_ == "davidson" and float(outcomes.ties.sum()) > 0.0
    if base is None:
        _, full = fit_prepared(
            design, outcomes, tie_model=tie_model_, ridge=ridge_, covariance_kind=None
        )
        start = full.params
    else:
        if not np.array_equal(base.rated, rated):
            raise ValueError(
                "base rates other models than these counts do; "
                "pass the standings computed from these counts"
            )
        start = np.zeros(m + (1 if davidson else 0))
        start[:m] = base.theta[active]
        if davidson:
            start[m] = np.log(base.tie_parameter or 1.0)
    if anchor_ is not None and not rated[anchor_]:
        raise ValueError(f"anchor model {anchor_} has no counted vote; anchor a rated model")
    factor = (
        factor_information(design, outcomes, start, davidson=davidson, ridge=ridge_) if m else None
    )

    cells = np.stack([outcomes.wins_i, outcomes.wins_j, outcomes.ties], axis=1).ravel()
    nonzero = np.flatnonzero(cells > 0)
    mass = cells[nonzero]
    total = float(mass.sum())
    draws = round(total)
    probabilities = mass / total if total > 0 else mass
    n = counts.n_models
    theta = np.zeros((rounds, n))
    log_nu = np.zeros(rounds)
    converged = 0
    sample = np.zeros(cells.size)
    for r in range(rounds):
        if m:
            sample[nonzero] = rng.multinomial(draws, probabilities)
            shaped = sample.reshape(-1, 3)
            resampled = Outcomes(
                wins_i=shaped[:, 0].copy(), wins_j=shaped[:, 1].copy(), ties=shaped[:, 2].copy()
            )
            assert factor is not None
            result = chord(
                design,
                resampled,
                start,
                factor,
                davidson=davidson,
                ridge=ridge_,
                tol=tol,
                max_iter=max_iter,
            ) or newton(
                design,
                resampled,
                start,
                davidson=davidson,
                ridge=ridge_,
                tol=tol,
                max_iter=max_iter,
            )
            theta[r, active] = result.params[:m]
            if davidson:
                log_nu[r] = result.params[m]
            converged += int(result.converged)
        else:
            converged += 1
    # The full board's gauge in every round, so the score quantiles match the published scores.
    flagged = base.separated if base is not None else separated(design, outcomes)
    theta, _ = published_gauge(theta, None, component=component, separated=flagged, anchor=anchor_)

    low_q, high_q = 0.5 - 0.5 * level_, 0.5 + 0.5 * level_
    scores = theta_to_score(theta)
    score_low = np.full(n, -np.inf)
    score_high = np.full(n, np.inf)
    score_median = np.full(n, SCORE_CENTRE)
    if m:
        score_low[active] = np.quantile(scores[:, active], low_q, axis=0)
        score_high[active] = np.quantile(scores[:, active], high_q, axis=0)
        score_median[active] = np.median(scores[:, active], axis=0)
    ordinal = _ordinal_ranks(theta, component=component, rated=rated)
    rank_low = np.full(n, int(rated.sum()) + 1, dtype=np.int64)
    rank_high = rank_low.copy()
    if m:
        rank_low[active] = np.quantile(ordinal[:, active], low_q, axis=0, method="lower")
        rank_high[active] = np.quantile(ordinal[:, active], high_q, axis=0, method="higher")
    tie_low = tie_high = None
    if tie_model_ == "davidson":
        if davidson:
            tie_low = float(np.exp(np.quantile(log_nu, low_q)))
            tie_high = float(np.exp(np.quantile(log_nu, high_q)))
        else:
            tie_low = tie_high = 0.0
    return BootstrapStandings(
        rounds=int(rounds),
        level=level_,
        theta=theta,
        score_low=score_low,
        score_high=score_high,
        score_median=score_median,
        rank_low=rank_low,
        rank_high=rank_high,
        rank=overlap_rank(score_low, score_high, component=component, rated=rated),
        tie_parameter_low=tie_low,
        tie_parameter_high=tie_high,
        converged_rounds=converged,
    )
