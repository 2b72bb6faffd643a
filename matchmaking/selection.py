"""Pair selection: which two models to show next, and on which prompt.

A pure function over integer indices and numpy arrays; it imports no Django. The caller (the
matchmaking task, or the web process when the queue is empty) maps database ids to indices:
row ``p`` of ``has_output`` is the ``p``-th prompt the leaderboard allows, column ``m`` the
``m``-th model, and ``theta``, ``cov``, ``component`` and ``model_votes`` follow the same model
order (the first three are the rater's ``Standings`` fields of the same name).

How a batch is chosen
---------------------
A vote on the pair ``(i, j)`` adds ``w_ij x x^T`` to the Fisher information of the
Bradley-Terry strengths, with ``x = e_i - e_j`` and ``w_ij = p_ij (1 - p_ij)``. A pair is worth
``w_ij * Var(theta_i - theta_j)``: how likely the vote is to be informative times how much is
still unknown about the difference. Picks are made greedily; after each one the covariance is
updated as if the vote had been seen (Sherman-Morrison, ``C <- C - k u u^T`` with ``u = C x``,
``k = w / (1 + w x^T C x)``), so the next pick prefers what the batch has not covered yet. Around
it:

- exploration floor: a share of the picks (``uniform_share``) is uniform over the eligible
  pairs, so a wrong estimate cannot starve a pair forever;
- new models (fewer than ``new_model_votes`` votes) have their pairs' scores multiplied by
  ``new_model_boost`` and are exempt from the per-model cap, so they are integrated quickly;
- per-model cap: any other model appears in at most ``max_model_share`` of the batch's picks;
- prompt balance: each pick goes to the prompt both models answered that this pair has used
  least in this batch, then the least-used prompt overall (history plus this batch);
- left and right are shuffled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import numpy as np
from numpy.typing import NDArray

NEW_MODEL_VOTES: Final = 100
"""Default number of votes below which a model counts as new (boosted, exempt from the cap)."""

NEW_MODEL_BOOST: Final = 4.0
"""Default factor on the score of every pair that involves a new model."""

UNRATED_VARIANCE: Final = 1.0
"""Variance of ``theta`` (natural log scale) assumed for a model the rater could not rate yet.

