"""Pair selection as a pure function: arrays in, matchups out, no database."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from matchmaking.selection import select_pair, select_pairs

SETTLED = 1000  # votes: enough that no model counts as new


def everyone(n_prompts: int, n_models: int) -> NDArray[np.bool_]:
    return np.ones((n_prompts, n_models), dtype=bool)


def ratings(
    n_models: int, *, variance: float = 0.05, uncertain: dict[int, float] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Equal strengths, independent errors; `uncertain` overrides some models' variance."""
    diagonal = np.full(n_models, variance)
    for model, value in (uncertain or {}).items():
        diagonal[model] = value
    return np.zeros(n_models), np.diag(diagonal)


def pick(**overrides: Any) -> NDArray[np.int64]:
    n_models = overrides["has_output"].shape[-1]
    theta, cov = ratings(n_models)
    arguments: dict[str, Any] = {
        "theta": theta,
        "cov": cov,
        "model_votes": np.full(n_models, SETTLED),
        "batch_size": 20,
        "rng": np.random.default_rng(0),
    }
    arguments.update(overrides)
    return select_pairs(**arguments)


def pairs_of(picks: NDArray[np.int64]) -> list[tuple[int, int]]:
    return [(int(min(left, right)), int(max(left, right))) for _, left, right in picks]


def test_it_pairs_only_outputs_of_the_same_prompt() -> None:
    rng = np.random.default_rng(1)
    has_output = rng.random((30, 12)) < 0.3
    picks = pick(has_output=has_output, batch_size=200, rng=rng)
    assert picks.shape == (200, 3)
    assert has_output[picks[:, 0], picks[:, 1]].all()
    assert has_output[picks[:, 0], picks[:, 2]].all()


def test_it_never_pairs_a_model_with_itself() -> None:
    picks = pick(has_output=everyone(3, 6), batch_size=300, theta=None, cov=None)
    assert (picks[:, 1] != picks[:, 2]).all()


def test_it_never_pairs_models_without_a_shared_prompt() -> None:
    has_output = np.zeros((4, 6), dtype=bool)
    has_output[0:2, 0:3] = True  # models 0-2 answered prompts 0-1
    has_output[2:4, 3:6] = True  # models 3-5 answered prompts 2-3
    picks = pick(has_output=has_output, batch_size=200)
    groups = picks[:, 1:] // 3
    assert (groups[:, 0] == groups[:, 1]).all()


def test_it_is_uniform_over_pairs_when_there_are_no_ratings() -> None:
    # Model 0 answered only prompt 0: uniform over pairs, not over (prompt, pair) slots.
    has_output = everyone(4, 5)
    has_output[1:, 0] = False
    rng = np.random.default_rng(2)
    seen = Counter(
        pairs_of(pick(has_output=has_output, theta=None, cov=None, batch_size=1, rng=rng))[0]
        for _ in range(3000)
    )
    assert len(seen) == 10
    assert all(240 <= count <= 360 for count in seen.values()), seen  # 300 each, sd 16


def test_it_draws_the_uniform_share_of_picks() -> None:
    # Models 0 and 1 are so uncertain that every informed pick involves one of them.
    theta, cov = ratings(100, variance=1e-6, uncertain={0: 1e4, 1: 1e4})
    picks = pick(
        has_output=everyone(5, 100), theta=theta, cov=cov, batch_size=1000, max_model_share=1.0
    )
    elsewhere = ~np.isin(picks[:, 1:], [0, 1]).any(axis=1)
    # 100 uniform picks, of which about 4% touch model 0 or 1 by chance.
    assert 80 <= elsewhere.sum() <= 100


def test_it_draws_no_uniform_picks_when_the_share_is_zero() -> None:
    theta, cov = ratings(100, variance=1e-6, uncertain={0: 1e4, 1: 1e4})
    picks = pick(
        has_output=everyone(5, 100),
        theta=theta,
        cov=cov,
        batch_size=500,
        max_model_share=1.0,
        uniform_share=0.0,
    )
    assert np.isin(picks[:, 1:], [0, 1]).any(axis=1).all()


def test_it_caps_a_models_share_of_the_batch() -> None:
    theta, cov = ratings(20, uncertain={0: 10.0})
    picks = pick(has_output=everyone(3, 20), theta=theta, cov=cov, batch_size=40)
    assert (picks[:, 1:] == 0).any(axis=1).sum() == 10  # 25% of 40


