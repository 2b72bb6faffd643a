"""Bradley-Terry maximum likelihood with ties, by Newton's method on pair counts.

Model
-----
Each rated model ``k`` has a strength ``theta[k]`` on the natural-log scale and, for a pair
``(i, j)`` with ``d = theta[i] - theta[j]``:

``tie_model="half"`` (default; LMArena's convention)
    ``P(i beats j) = 1 / (1 + exp(-d))``; a tie counts as half a win for each side. Ties are
    not modelled, so the likelihood is a quasi-likelihood: the point estimates are LMArena's,
    and the sandwich covariance (below) keeps the intervals honest about what ties do to the
    variance.

``tie_model="davidson"``
    Davidson (1970): ``P(i wins) : P(j wins) : P(tie) = exp(d/2) : exp(-d/2) : nu``, with the
    tie parameter ``nu >= 0`` fitted with the strengths (through ``tau = log nu``) and
    reported. With no tie at all the maximum sits at ``nu = 0`` exactly, where the model is
    plain Bradley-Terry; that case is fitted as such and reports ``nu = 0``.

``both_bad`` votes count as ties, or are left out with ``both_bad="drop"``.

Gauge, prior and parts
----------------------
The likelihood only sees differences inside a connected part of the comparison graph, so each
part has a free offset (the gauge). The fit fixes it by centring: the mean strength of every
part is 0 (the published standings then re-centre on the models whose score is finite, see
:mod:`~evaluation.rating.standings`). The prior is a Gaussian "ridge" of precision ``ridge``
on each strength's deviation from the mean of its part (and on ``tau`` for Davidson), so it
never favours one gauge over another. Its only job is to keep the estimate finite where the
maximum likelihood does not exist (a model that won or lost all its votes, one vote between
two models, a Davidson board of ties only); :func:`separated` says which models those are.

The published estimate is therefore the posterior mode (MAP) under that prior, not the plain
maximum likelihood; ``ridge=0`` gives the latter (the tests check it against choix). Where the
maximum likelihood exists the prior moves each strength by about ``ridge * |theta| /
information``. With the default, 0.01 (a standard deviation of 10 on the natural-log scale,
1,737 score points), measured against ``ridge=0``, the largest change of a score is 0.12
points on the 900-vote board of the tests, 0.06 on LLMFAO (8,931 votes, 59 models) and 2.6 on
GenAI-Arena (2,060 votes, 13 models), for a model with 15 votes and a 95% interval of +-171
points; Davidson's fits move about twice as much. That is the price of a prior strong enough
to give a model that won or lost every vote a usable finite interval: with ``1e-6`` (the
maximum likelihood to about 1e-6) such a model sits some 2,500 points out with an interval of
+-10,000, so a model that lost all of its 16 votes would share rank 1. A caller that wants the
plain maximum likelihood passes ``ridge=0`` (finite only where it exists).

Newton
------
Each iteration builds the gradient and the ``m x m`` information matrix of the ``m`` rated
models from the ``k`` pairs with votes (``O(k)`` work, then an ``O(m^3)`` Cholesky solve), with
the gauge directions given unit curvature so the system is positive definite; a backtracking
line search on the concave objective makes every step an ascent step. From zero it converges in
a handful of iterations; warm-started (bootstrap) in two or three.

Covariance
----------
``H`` is the information (negative Hessian of the penalised log-likelihood) and ``H+`` its
inverse on the centred subspace (the pseudo-inverse). ``"fisher"`` is ``H+``, the model-based
(Laplace) covariance. ``"sandwich"`` (the default) is ``H+ (M + R) H+`` with ``M`` the
empirical variance of the per-vote scores, summed per pair and outcome from the counts, and
``R`` the prior's precision: the prior counts as information on the bread and as uncertainty on
the meat, so a strength that only the prior holds finite gets the prior's wide interval instead
of a spuriously narrow one, while anywhere the data speak ``R`` is negligible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import scipy.linalg  # type: ignore[import-untyped, unused-ignore]
from numpy.typing import NDArray
from scipy.sparse import coo_matrix  # type: ignore[import-untyped, unused-ignore]
from scipy.sparse.csgraph import (  # type: ignore[import-untyped, unused-ignore]
    connected_components,
)
from scipy.special import expit  # type: ignore[import-untyped, unused-ignore]

from evaluation.rating.counts import PairCounts, comparison_components, weighted_count

TieModel = Literal["half", "davidson"]
"""How ties are treated: as half a win each way, or by Davidson's tie parameter."""

