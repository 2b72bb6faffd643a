"""The per-request meter of the voting-load benchmark (`benchmarks/voting_load/trips.py`)."""

from __future__ import annotations

import pytest

from benchmarks.voting_load.trips import profile_file_name


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("POST vote + next", "post-vote-next.prof"),
        ("page GET (returning voter)", "page-get-returning-voter.prof"),
        ("bare POST (one INSERT)", "bare-post-one-insert.prof"),
    ],
)
def test_each_request_kind_gets_a_plain_file_name(label, name):
    assert profile_file_name(label) == name


def test_the_kinds_of_one_run_get_different_files():
    labels = ["GET next", "POST vote", "POST vote + next", "bare POST (one INSERT)"]
    assert len({profile_file_name(label) for label in labels}) == len(labels)
