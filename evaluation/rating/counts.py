"""Votes reduced to pair counts: the only input the fits and the bootstrap ever read.

A vote names two models by integer index (``0 .. n_models - 1``), which one was shown on the
left, and an outcome code: :data:`LEFT` or :data:`RIGHT` (that side won), :data:`TIE`, or
:data:`BOTH_BAD` (a tie in which neither output was acceptable). Votes are reduced once, by one
``numpy.bincount`` over a flat ``(left, right, outcome)`` index, to :class:`PairCounts`: one row
per unordered pair ``i < j`` with the (weighted) number of wins of ``i``, wins of ``j``, ties and
both-bad votes. From then on every fit costs ``O(pairs)`` per iteration, whatever the number of
votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix  # type: ignore[import-untyped, unused-ignore]
from scipy.sparse.csgraph import (  # type: ignore[import-untyped, unused-ignore]
    connected_components,
)

LEFT: Final = 0
"""Outcome code: the output shown on the left won."""

RIGHT: Final = 1
"""Outcome code: the output shown on the right won."""

TIE: Final = 2
"""Outcome code: the voter saw no difference."""

BOTH_BAD: Final = 3
"""Outcome code: neither output was acceptable (a tie unless the fit is told to drop it)."""

N_OUTCOMES: Final = 4

# Above this many (left, right, outcome) slots the reduction sorts instead of using a dense table.
_DENSE_SLOTS: Final = 1 << 25


def _integers(values: ArrayLike, name: str) -> NDArray[np.integer]:
    """``values`` as a 1-D integer array, without a copy when it already is one."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {array.shape}")
    whole = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating) and bool(np.all(array == np.round(array)))
    )
    if array.size and not whole:
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    if not np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    return array


def _int_array(values: ArrayLike, name: str) -> NDArray[np.int64]:
    return _integers(values, name).astype(np.int64, copy=False)


