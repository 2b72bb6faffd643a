"""Online Elo: the live estimate between fits."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.rating import BOTH_BAD, LEFT, RIGHT, TIE, online_elo


def test_a_win_moves_both_scores_by_half_k_from_equal_scores() -> None:
    scores = online_elo([0], [1], [LEFT], n_models=2, k=4.0)
    assert scores.tolist() == [1002.0, 998.0]


def test_a_tie_between_equals_moves_nothing_and_a_tie_pulls_scores_together() -> None:
    assert online_elo([0], [1], [TIE], n_models=2).tolist() == [1000.0, 1000.0]
    scores = online_elo([0], [1], [TIE], n_models=2, initial=[1100.0, 900.0], k=16.0)
    assert scores[0] < 1100.0
    assert scores[1] > 900.0
    assert scores.sum() == pytest.approx(2000.0)


def test_it_starts_from_the_published_scores_and_skips_dropped_or_weightless_votes() -> None:
    start = np.array([1050.0, 980.0, 970.0])
    scores = online_elo(
        [0, 1, 2],
        [1, 2, 0],
        [BOTH_BAD, RIGHT, LEFT],
        [1.0, 0.0, 1.0],
        n_models=3,
        initial=start,
        both_bad="drop",
    )
    assert scores[1] == 980.0
    assert scores[2] > 970.0
    assert scores[0] < 1050.0


def test_inverse_swaps_who_gains() -> None:
    assert online_elo([0], [1], [LEFT], n_models=2, inverse=True).tolist() == [998.0, 1002.0]


def test_it_tracks_true_strengths_on_a_long_stream() -> None:
    rng = np.random.default_rng(0)
    theta = np.array([1.0, 0.0, -1.0])
    left = rng.integers(0, 3, 5000)
    right = (left + rng.integers(1, 3, 5000)) % 3
    won = rng.random(5000) < 1 / (1 + np.exp(theta[right] - theta[left]))
    scores = online_elo(left, right, np.where(won, LEFT, RIGHT), n_models=3, k=8.0)
    assert scores[0] > scores[1] > scores[2]


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="model indices"):
        online_elo([0], [3], [LEFT], n_models=2)
    with pytest.raises(ValueError, match="initial must hold 2 finite scores"):
        online_elo([0], [1], [LEFT], n_models=2, initial=[1000.0])
