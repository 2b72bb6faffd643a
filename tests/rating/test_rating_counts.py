"""Votes to pair counts: reduction, normalisation, weights, inversion, majority collapse."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.rating import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    TIE,
    PairCounts,
    collapse_majority,
    collapse_majority_votes,
    comparison_components,
)


def test_outcome_codes_are_the_documented_integers() -> None:
    assert (LEFT, RIGHT, TIE, BOTH_BAD) == (0, 1, 2, 3)


def test_from_votes_counts_each_outcome_on_the_unordered_pair() -> None:
    counts = PairCounts.from_votes(
        left=[0, 1, 0, 1, 2, 0],
        right=[1, 0, 1, 0, 0, 2],
        outcome=[LEFT, LEFT, TIE, BOTH_BAD, RIGHT, LEFT],
        n_models=3,
    )
    assert counts.i.tolist() == [0, 0]
    assert counts.j.tolist() == [1, 2]
    # (0, 1): 0 won once as left, 1 won once as left; one tie; one both-bad.
    # (0, 2): 2 lost as left (0 won), 0 won as left.
    assert counts.wins_i.tolist() == [1.0, 2.0]
    assert counts.wins_j.tolist() == [1.0, 0.0]
    assert counts.ties.tolist() == [1.0, 0.0]
    assert counts.both_bad.tolist() == [1.0, 0.0]
    assert counts.total == 6.0


def test_constructor_normalises_any_order_and_duplicate_rows() -> None:
    counts = PairCounts(
        n_models=4,
        i=np.array([3, 1, 0, 1]),
        j=np.array([1, 3, 2, 3]),
        wins_i=np.array([2.0, 1.0, 0.0, 4.0]),
        wins_j=np.array([5.0, 0.0, 0.0, 1.0]),
        ties=np.array([1.0, 1.0, 0.0, 0.0]),
    )
    # (0, 2) had no vote and is gone; (1, 3) sums three rows, one of them given as (3, 1).
    assert counts.i.tolist() == [1]
    assert counts.j.tolist() == [3]
    assert counts.wins_i.tolist() == [5.0 + 1.0 + 4.0]
    assert counts.wins_j.tolist() == [2.0 + 0.0 + 1.0]
    assert counts.ties.tolist() == [2.0]
    assert counts.both_bad.tolist() == [0.0]


def test_votes_in_any_order_give_bitwise_identical_counts() -> None:
    rng = np.random.default_rng(7)
    left = rng.integers(0, 5, 500)
    right = (left + rng.integers(1, 5, 500)) % 5
    outcome = rng.integers(0, 4, 500)
    first = PairCounts.from_votes(left, right, outcome, n_models=5)
    order = rng.permutation(500)
    # Swapping sides and mirroring the outcome is the same vote.
    mirrored = np.select([outcome == LEFT, outcome == RIGHT], [RIGHT, LEFT], outcome)
    second = PairCounts.from_votes(right[order], left[order], mirrored[order], n_models=5)
    for name in ("i", "j", "wins_i", "wins_j", "ties", "both_bad"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name


def test_zero_weight_votes_count_as_absent() -> None:
    left, right, outcome = [0, 0, 1, 2], [1, 2, 2, 3], [LEFT, RIGHT, TIE, LEFT]
    weighted = PairCounts.from_votes(left, right, outcome, [1.0, 0.0, 2.0, 0.0], n_models=4)
    assert weighted.i.tolist() == [0, 1]
    assert weighted.j.tolist() == [1, 2]
    assert weighted.ties.tolist() == [0.0, 2.0]
    assert weighted.tallies().votes.tolist() == [1.0, 3.0, 2.0, 0.0]


def test_large_boards_use_the_sorting_path_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    left = rng.integers(0, 30, 2000)
    right = (left + rng.integers(1, 30, 2000)) % 30
    outcome = rng.integers(0, 4, 2000)
    weight = rng.random(2000)
    dense = PairCounts.from_votes(left, right, outcome, weight, n_models=30)
    monkeypatch.setattr("evaluation.rating.counts._DENSE_SLOTS", 0)
    sparse = PairCounts.from_votes(left, right, outcome, weight, n_models=30)
    for name in ("i", "j", "wins_i", "wins_j", "ties", "both_bad"):
        assert np.allclose(getattr(dense, name), getattr(sparse, name), rtol=1e-12), name


@pytest.mark.parametrize(
    ("left", "right", "outcome", "weight", "message"),
    [
        ([0, 1], [1], [LEFT, LEFT], None, "right must have length 2"),
        ([0, 5], [1, 0], [LEFT, LEFT], None, r"left must hold model indices in \[0, 3\)"),
        ([0, 1], [1, 0], [LEFT, 4], None, "outcome must hold"),
        ([0, 1], [1, 1], [LEFT, LEFT], None, "vote 1 compares model 1 with itself"),
        ([0, 1], [1, 0], [LEFT, LEFT], [1.0, -1.0], "weight must be finite and >= 0"),
        ([0, 1], [1, 0], [LEFT, LEFT], [1.0, np.nan], "weight must be finite and >= 0"),
    ],
)
def test_from_votes_rejects_bad_input_naming_the_argument(
    left: list[int],
    right: list[int],
    outcome: list[int],
    weight: list[float] | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        PairCounts.from_votes(left, right, outcome, weight, n_models=3)


def test_inverted_swaps_wins_and_losses_only() -> None:
    counts = PairCounts(
        n_models=2, i=[0], j=[1], wins_i=[3.0], wins_j=[1.0], ties=[2.0], both_bad=[1.0]
    )
    inverted = counts.inverted()
    assert (inverted.wins_i.tolist(), inverted.wins_j.tolist()) == ([1.0], [3.0])
    assert (inverted.ties.tolist(), inverted.both_bad.tolist()) == ([2.0], [1.0])


def test_tallies_report_each_model_from_its_own_side() -> None:
    counts = PairCounts(
        n_models=3,
        i=[0, 1],
        j=[1, 2],
        wins_i=[3.0, 1.0],
        wins_j=[1.0, 0.0],
        ties=[2.0, 0.0],
        both_bad=[1.0, 4.0],
    )
    tallies = counts.tallies()
    assert tallies.wins.tolist() == [3.0, 2.0, 0.0]
    assert tallies.losses.tolist() == [1.0, 3.0, 1.0]
    assert tallies.ties.tolist() == [2.0, 2.0, 0.0]
    assert tallies.both_bad.tolist() == [1.0, 5.0, 4.0]
    assert tallies.votes.tolist() == [7.0, 12.0, 5.0]


def test_majority_collapses_each_pair_and_prompt_to_one_vote() -> None:
    # prompt 0: 0 beats 1 twice, 1 beats 0 once -> one win for 0.
    # prompt 1: one win each way -> split majority -> one tie.
    # prompt 2: two ties, one win for 1 -> one tie.
    # prompt 3 on pair (1, 2): both bad twice -> one both-bad.
    counts = collapse_majority_votes(
        prompt=[0, 0, 0, 1, 1, 2, 2, 2, 3, 3],
        left=[0, 1, 0, 0, 1, 0, 1, 0, 1, 2],
        right=[1, 0, 1, 1, 0, 1, 0, 1, 2, 1],
        outcome=[LEFT, RIGHT, RIGHT, LEFT, LEFT, TIE, LEFT, TIE, BOTH_BAD, BOTH_BAD],
        n_models=3,
    )
    assert counts.i.tolist() == [0, 1]
    assert counts.j.tolist() == [1, 2]
    assert counts.wins_i.tolist() == [1.0, 0.0]
    assert counts.wins_j.tolist() == [0.0, 0.0]
    assert counts.ties.tolist() == [2.0, 0.0]
    assert counts.both_bad.tolist() == [0.0, 1.0]


def test_majority_without_both_bad_keeps_the_win_that_two_both_bad_votes_would_outvote() -> None:
    # prompt 0: both bad twice, 0 beats 1 once -> one win for 0 (a both-bad vote, if they
    # counted, and then nothing in a fit that drops them).
    # prompt 1: both bad only -> one both-bad, still reported.
    # prompt 2: both bad twice, one win each way -> split -> one tie.
    votes = dict(
        prompt=[0, 0, 0, 1, 1, 2, 2, 2, 2],
        left=[0, 1, 0, 0, 1, 0, 1, 0, 1],
        right=[1, 0, 1, 1, 0, 1, 0, 1, 0],
        outcome=[BOTH_BAD, BOTH_BAD, LEFT, BOTH_BAD, BOTH_BAD, BOTH_BAD, BOTH_BAD, LEFT, LEFT],
        n_models=2,
    )
    dropped = collapse_majority_votes(**votes, drop_both_bad=True)  # type: ignore[arg-type]
    assert (dropped.wins_i.tolist(), dropped.wins_j.tolist()) == ([1.0], [0.0])
    assert (dropped.ties.tolist(), dropped.both_bad.tolist()) == ([1.0], [1.0])
    kept = collapse_majority_votes(**votes)  # type: ignore[arg-type]
    assert (kept.wins_i.tolist(), kept.ties.tolist(), kept.both_bad.tolist()) == (
        [0.0],
        [0.0],
        [3.0],
    )


def test_majority_from_counts_per_pair_and_prompt_matches_majority_from_votes() -> None:
    rng = np.random.default_rng(11)
    prompt = rng.integers(0, 6, 400)
    left = rng.integers(0, 4, 400)
    right = (left + rng.integers(1, 4, 400)) % 4
    outcome = rng.integers(0, 4, 400)
    from_votes = collapse_majority_votes(prompt, left, right, outcome, n_models=4)
    # The same votes as database rows: one row per (prompt, left, right, outcome), any order.
    rows = np.unique(np.stack([prompt, left, right, outcome], axis=1), axis=0, return_counts=True)
    keys, n = rows
    order = rng.permutation(len(n))
    keys, n = keys[order], n[order]
    from_rows = collapse_majority(
        n_models=4,
        i=keys[:, 1],
        j=keys[:, 2],
        wins_i=n * (keys[:, 3] == LEFT),
        wins_j=n * (keys[:, 3] == RIGHT),
        ties=n * (keys[:, 3] == TIE),
        both_bad=n * (keys[:, 3] == BOTH_BAD),
        prompt=keys[:, 0],
    )
    for name in ("i", "j", "wins_i", "wins_j", "ties", "both_bad"):
        assert np.array_equal(getattr(from_votes, name), getattr(from_rows, name)), name
    assert from_votes.total == len(
        np.unique(np.stack([prompt, np.minimum(left, right), np.maximum(left, right)], 1), axis=0)
    )


def test_components_number_parts_by_size_and_mark_models_without_votes() -> None:
    counts = PairCounts(
        n_models=6,
        i=[0, 4, 3],
        j=[5, 5, 1],
        wins_i=[1.0, 1.0, 1.0],
        wins_j=[0.0, 0.0, 0.0],
        ties=[0.0, 0.0, 0.0],
    )
    component, n_components = comparison_components(counts)
    assert n_components == 2
    assert component.tolist() == [0, 1, -1, 1, 0, 0]