One unit is an Elo standard deviation of about 174 points, wider than any rated model after a
handful of votes; a model whose rated variance is larger still keeps its own.
"""

_EMPTY: Final = np.empty((0, 3), dtype=np.int64)


def select_pairs(
    *,
    has_output: NDArray[np.bool_],
    theta: NDArray[np.floating] | None,
    cov: NDArray[np.floating] | None,
    model_votes: NDArray[np.integer],
    batch_size: int,
    rng: np.random.Generator,
    component: NDArray[np.integer] | None = None,
    prompt_use: NDArray[np.integer] | None = None,
    exclude: Iterable[tuple[int, int, int]] | None = None,
    uniform_share: float = 0.1,
    max_model_share: float = 0.25,
    new_model_votes: int = NEW_MODEL_VOTES,
    new_model_boost: float = NEW_MODEL_BOOST,
) -> NDArray[np.int64]:
    """Choose a batch of matchups: a prompt and two models that both answered it.

    Parameters
    ----------
    has_output : ndarray of bool, shape (n_prompts, n_models)
        ``has_output[p, m]`` is true when model ``m`` has an output for prompt ``p``. Pass only
        the prompts the leaderboard allows (its tags, active prompts): every row is a candidate.
        Two models are paired only on a prompt both answered, so two models without a shared
        prompt are never paired.
    theta : ndarray of float, shape (n_models,), or None
        Current Bradley-Terry strengths on the natural log scale (``Standings.theta``).
        ``None`` (no ratings yet) makes every pick uniform over the eligible pairs.
    cov : ndarray of float, shape (n_models, n_models), or None
        Covariance of ``theta`` (``Standings.cov``); only differences are used, so a singular
        (gauge-fixed) covariance is fine. ``None`` exactly when ``theta`` is ``None``. A model
        with a non-finite ``theta`` or variance (the rater's ``+inf`` for a model without a
        counted vote) is unrated: scored at the mean strength, with variance
        ``max(UNRATED_VARIANCE, largest rated variance)`` and no covariance with the others.
    model_votes : ndarray of int, shape (n_models,)
        Votes each model has so far; models with fewer than ``new_model_votes`` are new.
    component : ndarray of int, shape (n_models,), optional
        Part of the comparison graph of each model (``Standings.component``; negative for
        unrated). Parts are fitted on unrelated scales, so the offset between two parts is
        given a variance of ``UNRATED_VARIANCE`` each: a pair across parts, which would join
        them, scores high. Omitted: the ratings are taken as one part.
    batch_size : int
        Number of matchups wanted.
    rng : numpy.random.Generator
        The only source of randomness: the same seed and inputs give the same batch.
    prompt_use : ndarray of int, shape (n_prompts,), optional
        How much each prompt has been used so far (the matchmaker passes the board's counted
        votes per prompt, from the pair counters); zeros when omitted.
    exclude : iterable of (prompt, i, j), optional
        Matchups not to issue again (for instance the ones this voter already judged). Order of
        ``i`` and ``j`` does not matter. A pair whose shared prompts are all excluded is not
        eligible.
    uniform_share : float, default 0.1
        Share of the picks drawn uniformly over the eligible pairs (exploration floor). With a
        fractional expected count the remainder is drawn, so ``batch_size=1`` explores with
        probability ``uniform_share``.
    max_model_share : float, default 0.25
        Most picks of the batch a model that is not new may appear in, as a share of
        ``batch_size`` (rounded up). Never below ``3 / n`` for ``n`` models that can be paired:
        every pick uses two models, so ``2 / n`` is the average share. If the cap blocks every
        eligible pair (a board where one model is the only link), it is lifted for the rest of
        the batch.
    new_model_votes : int, default NEW_MODEL_VOTES
        Models with fewer votes are new: boosted and exempt from the cap.
    new_model_boost : float, default NEW_MODEL_BOOST
        Factor on the score of pairs that involve a new model.

    Returns
    -------
    ndarray of int64, shape (k, 3)
        One row per matchup: prompt index, left model index, right model index, with left and
        right in random order. ``k == batch_size``, or ``0`` when no pair is eligible (fewer
        than two models on every prompt, everything excluded). Rows are in pick order, the
        most informative first. A pair can recur in a batch (on another prompt when it can)
        when it stays the most informative after the update.

    Raises
    ------
    ValueError
        When an array has the wrong shape, ``theta`` and ``cov`` are not both given or both
        ``None``, or an option is out of range; the message names the argument.
    """
    has_output, ratings, model_votes, prompt_use = _checked(
        has_output=has_output,
        theta=theta,
        cov=cov,
        component=component,
        model_votes=model_votes,
        prompt_use=prompt_use,
        batch_size=batch_size,
        uniform_share=uniform_share,
        max_model_share=max_model_share,
        new_model_boost=new_model_boost,
    )
    n_models = has_output.shape[1]
    if batch_size == 0 or n_models < 2:
        return _EMPTY.copy()

    excluded = _excluded_prompts(exclude, has_output=has_output)
    pair_i, pair_j = _eligible_pairs(has_output, excluded=excluded)
    if pair_i.size == 0:
        return _EMPTY.copy()
    # A random order makes argmax break ties at random without a draw per pick.
    order = rng.permutation(pair_i.size)
    pair_i, pair_j = pair_i[order], pair_j[order]

    is_new = model_votes < new_model_votes
    n_linked = np.unique(np.concatenate([pair_i, pair_j])).size
    # Every pick uses two models, so 2 / n is the average share; leave room above it.
    cap = math.ceil(max(max_model_share, 3.0 / n_linked) * batch_size - 1e-9)
    scores = (
        None
        if ratings is None
        else _PairScores(
            *ratings, pair_i=pair_i, pair_j=pair_j, is_new=is_new, boost=new_model_boost
        )
    )
    is_uniform = _uniform_slots(batch_size, uniform_share if scores is not None else 1.0, rng=rng)

    allowed = np.ones(pair_i.size, dtype=bool)
    capped = True
    appearances = np.zeros(n_models, dtype=np.int64)
    use = prompt_use.copy()
    batch_prompts: dict[tuple[int, int], list[int]] = {}
    picks = np.empty((batch_size, 3), dtype=np.int64)
    for slot in range(batch_size):
        if not allowed.any():
            # Only the cap can empty `allowed`: every eligible pair touches a capped model.
            allowed[:] = True
            capped = False
        if scores is None or is_uniform[slot]:
            pick = int(rng.choice(np.flatnonzero(allowed)))
        else:
            pick = scores.best(allowed)
        i, j = int(pair_i[pick]), int(pair_j[pick])
        used_by_pair = batch_prompts.setdefault((i, j), [])
        prompt = _least_used_prompt(
            has_output,
            i=i,
            j=j,
            use=use,
            excluded=excluded.get((i, j)),
            used_by_pair=used_by_pair,
            rng=rng,
        )
        picks[slot] = (prompt, i, j)
        use[prompt] += 1
        used_by_pair.append(prompt)
        if scores is not None:
            scores.observe(pick)
        appearances[[i, j]] += 1
        if capped:
            for m in (i, j):
                if not is_new[m] and appearances[m] >= cap:
                    allowed &= (pair_i != m) & (pair_j != m)

    swap = rng.random(batch_size) < 0.5
    picks[swap, 1:] = picks[swap][:, [2, 1]]
    return picks


def select_pair(
    *,
    has_output: NDArray[np.bool_],
    theta: NDArray[np.floating] | None,
    cov: NDArray[np.floating] | None,
    model_votes: NDArray[np.integer],
    rng: np.random.Generator,
    component: NDArray[np.integer] | None = None,
    prompt_use: NDArray[np.integer] | None = None,
    exclude: Iterable[tuple[int, int, int]] | None = None,
    uniform_share: float = 0.1,
    new_model_votes: int = NEW_MODEL_VOTES,
    new_model_boost: float = NEW_MODEL_BOOST,
) -> tuple[int, int, int] | None:
    """Choose one matchup now, for the web process when the queue of matchups is empty.

    The same choice as one pick of :func:`select_pairs` (same arguments, same meaning, no cap
    since a single pick cannot crowd a batch); a few milliseconds at 300 models.

    Returns
    -------
    tuple of (prompt, left, right) or None
        Indices as in :func:`select_pairs`, left and right in random order; ``None`` when no
        pair is eligible (for instance this voter has judged every one, passed in ``exclude``).
    """
    picks = select_pairs(
        has_output=has_output,
        theta=theta,
        cov=cov,
        model_votes=model_votes,
        batch_size=1,
        rng=rng,
        component=component,
        prompt_use=prompt_use,
        exclude=exclude,
        uniform_share=uniform_share,
        max_model_share=1.0,
        new_model_votes=new_model_votes,
        new_model_boost=new_model_boost,
    )
    if picks.shape[0] == 0:
        return None
    prompt, left, right = (int(v) for v in picks[0])
    return prompt, left, right


def _checked(
    *,
    has_output: NDArray[np.bool_],
    theta: NDArray[np.floating] | None,
    cov: NDArray[np.floating] | None,
    component: NDArray[np.integer] | None,
    model_votes: NDArray[np.integer],
    prompt_use: NDArray[np.integer] | None,
    batch_size: int,
    uniform_share: float,
    max_model_share: float,
    new_model_boost: float,
) -> tuple[
    NDArray[np.bool_],
    tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    NDArray[np.int64],
    NDArray[np.int64],
]:
    """Validate shapes and ranges; return the arrays in the dtypes the selection works on."""
    has_output = np.asarray(has_output, dtype=bool)
    if has_output.ndim != 2:
        raise ValueError(
            f"has_output must be 2-D (n_prompts, n_models), got shape {has_output.shape}"
        )
    n_prompts, n_models = has_output.shape
    votes = np.asarray(model_votes, dtype=np.int64)
    if votes.shape != (n_models,):
        raise ValueError(f"model_votes must have shape ({n_models},), got {votes.shape}")
    if (theta is None) != (cov is None):
        raise ValueError("theta and cov must both be given, or both be None (no ratings yet)")
    ratings = None
    if theta is not None and cov is not None:
        strength = np.asarray(theta, dtype=np.float64)
        covariance = np.asarray(cov, dtype=np.float64)
        if strength.shape != (n_models,):
            raise ValueError(f"theta must have shape ({n_models},), got {strength.shape}")
        if covariance.shape != (n_models, n_models):
            raise ValueError(
                f"cov must have shape ({n_models}, {n_models}), got {covariance.shape}"
            )
        part = None
        if component is not None:
            part = np.asarray(component, dtype=np.int64)
            if part.shape != (n_models,):
                raise ValueError(f"component must have shape ({n_models},), got {part.shape}")
        ratings = _rated(strength, covariance, component=part)
    if prompt_use is None:
        use = np.zeros(n_prompts, dtype=np.int64)
    else:
        use = np.asarray(prompt_use, dtype=np.int64)
        if use.shape != (n_prompts,):
            raise ValueError(f"prompt_use must have shape ({n_prompts},), got {use.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise ValueError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size < 0:
        raise ValueError(f"batch_size must be >= 0, got {batch_size}")
    if not 0.0 <= uniform_share <= 1.0:
        raise ValueError(f"uniform_share must be in [0, 1], got {uniform_share}")
    if not 0.0 < max_model_share <= 1.0:
        raise ValueError(f"max_model_share must be in (0, 1], got {max_model_share}")
    if not new_model_boost > 0.0:
        raise ValueError(f"new_model_boost must be > 0, got {new_model_boost}")
    return has_output, ratings, votes, use


def _excluded_prompts(
    exclude: Iterable[tuple[int, int, int]] | None, *, has_output: NDArray[np.bool_]
) -> dict[tuple[int, int], NDArray[np.int64]]:
    """Map each pair ``(i, j)``, ``i < j``, to its excluded prompts that both models answered.

    Triples that name an unknown prompt or model, or a prompt the pair cannot use anyway, are
    dropped: they cannot change the choice.
    """
    rows = np.asarray(list(exclude) if exclude is not None else [], dtype=np.int64)
    if rows.size == 0:
        return {}
    rows = rows.reshape(-1, 3)
    n_prompts, n_models = has_output.shape
    prompt = rows[:, 0]
    low, high = np.minimum(rows[:, 1], rows[:, 2]), np.maximum(rows[:, 1], rows[:, 2])
    known = (prompt >= 0) & (prompt < n_prompts) & (low >= 0) & (high < n_models) & (low < high)
    rows = np.unique(np.column_stack([low, high, prompt])[known], axis=0)
    rows = rows[has_output[rows[:, 2], rows[:, 0]] & has_output[rows[:, 2], rows[:, 1]]]
    if rows.shape[0] == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, np.any(rows[1:, :2] != rows[:-1, :2], axis=1)])
    ends = np.r_[starts[1:], rows.shape[0]]
    return {
        (int(rows[s, 0]), int(rows[s, 1])): rows[s:e, 2] for s, e in zip(starts, ends, strict=True)
    }


def _eligible_pairs(
    has_output: NDArray[np.bool_], *, excluded: dict[tuple[int, int], NDArray[np.int64]]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs ``i < j`` with at least one shared prompt left after the exclusions."""
    # float32 counts are exact below 2**24 prompts and go through BLAS, unlike bool or int.
    answered = has_output.astype(np.float32)
    shared = answered.T @ answered
    for (i, j), prompts in excluded.items():
        shared[i, j] -= prompts.size
    pair_i, pair_j = np.triu_indices(has_output.shape[1], k=1)
    keep = shared[pair_i, pair_j] > 0.5
    return pair_i[keep].astype(np.int64), pair_j[keep].astype(np.int64)


