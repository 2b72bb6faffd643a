"""Database round trips of serving and voting, so that the gains stay.

These run in autocommit, as a server does (not inside a test transaction), so the statements
counted are the ones production sends, BEGIN and COMMIT included (each a round trip with
psycopg). The rater is queued, not run, as with a real broker. The counts are maxima: fewer is
welcome, more is a regression to justify. None of them may grow with the voter's history.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from matchmaking.services import matchups_refill
from tests.matchmaking.conftest import csrf_post, next_matchup, open_page, vote

pytestmark = pytest.mark.django_db(transaction=True)


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
def queued_board(board: Any, fake_redis: Any, settings: Any) -> Any:
    """The board with a full Redis queue of candidates, as the matchmaker leaves it."""
    settings.VERSUS_QUEUE_LOW = 0
    matchups_refill(leaderboard_id=board.pk, seed=1)
    return board


def page_matchup(client: APIClient, board: Any) -> int:
    return int(open_page(client, board).context["matchup"]["id"])


def vote_and_next(client: APIClient, matchup_id: int) -> Any:
    return csrf_post(
        client, f"/api/v1/matchups/{matchup_id}/vote/", {"choice": "left", "next": True}
    )


def test_it_serves_a_new_voter_the_page_in_five_queries(
    queued_board: Any, voter_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    # The board; the new voter; their open matchups and seen pairs; the outputs; the matchup.
    with django_assert_max_num_queries(5):
        assert open_page(voter_api, queued_board).context["matchup"] is not None


def test_it_serves_a_returning_voter_the_page_in_three_queries(
    queued_board: Any, voter_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    open_page(voter_api, queued_board)
    # The board; the voter's open matchup (no voter row, no session); that matchup, shown.
    with django_assert_max_num_queries(3):
        assert open_page(voter_api, queued_board).context["matchup"] is not None


def test_it_serves_the_next_matchup_in_four_queries(
    queued_board: Any, voter_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    vote(voter_api, page_matchup(voter_api, queued_board))
    # The board; open matchups and seen pairs; the queued outputs; the new matchup.
    with django_assert_max_num_queries(4):
        assert next_matchup(voter_api, queued_board).status_code == 200


def test_it_records_a_vote_in_five_queries(
    queued_board: Any,
    voter_api: APIClient,
    django_assert_max_num_queries: Any,
    queued_rater: list[Any],
) -> None:
    matchup = page_matchup(voter_api, queued_board)
    # BEGIN; the matchup closed for the vote, returning what the vote needs; the vote; COMMIT;
    # the board (for the answer and the next matchup).
    with django_assert_max_num_queries(5):
        assert vote(voter_api, matchup).status_code == 201
    assert len(queued_rater) == 1


def test_it_records_a_vote_and_serves_the_next_in_eight_queries(
    queued_board: Any, voter_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    matchup = page_matchup(voter_api, queued_board)
    # The five of a vote, then the three of a next matchup (the board came with the vote).
    with django_assert_max_num_queries(8):
        response = vote_and_next(voter_api, matchup)
    assert response.status_code == 201
    assert response.json()["next"]["id"] != matchup


def test_it_costs_the_same_after_many_votes(
    queued_board: Any, voter_api: APIClient, django_assert_max_num_queries: Any, settings: Any
) -> None:
    matchup = page_matchup(voter_api, queued_board)
    for _ in range(4):
        matchup = vote_and_next(voter_api, matchup).json()["next"]["id"]
    with django_assert_max_num_queries(8):
        assert vote_and_next(voter_api, matchup).status_code == 201


def test_it_costs_a_logged_in_voter_three_queries_more(
    queued_board: Any, django_assert_max_num_queries: Any
) -> None:
    user = get_user_model().objects.create_user("judge", password="judge-pass-123")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    matchup = page_matchup(client, queued_board)
    # The session, the user and the user's voter come on top of the anonymous eight.
    with django_assert_max_num_queries(11):
        assert vote_and_next(client, matchup).status_code == 201
