"""Groups of votes that favour one model far beyond what everyone else's votes predict.

A campaign to lift a model (its owner's colleagues, a script behind one office's address, the
attack of Min et al., "Improving Your Model Ranking on Chatbot Arena by Vote Rigging", 2025)
leaves a trace: the campaign's votes pick that model far more often than the model's strength,
fitted on everyone else's votes, says they should. This module finds such groups; the caller
decides what a group is (here: the voters of one network) and what to do with what is found.

For each group ``g`` with enough votes, the Bradley-Terry strengths are fitted on the votes of
every *other* group (so a campaign cannot hide by having lifted the model already), and for
each model ``m`` the group voted on, the group's votes involving ``m`` are scored: 1 when ``m``
won, 0 when it lost, 0.5 for a tie (and for "both bad", unless the board drops those). Their
sum ``S`` is set against ``E``, the sum of ``p = P(m beats the opponent)`` from that fit.
Each score lies in ``[0, 1]`` with mean ``p``, so whatever ties do its variance is at most
``p (1 - p)``, and two inequalities bound the chance of an excess ``t = S - E`` this large
among honest voters, over ``n`` votes with ``V = sum p (1 - p)``: Hoeffding's,
``exp(-2 t^2 / n)``, and Bernstein's, ``exp(-t^2 / (2 V + 2 t / 3))``, the sharper of the two
when the model was expected to lose (or win) most of those votes, as a weak model lifted by a
campaign is. The smaller is the reported ``p_bound``: never smaller than the true chance (no
normal approximation to fail in the tail), so a flag holds up without knowing how ties behave.
(The fitted ``p`` is taken as exact: with the other groups' thousands of votes behind it, its
error is small beside the group's own noise.)

One fit per group is too dear on a board of thousands of networks, so a single fit of every
vote ranks the groups first, by the bound below of their strongest excess, and only the
``max_groups`` that stand out most are fitted without themselves. (That fit counts a
campaign's own votes, which shrinks its excess, but the honest groups' excess on the model it
lifted turns negative.)

A group is flagged for ``m`` when ``p_bound`` is at most ``alpha`` divided by the number of
(group, model) pairs with at least ``min_votes`` votes, fitted without the group or not
(Bonferroni, so ``alpha`` bounds the chance of any false flag on the board), and the excess
per vote, ``(S - E) / n``, is at least ``min_excess``: a real but mild taste of one
population for one model is not a campaign.

Pure numpy over integer indices; nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evaluation.rating.bradley_terry import (
    DEFAULT_RIDGE,
    BothBadPolicy,
    BradleyTerryFit,
    check_options,
    fit_bradley_terry,
)
from evaluation.rating.counts import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    PairCounts,
    _int_array,
    weighted_count,
)

DEFAULT_MIN_VOTES = 15
"""Fewest votes of a group on one model for a test: below it no excess is conclusive."""
DEFAULT_MIN_EXCESS = 0.25
"""Smallest excess score per vote (observed minus expected win rate) that is flagged."""
DEFAULT_ALPHA = 1e-3
"""Chance of flagging any honest group on a board, at most (before Bonferroni's division)."""
DEFAULT_MAX_GROUPS = 50
"""Most groups fitted without themselves per call, those that stand out most in the fit of
every vote first: each costs one fit."""


@dataclass(frozen=True)
class Favouring:
    """One group's excess for one model.

    Attributes
    ----------
    group : int
        The group's index.
    model : int
        The model's index.
    votes : int
        The group's votes that involve the model and that the fit can predict.
    observed : float
        The model's score in those votes, per vote (a win 1, a tie 0.5).
    expected : float
        Its expected score per vote from the fit of every other group's votes.
    p_bound : float
        A bound on the chance of an excess at least this large among honest voters (the
        smaller of Hoeffding's and Bernstein's).
    """

    group: int
    model: int
    votes: int
    observed: float
    expected: float
    p_bound: float

    @property
    def excess(self) -> float:
        """Observed minus expected score per vote."""
        return self.observed - self.expected


def log_tail_bound(
    excess: ArrayLike, *, votes: ArrayLike, variance: ArrayLike
) -> NDArray[np.float64]:
    """The logarithm of the smaller of Hoeffding's and Bernstein's bounds on
    ``P(S - E >= excess)`` for a sum of `votes` independent scores in ``[0, 1]`` whose
    variances sum to at most `variance`; 0 (a bound of 1) where `excess` is not positive.
    Elementwise over arrays."""
    t = np.maximum(np.asarray(excess, dtype=np.float64), 0.0)
    n = np.maximum(np.asarray(votes, dtype=np.float64), 1.0)
    v = np.asarray(variance, dtype=np.float64)
    return np.minimum(-2.0 * t * t / n, -t * t / np.maximum(2.0 * v + 2.0 * t / 3.0, 1e-300))


def tail_bound(excess: float, *, votes: int, variance: float) -> float:
    """`log_tail_bound` of one sum, as a probability."""
    return float(np.exp(log_tail_bound(excess, votes=votes, variance=variance)))


def favouring_groups(
    left: ArrayLike,
    right: ArrayLike,
    outcome: ArrayLike,
    group: ArrayLike,
    *,
    n_models: int,
    both_bad: BothBadPolicy = "tie",
    inverse: bool = False,
    min_votes: int = DEFAULT_MIN_VOTES,
    min_excess: float = DEFAULT_MIN_EXCESS,
    alpha: float = DEFAULT_ALPHA,
    max_groups: int = DEFAULT_MAX_GROUPS,
    ridge: float = DEFAULT_RIDGE,
) -> tuple[list[Favouring], int]:
    """Find the groups whose votes favour a model beyond what the other groups' votes predict.

    Parameters
    ----------
    left, right : array_like of int, shape (v,)
        The models shown on each side of each vote, ``0 .. n_models - 1``.
    outcome : array_like of int, shape (v,)
        ``LEFT``, ``RIGHT``, ``TIE`` or ``BOTH_BAD``.
    group : array_like of int, shape (v,)
        The group of each vote, ``>= 0``; ``-1`` for a vote of no group (it still counts in
        every group's fit of the others).
    n_models : int
        Number of models on the board.
    both_bad : {"tie", "drop"}, default "tie"
        The board's policy: "both bad" votes as ties, or left out.
    inverse : bool, default False
        A "which is worse?" board: a vote *against* a model lifts it, and is scored so.
    min_votes, min_excess, alpha, max_groups, ridge
        See the module's description and the ``DEFAULT_`` constants.

    Returns
    -------
    (list of Favouring, int)
        The flagged (group, model) findings, most significant first, and the number of
        (group, model) pairs with at least ``min_votes`` votes (the Bonferroni divisor).

    Raises
    ------
    ValueError
        When the arrays differ in length or hold an index out of range, or an option is.
    """
    check_options(tie_model="half", both_bad=both_bad, ridge=ridge)
    if min_votes < 1 or not 0 <= min_excess <= 1 or not 0 < alpha <= 1 or max_groups < 0:
        raise ValueError(
            "min_votes must be >= 1, min_excess in [0, 1], alpha in (0, 1], max_groups >= 0"
        )
    left_, right_, outcome_, group_ = (
        _int_array(values, name)
        for values, name in (
            (left, "left"),
            (right, "right"),
            (outcome, "outcome"),
            (group, "group"),
        )
    )
    # Checks the lengths, indices and outcomes once for every fit below.
    PairCounts.from_votes(left_, right_, outcome_, n_models=n_models)
    if group_.size != left_.size:
        raise ValueError(f"group must have length {left_.size} like left, got {group_.size}")
    if group_.size and group_.min() < -1:
        raise ValueError("group must be >= 0, or -1 for a vote of no group")
    if inverse:
        # On a "which is worse?" board the pick ranks lower: swap so a win lifts the model.
        outcome_ = np.where(outcome_ == LEFT, RIGHT, np.where(outcome_ == RIGHT, LEFT, outcome_))
    if both_bad == "drop":
        keep = outcome_ != BOTH_BAD
        left_, right_, outcome_, group_ = left_[keep], right_[keep], outcome_[keep], group_[keep]

    # The left model's score in each vote (a tie or both bad: 0.5); the right's is 1 minus it.
    left_score = np.where(outcome_ == LEFT, 1.0, np.where(outcome_ == RIGHT, 0.0, 0.5))
    grouped = group_ >= 0
    n_groups = int(group_.max()) + 1 if grouped.any() else 0

    def per_pair(
        fit: BradleyTerryFit, votes: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Per (group, model) of `votes` (flat index ``group * n_models + model``): how many
        votes the fit can predict, the model's score in them, its expected score, and the sum
        of ``p (1 - p)``."""
        lo, ro, g, score = left_[votes], right_[votes], group_[votes], left_score[votes]
        # Only votes the fit can predict: both models rated, in one part of the graph.
        known = fit.rated[lo] & fit.rated[ro] & (fit.component[lo] == fit.component[ro])
        lo, ro, g, score = lo[known], ro[known], g[known], score[known]
        p_left = 1.0 / (1.0 + np.exp(-(fit.theta[lo] - fit.theta[ro])))
        # Each vote counts for both of its models.
        key = np.concatenate([g * n_models + lo, g * n_models + ro])
        slots = n_groups * n_models
        return (
            weighted_count(key, None, slots),
            weighted_count(key, np.concatenate([score, 1.0 - score]), slots),
            weighted_count(key, np.concatenate([p_left, 1.0 - p_left]), slots),
            weighted_count(key, np.tile(p_left * (1.0 - p_left), 2), slots),
        )

    def fit_of(counts: PairCounts) -> BradleyTerryFit:
        return fit_bradley_terry(counts, both_bad=both_bad, ridge=ridge, covariance=None)

    # Every vote counted once; each group's fit without itself subtracts its own few votes.
    every = PairCounts.from_votes(left_, right_, outcome_, n_models=n_models)

    # Which groups to fit without themselves: a fit per group is too dear on a board of
    # thousands of networks, so the one fit of every vote ranks them first, by the bound of
    # their strongest excess. That fit already counts a campaign's votes, which shrinks its
    # excess, but the honest groups' excess on the model it lifted turns negative. Every
    # (group, model) with enough votes counts as a test, fitted or not.
    pooled_n, pooled_s, pooled_e, pooled_v = per_pair(fit_of(every), grouped)
    eligible = pooled_n >= min_votes
    tests = int(eligible.sum())
    pooled_excess = pooled_s - pooled_e
    log_bound = np.where(
        eligible & (pooled_excess > 0),
        log_tail_bound(pooled_excess, votes=pooled_n, variance=pooled_v),
        np.inf,
    )
    strongest = log_bound.reshape(n_groups, n_models).min(axis=1) if n_groups else np.zeros(0)
    candidates = np.flatnonzero(np.isfinite(strongest))
    candidates = candidates[np.argsort(strongest[candidates], kind="stable")][:max_groups]

    found: list[Favouring] = []
    for g in candidates:
        mine = group_ == g
        own = PairCounts.from_votes(left_[mine], right_[mine], outcome_[mine], n_models=n_models)
        n, s, e, v = per_pair(fit_of(_less(every, own)), mine)
        for m in np.flatnonzero(eligible.reshape(n_groups, n_models)[g]):
            at = g * n_models + m
            n_m, excess = int(n[at]), float(s[at] - e[at])
            if n_m < min_votes or excess <= 0 or excess / n_m < min_excess:
                continue
            p_bound = tail_bound(excess, votes=n_m, variance=float(v[at]))
            if p_bound <= alpha / tests:
                found.append(
                    Favouring(
                        group=int(g),
                        model=int(m),
                        votes=n_m,
                        observed=float(s[at]) / n_m,
                        expected=float(e[at]) / n_m,
                        p_bound=p_bound,
                    )
                )
    found.sort(key=lambda f: (f.p_bound, f.group, f.model))
    return found, tests


def _less(counts: PairCounts, part: PairCounts) -> PairCounts:
    """`counts` without the votes of `part`, which must be some of them: what
    `PairCounts.from_votes` makes of the other votes (the counts are whole numbers, so the
    subtraction is exact), without reading them again."""
    n = counts.n_models
    at = np.searchsorted(counts.i * n + counts.j, part.i * n + part.j)

    def minus(name: str) -> NDArray[np.float64]:
        values: NDArray[np.float64] = getattr(counts, name).copy()
        values[at] -= getattr(part, name)
        return values

    return PairCounts(
        n_models=n,
        i=counts.i,
        j=counts.j,
        wins_i=minus("wins_i"),
        wins_j=minus("wins_j"),
        ties=minus("ties"),
        both_bad=minus("both_bad"),
    )