BothBadPolicy = Literal["tie", "drop"]
"""What a "both bad" vote is: a tie, or not counted in the fit (still reported)."""

CovarianceKind = Literal["sandwich", "fisher"]
"""Covariance estimator: robust sandwich (default) or model-based inverse information."""

DEFAULT_RIDGE: Final = 0.01
"""Default prior precision per strength (natural-log scale): a standard deviation of 10, i.e.
about 1,700 score points. The fit is the posterior mode under it; the module docstring gives how
far that is from the plain maximum likelihood (a fraction of a point on real boards)."""

DEFAULT_TOL: Final = 1e-10
"""Default convergence threshold on the largest Newton step (natural-log scale)."""

DEFAULT_MAX_ITER: Final = 100

TIE_MODELS: Final = ("half", "davidson")
BOTH_BAD_POLICIES: Final = ("tie", "drop")
COVARIANCE_KINDS: Final = ("sandwich", "fisher")


def check_options(*, tie_model: str, both_bad: str, ridge: float) -> None:
    """Raise ``ValueError`` naming the option if ``tie_model``, ``both_bad`` or ``ridge`` is bad."""
    if tie_model not in TIE_MODELS:
        raise ValueError(f"tie_model must be one of {TIE_MODELS}, got {tie_model!r}")
    if both_bad not in BOTH_BAD_POLICIES:
        raise ValueError(f"both_bad must be one of {BOTH_BAD_POLICIES}, got {both_bad!r}")
    if not (np.isfinite(ridge) and ridge >= 0.0):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")


@dataclass(frozen=True, eq=False)
class Design:
    """The pairs of one fit, over its ``m`` rated models, with everything Newton reuses.

    Rated models are the ones with at least one counted vote; ``active[p]`` is the board index
    of position ``p``. ``i``/``j`` are positions, one entry per pair with counted votes.
    """

    n_models: int
    active: NDArray[np.int64]
    i: NDArray[np.int64]
    j: NDArray[np.int64]
    group: NDArray[np.int64]
    group_size: NDArray[np.float64]
    component: NDArray[np.int64]
    n_components: int
    gauge: NDArray[np.float64]
    flat_ij: NDArray[np.int64]
    flat_ji: NDArray[np.int64]
    flat_diag: NDArray[np.int64]

    @property
    def m(self) -> int:
        """Number of rated models."""
        return int(self.active.size)


@dataclass(frozen=True, eq=False)
class Outcomes:
    """Counted outcomes per pair of a :class:`Design` (ties include both-bad unless dropped)."""

    wins_i: NDArray[np.float64]
    wins_j: NDArray[np.float64]
    ties: NDArray[np.float64]

    @property
    def total(self) -> NDArray[np.float64]:
        """Counted votes per pair."""
        return self.wins_i + self.wins_j + self.ties


def _fitted_ties(counts: PairCounts, both_bad: BothBadPolicy) -> NDArray[np.float64]:
    """Ties per pair as the fit reads them: both-bad votes count as ties unless dropped."""
    return counts.ties + counts.both_bad if both_bad == "tie" else counts.ties


def rated_models(counts: PairCounts, *, both_bad: BothBadPolicy) -> NDArray[np.bool_]:
    """Which models a fit of ``counts`` rates: those with a vote it counts (a win, a loss or a
    tie; a both-bad vote only when it counts as a tie)."""
    keep = counts.wins_i + counts.wins_j + _fitted_ties(counts, both_bad) > 0
    rated = np.zeros(counts.n_models, dtype=bool)
    rated[counts.i[keep]] = True
    rated[counts.j[keep]] = True
    return rated


