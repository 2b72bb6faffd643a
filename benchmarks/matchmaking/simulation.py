"""Simulated voters on a board with known Bradley-Terry strengths.

Two measurements per strategy, seed and board size:

- ``votes_to_rank``: all models present from the first vote; votes until the Kendall tau between
  the fitted strengths and the true ones reaches the target (0.9).
- ``votes_to_integrate``: the board first collects a warm-up of uniform votes among all models
  but one (the same warm-up for every strategy, so each starts from the same state); then the
  late model joins, and the strategy chooses every matchup from there. Votes until the late
  model's 95% interval is no wider than 1.5 times the others' average width.

Ratings are refitted with ``evaluation.rating.compute_standings`` (ties as half a win) after every
batch of matchups, as the Celery task that refills the queue does in production, and a strategy
sees only the fit made before its batch.
While the late model integrates, the fit is also checked every ``fine_step`` votes (the strategy
still sees only the fit made when its batch was chosen), so small counts are measured finely.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from scipy.stats import kendalltau

from benchmarks.matchmaking.strategies import Board, Strategy
from evaluation.rating import LEFT, RIGHT, TIE, PairCounts, compute_standings


@dataclass(frozen=True)
class Setting:
    """One board size and the rules of the simulation.

    Attributes
    ----------
    n_models : int
        Models on the board (M), the late one included.
    batch : int
        Matchups a strategy chooses from one fit (votes between refits).
    n_prompts : int
        Prompts; every model answered every prompt, and prompts do not change outcomes.
    strength_sd : float
        True strengths are drawn from N(0, strength_sd^2) on the natural log scale.
    tie_rate : float
        Share of votes that are ties, whatever the pair; the rest follow Bradley-Terry.
    tau_target : float
        Kendall tau that counts as ranked.
    width_ratio : float
        The late model is integrated once its interval is at most this times the others' mean.
    warmup_votes_per_model : int
        Uniform votes before the late model joins, per model on the board (each vote counts for
        two models, so the others have about twice this many each).
    budget_votes_per_model : int
        Fixed budget, per model, at which Kendall tau is also recorded.
    max_votes, max_late_votes : int
        Caps of the two measurements.
    fine_step, fine_until : int
        The late model's interval is checked every ``fine_step`` votes for the first
        ``fine_until`` votes, then after every batch.
    """

    n_models: int
    batch: int = 50
    n_prompts: int = 8
    strength_sd: float = 1.0
    tie_rate: float = 0.15
    tau_target: float = 0.9
    width_ratio: float = 1.5
    warmup_votes_per_model: int = 150
    budget_votes_per_model: int = 100
    max_votes: int = 60_000
    max_late_votes: int = 30_000
    fine_step: int = 10
    fine_until: int = 600


@dataclass(frozen=True)
class Fit:
    """The parts of the rater's standings the benchmark and the strategies use."""

    theta: NDArray[np.float64]
    cov: NDArray[np.float64]
    component: NDArray[np.int64]
    width: NDArray[np.float64]
    """Width of each model's 95% interval; ``inf`` for a model without a counted vote."""
    rated: NDArray[np.bool_]
    connected: bool


class Ledger:
    """Every vote cast so far, as (left, right, outcome) arrays."""

    def __init__(self, n_models: int) -> None:
        self.n_models = n_models
        self.left = np.empty(0, dtype=np.int64)
        self.right = np.empty(0, dtype=np.int64)
        self.outcome = np.empty(0, dtype=np.int64)

    def copy(self) -> Ledger:
        twin = Ledger(self.n_models)
        twin.left, twin.right, twin.outcome = self.left, self.right, self.outcome
        return twin

    def add(
        self, left: NDArray[np.int64], right: NDArray[np.int64], outcome: NDArray[np.int64]
    ) -> None:
        self.left = np.concatenate([self.left, left])
        self.right = np.concatenate([self.right, right])
        self.outcome = np.concatenate([self.outcome, outcome])

    @property
    def model_votes(self) -> NDArray[np.int64]:
        return np.bincount(np.concatenate([self.left, self.right]), minlength=self.n_models)

    def fit(self) -> Fit | None:
        """Refit the ratings from every vote so far; ``None`` before the first vote."""
        if self.left.size == 0:
            return None
        counts = PairCounts.from_votes(
            self.left, self.right, self.outcome, None, n_models=self.n_models
        )
        standings = compute_standings(counts, tie_model="half")
        return Fit(
            theta=standings.theta,
            cov=standings.cov,
            component=standings.component,
            width=standings.ci_high - standings.ci_low,
            rated=standings.rated,
            connected=standings.connected,
        )


def cast_votes(
    picks: NDArray[np.int64],
    *,
    truth: NDArray[np.float64],
    tie_rate: float,
    rng: np.random.Generator,
) -> NDArray[np.int64]:
    """Outcomes of simulated voters: a tie with ``tie_rate``, else Bradley-Terry on the truth."""
    left, right = picks[:, 1], picks[:, 2]
    left_wins = rng.random(left.size) < 1.0 / (1.0 + np.exp(truth[right] - truth[left]))
    tie = rng.random(left.size) < tie_rate
    return np.where(tie, TIE, np.where(left_wins, LEFT, RIGHT)).astype(np.int64)


