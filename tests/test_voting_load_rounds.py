"""The voting-load benchmark's order of measuring windows (`benchmarks/voting_load/run.py`)."""

from __future__ import annotations

from benchmarks.voting_load.run import rounds_order


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
