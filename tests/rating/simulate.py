"""Votes drawn from a known Davidson model, for the rating tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from evaluation.rating import BOTH_BAD, LEFT, RIGHT, TIE


def davidson_probabilities(d: NDArray[np.float64], nu: float) -> NDArray[np.float64]:
    """Rows ``(P(first wins), P(second wins), P(tie))`` for strength differences ``d``."""
    denominator = np.exp(d / 2) + np.exp(-d / 2) + nu
    return (
        np.stack([np.exp(d / 2), np.exp(-d / 2), np.full_like(d, nu)], axis=1)
        / denominator[:, None]
    )


@dataclass(frozen=True)
class Votes:
    """Individual votes: left and right model, outcome code."""

    left: NDArray[np.int64]
    right: NDArray[np.int64]
    outcome: NDArray[np.int64]


def simulate_votes(
    rng: np.random.Generator,
    theta: NDArray[np.float64],
    n_votes: int,
    *,
    nu: float = 0.6,
    both_bad_share: float = 0.0,
) -> Votes:
    """Uniformly random pairs, outcomes from Davidson's model; a share of ties is "both bad"."""
    n = theta.size
    left = rng.integers(0, n, n_votes)
    right = (left + rng.integers(1, n, n_votes)) % n
    probabilities = davidson_probabilities(theta[left] - theta[right], nu)
    u = rng.random(n_votes)
    outcome = np.where(
        u < probabilities[:, 0],
        LEFT,
        np.where(u < probabilities[:, 0] + probabilities[:, 1], RIGHT, TIE),
    )
    bad = (outcome == TIE) & (rng.random(n_votes) < both_bad_share)
    outcome = np.where(bad, BOTH_BAD, outcome)
    return Votes(left=left, right=right, outcome=outcome.astype(np.int64))
