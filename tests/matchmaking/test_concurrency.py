"""Concurrent votes on one matchup, on PostgreSQL: exactly one row, every other answer a 409."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from config.errors import Conflict
from evaluation.models import Vote
from matchmaking.models import Matchup
from matchmaking.services import matchup_issue, vote_record, voter_get_or_create

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_it_stores_one_vote_when_twenty_arrive_at_once(board: Any) -> None:
    voter = voter_get_or_create(session_key="concurrent-voter")
    matchup = matchup_issue(leaderboard=board, voter=voter).matchup
    assert matchup is not None
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def cast(choice: str) -> None:
        try:
            start.wait()
            vote_record(matchup_id=matchup.pk, voter=voter, choice=choice)
            result = "created"
        except Conflict:
            result = "conflict"
        except Exception as exc:  # anything else is a bug the test must show
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=cast, args=(["left", "right", "tie", "both_bad"][k % 4],))
        for k in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 19 + ["created"]
    assert Vote.objects.filter(matchup=matchup).count() == 1
    assert Matchup.objects.get(pk=matchup.pk).closed_at is not None


def test_it_issues_distinct_pairs_to_one_voter_asking_twice_at_once(board: Any) -> None:
    voter = voter_get_or_create(session_key="eager-voter")
    start = threading.Barrier(2)
    issued: list[int] = []

    def ask() -> None:
        try:
            start.wait()
            result = matchup_issue(leaderboard=board, voter=voter)
            if result.matchup is not None:
                issued.append(result.matchup.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = Matchup.objects.filter(voter=voter)
    assert len(issued) == 2
    assert len(set(rows.values_list("prompt_id", "model_low", "model_high"))) == rows.count()