def _count_array(values: ArrayLike, name: str, size: int) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    if array.size and not (np.isfinite(array).all() and array.min() >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0")
    return array


def weighted_count(
    index: NDArray[np.int64], weights: NDArray[np.float64] | None, size: int
) -> NDArray[np.float64]:
    """``numpy.bincount`` as float64: the total weight (or number) of each index below ``size``."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64, copy=False)


def _check_models(index: NDArray[np.integer], name: str, n_models: int) -> None:
    if index.size and (index.min() < 0 or index.max() >= n_models):
        raise ValueError(
            f"{name} must hold model indices in [0, {n_models}), "
            f"got values from {index.min()} to {index.max()}"
        )


@dataclass(frozen=True, eq=False)
class ModelTallies:
    """Per-model totals of the counted votes, indexed by model (weighted when votes are).

    ``wins`` and ``losses`` exclude ties; ``ties`` excludes ``both_bad``, which is kept apart.
    """

    wins: NDArray[np.float64]
    losses: NDArray[np.float64]
    ties: NDArray[np.float64]
    both_bad: NDArray[np.float64]

    @property
    def votes(self) -> NDArray[np.float64]:
        """Every vote the model took part in, whatever its outcome."""
        return self.wins + self.losses + self.ties + self.both_bad


@dataclass(frozen=True, init=False, eq=False)
class PairCounts:
    """Vote counts per unordered pair of models: the sufficient statistics of every fit.

    Construct it from arrays of any pair order (database aggregates, several rows per pair, or
    ``i > j``); construction normalises them, so afterwards ``i < j`` holds on every row, rows
    are unique and sorted by ``(i, j)``, and rows whose counts are all zero are gone. Counts
    are floats so that weighted votes fit the same structure.

    Parameters (keyword-only)
    -------------------------
    n_models : int
        Number of models on the board; model indices run from 0 to ``n_models - 1``. Models
        absent from every row are kept (they are reported unrated).
    i, j : array_like of int, shape (k,)
        The two models of each row, in any order; ``i == j`` is an error.
    wins_i, wins_j : array_like of float, shape (k,)
        Votes won by model ``i[r]`` and by model ``j[r]`` on row ``r``.
    ties : array_like of float, shape (k,)
        Tie votes on row ``r``.
    both_bad : array_like of float, shape (k,), optional
        "Both bad" votes on row ``r``; zeros when omitted.

    Raises
    ------
    ValueError
        When a shape, an index or a count is invalid; the message names the argument.
    """

    n_models: int
    i: NDArray[np.int64]
    j: NDArray[np.int64]
    wins_i: NDArray[np.float64]
    wins_j: NDArray[np.float64]
    ties: NDArray[np.float64]
    both_bad: NDArray[np.float64]

    def __init__(
        self,
        *,
        n_models: int,
        i: ArrayLike,
        j: ArrayLike,
        wins_i: ArrayLike,
        wins_j: ArrayLike,
        ties: ArrayLike,
        both_bad: ArrayLike | None = None,
    ) -> None:
        if isinstance(n_models, bool) or not isinstance(n_models, int | np.integer):
            raise ValueError(f"n_models must be an int >= 0, got {n_models!r}")
        n = int(n_models)
        if n < 0:
            raise ValueError(f"n_models must be an int >= 0, got {n_models!r}")
        i_ = _int_array(i, "i")
        j_ = _int_array(j, "j")
        if j_.shape != i_.shape:
            raise ValueError(f"j must have shape {i_.shape} like i, got {j_.shape}")
        size = i_.size
        a = _count_array(wins_i, "wins_i", size)
        b = _count_array(wins_j, "wins_j", size)
        t = _count_array(ties, "ties", size)
        bb = np.zeros(size) if both_bad is None else _count_array(both_bad, "both_bad", size)
        _check_models(i_, "i", n)
        _check_models(j_, "j", n)
        if np.any(i_ == j_):
            raise ValueError(f"a model cannot be compared with itself: i == j == {i_[i_ == j_][0]}")
        swap = i_ > j_
        if swap.any():
            i_, j_ = np.where(swap, j_, i_), np.where(swap, i_, j_)
            a, b = np.where(swap, b, a), np.where(swap, a, b)
        key = i_ * n + j_
        if size > 1 and not np.all(key[1:] > key[:-1]):
            unique, inverse = np.unique(key, return_inverse=True)
            i_, j_ = unique // n, unique % n
            a, b, t, bb = (weighted_count(inverse, v, unique.size) for v in (a, b, t, bb))
        keep = (a + b + t + bb) > 0
        if not keep.all():
            i_, j_ = i_[keep], j_[keep]
            a, b, t, bb = (v[keep] for v in (a, b, t, bb))
        # Frozen: the normalised arrays are set once, here.
        for name, value in (
            ("n_models", n),
            ("i", i_),
            ("j", j_),
            ("wins_i", a),
            ("wins_j", b),
            ("ties", t),
            ("both_bad", bb),
        ):
            object.__setattr__(self, name, value)

    @property
    def total(self) -> float:
        """Total (weighted) number of votes."""
        return float(self.wins_i.sum() + self.wins_j.sum() + self.ties.sum() + self.both_bad.sum())

    @classmethod
    def from_votes(
        cls,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        weight: ArrayLike | None = None,
        *,
        n_models: int,
    ) -> PairCounts:
        """Reduce individual votes to pair counts in one pass.

        Parameters
        ----------
        left, right : array_like of int, shape (v,)
            Model shown on the left and on the right of each vote.
        outcome : array_like of int, shape (v,)
            :data:`LEFT`, :data:`RIGHT`, :data:`TIE` or :data:`BOTH_BAD`.
        weight : array_like of float, shape (v,), optional
            Weight of each vote (for instance a voter's trust; 0 leaves the vote out). Ones
            when omitted.
        n_models : int
            Number of models on the board.

        Returns
        -------
        PairCounts
            The counts; the order of the votes does not matter (with integer weights the
            result is bitwise identical for any order).

        Raises
        ------
        ValueError
            When the arrays differ in length, an index or outcome is out of range, a vote
            compares a model with itself, or a weight is negative or not finite.
        """
        # No int64 copies of the vote arrays: they can hold millions of votes.
        left_ = _integers(left, "left")
        right_ = _integers(right, "right")
        outcome_ = _integers(outcome, "outcome")
        size = left_.size
        for name, array in (("right", right_), ("outcome", outcome_)):
            if array.size != size:
                raise ValueError(f"{name} must have length {size} like left, got {array.size}")
        weights = None if weight is None else _count_array(weight, "weight", size)
        n = int(n_models)
        if n < 0:
            raise ValueError(f"n_models must be >= 0, got {n_models}")
        _check_models(left_, "left", n)
        _check_models(right_, "right", n)
        if size and (outcome_.min() < 0 or outcome_.max() >= N_OUTCOMES):
            raise ValueError(
                "outcome must hold LEFT=0, RIGHT=1, TIE=2 or BOTH_BAD=3, "
                f"got values from {outcome_.min()} to {outcome_.max()}"
            )
        same = left_ == right_
        if same.any():
            first = int(np.flatnonzero(same)[0])
            raise ValueError(
                f"vote {first} compares model {left_[first]} with itself (left == right)"
            )
        slots = n * n * N_OUTCOMES
        # code = (left * n + right) * 4 + outcome, built in place: one int64 array in memory.
        code = left_.astype(np.int64)
        code *= n
        code += right_
        code *= N_OUTCOMES
        code += outcome_
        if slots <= _DENSE_SLOTS:
            table = weighted_count(code, weights, slots)
            del code
            cells = table.reshape(n * n, N_OUTCOMES)
            flat = np.flatnonzero(cells.any(axis=1))
            cells = cells[flat]
        else:
            unique, inverse = np.unique(code, return_inverse=True)
            del code
            pair_code, out = unique // N_OUTCOMES, unique % N_OUTCOMES
            flat, slot = np.unique(pair_code, return_inverse=True)
            sums = weighted_count(inverse, weights, unique.size)
            cells = np.zeros((flat.size, N_OUTCOMES))
            np.add.at(cells, (slot, out), sums)
        return cls(
            n_models=n,
            i=flat // n,
            j=flat % n,
            wins_i=cells[:, LEFT],
            wins_j=cells[:, RIGHT],
            ties=cells[:, TIE],
            both_bad=cells[:, BOTH_BAD],
        )

    def inverted(self) -> PairCounts:
        """The same votes with wins and losses swapped (for "which is worse?" questions).

        On an inverse leaderboard voters pick the worse output; swapping makes the model picked
        least often rank first. Ties and both-bad votes are unchanged.
        """
        return PairCounts(
            n_models=self.n_models,
            i=self.i,
            j=self.j,
            wins_i=self.wins_j,
            wins_j=self.wins_i,
            ties=self.ties,
            both_bad=self.both_bad,
        )

    def tallies(self) -> ModelTallies:
        """Per-model wins, losses, ties and both-bad votes (see :class:`ModelTallies`)."""
        n = self.n_models

        def per_model(at_i: NDArray[np.float64], at_j: NDArray[np.float64]) -> NDArray[np.float64]:
            return weighted_count(self.i, at_i, n) + weighted_count(self.j, at_j, n)

        return ModelTallies(
            wins=per_model(self.wins_i, self.wins_j),
            losses=per_model(self.wins_j, self.wins_i),
            ties=per_model(self.ties, self.ties),
            both_bad=per_model(self.both_bad, self.both_bad),
        )


def collapse_majority(
    *,
    n_models: int,
    i: ArrayLike,
    j: ArrayLike,
    wins_i: ArrayLike,
    wins_j: ArrayLike,
    ties: ArrayLike,
    both_bad: ArrayLike | None = None,
    prompt: ArrayLike | None = None,
    drop_both_bad: bool = False,
) -> PairCounts:
    """Count each (pair, prompt) once, as the majority of the votes it received.

    Several voters judging the same two outputs are not independent evidence about the models;
    collapsing them to one vote per pair and prompt keeps a popular prompt from dominating.
    The majority is the outcome (win of ``i``, win of ``j``, tie, both bad) with the largest
    weighted count. When several outcomes share the largest count, the row becomes one tie:
    a split majority counts half a win each way, as a tie does.

    With ``drop_both_bad`` (for fits that leave "both bad" out), both-bad votes take no part
    in the majority: two both-bad votes and one win collapse to that win, not to a both-bad
    vote the fit would then drop. A (pair, prompt) with only both-bad votes becomes one
    both-bad vote, so the tallies still report it.

    Parameters
    ----------
    n_models : int
        Number of models on the board.
    i, j, wins_i, wins_j, ties, both_bad : array_like, shape (k,)
        As in :class:`PairCounts`, but each row holds the votes on one pair *and one prompt*.
    prompt : array_like of int, shape (k,), optional
        Prompt of each row. When given, rows of the same prompt and pair are summed before the
        majority is taken (so any grouping of the votes works); when omitted, each row is taken
        to be a distinct (pair, prompt) already.
    drop_both_bad : bool, default False
        Leave both-bad votes out of the majority (see above).

    Returns
    -------
    PairCounts
        One vote per (pair, prompt) that received any vote, summed over prompts.
    """
    i_ = _int_array(i, "i")
    size = i_.size
    j_ = _int_array(j, "j")
    if j_.size != size:
        raise ValueError(f"j must have length {size} like i, got {j_.size}")
    a = _count_array(wins_i, "wins_i", size)
    b = _count_array(wins_j, "wins_j", size)
    t = _count_array(ties, "ties", size)
    bb = np.zeros(size) if both_bad is None else _count_array(both_bad, "both_bad", size)
    n = int(n_models)
    _check_models(i_, "i", n)
    _check_models(j_, "j", n)
    swap = i_ > j_
    i_, j_ = np.where(swap, j_, i_), np.where(swap, i_, j_)
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    if prompt is not None:
        prompt_ = _int_array(prompt, "prompt")
        if prompt_.size != size:
            raise ValueError(f"prompt must have length {size} like i, got {prompt_.size}")
        keys = np.stack([prompt_, i_, j_], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        i_, j_ = unique[:, 1], unique[:, 2]
        a, b, t, bb = (weighted_count(inverse, v, len(unique)) for v in (a, b, t, bb))
    stacked = np.stack([a, b, t, bb], axis=1)
    if drop_both_bad:
        only_both_bad = (a + b + t == 0) & (bb > 0)
        stacked[~only_both_bad, BOTH_BAD] = 0.0
    top = stacked.max(axis=1)
    # Relative slack so that weights summed in another order still count as equal.
    at_top = (stacked >= top[:, None] * (1.0 - 1e-12)) & (top[:, None] > 0)
    single = at_top.sum(axis=1) == 1
    winner = np.where(single, at_top.argmax(axis=1), TIE)
    voted = top > 0
    one = voted.astype(np.float64)
    return PairCounts(
        n_models=n,
        i=i_,
        j=j_,
        wins_i=one * (winner == LEFT),
        wins_j=one * (winner == RIGHT),
        ties=one * (winner == TIE),
        both_bad=one * (winner == BOTH_BAD),
    )


def collapse_majority_votes(
    prompt: ArrayLike,
    left: ArrayLike,
    right: ArrayLike,
    outcome: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    n_models: int,
    drop_both_bad: bool = False,
) -> PairCounts:
    """Majority per (pair, prompt) straight from individual votes; see :func:`collapse_majority`.

    Parameters
    ----------
    prompt : array_like of int, shape (v,)
        Prompt of each vote.
    left, right, outcome, weight, n_models
        As in :meth:`PairCounts.from_votes`.
    drop_both_bad : bool, default False
        As in :func:`collapse_majority`.
    """
    prompt_ = _int_array(prompt, "prompt")
    left_ = _int_array(left, "left")
    size = left_.size
    if prompt_.size != size:
        raise ValueError(f"prompt must have length {size} like left, got {prompt_.size}")
    outcome_ = _int_array(outcome, "outcome")
    if outcome_.size != size:
        raise ValueError(f"outcome must have length {size} like left, got {outcome_.size}")
    weights = np.ones(size) if weight is None else _count_array(weight, "weight", size)
    if size and (outcome_.min() < 0 or outcome_.max() >= N_OUTCOMES):
        raise ValueError("outcome must hold LEFT=0, RIGHT=1, TIE=2 or BOTH_BAD=3")
    per_outcome = [weights * (outcome_ == code) for code in (LEFT, RIGHT, TIE, BOTH_BAD)]
    return collapse_majority(
        n_models=n_models,
        i=left_,
        j=right,
        wins_i=per_outcome[LEFT],
        wins_j=per_outcome[RIGHT],
        ties=per_outcome[TIE],
        both_bad=per_outcome[BOTH_BAD],
        prompt=prompt_,
        drop_both_bad=drop_both_bad,
    )


def comparison_components(counts: PairCounts) -> tuple[NDArray[np.int64], int]:
    """Connected parts of the comparison graph (an edge per pair with any vote).

    Returns
    -------
    component : ndarray of int64, shape (n_models,)
        Part of each model, numbered from 0 by decreasing size (then by smallest model
        index); ``-1`` for a model without any vote in ``counts``.
    n_components : int
        Number of parts that hold at least one vote.
    """
    n = counts.n_models
    component = np.full(n, -1, dtype=np.int64)
    if counts.i.size == 0:
        return component, 0
    graph = coo_matrix((np.ones(counts.i.size), (counts.i, counts.j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    voted = np.zeros(n, dtype=bool)
    voted[counts.i] = True
    voted[counts.j] = True
    raw = labels[voted]
    found, first, sizes = np.unique(raw, return_index=True, return_counts=True)
    # Largest first; equal sizes by the smallest model index they hold (np.unique keeps the
    # first occurrence, and `raw` follows model order).
    order = np.lexsort((first, -sizes))
    relabel = np.empty(labels.max() + 1, dtype=np.int64)
    relabel[found[order]] = np.arange(found.size)
    component[voted] = relabel[raw]
    return component, int(found.size)
