"""Per-voter and per-IP rate limits: 429 with Retry-After, nothing recorded."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from evaluation.models import Vote
from matchmaking import queue
from matchmaking.models import Matchup, Voter
from tests.matchmaking.conftest import browser_client, next_matchup, open_page, vote

pytestmark = pytest.mark.django_db


def test_it_limits_one_voter(board: Any, voter_api: APIClient, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ""
    open_page(voter_api, board)  # the session exists before the first counted request
    for _ in range(2):
        assert vote(voter_api, next_matchup(voter_api, board).json()["id"]).status_code == 201
    body = next_matchup(voter_api, board)
    assert body.status_code == 429
    assert int(body["Retry-After"]) > 0
    # Another voter is not held back by the first one's limit.
    other = browser_client()
    assert next_matchup(other, board).status_code == 200


def test_it_limits_votes_of_one_voter(board: Any, voter_api: APIClient, settings: Any) -> None:
    settings.VERSUS_RATE_IP = ""
    settings.VERSUS_RATE_VOTER = "1/min"
    first = next_matchup(voter_api, board).json()["id"]
    assert vote(voter_api, first).status_code == 201
    response = vote(voter_api, first)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert Vote.objects.count() == 1


def test_it_limits_one_ip_across_sessions(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = ""
    settings.VERSUS_RATE_IP = "3/min"
    answers = [next_matchup(browser_client(), board).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_it_ignores_a_forged_forwarded_for_header(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = ""
    settings.VERSUS_RATE_IP = "2/min"
    answers = [
        browser_client()
        .get(
            f"/api/v1/leaderboards/{board.pk}/matchups/next/",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{k}",
        )
        .status_code
        for k in range(3)
    ]
    assert answers == [200, 200, 429]


def test_it_lets_voters_through_when_the_limit_store_is_down(
    board: Any, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_RATE_VOTER = "1/min"
    settings.VERSUS_QUEUE_REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    for _ in range(3):
        assert vote(voter_api, next_matchup(voter_api, board).json()["id"]).status_code == 201


@pytest.mark.parametrize(
    ("ip_rate", "longest"),
    [("", 60), ("2/hour", 3600)],
    ids=["voter limit reached", "IP limit reached first, with the longer window"],
)
def test_it_counts_both_limits_in_redis_and_answers_the_longest_wait(
    board: Any, voter_api: APIClient, settings: Any, fake_redis: Any, ip_rate: str, longest: int
) -> None:
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ""
    open_page(voter_api, board)  # the voter cookie, before anything is counted per IP
    settings.VERSUS_RATE_IP = ip_rate
    answers = [next_matchup(voter_api, board) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert longest - 60 < int(answers[-1]["Retry-After"]) <= longest
    keys = fake_redis.keys("versus:throttle_*")
    assert any(b"next-VERSUS_RATE_VOTER_voter-" in key for key in keys)
    assert any(b"next-VERSUS_RATE_IP_ip-" in key for key in keys) == bool(ip_rate)


def test_every_counter_expires_with_its_window_even_one_left_without_a_clock(
    board: Any, voter_api: APIClient, settings: Any, fake_redis: Any
) -> None:
    settings.VERSUS_RATE_VOTER = "50/min"
    settings.VERSUS_RATE_IP = "100/hour"
    open_page(voter_api, board)
    keys = fake_redis.keys("versus:throttle_*")
    assert keys
    for key in keys:
        window = 3600 if b"VERSUS_RATE_IP" in key else 60
        assert 0 < fake_redis.ttl(key) <= window
    # Counters whose clock was lost (the connection dropped between INCR and EXPIRE).
    for key in keys:
        fake_redis.persist(key)
    assert next_matchup(voter_api, board).status_code == 200
    counted = [
        key
        for key in fake_redis.keys("versus:throttle_next*")
        if b"_voter-" in key or b"VERSUS_RATE_IP" in key  # what a voter with a cookie counts
    ]
    assert len(counted) == 2
    assert all(fake_redis.ttl(key) > 0 for key in counted)


def test_it_keeps_counting_after_redis_forgets_its_scripts(
    board: Any, voter_api: APIClient, settings: Any, fake_redis: Any
) -> None:
    """The limits are a Lua script run by its SHA1; a restarted Redis has none loaded."""
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ""
    open_page(voter_api, board)  # the voter cookie: what follows counts for this voter
    answers = []
    for _ in range(3):
        fake_redis.script_flush()
        answers.append(next_matchup(voter_api, board).status_code)
    assert answers == [200, 200, 429]
    # Counted in Redis all along, not by the fallback a Redis error would have opened.
    assert not queue.breaker_open()
    (key,) = fake_redis.keys("versus:throttle_next-VERSUS_RATE_VOTER_voter-*")
    assert int(fake_redis.get(key)) == 3


def form_vote(client: APIClient, board: Any, matchup_id: int, choice: str = "left") -> Any:
    """A vote through the voting page's own form (the path without JavaScript)."""
    return client.post(
        f"/leaderboards/{board.pk}/vote/",
        {
            "matchup": matchup_id,
            "choice": choice,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )


def assert_slowed_down(response: Any, *, what: str) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert "Slow down a little" in html
    assert what in html
    assert f'content="{response["Retry-After"]};url=' in html  # back to voting by itself


def test_it_limits_votes_posted_by_the_page_form(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = "1/min"
    settings.VERSUS_RATE_IP = "1/min"
    client = browser_client()
    open_page(client, board)
    first = Matchup.objects.get().pk
    assert form_vote(client, board, first).status_code == 302
    answers = [form_vote(client, board, first, "right") for _ in range(3)]
    for answer in answers:
        assert_slowed_down(answer, what="Your vote was not recorded")
    assert Vote.objects.count() == 1


def test_it_counts_page_and_api_votes_in_one_budget(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ""
    client = browser_client()
    open_page(client, board)
    assert form_vote(client, board, Matchup.objects.get().pk).status_code == 302
    second = next_matchup(client, board).json()["id"]
    assert vote(client, second).status_code == 201
    third = next_matchup(client, board).json()["id"]
    assert form_vote(client, board, third).status_code == 429
    assert vote(client, third).status_code == 429
    assert Vote.objects.count() == 2


def test_it_limits_page_views_without_a_cookie_per_ip(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = ""
    settings.VERSUS_RATE_IP = "3/min"
    answers = [open_page(browser_client(), board) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert_slowed_down(answers[-1], what="No new pair was issued")
    # The refused request created nothing.
    assert Voter.objects.count() == 3
    assert Matchup.objects.count() == 3


def test_it_limits_page_views_of_one_voter(board: Any, settings: Any) -> None:
    settings.VERSUS_RATE_VOTER = "2/min"
    settings.VERSUS_RATE_IP = ""
    client = browser_client()
    open_page(client, board)  # no cookie yet: counted by IP, as for the API
    assert [open_page(client, board).status_code for _ in range(3)] == [200, 200, 429]
    assert open_page(browser_client(), board).status_code == 200  # another browser


def test_it_limits_reports_posted_by_the_page_form(board: Any, settings: Any) -> None:
    from evaluation.models import OutputReport

    settings.VERSUS_RATE_VOTER = "1/min"
    settings.VERSUS_RATE_IP = ""
    client = browser_client()
    open_page(client, board)
    token = client.cookies["csrftoken"].value
    url = f"/leaderboards/{board.pk}/vote/"
    matchup = Matchup.objects.get().pk
    assert client.post(url, {"matchup": matchup, "report": "left", "csrfmiddlewaretoken": token})
    answer = client.post(url, {"matchup": matchup, "report": "right", "csrfmiddlewaretoken": token})
    assert_slowed_down(answer, what="Your report was not sent")
    assert OutputReport.objects.count() == 1


def test_it_counts_the_page_in_redis_when_it_has_it(
    board: Any, settings: Any, fake_redis: Any
) -> None:
    settings.VERSUS_RATE_VOTER = ""
    settings.VERSUS_RATE_IP = "2/min"
    answers = [open_page(browser_client(), board).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert fake_redis.keys("versus:throttle_next-VERSUS_RATE_IP_ip-127.0.0.1")
