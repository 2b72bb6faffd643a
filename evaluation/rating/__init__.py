"""The rating core: Bradley-Terry with ties, intervals and online Elo, on numpy and scipy only.

Pure functions over integer model indices and numpy arrays; nothing here imports Django. The
caller maps database ids to indices ``0 .. n_models - 1`` and back.

Typical use::

    counts = PairCounts.from_votes(left, right, outcome, weight, n_models=n)
    standings = compute_standings(counts, tie_model="half", min_votes=30)
    boot = bootstrap_standings(counts, rounds=100, rng=np.random.default_rng(seed),
                               base=standings)  # in the background: rank intervals

Modules: :mod:`~evaluation.rating.counts` (votes to pair counts, majority collapse),
:mod:`~evaluation.rating.bradley_terry` (the fit and its covariance),
:mod:`~evaluation.rating.standings` (published numbers), :mod:`~evaluation.rating.bootstrap`,
:mod:`~evaluation.rating.elo`.
"""

from evaluation.rating.bootstrap import BootstrapStandings, bootstrap_standings
from evaluation.rating.bradley_terry import (
    DEFAULT_RIDGE,
    BothBadPolicy,
    BradleyTerryFit,
    CovarianceKind,
    TieModel,
    fit_bradley_terry,
    rated_models,
)
from evaluation.rating.counts import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    TIE,
    ModelTallies,
    PairCounts,
    collapse_majority,
    collapse_majority_votes,
    comparison_components,
)
from evaluation.rating.elo import online_elo
from evaluation.rating.standings import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_VOTES,
    SCORE_CENTRE,
    SCORE_PER_THETA,
    Standings,
    compute_standings,
    overlap_rank,
    theta_to_score,
)

__all__ = [
    "BOTH_BAD",
    "DEFAULT_LEVEL",
    "DEFAULT_MIN_VOTES",
    "DEFAULT_RIDGE",
    "LEFT",
    "RIGHT",
    "SCORE_CENTRE",
    "SCORE_PER_THETA",
    "TIE",
    "BootstrapStandings",
    "BothBadPolicy",
    "BradleyTerryFit",
    "CovarianceKind",
    "ModelTallies",
    "PairCounts",
    "Standings",
    "TieModel",
    "bootstrap_standings",
    "collapse_majority",
    "collapse_majority_votes",
    "comparison_components",
    "compute_standings",
    "fit_bradley_terry",
    "online_elo",
    "overlap_rank",
    "rated_models",
    "theta_to_score",
]
