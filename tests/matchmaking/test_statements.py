"""`statements`: independent reads in one round trip, and lookups by ids no row can have."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from matchmaking import statements
from matchmaking.models import Voter

pytestmark = pytest.mark.django_db


def _ids(table: str, least: int) -> statements.Read[list[int]]:
    return statements.Read(
        f"SELECT id FROM {table} WHERE id >= %s ORDER BY id",
        [least],
        lambda rows: [r[0] for r in rows],
    )


def test_reads_together_answer_as_each_would_alone(board: Any) -> None:
    first, second = Voter.objects.create(session_key="a"), Voter.objects.create(session_key="b")
    reads = [_ids(statements.VOTER, second.pk), _ids(statements.VOTER, first.pk)]
    alone = [statements.read_together(one)[0] for one in reads]
    assert statements.read_together(*reads) == alone == [[second.pk], [first.pk, second.pk]]


def test_reads_together_work_inside_a_transaction_and_see_its_writes(board: Any) -> None:
    with transaction.atomic():
        voter = Voter.objects.create(session_key="a")
        answers = statements.read_together(
            _ids(statements.VOTER, voter.pk), _ids(statements.LEADERBOARD, board.pk)
        )
    assert answers == [[voter.pk], [board.pk]]


def test_a_failing_read_raises_a_database_error_and_leaves_the_connection_usable(
    board: Any,
) -> None:
    broken = statements.Read("SELECT no_such_column FROM matchmaking_voter", [], list)
    with pytest.raises(DatabaseError), transaction.atomic():
        statements.read_together(_ids(statements.VOTER, 0), broken)
    assert statements.read_together(_ids(statements.LEADERBOARD, board.pk)) == [[board.pk]]
    if connection.vendor == "postgresql":
        assert connection.connection.pgconn.pipeline_status == 0  # out of pipeline mode


@pytest.mark.parametrize(
    "build",
    [statements._vote_cast_sql, statements._offer_sql, statements._vote_and_offer_sql],
    ids=["vote", "offer", "vote and offer"],
)
def test_the_voting_statements_fit_psycopgs_conversion_cache(build: Any) -> None:
    """Longer than psycopg's limit, a statement has its placeholders converted again on every
    execution (see `statements._compact`)."""
    queries = pytest.importorskip("psycopg._queries")
    sql = build()
    assert "\n" not in sql
    assert "  " not in sql
    assert len(sql.encode()) <= queries.MAX_CACHED_STATEMENT_LENGTH


@pytest.mark.parametrize("too_big", [2**63, -(2**63) - 1], ids=["above", "below"])
def test_an_id_no_row_can_have_finds_nothing_without_asking_the_database(
    board: Any, too_big: int, django_assert_num_queries: Any
) -> None:
    """As the ORM answers it: SQLite's driver raises OverflowError for such an id."""
    voter = Voter.objects.create(session_key="v")
    now = timezone.now()
    excluding = statements.Excluding(trust_threshold=0.6, min_view_ms=800)
    with django_assert_num_queries(0):
        assert statements.leaderboard_read(too_big) is None
        assert statements.matchup_claim(matchup_id=too_big, voter_id=voter.pk, now=now) is None
        assert (
            statements.vote_cast(
                matchup_id=too_big, voter=voter, choice="left", now=now, excluding=excluding
            )
            is None
        )
        assert (
            statements.vote_cast_and_offer(
                matchup_id=too_big,
                voter=voter,
                choice="left",
                now=now,
                excluding=excluding,
                board_id=board.pk,
                candidate=None,
                expires_at=now,
            )
            is None
        )
