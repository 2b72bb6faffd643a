"""The Celery matchmaker's Redis queue: refills, atomic swaps, serving from it, and its absence."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from evaluation.models import Model, Output, PairCount, Vote
from matchmaking import queue, tasks
from matchmaking.models import Matchup
from matchmaking.queue import Candidate
from matchmaking.services import leaderboards_due_refill, matchups_refill
from matchmaking.tasks import matchups_sweep
from tests.factories import make_models
from tests.matchmaking.conftest import csrf_post, next_matchup, vote

pytestmark = pytest.mark.django_db


def queued(client: Any, leaderboard_id: int) -> list[Candidate]:
    raw = client.lrange(queue.queue_key(leaderboard_id), 0, -1)
    return [c for c in (Candidate.decode(item) for item in raw) if c is not None]


def test_it_refills_a_queue_with_pairs_of_the_board(
    board: Any, fake_redis: Any, settings: Any
) -> None:
    settings.VERSUS_QUEUE_SIZE = 30
    assert matchups_refill(leaderboard_id=board.pk, seed=1) == 30
    items = queued(fake_redis, board.pk)
    assert len(items) == 30
    models = set(Model.objects.values_list("pk", flat=True))
    for item in items:
        assert {item.model_low, item.model_high} <= models
        assert item.model_low < item.model_high


def test_it_swaps_a_new_batch_in_whole(board: Any, fake_redis: Any, settings: Any) -> None:
    fake_redis.rpush(queue.queue_key(board.pk), "stale", "stale")
    settings.VERSUS_QUEUE_SIZE = 5
    matchups_refill(leaderboard_id=board.pk, seed=2)
    assert b"stale" not in fake_redis.lrange(queue.queue_key(board.pk), 0, -1)
    assert fake_redis.llen(queue.queue_key(board.pk)) == 5


def test_it_skips_a_refill_while_another_holds_the_lock(board: Any, fake_redis: Any) -> None:
    lock = queue.RefillLock(board.pk)
    assert lock.acquire()
    assert matchups_refill(leaderboard_id=board.pk) is None
    assert fake_redis.llen(queue.queue_key(board.pk)) == 0
    lock.release()
    assert matchups_refill(leaderboard_id=board.pk) is not None


def test_it_serves_the_head_of_the_queue(
    board: Any, fake_redis: Any, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_QUEUE_LOW = 0
    matchups_refill(leaderboard_id=board.pk, seed=3)
    head = queued(fake_redis, board.pk)[0]
    matchup = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    assert (matchup.prompt_id, matchup.left_id, matchup.right_id) == (
        head.prompt_id,
        head.left_output_id,
        head.right_output_id,
    )


def test_it_skips_queued_pairs_the_voter_has_seen(
    board: Any, fake_redis: Any, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_QUEUE_LOW = 0
    first = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    vote(voter_api, first.pk)
    repeat = Candidate(
        first.prompt_id, first.right_id, first.left_id, first.model_low, first.model_high
    )
    queue.queue_swap(board.pk, [repeat, repeat])
    second = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    assert (second.prompt_id, second.model_low, second.model_high) != (
        first.prompt_id,
        first.model_low,
        first.model_high,
    )
    # What this voter could not use stays queued for the next voter.
    assert queued(fake_redis, board.pk) == [repeat, repeat]


def test_a_pair_the_voter_has_seen_goes_to_the_back_for_a_later_voter(
    board: Any, fake_redis: Any, voter_api: APIClient, settings: Any
) -> None:
    """Back at the head, a voter alone on a board would pop it again first on every request
    (and, with a few of them there, fall to a direct choice) until the next refill."""
    settings.VERSUS_QUEUE_LOW = 0
    first = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    vote(voter_api, first.pk)
    repeat = Candidate(
        first.prompt_id, first.right_id, first.left_id, first.model_low, first.model_high
    )
    fresh = []
    for prompt_outputs in _outputs_by_prompt(board):
        for k, left in enumerate(prompt_outputs):
            for right in prompt_outputs[k + 1 :]:
                low, high = sorted([left.model_id, right.model_id])
                if (left.prompt_id, low, high) != repeat.pair:
                    fresh.append(Candidate(left.prompt_id, left.pk, right.pk, low, high))
    c1, c2, c3 = fresh[:3]
    queue.queue_swap(board.pk, [repeat, c1, c2, c3])
    second = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    assert (second.prompt_id, second.model_low, second.model_high) == c1.pair
    assert queued(fake_redis, board.pk) == [c2, c3, repeat]


def _outputs_by_prompt(board: Any) -> list[list[Output]]:
    by_prompt: dict[int, list[Output]] = {}
    for output in Output.objects.filter(prompt__benchmark=board.benchmark).order_by("pk"):
        by_prompt.setdefault(output.prompt_id, []).append(output)
    return list(by_prompt.values())


def test_it_drops_queued_pairs_of_a_deactivated_model(
    board: Any, fake_redis: Any, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_QUEUE_LOW = 0
    settings.VERSUS_QUEUE_SIZE = 40
    matchups_refill(leaderboard_id=board.pk, seed=4)
    gone = Model.objects.order_by("id").first()
    assert gone is not None
    Model.objects.filter(pk=gone.pk).update(is_active=False)
    for _ in range(2):
        matchup = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
        assert gone.pk not in (matchup.model_low, matchup.model_high)
        vote(voter_api, matchup.pk)


def test_it_asks_for_a_refill_when_the_queue_runs_low(
    board: Any, fake_redis: Any, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_QUEUE_SIZE = 20
    settings.VERSUS_QUEUE_LOW = 5
    assert fake_redis.llen(queue.queue_key(board.pk)) == 0
    next_matchup(voter_api, board)  # empty queue: a direct choice, and a refill (eager Celery)
    assert fake_redis.llen(queue.queue_key(board.pk)) == 20


def test_it_refills_at_once_when_a_model_is_added(
    board: Any, fake_redis: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VERSUS_QUEUE_SIZE = 50
    matchups_refill(leaderboard_id=board.pk, seed=5)
    with django_capture_on_commit_callbacks(execute=True):
        (newcomer,) = make_models(board, 1, prefix="late")
    items = queued(fake_redis, board.pk)
    assert any(newcomer.pk in (c.model_low, c.model_high) for c in items)


def test_it_favours_the_new_model_in_the_refill(
    board: Any, fake_redis: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VERSUS_QUEUE_SIZE = 40
    old = list(Model.objects.order_by("id"))
    prompt = board.benchmark.prompts.first()
    for a, b in [(0, 1), (0, 2), (1, 2)]:  # 300 counted votes per pair: settled models
        PairCount.objects.create(
            leaderboard=board,
            prompt=prompt,
            model_a=old[a],
            model_b=old[b],
            a_wins=130,
            b_wins=130,
            ties=40,
        )
    with django_capture_on_commit_callbacks(execute=True):
        (newcomer,) = make_models(board, 1, prefix="late")
    items = queued(fake_redis, board.pk)
    with_newcomer = sum(newcomer.pk in (c.model_low, c.model_high) for c in items)
    assert with_newcomer >= 0.8 * len(items)  # uniform would give it half (3 of 6 pairs)


def test_it_sweeps_active_boards_on_the_beat(board: Any, fake_redis: Any) -> None:
    assert leaderboards_due_refill() == [board.pk]
    assert matchups_sweep() == 1
    assert fake_redis.llen(queue.queue_key(board.pk)) > 0


def test_it_chooses_directly_without_redis(board: Any, voter_api: APIClient, settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.VERSUS_QUEUE_REDIS_URL = ""
    assert matchups_refill(leaderboard_id=board.pk) is None
    body = next_matchup(voter_api, board).json()
    assert vote(voter_api, body["id"]).status_code == 201


def test_it_keeps_serving_and_voting_with_redis_stopped(
    board: Any, voter_api: APIClient, settings: Any
) -> None:
    """Redis on a dead port for the queue, the rate limits and the ratings debounce."""
    dead = "redis://127.0.0.1:1/0"
    settings.VERSUS_QUEUE_REDIS_URL = dead
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    page = voter_api.get(f"/leaderboards/{board.pk}/vote/")
    assert page.status_code == 200
    for _ in range(3):
        body = next_matchup(voter_api, board).json()
        assert vote(voter_api, body["id"]).status_code == 201
    # The page's way: each vote's answer carries the next pair, chosen directly.
    current = next_matchup(voter_api, board).json()["id"]
    for _ in range(2):
        answer = csrf_post(
            voter_api, f"/api/v1/matchups/{current}/vote/", {"choice": "tie", "next": True}
        )
        assert answer.status_code == 201
        current = answer.json()["next"]["id"]
    assert Vote.objects.count() == 5


def test_it_reads_only_the_pairs_it_asks_about(board: Any, fake_redis: Any) -> None:
    from django.utils import timezone

    from matchmaking.selectors import voter_history
    from matchmaking.services import matchup_issue, vote_record, voter_create

    voter = voter_create()
    pairs = []
    for _ in range(4):
        matchup = matchup_issue(leaderboard=board, voter=voter).matchup
        assert matchup is not None
        vote_record(matchup_id=matchup.pk, voter=voter, choice="left")
        pairs.append((matchup.prompt_id, matchup.model_low, matchup.model_high))
    now = timezone.now()
    assert voter_history(voter=voter, leaderboard=board, now=now).seen == set(pairs)
    asked = voter_history(voter=voter, leaderboard=board, now=now, pairs=[pairs[2], (0, 1, 2)])
    assert asked.seen == {pairs[2]}
    assert asked.open_id is None
    assert not asked.complete


def test_a_low_queue_asks_for_no_second_refill_while_one_is_chosen(
    board: Any, fake_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[bool] = []

    def choosing(*, leaderboard_id: int) -> int:
        # A voter pops below the low mark while the batch is chosen.
        asked.append(queue.refill_claim(leaderboard_id, seconds=30))
        return 0

    monkeypatch.setattr(tasks, "matchups_refill", choosing)
    assert queue.refill_claim(board.pk, seconds=30)  # as queue_refill_soon marks it
    tasks.matchups_refill_task(board.pk)
    assert asked == [False]
    assert queue.refill_claim(board.pk, seconds=30)  # cleared once the batch is in