def test_it_exempts_a_new_model_from_the_cap() -> None:
    theta, cov = ratings(20, uncertain={0: 10.0})
    votes = np.full(20, SETTLED)
    votes[0] = 3
    picks = pick(has_output=everyone(3, 20), theta=theta, cov=cov, model_votes=votes, batch_size=40)
    assert (picks[:, 1:] == 0).any(axis=1).sum() > 30


def test_it_boosts_pairs_with_a_new_model() -> None:
    votes = np.full(10, SETTLED)
    votes[7] = 0
    picks = pick(has_output=everyone(2, 10), model_votes=votes, batch_size=1, uniform_share=0.0)
    assert 7 in picks[0, 1:]


def test_it_lifts_the_cap_when_one_model_links_the_board() -> None:
    # Model 0 shares a prompt with each of the others; they share none among themselves.
    has_output = np.zeros((8, 9), dtype=bool)
    has_output[:, 0] = True
    has_output[np.arange(8), np.arange(1, 9)] = True
    picks = pick(has_output=has_output, batch_size=40)
    assert picks.shape == (40, 3)
    assert (picks[:, 1:] == 0).any(axis=1).all()


def test_it_chooses_the_least_used_prompt() -> None:
    picks = pick(has_output=everyone(4, 2), prompt_use=np.array([5, 2, 0, 3]), batch_size=1)
    assert picks[0, 0] == 2


def test_it_chooses_among_the_prompts_both_models_answered() -> None:
    has_output = everyone(3, 2)
    has_output[2, 1] = False  # the least-used prompt, but model 1 did not answer it
    picks = pick(has_output=has_output, prompt_use=np.array([4, 1, 0]), batch_size=1)
    assert picks[0, 0] == 1


def test_it_counts_the_batchs_own_picks_toward_prompt_use() -> None:
    picks = pick(has_output=everyone(5, 2), batch_size=10)
    assert Counter(picks[:, 0].tolist()) == dict.fromkeys(range(5), 2)


def test_it_spreads_a_pair_over_its_prompts_before_reusing_one() -> None:
    # Prompt 0 is far less used overall, but the pair already had it in this batch.
    picks = pick(has_output=everyone(3, 2), prompt_use=np.array([0, 50, 90]), batch_size=3)
    assert sorted(picks[:, 0].tolist()) == [0, 1, 2]


def test_it_shows_both_orders_of_left_and_right() -> None:
    picks = pick(has_output=everyone(1, 2), batch_size=200)
    left_first = (picks[:, 1] == 0).sum()
    assert 60 <= left_first <= 140