def prepare(
    counts: PairCounts, *, both_bad: BothBadPolicy, inverse: bool
) -> tuple[Design, Outcomes]:
    """Counted votes of ``counts`` as a :class:`Design` and its :class:`Outcomes`."""
    if inverse:
        counts = counts.inverted()
    ties = _fitted_ties(counts, both_bad)
    counted = counts.wins_i + counts.wins_j + ties
    keep = counted > 0
    fitted = PairCounts(
        n_models=counts.n_models,
        i=counts.i[keep],
        j=counts.j[keep],
        wins_i=counts.wins_i[keep],
        wins_j=counts.wins_j[keep],
        ties=ties[keep],
    )
    component, n_components = comparison_components(fitted)
    active = np.flatnonzero(component >= 0).astype(np.int64)
    m = active.size
    position = np.full(counts.n_models, -1, dtype=np.int64)
    position[active] = np.arange(m)
    i, j = position[fitted.i], position[fitted.j]
    group = component[active]
    group_size = np.bincount(group, minlength=n_components).astype(np.float64)
    same = group[:, None] == group[None, :]
    gauge = same / group_size[group][:, None]
    design = Design(
        n_models=counts.n_models,
        active=active,
        i=i,
        j=j,
        group=group,
        group_size=group_size,
        component=component,
        n_components=n_components,
        gauge=gauge,
        flat_ij=i * m + j,
        flat_ji=j * m + i,
        flat_diag=np.arange(m, dtype=np.int64) * (m + 1),
    )
    return design, Outcomes(wins_i=fitted.wins_i, wins_j=fitted.wins_j, ties=fitted.ties)


def separated(design: Design, outcomes: Outcomes) -> NDArray[np.bool_]:
    """Models whose maximum-likelihood strength is infinite, by board index.

    Inside a part, the maximum likelihood exists only if the models cannot be split in two
    groups one of which never scored against the other (Zermelo's condition: the directed
    graph with an edge ``i -> j`` whenever ``i`` won or tied against ``j`` is strongly
    connected). Otherwise the gaps between its strongly connected groups grow without bound,
    and only the prior keeps them finite. The part's largest such group is taken as its
    reference and every model outside it is flagged; when no group is larger than all the
    others (two models and one vote), the whole part is. A tie counts both ways, under both
    tie models: it bounds the gap from both sides.
    """
    m = design.m
    flags = np.zeros(design.n_models, dtype=bool)
    if m == 0:
        return flags
    scored_i = (outcomes.wins_i + outcomes.ties) > 0
    scored_j = (outcomes.wins_j + outcomes.ties) > 0
    rows = np.concatenate([design.i[scored_i], design.j[scored_j]])
    cols = np.concatenate([design.j[scored_i], design.i[scored_j]])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(m, m))
    n_strong, strong = connected_components(graph, directed=True, connection="strong")
    if n_strong == design.n_components:
        return flags
    size = np.bincount(strong, minlength=n_strong)
    local = np.zeros(m, dtype=bool)
    for part in range(design.n_components):
        members = np.flatnonzero(design.group == part)
        groups = np.unique(strong[members])
        if groups.size == 1:
            continue
        largest = size[groups].max()
        core = groups[size[groups] == largest]
        local[members] = True if core.size > 1 else strong[members] != core[0]
    flags[design.active] = local
    return flags


def _centred(theta: NDArray[np.float64], design: Design) -> NDArray[np.float64]:
    means = np.bincount(design.group, weights=theta, minlength=design.n_components)
    result: NDArray[np.float64] = theta - (means / design.group_size)[design.group]
    return result


