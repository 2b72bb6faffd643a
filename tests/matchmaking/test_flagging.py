"""Flagging a voter, and a voter's trust falling: their past votes leave the ratings too."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config.errors import NotFound
from evaluation.models import Output, RatingSnapshot, Vote
from evaluation.services.ratings import ratings_recompute
from leaderboards.models import Leaderboard
from matchmaking.models import Voter
from matchmaking.services import (
    matchup_issue,
    vote_record,
    voter_create,
    voter_flag,
    voter_trust_apply,
)
from tests.factories import votes_in_pair_counts

pytestmark = pytest.mark.django_db


def cast(board: Leaderboard, voter: Voter, count: int, choice: str = "left") -> list[Vote]:
    votes = []
    for _ in range(count):
        matchup = matchup_issue(leaderboard=board, voter=voter).matchup
        assert matchup is not None
        votes.append(vote_record(matchup_id=matchup.pk, voter=voter, choice=choice))
    return votes


def reasons(votes: list[Vote]) -> list[str]:
    return [Vote.objects.get(pk=v.pk).excluded for v in votes]


def test_it_takes_a_flagged_voters_counted_votes_out_of_the_ratings(
    board: Any, django_capture_on_commit_callbacks: Any
) -> None:
    abuser, honest = voter_create(), voter_create()
    bad = cast(board, abuser, 3)
    cast(board, honest, 2)
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 5
    assert votes_in_pair_counts(board) == 5

    # The refresh queued after commit runs at once (eager Celery) and republishes.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert voter_flag(voter_id=abuser.pk) == 3
    assert len(callbacks) == 1
    assert Voter.objects.get(pk=abuser.pk).is_flagged
    assert reasons(bad) == [Vote.Excluded.FLAGGED] * 3
    latest = RatingSnapshot.objects.filter(leaderboard=board).latest()
    assert (latest.vote_count, latest.excluded_count) == (2, 3)
    assert votes_in_pair_counts(board) == 2


def test_it_counts_them_again_when_the_flag_is_lifted(board: Any) -> None:
    abuser = voter_create()
    votes = cast(board, abuser, 3)
    ratings_recompute(leaderboard_id=board.pk)
    voter_flag(voter_id=abuser.pk)
    ratings_recompute(leaderboard_id=board.pk)
    assert votes_in_pair_counts(board) == 0

    assert voter_flag(voter_id=abuser.pk, flagged=False) == 3
    assert not Voter.objects.get(pk=abuser.pk).is_flagged
    assert reasons(votes) == [Vote.Excluded.COUNTED] * 3
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 3
    assert votes_in_pair_counts(board) == 3


def test_it_leaves_votes_excluded_for_other_reasons_as_they_are(board: Any) -> None:
    voter = voter_create()
    operator, gold, fast, plain = cast(board, voter, 4)
    Vote.objects.filter(pk=operator.pk).update(excluded=Vote.Excluded.OPERATOR)
    Vote.objects.filter(pk=gold.pk).update(excluded=Vote.Excluded.GOLD)
    Vote.objects.filter(pk=fast.pk).update(excluded=Vote.Excluded.TOO_FAST)

    assert voter_flag(voter_id=voter.pk) == 1
    assert reasons([operator, gold, fast, plain]) == ["operator", "gold", "too_fast", "flagged"]
    assert voter_flag(voter_id=voter.pk, flagged=False) == 1
    assert reasons([operator, gold, fast, plain]) == ["operator", "gold", "too_fast", ""]


def test_it_counts_votes_cast_while_flagged_once_unflagged_unless_too_fast(
    board: Any, settings: Any
) -> None:
    voter = voter_create()
    voter_flag(voter_id=voter.pk)
    slow, quick = cast(board, voter, 2)
    assert reasons([slow, quick]) == [Vote.Excluded.FLAGGED] * 2
    Vote.objects.filter(pk=slow.pk).update(view_ms=5000)
    Vote.objects.filter(pk=quick.pk).update(view_ms=100)
    settings.VERSUS_MIN_VIEW_MS = 800

    voter_flag(voter_id=voter.pk, flagged=False)
    assert reasons([slow, quick]) == [Vote.Excluded.COUNTED, Vote.Excluded.TOO_FAST]


def test_it_keeps_an_unflagged_voter_below_the_trust_threshold_out(board: Any) -> None:
    voter = voter_create()
    votes = cast(board, voter, 2)
    voter_flag(voter_id=voter.pk)
    Voter.objects.filter(pk=voter.pk).update(trust=0.2)
    voter_flag(voter_id=voter.pk, flagged=False)
    assert reasons(votes) == [Vote.Excluded.LOW_TRUST] * 2


def test_it_changes_nothing_when_flagged_twice_and_catches_a_late_vote(board: Any) -> None:
    voter = voter_create()
    (first,) = cast(board, voter, 1)
    assert voter_flag(voter_id=voter.pk) == 1
    assert voter_flag(voter_id=voter.pk) == 0
    # A vote that read the voter before the flag committed is stored as counted.
    (late,) = cast(board, voter, 1)
    Vote.objects.filter(pk=late.pk).update(excluded=Vote.Excluded.COUNTED)
    assert voter_flag(voter_id=voter.pk) == 1
    assert reasons([first, late]) == [Vote.Excluded.FLAGGED] * 2


def test_it_answers_not_found_for_an_unknown_voter(db: None) -> None:
    with pytest.raises(NotFound, match="voter 999999 does not exist"):
        voter_flag(voter_id=999999)


def test_it_leaves_out_past_votes_once_trust_falls_and_restores_them_when_it_recovers(
    board: Any, settings: Any
) -> None:
    settings.VERSUS_TRUST_THRESHOLD_PERCENT = 60
    voter = voter_create()
    votes = cast(board, voter, 3)
    Vote.objects.filter(pk=votes[0].pk).update(excluded=Vote.Excluded.OPERATOR)
    ratings_recompute(leaderboard_id=board.pk)

    Voter.objects.filter(pk=voter.pk).update(trust=0.5, gold_seen=3, gold_correct=0)
    assert voter_trust_apply(voter_id=voter.pk) == 2
    assert reasons(votes) == ["operator", "low_trust", "low_trust"]
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 0

    Voter.objects.filter(pk=voter.pk).update(trust=0.75)
    assert voter_trust_apply(voter_id=voter.pk) == 2
    assert reasons(votes) == ["operator", "", ""]
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 2


def test_a_wrong_gold_answer_takes_the_voters_earlier_votes_out(board: Any, settings: Any) -> None:
    from matchmaking.models import GoldMatchup
    from matchmaking.services import matchup_issue, vote_record

    settings.VERSUS_TRUST_THRESHOLD_PERCENT = 80  # one wrong gold answer: trust 0.75
    voter = voter_create()
    votes = cast(board, voter, 2)
    assert reasons(votes) == ["", ""]
    seen = set(voter.matchups.values_list("prompt_id", "model_low", "model_high"))
    left, right = next(
        (a, b)
        for a in Output.objects.filter(model__benchmark=board.benchmark)
        for b in Output.objects.filter(prompt_id=a.prompt_id, model_id__gt=a.model_id)
        if (a.prompt_id, a.model_id, b.model_id) not in seen
    )
    GoldMatchup.objects.create(
        leaderboard=board, prompt_id=left.prompt_id, left=left, right=right, expected="tie"
    )
    settings.VERSUS_GOLD_SHARE_PERCENT = 100
    gold = matchup_issue(leaderboard=board, voter=voter).matchup
    assert gold is not None
    assert gold.gold_id is not None
    vote_record(matchup_id=gold.pk, voter=voter, choice="left")

    assert reasons(votes) == [Vote.Excluded.LOW_TRUST] * 2
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 0


def test_it_leaves_a_flagged_voters_votes_flagged_whatever_their_trust(board: Any) -> None:
    voter = voter_create()
    votes = cast(board, voter, 2)
    voter_flag(voter_id=voter.pk)
    Voter.objects.filter(pk=voter.pk).update(trust=0.1)
    assert voter_trust_apply(voter_id=voter.pk) == 0
    Voter.objects.filter(pk=voter.pk).update(trust=1.0)
    assert voter_trust_apply(voter_id=voter.pk) == 0
    assert reasons(votes) == [Vote.Excluded.FLAGGED] * 2


@pytest.fixture
def operator_client(db: None) -> Client:
    user = get_user_model().objects.create_superuser("operator", password="operator-pass-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("action", "flagged", "reason"),
    [("flag", True, "flagged"), ("unflag", False, "")],
)
def test_the_admin_actions_go_through_the_service(
    board: Any, operator_client: Client, action: str, flagged: bool, reason: str
) -> None:
    voter = voter_create()
    votes = cast(board, voter, 2)
    if not flagged:
        voter_flag(voter_id=voter.pk)
    response = operator_client.post(
        "/admin/matchmaking/voter/",
        {"action": action, "_selected_action": [voter.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert Voter.objects.get(pk=voter.pk).is_flagged is flagged
    assert reasons(votes) == [reason] * 2
    assert "2 of their votes" in response.content.decode()


def test_the_admin_does_not_edit_the_flag_or_trust_directly(
    board: Any, operator_client: Client
) -> None:
    voter = voter_create()
    html = operator_client.get(f"/admin/matchmaking/voter/{voter.pk}/change/").content.decode()
    assert 'name="is_flagged"' not in html
    assert 'name="trust"' not in html


def test_the_vote_admin_does_not_count_a_flagged_voters_vote_again(
    board: Any, operator_client: Client
) -> None:
    abuser, honest = voter_create(), voter_create()
    (flagged,) = cast(board, abuser, 1)
    (excluded,) = cast(board, honest, 1)
    voter_flag(voter_id=abuser.pk)
    Vote.objects.filter(pk=excluded.pk).update(excluded=Vote.Excluded.OPERATOR)
    response = operator_client.post(
        "/admin/evaluation/vote/",
        {"action": "include_votes", "_selected_action": [flagged.pk, excluded.pk]},
        follow=True,
    )
    assert "1 vote(s) of flagged voters stay excluded" in response.content.decode()
    assert reasons([flagged, excluded]) == [Vote.Excluded.FLAGGED, Vote.Excluded.COUNTED]


@pytest.mark.parametrize(
    ("voter_change", "reason"),
    [({"is_flagged": True}, Vote.Excluded.FLAGGED), ({"trust": 0.1}, Vote.Excluded.LOW_TRUST)],
)
def test_the_rater_excludes_a_vote_that_raced_with_its_voters_flag_or_trust(
    board: Any, voter_change: dict[str, Any], reason: str
) -> None:
    voter = voter_create()
    votes = cast(board, voter, 2)
    # As if the flag (or the lower trust) committed just after the votes read the voter row,
    # and after the relabelling had looked at the voter's votes.
    Voter.objects.filter(pk=voter.pk).update(**voter_change)
    assert reasons(votes) == ["", ""]
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 0
    assert reasons(votes) == [reason, reason]


def test_the_vote_admin_exclusion_reaches_the_standings_by_itself(
    board: Any, operator_client: Client
) -> None:
    voter = voter_create()
    votes = cast(board, voter, 3)
    assert ratings_recompute(leaderboard_id=board.pk).vote_count == 3
    response = operator_client.post(
        "/admin/evaluation/vote/",
        {"action": "exclude_votes", "_selected_action": [votes[0].pk]},
        follow=True,
    )
    assert "Excluded 1 vote(s)" in response.content.decode()
    # The refresh it queued ran (eager Celery) and published the standings without that vote.
    latest = RatingSnapshot.objects.filter(leaderboard=board).latest("created")
    assert latest.vote_count == 2
