"""The voting-load benchmark's garbage-collection meter (`benchmarks/voting_load/gcstats.py`)."""

from __future__ import annotations

import gc
import os

from benchmarks.voting_load import gcstats


def test_each_collection_is_counted_and_timed_in_the_process_file(tmp_path):
    before = len(gc.callbacks)
    try:
        gcstats.install(str(tmp_path))
        first = gcstats.read(str(tmp_path))
        gc.collect(0)
        gc.collect(2)
        second = gcstats.read(str(tmp_path))
    finally:
        del gc.callbacks[before:]
    mine = second[str(os.getpid())]
    assert mine[0] - first.get(str(os.getpid()), [0.0] * 6)[0] >= 1
    assert mine[2] >= 1
    assert all(seconds >= 0 for seconds in mine[3:])


def test_a_window_adds_up_every_process_and_counts_a_new_one_from_zero():
    before = {"10": [5, 1, 0, 0.5, 0.1, 0.0]}
    after = {"10": [7, 1, 1, 0.7, 0.1, 0.2], "11": [3, 0, 0, 0.3, 0.0, 0.0]}
    used = gcstats.used(before, after)
    assert used[:3] == [5, 0, 1]
    assert [round(s, 6) for s in used[3:]] == [0.5, 0.0, 0.2]


def test_a_half_written_file_is_skipped(tmp_path):
    (tmp_path / "12").write_text("1 2")
    (tmp_path / "13").write_text("1 0 0 0.1 0 0")
    assert gcstats.used({}, gcstats.read(str(tmp_path))) == [1, 0, 0, 0.1, 0, 0]
