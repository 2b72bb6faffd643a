"""Simulation: the published 95% intervals cover the true strengths about 95% of the time.

Votes come from Davidson's model with known strengths and tie parameter, on a fixed design
(every pair of 8 models, 60 to 140 votes each), replicated with a fixed seed.

What "truth" means differs between the tie models. Davidson's fit estimates the generating
strengths themselves. Ties-as-half is not the generating model: it estimates the strengths
whose Bradley-Terry win probabilities match the expected *score* (wins plus half the ties) of
every model on this design, which are shrunk towards 0 compared with Davidson's. Checking it
against the Davidson strengths would fail for a reason that has nothing to do with the
intervals, so its truth is the ties-as-half fit to the expected counts (the pseudo-true value
the estimator converges to). The model-based (Fisher) interval of ties-as-half treats a tie as
two independent half votes and so over-covers; the sandwich corrects that.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from numpy.typing import NDArray

from evaluation.rating import PairCounts, compute_standings, fit_bradley_terry, theta_to_score
from tests.rating.simulate import davidson_probabilities

N_MODELS = 8
NU = 0.8
REPLICATIONS = 2000


def coverage(tie_model: str, interval: str) -> float:
    rng = np.random.default_rng(2024)
    theta = np.linspace(-1.2, 1.2, N_MODELS)
    rng.shuffle(theta)
    i, j = np.array(list(combinations(range(N_MODELS), 2))).T
    votes = rng.integers(60, 140, size=i.size)
    probabilities = davidson_probabilities(theta[i] - theta[j], NU)
    truth: NDArray[np.float64]
    if tie_model == "davidson":
        truth = theta - theta.mean()
    else:
        expected = votes[:, None] * probabilities
        truth = fit_bradley_terry(
            PairCounts(
                n_models=N_MODELS,
                i=i,
                j=j,
                wins_i=expected[:, 0],
                wins_j=expected[:, 1],
                ties=expected[:, 2],
            )
        ).theta
    true_score = theta_to_score(truth)
    covered = 0
    for _ in range(REPLICATIONS):
        drawn = rng.multinomial(votes, probabilities)
        counts = PairCounts(
            n_models=N_MODELS, i=i, j=j, wins_i=drawn[:, 0], wins_j=drawn[:, 1], ties=drawn[:, 2]
        )
        st = compute_standings(counts, tie_model=tie_model, interval=interval)  # type: ignore[arg-type]
        covered += int(np.sum((st.ci_low <= true_score) & (true_score <= st.ci_high)))
    return covered / (REPLICATIONS * N_MODELS)


@pytest.mark.parametrize("tie_model", ["half", "davidson"])
def test_sandwich_intervals_cover_the_truth_95_percent_of_the_time(tie_model: str) -> None:
    assert 0.93 <= coverage(tie_model, "sandwich") <= 0.97


def test_model_based_intervals_with_ties_as_half_over_cover() -> None:
    assert coverage("half", "fisher") > 0.97
