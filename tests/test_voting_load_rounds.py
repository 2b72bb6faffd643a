"""The voting-load benchmark's order of measuring windows (`benchmarks/voting_load/run.py`)."""

from __future__ import annotations

import pytest

from benchmarks.voting_load.run import ratio_interval, rounds_order


def test_every_other_round_runs_the_paths_in_reverse():
    assert rounds_order(["bare", "page"], 4) == [
        *("bare", "page"),
        *("page", "bare"),
        *("bare", "page"),
        *("page", "bare"),
    ]


def test_a_steady_drift_weighs_on_every_path_alike():
    # Window k of the run takes k units longer on a machine slowing down steadily: over an even
    # number of rounds every path's windows add up to the same.
    order = rounds_order(["bare", "api", "page"], 6)
    positions = {kind: sum(k for k, seen in enumerate(order) if seen == kind) for kind in order}
    assert len(set(positions.values())) == 1
    assert [order.count(kind) for kind in ("bare", "api", "page")] == [6, 6, 6]


def test_one_round_is_the_paths_as_given():
    assert rounds_order(["page", "bare"], 1) == ["page", "bare"]


def test_the_ratio_interval_is_centred_on_the_geometric_mean():
    mean, low, high = ratio_interval([0.5, 2.0])
    assert mean == pytest.approx(1.0)
    assert low < 1.0 < high
    assert low * high == pytest.approx(1.0)  # symmetric on the log scale


def test_the_ratio_interval_narrows_with_rounds_that_agree():
    _, wide_low, wide_high = ratio_interval([0.40, 0.55, 0.45, 0.50])
    _, low, high = ratio_interval([0.47, 0.48, 0.47, 0.48])
    assert wide_low < low < 0.47
    assert 0.48 < high < wide_high


def test_the_ratio_interval_refuses_too_few_or_empty_rounds():
    with pytest.raises(ValueError, match="two or more positive"):
        ratio_interval([0.5])
    with pytest.raises(ValueError, match="two or more positive"):
        ratio_interval([0.5, 0.0])