def _rated(
    theta: NDArray[np.float64],
    cov: NDArray[np.float64],
    *,
    component: NDArray[np.int64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Strengths and a covariance the scores can use.

    Unrated models get the mean strength and a wide prior, independent of the rest. When the
    rated models fall into several parts, each part's unknown offset on a common scale gets
    variance ``UNRATED_VARIANCE``: ``cov[a, b] += UNRATED_VARIANCE`` for ``a``, ``b`` of one
    part, which leaves differences within a part unchanged and widens those across parts.
    """
    unrated = ~np.isfinite(theta) | ~np.isfinite(np.diagonal(cov))
    strength = theta.copy()
    strength[unrated] = float(theta[~unrated].mean()) if (~unrated).any() else 0.0
    covariance = np.where(np.isfinite(cov), cov, 0.0)
    covariance = 0.5 * (covariance + covariance.T)
    covariance[unrated, :] = 0.0
    covariance[:, unrated] = 0.0
    rated_variance = np.diagonal(covariance)[~unrated]
    prior = max(UNRATED_VARIANCE, float(rated_variance.max()) if rated_variance.size else 0.0)
    covariance[unrated, unrated] = prior
    if component is not None:
        part = np.where(unrated, -1, component)
        if np.unique(part[part >= 0]).size > 1:
            same = (part[:, None] == part[None, :]) & (part >= 0)[:, None]
            covariance += UNRATED_VARIANCE * same
    return strength, covariance


class _PairScores:
    """Scores of the eligible pairs, kept current as picks are made.

    ``score = boost * p (1 - p) * Var(theta_i - theta_j)``; after each pick the covariance and
    the pair variances are updated as if the vote had been seen.
    """

    def __init__(
        self,
        theta: NDArray[np.float64],
        cov: NDArray[np.float64],
        *,
        pair_i: NDArray[np.int64],
        pair_j: NDArray[np.int64],
        is_new: NDArray[np.bool_],
        boost: float,
    ) -> None:
        self.pair_i, self.pair_j = pair_i, pair_j
        self.cov = cov
        # p (1 - p) from tanh, so large strength gaps do not overflow.
        half_tanh = np.tanh(0.5 * (theta[pair_i] - theta[pair_j]))
        self.weight = 0.25 * (1.0 - half_tanh * half_tanh)
        diagonal = np.diagonal(cov)
        self.variance = np.maximum(
            diagonal[pair_i] + diagonal[pair_j] - 2.0 * cov[pair_i, pair_j], 0.0
        )
        self.boost = np.where(is_new[pair_i] | is_new[pair_j], boost, 1.0)

    def best(self, allowed: NDArray[np.bool_]) -> int:
        """Index of the allowed pair with the highest score (the first one on ties)."""
        score = self.boost * self.weight * self.variance
        return int(np.argmax(np.where(allowed, score, -np.inf)))

    def observe(self, pick: int) -> None:
        """Update the covariance and pair variances as if a vote on pair ``pick`` were seen.

        The information gains ``w x x^T`` with ``x = e_i - e_j``; by Sherman-Morrison the
        covariance loses ``k u u^T`` with ``u = cov x`` and ``k = w / (1 + w x^T cov x)``, and
        ``Var(theta_a - theta_b)`` loses ``k (u_a - u_b)^2``. O(n_models^2).
        """
        i, j, w = int(self.pair_i[pick]), int(self.pair_j[pick]), float(self.weight[pick])
        u = self.cov[:, i] - self.cov[:, j]
        k = w / (1.0 + w * max(float(u[i] - u[j]), 0.0))
        self.cov -= k * np.outer(u, u)
        gap = u[self.pair_i] - u[self.pair_j]
        self.variance -= k * gap * gap
        np.maximum(self.variance, 0.0, out=self.variance)


def _uniform_slots(batch_size: int, share: float, *, rng: np.random.Generator) -> NDArray[np.bool_]:
    """Which picks of the batch are uniform: ``share * batch_size`` of them, the fraction drawn."""
    expected = share * batch_size
    count = math.floor(expected)
    if rng.random() < expected - count:
        count += 1
    slots = np.zeros(batch_size, dtype=bool)
    slots[rng.choice(batch_size, size=min(count, batch_size), replace=False)] = True
    return slots


def _least_used_prompt(
    has_output: NDArray[np.bool_],
    *,
    i: int,
    j: int,
    use: NDArray[np.int64],
    excluded: NDArray[np.int64] | None,
    used_by_pair: list[int],
    rng: np.random.Generator,
) -> int:
    """The prompt both models answered that this pair used least in the batch, then overall.

    Remaining ties are broken at random. The pair is eligible, so at least one prompt is left.
    """
    prompts = np.flatnonzero(has_output[:, i] & has_output[:, j])
    if excluded is not None:
        prompts = prompts[~np.isin(prompts, excluded)]
    if used_by_pair:
        by_pair = np.bincount(used_by_pair, minlength=has_output.shape[0])[prompts]
        prompts = prompts[by_pair == by_pair.min()]
    overall = use[prompts]
    prompts = prompts[overall == overall.min()]
    return int(prompts[0]) if prompts.size == 1 else int(rng.choice(prompts))
