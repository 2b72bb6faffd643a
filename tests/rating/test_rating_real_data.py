"""Fits of the real vote sets in ../shared/data (skipped when the folder is absent)."""

from __future__ import annotations

import csv
import json

import choix
import numpy as np
import pytest
from numpy.typing import NDArray

from evaluation.rating import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    TIE,
    PairCounts,
    bootstrap_standings,
    collapse_majority_votes,
    compute_standings,
)
from tests.rating.shared_data import GENAI_ARENA, LLMFAO, require


def _indexed(
    left: list[str], right: list[str]
) -> tuple[list[str], NDArray[np.int64], NDArray[np.int64]]:
    names = sorted(set(left) | set(right))
    index = {name: k for k, name in enumerate(names)}
    return (
        names,
        np.array([index[name] for name in left], dtype=np.int64),
        np.array([index[name] for name in right], dtype=np.int64),
    )


def test_genai_arena_reports_its_two_disconnected_arenas() -> None:
    battles = json.loads(require(GENAI_ARENA).read_text())
    # One battle pits a model against itself (a "both bad" vote); such a vote says nothing
    # and from_votes refuses it, so it is left out here as the platform never stores one.
    battles = [b for b in battles if b["model_a"] != b["model_b"]]
    codes = {"model_a": LEFT, "model_b": RIGHT, "tie": TIE, "tie (bothbad)": BOTH_BAD}
    names, left, right = _indexed([b["model_a"] for b in battles], [b["model_b"] for b in battles])
    outcome = np.array([codes[b["winner"]] for b in battles])
    counts = PairCounts.from_votes(left, right, outcome, n_models=len(names))
    assert counts.total == len(battles) == 2060

    for tie_model in ("half", "davidson"):
        st = compute_standings(counts, tie_model=tie_model)
        assert st.converged
        assert not st.connected
        assert st.n_components == 2
        assert st.rated.all()
        # Generation and editing models are never compared: the parts are exactly the arenas.
        for part in (0, 1):
            kinds = {names[k].rsplit("_", 1)[1] for k in np.flatnonzero(st.component == part)}
            assert len(kinds) == 1
            assert st.score[st.component == part].mean() == pytest.approx(1000.0, abs=1e-6)
        assert np.isfinite(st.ci_low).all()
        assert np.isfinite(st.ci_high).all()
        assert st.both_bad.sum() == 2 * 427
    davidson = compute_standings(counts, tie_model="davidson")
    assert davidson.tie_parameter is not None
    assert davidson.tie_parameter > 0.5


def _llmfao() -> tuple[
    list[str], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]
]:
    with require(LLMFAO).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    codes = {"left": LEFT, "right": RIGHT, "tie": TIE}
    names, left, right = _indexed([r["left"] for r in rows], [r["right"] for r in rows])
    outcome = np.array([codes[r["winner"]] for r in rows], dtype=np.int64)
    prompt = np.array([int(r["prompt"]) for r in rows], dtype=np.int64)
    return names, left, right, outcome, prompt


def test_llmfao_fits_connected_and_matches_choix() -> None:
    names, left, right, outcome, _ = _llmfao()
    n = len(names)
    counts = PairCounts.from_votes(left, right, outcome, n_models=n)
    st = compute_standings(counts, ridge=0.0)
    assert st.converged
    assert st.connected
    assert st.rated.all()
    wins = np.zeros((n, n))
    np.add.at(wins, (left[outcome == LEFT], right[outcome == LEFT]), 1.0)
    np.add.at(wins, (right[outcome == RIGHT], left[outcome == RIGHT]), 1.0)
    tied = outcome == TIE
    np.add.at(wins, (left[tied], right[tied]), 0.5)
    np.add.at(wins, (right[tied], left[tied]), 0.5)
    reference = choix.ilsr_pairwise_dense(wins, tol=1e-13, max_iter=100_000)
    assert np.allclose(st.theta, reference - reference.mean(), atol=1e-6)

    davidson = compute_standings(counts, tie_model="davidson")
    assert davidson.converged
    assert davidson.tie_parameter is not None
    # Frequent ties: Davidson's strengths spread wider than ties-as-half's.
    assert davidson.theta.std() > st.theta.std()
    boot = bootstrap_standings(counts, rounds=50, rng=np.random.default_rng(0), base=st)
    assert boot.converged_rounds == 50
    assert np.all(boot.rank_low <= boot.rank_high)


def test_llmfao_majority_collapse_counts_each_pair_and_prompt_once() -> None:
    names, left, right, outcome, prompt = _llmfao()
    collapsed = collapse_majority_votes(prompt, left, right, outcome, n_models=len(names))
    pairs = np.unique(
        np.stack([prompt, np.minimum(left, right), np.maximum(left, right)], 1), axis=0
    )
    assert collapsed.total == len(pairs) < len(left)
    st = compute_standings(collapsed)
    assert st.converged
    assert np.isfinite(st.score).all()