def _board(setting: Setting, present: NDArray[np.bool_]) -> Board:
    has_output = np.zeros((setting.n_prompts, setting.n_models), dtype=bool)
    has_output[:, present] = True
    return Board(
        has_output=has_output,
        model_votes=np.zeros(setting.n_models, dtype=np.int64),
        prompt_use=np.zeros(setting.n_prompts, dtype=np.int64),
    )


def _show(board: Board, fit: Fit | None) -> None:
    """Give the strategies the latest fit, as the matchmaking task reads the latest standings."""
    board.theta = None if fit is None else fit.theta
    board.cov = None if fit is None else fit.cov
    board.component = None if fit is None else fit.component


def _refresh(board: Board, ledger: Ledger, fit: Fit | None, picks: NDArray[np.int64]) -> None:
    _show(board, fit)
    board.model_votes = ledger.model_votes
    board.prompt_use = board.prompt_use + np.bincount(picks[:, 0], minlength=board.prompt_use.size)


@dataclass(frozen=True)
class Ranking:
    """How fast the fitted order approached the true one."""

    votes_to_target: int | None
    """Votes until Kendall tau first reached the target; ``None`` if ``max_votes`` came first."""
    tau_at_budget: float
    """Kendall tau after ``budget_votes_per_model * n_models`` votes (``NaN`` if not all rated)."""


def votes_to_rank(
    strategy: Strategy, setting: Setting, *, truth: NDArray[np.float64], rng: np.random.Generator
) -> Ranking:
    """Votes until Kendall tau between fitted and true strengths reaches the target.

    All models are present from the first vote; tau is checked after every batch. The run goes
    on past the target, if need be, to the fixed budget, where tau is recorded as well.
    """
    board = _board(setting, np.ones(setting.n_models, dtype=bool))
    ledger = Ledger(setting.n_models)
    budget = setting.budget_votes_per_model * setting.n_models
    reached: int | None = None
    at_budget: float | None = None
    while ledger.left.size < max(setting.max_votes, budget):
        picks = strategy.choose(board, size=setting.batch, rng=rng)
        outcome = cast_votes(picks, truth=truth, tie_rate=setting.tie_rate, rng=rng)
        ledger.add(picks[:, 1], picks[:, 2], outcome)
        fit = ledger.fit()
        _refresh(board, ledger, fit, picks)
        tau = np.nan
        if fit is not None and fit.rated.all() and fit.connected:
            tau = float(kendalltau(fit.theta, truth).statistic)
        if reached is None and tau >= setting.tau_target:
            reached = int(ledger.left.size)
        if at_budget is None and ledger.left.size >= budget:
            at_budget = tau
        if (reached is not None or ledger.left.size >= setting.max_votes) and (
            ledger.left.size >= budget
        ):
            break
    return Ranking(
        votes_to_target=reached, tau_at_budget=np.nan if at_budget is None else at_budget
    )


def warm_up(
    setting: Setting, *, truth: NDArray[np.float64], late: int, rng: np.random.Generator
) -> Ledger:
    """Uniform votes among every model but ``late``, the same for every strategy."""
    others = np.delete(np.arange(setting.n_models), late)
    n_votes = setting.warmup_votes_per_model * setting.n_models
    pairs = np.array([rng.choice(others, size=2, replace=False) for _ in range(n_votes)])
    picks = np.column_stack([np.zeros(n_votes, dtype=np.int64), pairs])
    ledger = Ledger(setting.n_models)
    ledger.add(
        pairs[:, 0], pairs[:, 1], cast_votes(picks, truth=truth, tie_rate=setting.tie_rate, rng=rng)
    )
    return ledger


def votes_to_integrate(
    strategy: Strategy,
    setting: Setting,
    *,
    truth: NDArray[np.float64],
    late: int,
    warm: Ledger,
    rng: np.random.Generator,
) -> int | None:
    """Votes after the late model joins until its interval is within ``width_ratio`` of the rest.

    ``None`` when ``max_late_votes`` pass first.
    """
    board = _board(setting, np.ones(setting.n_models, dtype=bool))
    ledger = warm.copy()
    fit = ledger.fit()
    _refresh(board, ledger, fit, np.empty((0, 3), dtype=np.int64))
    others = np.delete(np.arange(setting.n_models), late)
    queue = np.empty((0, 3), dtype=np.int64)
    since = 0
    while since < setting.max_late_votes:
        if queue.shape[0] == 0:
            # The queue is refilled from the latest fit, as the matchmaking task does.
            _show(board, fit)
            board.model_votes = ledger.model_votes
            queue = strategy.choose(board, size=setting.batch, rng=rng)
            board.prompt_use = board.prompt_use + np.bincount(
                queue[:, 0], minlength=setting.n_prompts
            )
        step = setting.fine_step if since < setting.fine_until else queue.shape[0]
        picks, queue = queue[:step], queue[step:]
        outcome = cast_votes(picks, truth=truth, tie_rate=setting.tie_rate, rng=rng)
        ledger.add(picks[:, 1], picks[:, 2], outcome)
        since += int(picks.shape[0])
        fit = ledger.fit()
        if fit is not None:
            ratio = float(fit.width[late] / fit.width[others].mean())
            if ratio <= setting.width_ratio:
                return since
    return None


def quick(setting: Setting) -> Setting:
    """A lighter variant for ``--quick``: lower caps."""
    return replace(
        setting, max_votes=setting.max_votes // 2, max_late_votes=setting.max_late_votes // 2
    )
