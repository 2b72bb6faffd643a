"""Generated votes with known strengths, shared by every library in one run."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from evaluation.rating import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    TIE,
    PairCounts,
    compute_standings,
    fit_bradley_terry,
)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
REAL_SETS = {
    "GenAI-Arena": "genai_arena_clean_battle_20240220.json",
    "LLMFAO": "evalica_llmfao.csv",
}

TIE_NU = 0.6
"""Davidson tie parameter of the generator: about 23% ties between equal models."""

BOTH_BAD_SHARE = 0.3
"""Share of ties reported as "both bad" (every library counts them as ties)."""


@dataclass(frozen=True)
class Board:
    """One generated board: the votes, the true strengths, and the pseudo-true ones."""

    n_models: int
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    outcome: NDArray[np.int8]
    theta: NDArray[np.float64]
    theta_half: NDArray[np.float64]
    label: str = ""
    component: NDArray[np.int64] | None = None

    def save(self, path: Path) -> None:
        np.savez(
            path,
            left=self.left,
            right=self.right,
            outcome=self.outcome,
            theta=self.theta,
            theta_half=self.theta_half,
            n_models=self.n_models,
        )


def generate(n_models: int, n_votes: int, *, seed: int) -> Board:
    """Uniformly random pairs, outcomes from Davidson's model with strengths ~ N(0, 1).

    ``theta_half`` is what ties-as-half estimates on this design (its fit to the expected
    counts of the realised pairs): the truth that interval coverage is checked against.
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_models)
    left = rng.integers(0, n_models, n_votes)
    right = (left + rng.integers(1, n_models, n_votes)) % n_models
    d = theta[left] - theta[right]
    denominator = np.exp(d / 2) + np.exp(-d / 2) + TIE_NU
    p_left, p_right = np.exp(d / 2) / denominator, np.exp(-d / 2) / denominator
    u = rng.random(n_votes)
    outcome = np.where(u < p_left, LEFT, np.where(u < p_left + p_right, RIGHT, TIE))
    outcome = np.where((outcome == TIE) & (rng.random(n_votes) < BOTH_BAD_SHARE), 3, outcome)
    del d, denominator, p_left, p_right, u

    pairs = PairCounts.from_votes(left, right, np.full(n_votes, TIE), n_models=n_models)
    d = theta[pairs.i] - theta[pairs.j]
    denominator = np.exp(d / 2) + np.exp(-d / 2) + TIE_NU
    expected = PairCounts(
        n_models=n_models,
        i=pairs.i,
        j=pairs.j,
        wins_i=pairs.ties * np.exp(d / 2) / denominator,
        wins_j=pairs.ties * np.exp(-d / 2) / denominator,
        ties=pairs.ties * TIE_NU / denominator,
    )
    theta_half = fit_bradley_terry(expected, ridge=0.0, covariance=None).theta
    return Board(
        n_models=n_models,
        left=left.astype(np.int64),
        right=right.astype(np.int64),
        outcome=outcome.astype(np.int8),
        theta=theta,
        theta_half=theta_half,
    )


def real_board(label: str) -> Board | None:
    """A real vote set from ``../shared/data`` as a board; None when the folder is absent.

    The strengths are unknown, so ``theta`` is Versus's own fit (ties as half, no prior):
    accuracy columns then say how far each peer agrees with it, within each connected part
    (GenAI-Arena's generation and editing arenas are never compared with each other).
    Battles of a model against itself are left out: they say nothing about strengths.
    """
    path = SHARED_DATA / REAL_SETS[label]
    if not path.is_file():
        return None
    if path.suffix == ".json":
        codes = {"model_a": LEFT, "model_b": RIGHT, "tie": TIE, "tie (bothbad)": BOTH_BAD}
        rows = [
            (b["model_a"], b["model_b"], codes[b["winner"]])
            for b in json.loads(path.read_text())
            if b["model_a"] != b["model_b"]
        ]
    else:
        codes = {"left": LEFT, "right": RIGHT, "tie": TIE}
        with path.open(newline="") as handle:
            rows = [(r["left"], r["right"], codes[r["winner"]]) for r in csv.DictReader(handle)]
    names = sorted({a for a, _, _ in rows} | {b for _, b, _ in rows})
    index = {name: k for k, name in enumerate(names)}
    left = np.array([index[a] for a, _, _ in rows], dtype=np.int64)
    right = np.array([index[b] for _, b, _ in rows], dtype=np.int64)
    outcome = np.array([c for _, _, c in rows], dtype=np.int8)
    fit = compute_standings(
        PairCounts.from_votes(left, right, outcome, n_models=len(names)), ridge=0.0
    )
    return Board(
        n_models=len(names),
        left=left,
        right=right,
        outcome=outcome,
        theta=fit.theta,
        theta_half=fit.theta,
        label=label,
        component=fit.component,
    )