def _laplacian(design: Design, weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_pairs weight * (e_i - e_j)(e_i - e_j)^T`` as a dense ``m x m`` matrix."""
    m = design.m
    matrix = np.zeros(m * m)
    matrix[design.flat_ij] = -weight
    matrix[design.flat_ji] = -weight
    matrix[design.flat_diag] = weighted_count(design.i, weight, m) + weighted_count(
        design.j, weight, m
    )
    return matrix.reshape(m, m)


def _pair_sum(design: Design, value: NDArray[np.float64]) -> NDArray[np.float64]:
    """``sum_pairs value * (e_i - e_j)``: per-model totals of a pair quantity."""
    m = design.m
    return weighted_count(design.i, value, m) - weighted_count(design.j, value, m)


@dataclass(frozen=True, eq=False)
class _Terms:
    """Penalised log-likelihood, its gradient and information at one point.

    ``information`` is ``None`` when only the gradient was asked for.
    """

    objective: float
    log_likelihood: float
    gradient: NDArray[np.float64]
    information: NDArray[np.float64] | None


def _softplus(d: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(1 + exp(d))`` without overflow."""
    result: NDArray[np.float64] = np.maximum(d, 0.0) + np.log1p(np.exp(-np.abs(d)))
    return result


def _davidson_probabilities(
    d: NDArray[np.float64], nu: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``P(i wins), P(j wins), P(tie)`` and ``log(2 cosh(d / 2) + nu)`` for differences ``d``.

    Written with ``e = exp(-|d| / 2) <= 1`` so that nothing overflows:
    ``2 cosh(d / 2) + nu = exp(|d| / 2) * (1 + e^2 + nu e)``.
    """
    half = 0.5 * np.abs(d)
    e = np.exp(-half)
    rest = 1.0 + e * e + nu * e
    favourite, underdog = 1.0 / rest, e * e / rest
    ahead = d >= 0.0
    return (
        np.where(ahead, favourite, underdog),
        np.where(ahead, underdog, favourite),
        nu * e / rest,
        half + np.log(rest),
    )


def _terms(
    design: Design,
    outcomes: Outcomes,
    params: NDArray[np.float64],
    *,
    davidson: bool,
    ridge: float,
    curvature: NDArray[np.float64] | None,
) -> _Terms:
    """Objective, gradient and information; only the gradient when ``curvature`` is None.

    ``params`` holds the ``m`` centred strengths, then ``tau`` for Davidson; ``curvature`` is
    :func:`_curvature` (the prior plus unit curvature along the gauge), added to the
    information so that it is positive definite.
    """
    m = design.m
    theta = params[:m]
    d = theta[design.i] - theta[design.j]
    n = outcomes.total
    penalty = 0.5 * ridge * float(params @ params)
    information: NDArray[np.float64] | None = None
    full = curvature is not None
    if not davidson:
        score = outcomes.wins_i + 0.5 * outcomes.ties
        # score * log(p) + (n - score) * log(1 - p) == score * d - n * softplus(d)
        log_likelihood = float(score @ d - n @ _softplus(d)) if full else np.nan
        p = expit(d)
        gradient = _pair_sum(design, score - n * p) - ridge * theta
        if curvature is not None:
            information = _laplacian(design, n * p * (1.0 - p)) + curvature
        return _Terms(log_likelihood - penalty, log_likelihood, gradient, information)
    tau = float(params[m])
    p_win, p_loss, p_tie, log_denominator = _davidson_probabilities(d, float(np.exp(tau)))
    spread = p_win - p_loss
    ties = float(outcomes.ties.sum())
    log_likelihood = (
        float(0.5 * ((outcomes.wins_i - outcomes.wins_j) @ d) + tau * ties - n @ log_denominator)
        if full
        else np.nan
    )
    grad_d = 0.5 * (outcomes.wins_i - outcomes.wins_j) - 0.5 * n * spread
    gradient = np.empty(m + 1)
    gradient[:m] = _pair_sum(design, grad_d) - ridge * theta
    gradient[m] = ties - n @ p_tie - ridge * tau
    if curvature is not None:
        information = np.empty((m + 1, m + 1))
        information[:m, :m] = (
            _laplacian(design, 0.25 * n * (p_win + p_loss - spread * spread)) + curvature
        )
        cross = _pair_sum(design, -0.5 * n * spread * p_tie)
        information[:m, m] = cross
        information[m, :m] = cross
        information[m, m] = float(n @ (p_tie * (1.0 - p_tie))) + ridge
    return _Terms(log_likelihood - penalty, log_likelihood, gradient, information)


def _curvature(design: Design, ridge: float) -> NDArray[np.float64]:
    """``ridge * (I - G) + G``: the prior off the gauge, unit curvature along it."""
    curvature: NDArray[np.float64] = (1.0 - ridge) * design.gauge
    curvature[np.diag_indices(design.m)] += ridge
    return curvature


def _solve(matrix: NDArray[np.float64], rhs: NDArray[np.float64]) -> NDArray[np.float64]:
    try:
        factor = scipy.linalg.cho_factor(matrix, check_finite=False)
        step: NDArray[np.float64] = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
    except np.linalg.LinAlgError:
        # Only reachable with ridge=0 when a bootstrap round splits a part or empties a model.
        step = np.asarray(np.linalg.lstsq(matrix, rhs, rcond=None)[0], dtype=np.float64)
    return step


@dataclass(frozen=True, eq=False)
class NewtonResult:
    """Raw result of :func:`newton`: parameters over the rated models (then ``tau``)."""

    params: NDArray[np.float64]
    log_likelihood: float
    converged: bool
    iterations: int


def initial_params(design: Design, outcomes: Outcomes, *, davidson: bool) -> NDArray[np.float64]:
    """Starting point: equal strengths, and for Davidson ``nu`` matching the tie share."""
    params = np.zeros(design.m + (1 if davidson else 0))
    if davidson:
        share = float(outcomes.ties.sum() / max(outcomes.total.sum(), 1e-300))
        share = min(max(share, 1e-6), 1.0 - 1e-6)
        params[-1] = np.log(2.0 * share / (1.0 - share))
    return params


def newton(
    design: Design,
    outcomes: Outcomes,
    params: NDArray[np.float64],
    *,
    davidson: bool,
    ridge: float,
    tol: float,
    max_iter: int,
) -> NewtonResult:
    """Maximise the penalised log-likelihood from ``params`` (copied, not modified)."""
    m = design.m
    if params.size == 0:
        return NewtonResult(params.copy(), 0.0, True, 0)
    params = params.copy()
    params[:m] = _centred(params[:m], design)
    curvature = _curvature(design, ridge)
    terms = _terms(design, outcomes, params, davidson=davidson, ridge=ridge, curvature=curvature)
    for iteration in range(1, max_iter + 1):
        assert terms.information is not None
        step = _solve(terms.information, terms.gradient)
        size = float(np.abs(step).max()) if step.size else 0.0
        scale = 1.0
        while True:
            trial = params + scale * step
            trial[:m] = _centred(trial[:m], design)
            trial_terms = _terms(
                design, outcomes, trial, davidson=davidson, ridge=ridge, curvature=curvature
            )
            # Near the optimum the gain falls below rounding of the objective; accept then.
            slack = 1e-12 * (1.0 + abs(terms.objective))
            if trial_terms.objective >= terms.objective - slack or scale < 1e-12:
                break
            scale *= 0.5
        params, terms = trial, trial_terms
        if size * scale <= tol:
            return NewtonResult(params, terms.log_likelihood, True, iteration)
    return NewtonResult(params, terms.log_likelihood, False, max_iter)


def factor_information(
    design: Design,
    outcomes: Outcomes,
    params: NDArray[np.float64],
    *,
    davidson: bool,
    ridge: float,
) -> tuple[NDArray[np.float64], bool]:
    """Cholesky factor of the information at ``params`` (for :func:`chord`)."""
    terms = _terms(
        design,
        outcomes,
        params,
        davidson=davidson,
        ridge=ridge,
        curvature=_curvature(design, ridge),
    )
    assert terms.information is not None
    factor: tuple[NDArray[np.float64], bool] = scipy.linalg.cho_factor(
        terms.information, check_finite=False
    )
    return factor


def chord(
    design: Design,
    outcomes: Outcomes,
    params: NDArray[np.float64],
    factor: tuple[NDArray[np.float64], bool],
    *,
    davidson: bool,
    ridge: float,
    tol: float,
    max_iter: int,
) -> NewtonResult | None:
    """Newton steps with a fixed, pre-factored information matrix (the chord method).

    For bootstrap rounds: the information of a resampled board is close to the full board's,
    so steps with the full board's factor contract quickly, and each costs one gradient
    (``O(pairs)``) and two triangular solves instead of building and factoring a new matrix.
    Returns ``None`` when the steps stop contracting; the caller then uses :func:`newton`.
    The result's ``log_likelihood`` is NaN: the chord never evaluates the objective.
    """
    m = design.m
    params = params.copy()
    params[:m] = _centred(params[:m], design)
    previous = np.inf
    for iteration in range(1, max_iter + 1):
        terms = _terms(design, outcomes, params, davidson=davidson, ridge=ridge, curvature=None)
        step: NDArray[np.float64] = scipy.linalg.cho_solve(
            factor, terms.gradient, check_finite=False
        )
        size = float(np.abs(step).max()) if step.size else 0.0
        if not size < 0.5 * previous and iteration > 1:
            return None
        params += step
        params[:m] = _centred(params[:m], design)
        if size <= tol:
            return NewtonResult(params, terms.log_likelihood, True, iteration)
        previous = size
    return None


def _meat(
    design: Design,
    outcomes: Outcomes,
    params: NDArray[np.float64],
    *,
    davidson: bool,
) -> NDArray[np.float64]:
    """Sum over votes of the outer product of each vote's score, from the counts."""
    m = design.m
    theta = params[:m]
    d = theta[design.i] - theta[design.j]
    a, b, t = outcomes.wins_i, outcomes.wins_j, outcomes.ties
    if not davidson:
        p = expit(d)
        weight = a * (1.0 - p) ** 2 + b * p * p + t * (0.5 - p) ** 2
        return _laplacian(design, weight)
    p_win, p_loss, p_tie, _ = _davidson_probabilities(d, float(np.exp(params[m])))
    centre = 0.5 * (p_win - p_loss)
    score_win, score_loss, score_tie = 0.5 - centre, -0.5 - centre, -centre
    meat = np.empty((m + 1, m + 1))
    meat[:m, :m] = _laplacian(design, a * score_win**2 + b * score_loss**2 + t * score_tie**2)
    cross = _pair_sum(
        design, (a * score_win + b * score_loss) * -p_tie + t * score_tie * (1.0 - p_tie)
    )
    meat[:m, m] = cross
    meat[m, :m] = cross
    meat[m, m] = float((a + b) @ (p_tie * p_tie) + t @ (1.0 - p_tie) ** 2)
    return meat


def covariance(
    design: Design,
    outcomes: Outcomes,
    params: NDArray[np.float64],
    *,
    davidson: bool,
    ridge: float,
    kind: CovarianceKind,
) -> NDArray[np.float64]:
    """Covariance of the centred parameters (strengths, then ``tau``) at ``params``."""
    m = design.m
    size = params.size
    if size == 0:
        return np.zeros((0, 0))
    gauge = np.zeros((size, size))
    gauge[:m, :m] = design.gauge
    prior = ridge * (np.eye(size) - gauge)
    terms = _terms(
        design,
        outcomes,
        params,
        davidson=davidson,
        ridge=ridge,
        curvature=_curvature(design, ridge),
    )
    assert terms.information is not None
    # `terms.information` already holds the gauge directions at unit curvature, so its inverse
    # is the pseudo-inverse on the centred subspace plus `gauge`.
    try:
        factor = scipy.linalg.cho_factor(terms.information, check_finite=False)
        inverse = scipy.linalg.cho_solve(factor, np.eye(size), check_finite=False)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(terms.information, hermitian=True)
    bread = inverse - gauge
    if kind == "fisher":
        result = bread
    else:
        meat = _meat(design, outcomes, params, davidson=davidson) + prior
        result = bread @ meat @ bread
    symmetric: NDArray[np.float64] = 0.5 * (result + result.T)
    return symmetric


@dataclass(frozen=True, eq=False)
class BradleyTerryFit:
    """Fitted strengths of every model of the board (index ``k`` is model ``k``).

    Attributes
    ----------
    theta : ndarray of float, shape (n_models,)
        Strengths on the natural-log scale, centred: mean 0 over the rated models of each
        part. ``0.0`` for unrated models (see ``rated``).
    cov : ndarray of float, shape (n_models, n_models), or None
        Covariance of ``theta`` (``None`` when not asked for). Rows of a part sum to zero
        (the centring); entries between parts are 0. An unrated model has ``+inf`` on the
        diagonal and 0 elsewhere in its row: no information.
    tie_parameter : float or None
        Davidson's ``nu`` (``None`` for ties as half).
    tie_parameter_se : float or None
        Standard error of ``log nu`` (``None`` for ties as half, or when ``nu = 0`` because
        there was no tie).
    log_likelihood : float
        Log-likelihood of the counted votes at the estimate (without the prior).
    converged : bool
        Whether Newton met the tolerance within ``max_iter`` iterations.
    iterations : int
        Newton iterations used.
    rated : ndarray of bool, shape (n_models,)
        Whether the model has at least one counted vote.
    component : ndarray of int64, shape (n_models,)
        Connected part of the comparison graph, 0 for the largest; ``-1`` for unrated models.
        Strengths are only comparable within a part.
    n_components : int
        Number of parts among the rated models.
    """

    theta: NDArray[np.float64]
    cov: NDArray[np.float64] | None
    tie_parameter: float | None
    tie_parameter_se: float | None
    log_likelihood: float
    converged: bool
    iterations: int
    rated: NDArray[np.bool_]
    component: NDArray[np.int64]
    n_components: int


def fit_prepared(
    design: Design,
    outcomes: Outcomes,
    *,
    tie_model: TieModel,
    ridge: float,
    covariance_kind: CovarianceKind | None,
    init: NDArray[np.float64] | None = None,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> tuple[BradleyTerryFit, NewtonResult]:
    """Fit a prepared design; also returns the raw :class:`NewtonResult` for warm starts."""
    davidson = tie_model == "davidson" and float(outcomes.ties.sum()) > 0.0
    start = initial_params(design, outcomes, davidson=davidson)
    if init is not None:
        start[: design.m] = init[design.active]
    result = newton(
        design, outcomes, start, davidson=davidson, ridge=ridge, tol=tol, max_iter=max_iter
    )
    n, m, active = design.n_models, design.m, design.active
    theta = np.zeros(n)
    theta[active] = result.params[:m]
    rated = np.zeros(n, dtype=bool)
    rated[active] = True
    cov = None
    tie_se = None
    if covariance_kind is not None:
        local = covariance(
            design,
            outcomes,
            result.params,
            davidson=davidson,
            ridge=ridge,
            kind=covariance_kind,
        )
        cov = np.zeros((n, n))
        cov[np.ix_(active, active)] = local[:m, :m]
        unrated = np.flatnonzero(~rated)
        cov[unrated, unrated] = np.inf
        if davidson:
            tie_se = float(np.sqrt(max(local[m, m], 0.0)))
    tie_parameter = None
    if tie_model == "davidson":
        tie_parameter = float(np.exp(result.params[m])) if davidson else 0.0
    fit = BradleyTerryFit(
        theta=theta,
        cov=cov,
        tie_parameter=tie_parameter,
        tie_parameter_se=tie_se,
        log_likelihood=result.log_likelihood,
        converged=result.converged,
        iterations=result.iterations,
        rated=rated,
        component=design.component,
        n_components=design.n_components,
    )
    return fit, result


def fit_bradley_terry(
    counts: PairCounts,
    *,
    tie_model: TieModel = "half",
    both_bad: BothBadPolicy = "tie",
    ridge: float = DEFAULT_RIDGE,
    inverse: bool = False,
    covariance: CovarianceKind | None = "sandwich",
    init: NDArray[np.float64] | None = None,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> BradleyTerryFit:
    """Bradley-Terry strengths from pair counts: the penalised maximum likelihood (MAP).

    Parameters
    ----------
    counts : PairCounts
        The votes, reduced.
    tie_model : {"half", "davidson"}, default "half"
        Ties as half a win each way, or Davidson's model with a fitted tie parameter.
    both_bad : {"tie", "drop"}, default "tie"
        Count "both bad" votes as ties, or leave them out of the fit.
    ridge : float, default DEFAULT_RIDGE
        Precision of the Gaussian prior on each strength's deviation from its part's mean
        (and on ``log nu``). ``0`` is plain maximum likelihood, which is infinite for a model
        that won or lost every vote (the fit then stops at ``max_iter``, not converged).
    inverse : bool, default False
        Swap wins and losses first ("which is worse?" boards).
    covariance : {"sandwich", "fisher"} or None, default "sandwich"
        Which covariance to compute; ``None`` skips it.
    init : ndarray of float, shape (n_models,), optional
        Starting strengths (a warm start); the fit centres them first.
    tol : float, default DEFAULT_TOL
        Stop when the largest Newton step is at most this.
    max_iter : int, default DEFAULT_MAX_ITER
        Most Newton iterations.

    Returns
    -------
    BradleyTerryFit
    """
    check_options(tie_model=tie_model, both_bad=both_bad, ridge=ridge)
    if covariance is not None and covariance not in COVARIANCE_KINDS:
        raise ValueError(
            f"covariance must be one of {COVARIANCE_KINDS} or None, got {covariance!r}"
        )
    if init is not None:
        init = np.asarray(init, dtype=np.float64)
        if init.shape != (counts.n_models,) or not np.isfinite(init).all():
            raise ValueError(f"init must be finite with shape ({counts.n_models},)")
    design, outcomes = prepare(counts, both_bad=both_bad, inverse=inverse)
    fit, _ = fit_prepared(
        design,
        outcomes,
        tie_model=tie_model,
        ridge=ridge,
        covariance_kind=covariance,
        init=init,
        tol=tol,
        max_iter=max_iter,
    )
    return fit
