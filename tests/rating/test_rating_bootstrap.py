"""Bootstrap over the pair counts: reproducible, consistent with the sandwich, rank intervals."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.rating import (
    PairCounts,
    bootstrap_standings,
    compute_standings,
)
from tests.rating.simulate import simulate_votes


@pytest.fixture
def counts() -> PairCounts:
    rng = np.random.default_rng(8)
    votes = simulate_votes(rng, np.array([1.5, 0.8, 0.7, 0.0, -0.4, -1.5]), 4000, nu=0.5)
    return PairCounts.from_votes(votes.left, votes.right, votes.outcome, n_models=6)


def test_the_same_seed_gives_the_same_rounds(counts: PairCounts) -> None:
    base = compute_standings(counts)
    a = bootstrap_standings(counts, rounds=30, rng=np.random.default_rng(1), base=base)
    b = bootstrap_standings(counts, rounds=30, rng=np.random.default_rng(1), base=base)
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.rank_low, b.rank_low)
    assert np.array_equal(a.rank_high, b.rank_high)


@pytest.mark.parametrize("tie_model", ["half", "davidson"])
def test_bootstrap_spread_agrees_with_the_sandwich(counts: PairCounts, tie_model: str) -> None:
    base = compute_standings(counts, tie_model=tie_model)  # type: ignore[arg-type]
    boot = bootstrap_standings(counts, rounds=400, rng=np.random.default_rng(2), base=base)
    assert boot.converged_rounds == 400
    ratio = boot.theta.std(axis=0) / np.sqrt(np.diag(base.cov))
    assert np.all((ratio > 0.8) & (ratio < 1.2))
    assert np.allclose(boot.score_median, base.score, atol=15.0)


def test_rank_intervals_bracket_the_fitted_order(counts: PairCounts) -> None:
    base = compute_standings(counts)
    boot = bootstrap_standings(counts, rounds=200, rng=np.random.default_rng(3), base=base)
    ordinal = np.argsort(np.argsort(-base.theta)) + 1
    assert np.all(boot.rank_low <= ordinal)
    assert np.all(ordinal <= boot.rank_high)
    assert boot.rank_low[0] == 1
    assert boot.rank_high[5] == 6
    # Models 1 and 2 are close: each reaches the other's rank in some rounds.
    assert boot.rank_low[2] <= 2
    assert boot.rank_high[1] >= 3


def test_warm_start_from_base_gives_the_rounds_of_a_cold_start(counts: PairCounts) -> None:
    base = compute_standings(counts, tie_model="davidson")
    warm = bootstrap_standings(counts, rounds=20, rng=np.random.default_rng(4), base=base)
    cold = bootstrap_standings(
        counts, rounds=20, rng=np.random.default_rng(4), tie_model="davidson"
    )
    assert np.allclose(warm.theta, cold.theta, atol=1e-6)
    assert warm.tie_parameter_low is not None
    assert warm.tie_parameter_high is not None
    assert warm.tie_parameter_low < (base.tie_parameter or 0.0) < warm.tie_parameter_high


def test_options_that_contradict_the_base_are_rejected(counts: PairCounts) -> None:
    base = compute_standings(counts)
    with pytest.raises(ValueError, match="tie_model='davidson' differs from the base"):
        bootstrap_standings(counts, rng=np.random.default_rng(0), base=base, tie_model="davidson")


def test_unrated_and_disconnected_models_keep_their_placeholders() -> None:
    counts = PairCounts(
        n_models=6,
        i=[0, 1, 3],
        j=[1, 2, 4],
        wins_i=[6.0, 5.0, 2.0],
        wins_j=[4.0, 5.0, 7.0],
        ties=[1.0, 2.0, 1.0],
    )
    base = compute_standings(counts)
    boot = bootstrap_standings(counts, rounds=50, rng=np.random.default_rng(5), base=base)
    assert (boot.rank_low[5], boot.rank_high[5]) == (6, 6)
    assert (boot.score_low[5], boot.score_high[5]) == (-np.inf, np.inf)
    assert np.all(boot.rank_high[:3] <= 3)
    assert np.all(boot.rank_high[3:5] <= 2)
    assert np.allclose(boot.theta[:, :3].sum(axis=1), 0.0, atol=1e-9)
    assert np.isfinite(boot.score_low[:5]).all()


def test_anchored_rounds_keep_the_anchor_at_1000(counts: PairCounts) -> None:
    base = compute_standings(counts, anchor=3)
    boot = bootstrap_standings(counts, rounds=20, rng=np.random.default_rng(6), base=base)
    assert np.all(boot.theta[:, 3] == 0.0)
    assert boot.score_low[3] == boot.score_high[3] == 1000.0
    free = bootstrap_standings(counts, rounds=20, rng=np.random.default_rng(6))
    assert np.allclose(boot.theta, free.theta - free.theta[:, [3]], atol=1e-6)
    assert np.array_equal(boot.rank_low, free.rank_low)


def test_rounds_use_the_published_gauge_when_a_model_won_every_vote(counts: PairCounts) -> None:
    # Model 6 beat everyone it met: the published scores centre on models 0-5, and so must
    # the rounds, or every score interval would sit a sixth of its prior-held lead too low.
    winner = PairCounts(
        n_models=7,
        i=np.r_[counts.i, [0, 3, 5]],
        j=np.r_[counts.j, [6, 6, 6]],
        wins_i=np.r_[counts.wins_i, [0.0, 0.0, 0.0]],
        wins_j=np.r_[counts.wins_j, [4.0, 5.0, 6.0]],
        ties=np.r_[counts.ties, [0.0, 0.0, 0.0]],
        both_bad=np.r_[counts.both_bad, [0.0, 0.0, 0.0]],
    )
    base = compute_standings(winner)
    assert base.separated.tolist() == [False] * 6 + [True]
    boot = bootstrap_standings(winner, rounds=200, rng=np.random.default_rng(3), base=base)
    assert np.allclose(boot.score_median[:6], base.score[:6], atol=15.0)
    assert np.all(boot.rank_low[6] == 1)