def test_it_is_deterministic_for_a_seeded_generator() -> None:
    rng = np.random.default_rng(3)
    has_output = rng.random((20, 15)) < 0.6
    theta = rng.normal(size=15)
    cov = np.diag(rng.uniform(0.01, 1.0, size=15))
    first, again, other = (
        pick(has_output=has_output, theta=theta, cov=cov, rng=np.random.default_rng(seed))
        for seed in (7, 7, 8)
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_it_prefers_an_uncertain_pair_over_a_settled_one() -> None:
    theta, cov = ratings(4, variance=0.01, uncertain={1: 1.0, 2: 1.0})
    picks = pick(has_output=everyone(1, 4), theta=theta, cov=cov, batch_size=1, uniform_share=0.0)
    assert pairs_of(picks) == [(1, 2)]


def test_it_prefers_a_close_pair_over_a_lopsided_one() -> None:
    theta = np.array([0.0, 4.0, 0.2, -4.0])
    picks = pick(
        has_output=everyone(1, 4), theta=theta, cov=0.1 * np.eye(4), batch_size=1, uniform_share=0
    )
    assert pairs_of(picks) == [(0, 2)]


def test_it_uses_the_covariance_not_only_the_variances() -> None:
    # Models 0 and 1 are each uncertain, but their difference is known (strong correlation).
    cov = np.array([[1.0, 0.99, 0.0], [0.99, 1.0, 0.0], [0.0, 0.0, 0.5]])
    picks = pick(
        has_output=everyone(1, 3), theta=np.zeros(3), cov=cov, batch_size=1, uniform_share=0
    )
    assert pairs_of(picks) != [(0, 1)]


def test_it_spreads_a_batch_instead_of_repeating_the_best_pair() -> None:
    # Every pair scores the same; only the update after each pick moves the next one elsewhere.
    picks = pick(
        has_output=everyone(2, 10),
        batch_size=45,
        uniform_share=0.0,
        max_model_share=1.0,
    )
    assert len(set(pairs_of(picks))) == 45  # every pair once: a round robin
    assert np.bincount(picks[:, 1:].ravel(), minlength=10).max() <= 10  # 9 on average


def test_it_scores_a_model_without_counted_votes_as_uncertain() -> None:
    theta, cov = ratings(6)
    cov[4, 4] = np.inf  # how the rater marks a model with no counted vote
    picks = pick(has_output=everyone(1, 6), theta=theta, cov=cov, batch_size=1, uniform_share=0)
    assert 4 in picks[0, 1:]


def test_it_scores_a_non_finite_rating_as_unrated() -> None:
    theta, cov = ratings(6)
    theta[2] = np.nan
    cov[2, :] = cov[:, 2] = np.nan
    picks = pick(has_output=everyone(1, 6), theta=theta, cov=cov, batch_size=1, uniform_share=0)
    assert 2 in picks[0, 1:]


def test_it_prefers_a_pair_that_joins_two_parts_of_the_board() -> None:
    # Models 0-2 and 3-5 were only ever compared within their group: two unrelated scales.
    theta, cov = ratings(6, variance=0.2)
    picks = pick(
        has_output=everyone(1, 6),
        theta=theta,
        cov=cov,
        component=np.array([0, 0, 0, 1, 1, 1]),
        batch_size=1,
        uniform_share=0,
    )
    assert (picks[0, 1] < 3) != (picks[0, 2] < 3)


@pytest.mark.parametrize(
    "has_output",
    [
        np.zeros((0, 5), dtype=bool),
        np.zeros((3, 0), dtype=bool),
        np.ones((3, 1), dtype=bool),
        np.eye(4, dtype=bool),  # every prompt answered by one model only
    ],
    ids=["no-prompts", "no-models", "one-model", "one-model-per-prompt"],
)
def test_it_returns_an_empty_batch_when_no_pair_is_possible(
    has_output: NDArray[np.bool_],
) -> None:
    n_models = has_output.shape[1]
    for theta, cov in [(None, None), ratings(n_models)]:
        picks = select_pairs(
            has_output=has_output,
            theta=theta,
            cov=cov,
            model_votes=np.zeros(n_models, dtype=int),
            batch_size=10,
            rng=np.random.default_rng(0),
        )
        assert picks.shape == (0, 3)
        assert picks.dtype == np.int64


def test_it_returns_an_empty_batch_for_a_batch_size_of_zero() -> None:
    assert pick(has_output=everyone(2, 4), batch_size=0).shape == (0, 3)


def test_it_skips_excluded_matchups() -> None:
    picks = pick(has_output=everyone(3, 2), exclude={(0, 0, 1), (1, 1, 0)}, batch_size=5)
    assert (picks[:, 0] == 2).all()


def test_it_drops_a_pair_whose_prompts_are_all_excluded() -> None:
    picks = pick(has_output=everyone(2, 3), exclude={(0, 0, 1), (1, 0, 1)}, batch_size=50)
    assert (0, 1) not in pairs_of(picks)


def test_it_picks_one_pair_now() -> None:
    rng = np.random.default_rng(4)
    has_output = rng.random((10, 300)) < 0.5
    theta = rng.normal(size=300)
    one = select_pair(
        has_output=has_output,
        theta=theta,
        cov=np.eye(300) * 0.1,
        model_votes=np.full(300, SETTLED),
        rng=rng,
    )
    assert one is not None
    prompt, left, right = one
    assert left != right
    assert has_output[prompt, [left, right]].all()


def test_it_picks_no_pair_now_when_the_voter_has_judged_them_all() -> None:
    one = select_pair(
        has_output=everyone(1, 2),
        theta=None,
        cov=None,
        model_votes=np.zeros(2, dtype=int),
        rng=np.random.default_rng(0),
        exclude=[(0, 1, 0)],
    )
    assert one is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cov": None}, "theta and cov"),
        ({"theta": np.zeros(3)}, "theta must have shape"),
        ({"cov": np.eye(3)}, "cov must have shape"),
        ({"model_votes": np.zeros(3)}, "model_votes must have shape"),
        ({"prompt_use": np.zeros(5)}, "prompt_use must have shape"),
        ({"component": np.zeros(2)}, "component must have shape"),
        ({"batch_size": -1}, "batch_size"),
        ({"uniform_share": 1.5}, "uniform_share"),
        ({"max_model_share": 0.0}, "max_model_share"),
        ({"has_output": np.ones(4, dtype=bool)}, "has_output must be 2-D"),
    ],
)
def test_it_names_the_argument_it_rejects(overrides: dict[str, Any], message: str) -> None:
    arguments = {"has_output": everyone(2, 4), **overrides}
    with pytest.raises(ValueError, match=message):
        pick(**arguments)
