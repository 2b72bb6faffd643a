"""Known-answer (gold) matchups: mixed in, stored apart, and moving the voter's trust."""

from __future__ import annotations

import random
from typing import Any

import pytest
from rest_framework.test import APIClient

from evaluation.models import Model, Output, Vote
from matchmaking.models import GoldMatchup, Matchup, Voter
from matchmaking.services import matchup_issue, matchups_refill, trust_from
from tests.factories import make_leaderboard, make_models
from tests.matchmaking.conftest import browser_client, csrf_post, next_matchup, open_page, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold(board: Any, settings: Any) -> GoldMatchup:
    settings.VERSUS_GOLD_SHARE_PERCENT = 100
    prompt = board.benchmark.prompts.order_by("position").first()
    left, right = Output.objects.filter(prompt=prompt).order_by("model_id")[:2]
    return GoldMatchup.objects.create(
        leaderboard=board, prompt=prompt, left=left, right=right, expected="left"
    )


def _answer_for(matchup: Matchup, gold: GoldMatchup, *, right_answer: bool) -> str:
    on_left = matchup.left_id == gold.left_id  # the gold's expected output
    if right_answer:
        return "left" if on_left else "right"
    return "right" if on_left else "left"


def test_it_mixes_in_a_gold_matchup(board: Any, gold: GoldMatchup, voter_api: APIClient) -> None:
    matchup = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    assert matchup.gold_id == gold.pk
    assert {matchup.left_id, matchup.right_id} == {gold.left_id, gold.right_id}


def test_it_serves_a_gold_matchup_once_per_voter(
    board: Any, gold: GoldMatchup, voter_api: APIClient
) -> None:
    first = next_matchup(voter_api, board).json()["id"]
    vote(voter_api, first)
    second = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    assert second.gold_id is None


@pytest.mark.parametrize("right_answer", [True, False])
def test_it_moves_trust_with_gold_answers(
    board: Any, gold: GoldMatchup, voter_api: APIClient, right_answer: bool
) -> None:
    matchup = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    choice = _answer_for(matchup, gold, right_answer=right_answer)
    assert vote(voter_api, matchup.pk, choice).status_code == 201
    voter = Voter.objects.get(pk=matchup.voter_id)
    assert voter.gold_seen == 1
    assert voter.gold_correct == int(right_answer)
    assert voter.trust == pytest.approx(trust_from(gold_seen=1, gold_correct=int(right_answer)))
    assert Vote.objects.get().excluded == Vote.Excluded.GOLD


