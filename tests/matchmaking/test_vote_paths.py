"""`vote_record`'s two ways: the plain statements of the common case, and the checked ORM way.

Every plain vote goes the short way (`matchmaking.statements`: one statement on PostgreSQL,
a claim and an insert elsewhere); errors and gold checks the long way. Both must store the
same row and answer the same, so each case here runs both and compares.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evaluation.models import Model, Output, Vote
from matchmaking import queue, services, statements
from matchmaking.models import Matchup, Voter
from matchmaking.services import matchup_issue, vote_record

pytestmark = pytest.mark.django_db

STORED = ("leaderboard_id", "prompt_id", "left_model_id", "right_model_id", "choice", "voter_id")


def issue(board: Any, voter: Voter, now: Any) -> Matchup:
    matchup = matchup_issue(leaderboard=board, voter=voter, now=now).matchup
    assert matchup is not None
    return matchup


def both_ways(
    board: Any, monkeypatch: pytest.MonkeyPatch, *, choice: str = "left", view_s: float = 5.0
) -> tuple[Vote, Vote]:
    """One vote by a fresh voter the short way and one the long way, same circumstances."""
    now = timezone.now()
    short_voter = Voter.objects.create(session_key="short")
    short = issue(board, short_voter, now)
    fast = vote_record(
        matchup_id=short.pk,
        voter=short_voter,
        choice=choice,
        now=now + timedelta(seconds=view_s),
    )
    long_voter = Voter.objects.create(session_key="long")
    long = issue(board, long_voter, now)
    with monkeypatch.context() as patched:
        patched.setattr(services, "_vote_cast", lambda **kwargs: None)
        checked = vote_record(
            matchup_id=long.pk,
            voter=long_voter,
            choice=choice,
            now=now + timedelta(seconds=view_s),
        )
    return fast, checked


def test_it_takes_the_short_way_for_a_plain_vote(board: Any) -> None:
    voter = Voter.objects.create(session_key="v")
    now = timezone.now()
    matchup = issue(board, voter, now)
    with CaptureQueriesContext(connection) as queries:
        vote_record(matchup_id=matchup.pk, voter=voter, choice="tie", now=now)
    assert not any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
    if connection.vendor == "postgresql":
        assert len(queries.captured_queries) == 1  # claim, vote and board: one round trip
    assert Vote.objects.get().choice == "tie"


def test_it_stores_the_same_row_either_way(board: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, checked = both_ways(board, monkeypatch, choice="right")
    rows = {v.pk: v for v in Vote.objects.all()}
    for name in ("choice", "view_ms", "excluded", "created", "is_imported"):
        assert getattr(rows[fast.pk], name) == getattr(rows[checked.pk], name), name
    assert rows[fast.pk].view_ms == 5000
    assert not rows[fast.pk].counted
    for vote in (fast, checked):
        stored = rows[vote.pk]
        assert [getattr(vote, f) for f in STORED] == [getattr(stored, f) for f in STORED]
        assert Matchup.objects.get(pk=stored.matchup_id).closed_at == stored.created


def test_it_answers_the_same_either_way(board: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, checked = both_ways(board, monkeypatch)
    for vote in (fast, checked):
        assert vote.leaderboard.pk == board.pk
        assert vote.leaderboard.benchmark.pk == board.benchmark_id
        assert vote.leaderboard.included_tags == board.included_tags
        names = {vote.left_model.name, vote.right_model.name}
        assert len(names) == 2
        assert names <= set(board.benchmark.models.values_list("name", flat=True))


@pytest.mark.parametrize(
    ("voter_fields", "view_s", "excluded"),
    [
        ({"is_flagged": True}, 5.0, Vote.Excluded.FLAGGED),
        ({"trust": 0.1}, 5.0, Vote.Excluded.LOW_TRUST),
        ({}, 0.1, Vote.Excluded.TOO_FAST),
        ({}, 5.0, Vote.Excluded.COUNTED),
    ],
)
def test_it_excludes_the_same_votes_either_way(
    board: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    voter_fields: dict[str, Any],
    view_s: float,
    excluded: str,
) -> None:
    settings.VERSUS_MIN_VIEW_MS = 800
    monkeypatch.setattr(Voter.objects, "create", _creating_with(Voter.objects.create, voter_fields))
    fast, checked = both_ways(board, monkeypatch, view_s=view_s)
    assert fast.excluded == checked.excluded == excluded
    assert set(Vote.objects.values_list("excluded", flat=True)) == {excluded}


def _creating_with(create: Any, fields: dict[str, Any]) -> Any:
    return lambda **kwargs: create(**{**kwargs, **fields})


def test_it_leaves_a_closed_board_to_the_checked_way(board: Any) -> None:
    voter = Voter.objects.create(session_key="v")
    now = timezone.now()
    matchup = issue(board, voter, now)
    type(board).objects.filter(pk=board.pk).update(is_active=False)
    assert statements.matchup_claim(matchup_id=matchup.pk, voter_id=voter.pk, now=now) is None
    assert Matchup.objects.get(pk=matchup.pk).closed_at is None


def test_it_claims_a_matchup_only_once(board: Any) -> None:
    voter = Voter.objects.create(session_key="v")
    now = timezone.now()
    matchup = issue(board, voter, now)
    assert statements.matchup_claim(matchup_id=matchup.pk, voter_id=voter.pk, now=now)
    assert statements.matchup_claim(matchup_id=matchup.pk, voter_id=voter.pk, now=now) is None


def test_it_claims_nothing_for_another_voter_or_after_expiry(board: Any) -> None:
    voter = Voter.objects.create(session_key="v")
    other = Voter.objects.create(session_key="w")
    now = timezone.now()
    matchup = issue(board, voter, now)
    assert statements.matchup_claim(matchup_id=matchup.pk, voter_id=other.pk, now=now) is None
    later = matchup.expires_at + timedelta(seconds=1)
    assert statements.matchup_claim(matchup_id=matchup.pk, voter_id=voter.pk, now=later) is None
    assert Matchup.objects.get(pk=matchup.pk).closed_at is None


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statements.vote_cast is PostgreSQL's short way"
)


def _cast(matchup: Matchup, voter: Voter, now: Any, choice: str = "left") -> Vote | None:
    return statements.vote_cast(
        matchup_id=matchup.pk,
        voter=voter,
        choice=choice,
        now=now,
        excluding=statements.Excluding(trust_threshold=0.6, min_view_ms=800),
    )


@postgresql_only
def test_one_statement_casts_a_vote_only_once_and_only_for_its_voter_in_time(board: Any) -> None:
    voter = Voter.objects.create(session_key="v")
    other = Voter.objects.create(session_key="w")
    now = timezone.now()
    matchup = issue(board, voter, now)
    assert _cast(matchup, other, now) is None
    assert _cast(matchup, voter, matchup.expires_at + timedelta(seconds=1)) is None
    assert Matchup.objects.get(pk=matchup.pk).closed_at is None
    assert not Vote.objects.exists()
    vote = _cast(matchup, voter, now + timedelta(seconds=2))
    assert vote is not None
    assert vote.view_ms == 2000
    assert _cast(matchup, voter, now + timedelta(seconds=3)) is None
    assert Vote.objects.get().pk == vote.pk


@postgresql_only
def test_one_statement_leaves_a_closed_board_to_the_checked_way(board: Any) -> None:
    voter = Voter.objects.create(session_key="v")
    now = timezone.now()
    matchup = issue(board, voter, now)
    type(board).objects.filter(pk=board.pk).update(is_active=False)
    assert _cast(matchup, voter, now) is None
    assert Matchup.objects.get(pk=matchup.pk).closed_at is None


@postgresql_only
@pytest.mark.parametrize("flagged", [False, True])
@pytest.mark.parametrize("trust", [0.1, 0.6, 0.6000001, 1.0])
@pytest.mark.parametrize("view_us", [0, 799_999, 800_000, 570_000, 5_000_000])
def test_one_statement_excludes_by_the_rule_of_the_checked_way(
    board: Any, settings: Any, flagged: bool, trust: float, view_us: int
) -> None:
    settings.VERSUS_MIN_VIEW_MS = 800
    settings.VERSUS_TRUST_THRESHOLD_PERCENT = 60
    voter = Voter.objects.create(session_key="v", is_flagged=flagged, trust=trust)
    now = timezone.now()
    matchup = issue(board, voter, now)
    cast_at = now + timedelta(microseconds=view_us)
    vote = _cast(matchup, voter, cast_at)
    assert vote is not None
    view_ms = services._view_ms(now, cast_at)
    assert vote.view_ms == view_ms == view_us // 1000
    expected = services._vote_excluded(trust=trust, flagged=flagged, view_ms=view_ms)
    assert vote.excluded == expected
    assert Vote.objects.get().excluded == expected


def _fields(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@postgresql_only
def test_one_statement_answers_the_vote_and_next_matchup_as_the_orm_loads_them(
    board: Any,
) -> None:
    """The instances built from the statement's row, without `Model.__init__`, hold what
    the database stored, field by field; the board's creation times stay deferred, and the
    related objects the answer needs come loaded (no query reads them)."""
    voter = Voter.objects.create(session_key="v")
    now = timezone.now()
    matchup = issue(board, voter, now)
    shown = (matchup.prompt_id, matchup.model_low, matchup.model_high)
    left, right = next(
        (a, b)
        for a in Output.objects.filter(model__benchmark=board.benchmark).order_by("pk")
        for b in Output.objects.filter(prompt_id=a.prompt_id, model_id__gt=a.model_id)
        if (a.prompt_id, a.model_id, b.model_id) != shown
    )
    candidate = queue.Candidate(left.prompt_id, left.pk, right.pk, left.model_id, right.model_id)
    cast_at = now + timedelta(seconds=3)
    answer = statements.vote_cast_and_offer(
        matchup_id=matchup.pk,
        voter=voter,
        choice="right",
        now=cast_at,
        excluding=statements.Excluding(trust_threshold=0.6, min_view_ms=800),
        board_id=board.pk,
        candidate=candidate,
        expires_at=cast_at + timedelta(minutes=30),
    )
    assert answer is not None
    vote, offer = answer
    assert offer is not None
    assert offer.matchup is not None
    issued = offer.matchup
    assert _fields(vote) == _fields(Vote.objects.get(pk=vote.pk))
    assert _fields(issued) == _fields(Matchup.objects.get(pk=issued.pk))
    assert not vote._state.adding
    assert not issued._state.adding
    names = dict(Model.objects.values_list("pk", "name"))
    with CaptureQueriesContext(connection) as queries:
        assert vote.leaderboard.get_deferred_fields() == {"created"}
        assert vote.leaderboard.benchmark.get_deferred_fields() == {"created"}
        assert vote.leaderboard.instruction == board.instruction
        assert vote.left_model.name == names[vote.left_model_id]
        assert vote.right_model.name == names[vote.right_model_id]
        assert vote.voter is voter
        assert issued.leaderboard is vote.leaderboard
        assert issued.left.prompt is issued.prompt is issued.right.prompt
        assert (issued.left.pk, issued.right.pk) == (left.pk, right.pk)
    assert not queries.captured_queries
    assert vote.leaderboard.created == board.created  # deferred: read when asked
