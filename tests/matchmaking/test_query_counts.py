"""Database round trips of serving and voting, so that the gains stay.

These run in autocommit, as a server does (not inside a test transaction), so the statements
counted are the ones production sends, BEGIN and COMMIT included (each a round trip with
psycopg). Independent reads that `statements.read_together` sends in one round trip on
PostgreSQL count once, on either database: the counts are PostgreSQL's round trips. A vote is
one statement on PostgreSQL and a transaction of four elsewhere, and so is issuing a queued
pair (one statement, against a read and an insert elsewhere), so the counts depend on the
database. The rater is queued, not run, as with a real broker. The counts are maxima: fewer
is welcome, more is a regression to justify. None of them may grow with the voter's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from matchmaking import statements
from matchmaking.services import matchups_refill
from tests.matchmaking.conftest import csrf_post, next_matchup, open_page, vote

pytestmark = pytest.mark.django_db(transaction=True)

VOTE_TRIPS = 1 if connection.vendor == "postgresql" else 5
"""A plain vote: one statement on PostgreSQL; BEGIN, claim, vote, COMMIT and the board
elsewhere."""

ISSUE_TRIPS = 1 if connection.vendor == "postgresql" else 2
VOTE_AND_NEXT_TRIPS = 1 if connection.vendor == "postgresql" else VOTE_TRIPS + ISSUE_TRIPS
"""A vote that asks for the next matchup of the board the browser was last issued one of:
one statement for both on PostgreSQL (`statements.vote_cast_and_offer`)."""
"""A queued pair issued: one statement on PostgreSQL (`statements.matchup_offer`); elsewhere
the voter's open matchups, seen pairs and the popped outputs, then the insert."""


@pytest.fixture(autouse=True)
def queued_rater(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The ratings refresh goes to the broker after commit; here it is only recorded."""
    queued: list[Any] = []
    monkeypatch.setattr(
        "evaluation.tasks.ratings_refresh.apply_async",
        lambda *args, **kwargs: queued.append(args),
    )
    return queued


@pytest.fixture
def max_round_trips(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[int], AbstractContextManager[None]]:
    """`with max_round_trips(n):` fails when the block takes more than n round trips."""
    batches: list[int] = []
    together = statements.read_together

    def counted(*reads: Any) -> list[Any]:
        batches.append(len(reads))
        return together(*reads)

    monkeypatch.setattr(statements, "read_together", counted)

    @contextmanager
    def check(limit: int) -> Iterator[None]:
        batches.clear()
        with CaptureQueriesContext(connection) as captured:
            yield
        trips = len(captured.captured_queries) - sum(n - 1 for n in batches)
        sql = "\n".join(q["sql"][:120] for q in captured.captured_queries)
        assert trips <= limit, f"{trips} round trips, at most {limit} expected:\n{sql}"

    return check


@pytest.fixture
def queued_board(board: Any, fake_redis: Any, settings: Any) -> Any:
    """The board with a full Redis queue of candidates, as the matchmaker leaves it."""
    settings.VERSUS_QUEUE_LOW = 0
    # Pinned with the seed: on this six-matchup board the batch repeats each one many times,
    # and where a voter's unseen ones sit in it (so how wide a pop finds one) depends on both.
    settings.VERSUS_QUEUE_SIZE = 200
    matchups_refill(leaderboard_id=board.pk, seed=1)
    return board


def page_matchup(client: APIClient, board: Any) -> int:
    return int(open_page(client, board).context["matchup"]["id"])


def vote_and_next(client: APIClient, matchup_id: int) -> Any:
    return csrf_post(
        client, f"/api/v1/matchups/{matchup_id}/vote/", {"choice": "left", "next": True}
    )


def test_it_serves_a_new_voter_the_page_in_three_round_trips_on_postgresql(
    queued_board: Any, voter_api: APIClient, max_round_trips: Any
) -> None:
    # The board; the new voter; the matchup.
    with max_round_trips(2 + ISSUE_TRIPS):
        assert open_page(voter_api, queued_board).context["matchup"] is not None


def test_it_serves_a_returning_voter_the_page_in_three_round_trips(
    queued_board: Any, voter_api: APIClient, max_round_trips: Any
) -> None:
    open_page(voter_api, queued_board)
    # The board; the voter's open matchup (no voter row, no session); that matchup, shown.
    with max_round_trips(3):
        assert open_page(voter_api, queued_board).context["matchup"] is not None


def test_it_serves_the_next_matchup_in_two_round_trips_on_postgresql(
    queued_board: Any, voter_api: APIClient, max_round_trips: Any
) -> None:
    vote(voter_api, page_matchup(voter_api, queued_board))
    # The board; the new matchup.
    with max_round_trips(1 + ISSUE_TRIPS):
        assert next_matchup(voter_api, queued_board).status_code == 200


def test_it_records_a_vote_in_one_statement_on_postgresql(
    queued_board: Any, voter_api: APIClient, max_round_trips: Any, queued_rater: list[Any]
) -> None:
    matchup = page_matchup(voter_api, queued_board)
    # The matchup closed, the vote stored and the board read for the answer and the next
    # matchup: one statement on PostgreSQL.
    with max_round_trips(VOTE_TRIPS):
        assert vote(voter_api, matchup).status_code == 201
    assert len(queued_rater) == 1


def test_it_records_a_vote_and_serves_the_next_in_one_statement_on_postgresql(
    queued_board: Any, voter_api: APIClient, max_round_trips: Any
) -> None:
    matchup = page_matchup(voter_api, queued_board)
    with max_round_trips(VOTE_AND_NEXT_TRIPS):
        response = vote_and_next(voter_api, matchup)
    assert response.status_code == 201
    assert response.json()["next"]["id"] != matchup


def test_it_costs_the_same_after_many_votes(
    queued_board: Any, voter_api: APIClient, max_round_trips: Any
) -> None:
    matchup = page_matchup(voter_api, queued_board)
    for _ in range(4):
        matchup = vote_and_next(voter_api, matchup).json()["next"]["id"]
    with max_round_trips(VOTE_AND_NEXT_TRIPS):
        assert vote_and_next(voter_api, matchup).status_code == 201


def test_it_costs_a_logged_in_voter_three_round_trips_more(
    queued_board: Any, max_round_trips: Any
) -> None:
    user = get_user_model().objects.create_user("judge", password="judge-pass-123")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    matchup = page_matchup(client, queued_board)
    # The session, the user and the user's voter come on top of the anonymous voter's.
    with max_round_trips(VOTE_AND_NEXT_TRIPS + 3):
        assert vote_and_next(client, matchup).status_code == 201