def test_it_flags_later_votes_once_trust_falls_below_the_threshold(
    board: Any, gold: GoldMatchup, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_TRUST_THRESHOLD_PERCENT = 80  # one wrong gold answer: trust 0.75
    matchup = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    vote(voter_api, matchup.pk, _answer_for(matchup, gold, right_answer=False))
    settings.VERSUS_GOLD_SHARE_PERCENT = 0
    later = next_matchup(voter_api, board).json()["id"]
    assert vote(voter_api, later).status_code == 201
    assert Vote.objects.get(matchup_id=later).excluded == Vote.Excluded.LOW_TRUST


def test_it_keeps_trust_for_right_answers(board: Any, settings: Any) -> None:
    assert trust_from(gold_seen=0, gold_correct=0) == 1.0
    assert trust_from(gold_seen=5, gold_correct=5) == 1.0
    assert trust_from(gold_seen=4, gold_correct=0) < 0.5


def test_it_refuses_a_gold_pair_of_one_model(board: Any) -> None:
    from django.core.exceptions import ValidationError

    output = Output.objects.order_by("id").first()
    assert output is not None
    other_prompt = Output.objects.filter(model=output.model).exclude(pk=output.pk).first()
    assert other_prompt is not None
    gold = GoldMatchup(
        leaderboard=board, prompt=output.prompt, left=output, right=other_prompt, expected="left"
    )
    with pytest.raises(ValidationError) as error:
        gold.clean()
    assert "right" in error.value.message_dict


class FixedRoll(random.Random):
    """A generator whose every roll is `value`: decides the gold draw without chance."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_it_checks_newcomers_more_often_than_veterans(
    board: Any, gold: GoldMatchup, settings: Any
) -> None:
    settings.VERSUS_GOLD_SHARE_PERCENT = 5
    newcomer = Voter.objects.create(session_key="newcomer")
    veteran = Voter.objects.create(session_key="veteran", gold_seen=2, gold_correct=2)
    roll = FixedRoll(0.1)  # above the 5% share, below the newcomers' 25%
    assert matchup_issue(leaderboard=board, voter=newcomer, rng=roll).matchup.gold_id == gold.pk
    assert matchup_issue(leaderboard=board, voter=veteran, rng=roll).matchup.gold_id is None
    other = Voter.objects.create(session_key="another veteran", gold_seen=2, gold_correct=2)
    assert matchup_issue(leaderboard=board, voter=other, rng=FixedRoll(0.01)).matchup.gold_id


def test_it_serves_no_gold_when_golds_are_off(board: Any, gold: GoldMatchup, settings: Any) -> None:
    settings.VERSUS_GOLD_SHARE_PERCENT = 0
    newcomer = Voter.objects.create(session_key="newcomer")
    assert (
        matchup_issue(leaderboard=board, voter=newcomer, rng=FixedRoll(0.0)).matchup.gold_id is None
    )


def test_it_serves_no_gold_check_of_a_deactivated_model(
    board: Any, gold: GoldMatchup, settings: Any
) -> None:
    Model.objects.filter(pk=gold.right.model_id).update(is_active=False)
    newcomer = Voter.objects.create(session_key="newcomer")
    matchup = matchup_issue(leaderboard=board, voter=newcomer, rng=FixedRoll(0.0)).matchup
    assert matchup is not None  # a regular pair of the two active models instead
    assert matchup.gold_id is None
    assert gold.right.model_id not in (matchup.model_low, matchup.model_high)


def test_it_serves_no_gold_check_on_a_prompt_the_board_leaves_out(
    owner: Any, settings: Any
) -> None:
    settings.VERSUS_GOLD_SHARE_PERCENT = 100
    board = make_leaderboard(
        owner, name="tagged", tags=[["landscape"], ["city"]], excluded_tags=["city"]
    )
    make_models(board, 2)
    outside = board.benchmark.prompts.get(text__contains="city")
    left, right = Output.objects.filter(prompt=outside).order_by("model_id")
    GoldMatchup.objects.create(
        leaderboard=board, prompt=outside, left=left, right=right, expected="left"
    )
    newcomer = Voter.objects.create(session_key="newcomer")
    matchup = matchup_issue(leaderboard=board, voter=newcomer, rng=FixedRoll(0.0)).matchup
    assert matchup is not None
    assert matchup.gold_id is None
    assert matchup.prompt_id != outside.pk


def test_a_vote_asking_for_its_next_matchup_draws_gold_once(
    board: Any, gold: GoldMatchup, settings: Any, fake_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rate limits may pop the next candidate ahead only if the request's gold draw allows
    it; the same draw then decides the gold check. A second draw would serve newcomers one in
    sixteen checks instead of one in four."""
    settings.VERSUS_RATE_VOTER = settings.VERSUS_RATE_IP = "1000/min"
    settings.VERSUS_QUEUE_LOW = 0
    matchups_refill(leaderboard_id=board.pk, seed=7)
    settings.VERSUS_GOLD_SHARE_PERCENT = 0  # the page's own matchup is a plain one
    client = browser_client()
    first = int(open_page(client, board).context["matchup"]["id"])
    settings.VERSUS_GOLD_SHARE_PERCENT = 5
    draws = iter([0.1] + [0.9] * 20)  # a newcomer's check, then anything but
    monkeypatch.setattr(random, "random", lambda: next(draws))
    answer = csrf_post(client, f"/api/v1/matchups/{first}/vote/", {"choice": "left", "next": True})
    assert answer.status_code == 201
    assert Matchup.objects.get(pk=answer.json()["next"]["id"]).gold_id == gold.pk
