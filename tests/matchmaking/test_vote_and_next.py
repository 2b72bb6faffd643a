"""A vote that asks for the next matchup: the board hint, and on PostgreSQL one statement.

The voting page's flow (``"next": true``) pops a candidate from the queue of the board the
browser was last issued a matchup of (the `versus_board` cookie) before the vote says which
board it is on, so that the vote and the next matchup are one statement. Whatever the hint
says, the vote must be stored as any vote is, the candidate must end up where `matchup_issue`
would leave it, and the answer must be the one the general way gives.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from evaluation.models import Vote
from matchmaking import queue
from matchmaking.identity import BOARD_COOKIE
from matchmaking.models import Matchup
from matchmaking.queue import Candidate
from matchmaking.services import matchups_refill
from tests.factories import make_leaderboard, make_models
from tests.matchmaking.conftest import browser_client, csrf_post, open_page

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the vote and the next matchup share a statement on PostgreSQL only; "
    "set DATABASE_URL to a PostgreSQL database to run it",
)


@pytest.fixture
def queued_board(board: Any, fake_redis: Any, settings: Any) -> Any:
    settings.VERSUS_QUEUE_LOW = 0
    matchups_refill(leaderboard_id=board.pk, seed=5)
    return board


def queued(client: Any, leaderboard_id: int) -> list[Candidate]:
    raw = client.lrange(queue.queue_key(leaderboard_id), 0, -1)
    return [c for c in (Candidate.decode(item) for item in raw) if c is not None]


def page_matchup(client: APIClient, board: Any) -> int:
    return int(open_page(client, board).context["matchup"]["id"])


def vote_and_next(client: APIClient, matchup_id: int, choice: str = "left") -> Any:
    return csrf_post(
        client, f"/api/v1/matchups/{matchup_id}/vote/", {"choice": choice, "next": True}
    )


def test_the_page_names_its_board_in_a_cookie_once(queued_board: Any) -> None:
    client = browser_client()
    first = open_page(client, queued_board)
    assert first.cookies[BOARD_COOKIE].value == str(queued_board.pk)
    assert first.cookies[BOARD_COOKIE]["httponly"]
    answer = vote_and_next(client, int(first.context["matchup"]["id"]))
    assert answer.status_code == 201
    assert answer.json()["next"] is not None
    assert BOARD_COOKIE not in answer.cookies  # unchanged: not sent again


def test_a_matchup_of_another_board_moves_the_cookie(
    queued_board: Any, owner: Any, fake_redis: Any
) -> None:
    other = make_leaderboard(owner, name="other")
    make_models(other, 2)
    client = browser_client()
    page_matchup(client, queued_board)
    answer = client.get(f"/api/v1/leaderboards/{other.pk}/matchups/next/")
    assert answer.status_code == 200
    assert answer.cookies[BOARD_COOKIE].value == str(other.pk)


@on_postgresql
def test_it_stores_the_vote_and_the_next_matchup_in_one_statement(queued_board: Any) -> None:
    client = browser_client()
    matchup = page_matchup(client, queued_board)
    head = queued(client_redis := queue.redis_client(), queued_board.pk)[0]
    before = len(queued(client_redis, queued_board.pk))
    answer = vote_and_next(client, matchup, "right")
    assert answer.status_code == 201
    vote = Vote.objects.get(matchup_id=matchup)
    stored = Matchup.objects.get(pk=matchup)
    assert (vote.choice, vote.leaderboard_id, vote.voter_id, vote.prompt_id) == (
        "right",
        queued_board.pk,
        stored.voter_id,
        stored.prompt_id,
    )
    assert stored.closed_at is not None
    nxt = Matchup.objects.get(pk=answer.json()["next"]["id"])
    assert (nxt.prompt_id, nxt.left_id, nxt.right_id) == (
        head.prompt_id,
        head.left_output_id,
        head.right_output_id,
    )
    assert nxt.voter_id == stored.voter_id
    assert nxt.closed_at is None
    assert len(queued(client_redis, queued_board.pk)) == before - 1


@on_postgresql
def test_a_hint_naming_another_board_leaves_its_queue_as_it_was(
    queued_board: Any, owner: Any, fake_redis: Any, settings: Any
) -> None:
    other = make_leaderboard(owner, name="other")
    make_models(other, 2)
    matchups_refill(leaderboard_id=other.pk, seed=6)
    other_queue = queued(fake_redis, other.pk)
    client = browser_client()
    matchup = page_matchup(client, queued_board)
    client.cookies[BOARD_COOKIE] = str(other.pk)
    answer = vote_and_next(client, matchup)
    assert answer.status_code == 201
    assert Matchup.objects.get(pk=answer.json()["next"]["id"]).leaderboard_id == queued_board.pk
    assert queued(fake_redis, other.pk) == other_queue
    assert not Matchup.objects.filter(leaderboard=other).exists()
    assert answer.cookies[BOARD_COOKIE].value == str(queued_board.pk)


@pytest.mark.parametrize("hint", ["999999999", "not-a-board", "-3", "", "²", "¹0"])
def test_a_forged_hint_changes_nothing(queued_board: Any, hint: str) -> None:
    client = browser_client()
    matchup = page_matchup(client, queued_board)
    client.cookies[BOARD_COOKIE] = hint
    answer = vote_and_next(client, matchup)
    assert answer.status_code == 201
    assert Vote.objects.filter(matchup_id=matchup).count() == 1
    assert answer.json()["next"] is not None


@on_postgresql
@pytest.mark.parametrize("fault", ["expired", "voted", "someone_else"])
def test_a_refused_vote_writes_nothing_and_returns_the_candidate(
    queued_board: Any, fault: str, fake_redis: Any
) -> None:
    client = browser_client()
    matchup = page_matchup(client, queued_board)
    expected = {"expired": 410, "voted": 409, "someone_else": 404}[fault]
    if fault == "expired":
        past = timezone.now() - timedelta(seconds=1)
        Matchup.objects.filter(pk=matchup).update(
            issued_at=past - timedelta(hours=1), expires_at=past
        )
    elif fault == "voted":
        assert vote_and_next(client, matchup).status_code == 201
    else:
        client = browser_client()
        page_matchup(client, queued_board)
    votes, matchups = Vote.objects.count(), Matchup.objects.count()
    waiting = queued(fake_redis, queued_board.pk)
    answer = vote_and_next(client, matchup)
    assert answer.status_code == expected
    assert (Vote.objects.count(), Matchup.objects.count()) == (votes, matchups)
    assert queued(fake_redis, queued_board.pk) == waiting


@on_postgresql
def test_a_seen_candidate_goes_to_the_back_for_a_later_voter(
    queued_board: Any, fake_redis: Any
) -> None:
    client = browser_client()
    matchup = Matchup.objects.get(pk=page_matchup(client, queued_board))
    seen = Candidate(
        matchup.prompt_id, matchup.right_id, matchup.left_id, matchup.model_low, matchup.model_high
    )
    rest = queued(fake_redis, queued_board.pk)
    queue.queue_swap(queued_board.pk, [seen, *rest])
    answer = vote_and_next(client, matchup.pk)
    assert answer.status_code == 201
    nxt = Matchup.objects.get(pk=answer.json()["next"]["id"])
    assert (nxt.prompt_id, nxt.model_low, nxt.model_high) != seen.pair
    assert queued(fake_redis, queued_board.pk)[-1] == seen
    assert queued(fake_redis, queued_board.pk).count(seen) == rest.count(seen) + 1


@on_postgresql
def test_another_open_matchup_comes_next(queued_board: Any, fake_redis: Any) -> None:
    """Two tabs: the vote in one answers with the matchup open in the other."""
    client = browser_client()
    first = page_matchup(client, queued_board)
    Matchup.objects.filter(pk=first).update(closed_at=timezone.now())
    second = page_matchup(client, queued_board)
    Matchup.objects.filter(pk=first).update(closed_at=None)
    waiting = queued(fake_redis, queued_board.pk)
    answer = vote_and_next(client, first)
    assert answer.status_code == 201
    assert answer.json()["next"]["id"] == second
    assert queued(fake_redis, queued_board.pk) == waiting


@on_postgresql
def test_the_pop_rides_with_the_rate_limits(
    queued_board: Any, fake_redis: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With rate limits on, the candidate comes in their round trip: no pop of its own."""
    settings.VERSUS_RATE_VOTER = settings.VERSUS_RATE_IP = "1000/min"
    client = browser_client()
    matchup = page_matchup(client, queued_board)
    head = queued(fake_redis, queued_board.pk)[0]

    def no_pop(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the vote popped its candidate in a round trip of its own")

    monkeypatch.setattr(queue, "queue_pop", no_pop)
    answer = vote_and_next(client, matchup)
    assert answer.status_code == 201
    nxt = Matchup.objects.get(pk=answer.json()["next"]["id"])
    assert (nxt.prompt_id, nxt.left_id, nxt.right_id) == (
        head.prompt_id,
        head.left_output_id,
        head.right_output_id,
    )


@on_postgresql
@pytest.mark.parametrize("refusal", ["throttled", "invalid"])
def test_a_refused_request_gives_its_candidate_back(
    queued_board: Any, fake_redis: Any, settings: Any, refusal: str
) -> None:
    settings.VERSUS_RATE_IP = ""
    settings.VERSUS_RATE_VOTER = "1/min" if refusal == "throttled" else "1000/min"
    client = browser_client()
    matchup = page_matchup(client, queued_board)
    if refusal == "throttled":
        matchup = vote_and_next(client, matchup).json()["next"]["id"]
    waiting = queued(fake_redis, queued_board.pk)
    answer = vote_and_next(client, matchup, "maybe" if refusal == "invalid" else "left")
    assert answer.status_code == {"throttled": 429, "invalid": 400}[refusal]
    assert queued(fake_redis, queued_board.pk) == waiting
    assert not Vote.objects.filter(matchup_id=matchup).exists()
