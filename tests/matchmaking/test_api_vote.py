"""POST /api/v1/matchups/<id>/vote/: one vote per issued matchup, before it expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.http import Http404, QueryDict
from django.utils import timezone
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from evaluation.models import Vote
from matchmaking import api
from matchmaking.models import Matchup
from matchmaking.services import vote_record
from tests.matchmaking.conftest import browser_client, csrf_post, next_matchup, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(board: Any, voter_api: APIClient) -> int:
    return int(next_matchup(voter_api, board).json()["id"])


def test_it_records_a_vote(issued: int, voter_api: APIClient) -> None:
    response = vote(voter_api, issued, "right")
    assert response.status_code == 201
    stored = Vote.objects.get()
    matchup = Matchup.objects.get(pk=issued)
    assert stored.matchup_id == issued
    assert stored.choice == "right"
    assert stored.voter_id == matchup.voter_id
    assert (stored.left_model_id, stored.right_model_id) == (
        matchup.left.model_id,
        matchup.right.model_id,
    )
    assert stored.prompt_id == matchup.prompt_id
    assert stored.excluded == ""
    assert stored.view_ms is not None
    assert matchup.closed_at is not None
    assert response.json()["id"] == stored.pk


def test_it_reveals_the_models_after_the_vote_when_the_board_does(
    issued: int, voter_api: APIClient
) -> None:
    matchup = Matchup.objects.get(pk=issued)
    models = vote(voter_api, issued).json()["models"]
    assert models == {"left": matchup.left.model.name, "right": matchup.right.model.name}


def test_it_keeps_the_models_hidden_when_the_board_does(
    board: Any, issued: int, voter_api: APIClient
) -> None:
    type(board).objects.filter(pk=board.pk).update(reveal_models=False)
    assert vote(voter_api, issued).json()["models"] is None


@pytest.mark.parametrize("choice", ["left", "right", "tie", "both_bad"])
def test_it_accepts_each_choice(issued: int, voter_api: APIClient, choice: str) -> None:
    assert vote(voter_api, issued, choice).status_code == 201
    assert Vote.objects.get().choice == choice


def test_it_refuses_a_vote_on_someone_elses_matchup(issued: int) -> None:
    stranger = browser_client()
    next_matchup(stranger, Matchup.objects.get(pk=issued).leaderboard)  # a session and token
    response = vote(stranger, issued)
    assert response.status_code == 404
    assert not Vote.objects.exists()


def test_it_refuses_a_second_vote_on_the_same_matchup(issued: int, voter_api: APIClient) -> None:
    assert vote(voter_api, issued).status_code == 201
    again = vote(voter_api, issued, "right")
    assert again.status_code == 409
    assert again.json()["code"] == "already_voted"
    assert Vote.objects.count() == 1
    assert Vote.objects.get().choice == "left"


def test_it_refuses_an_expired_matchup(issued: int, voter_api: APIClient) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Matchup.objects.filter(pk=issued).update(issued_at=past - timedelta(hours=1), expires_at=past)
    response = vote(voter_api, issued)
    assert response.status_code == 410
    assert response.json()["code"] == "matchup_expired"
    assert not Vote.objects.exists()


def test_it_serves_a_new_matchup_after_one_expired(
    board: Any, issued: int, voter_api: APIClient
) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Matchup.objects.filter(pk=issued).update(issued_at=past - timedelta(hours=1), expires_at=past)
    assert next_matchup(voter_api, board).json()["id"] != issued


def test_it_names_the_allowed_choices_for_an_unknown_one(issued: int, voter_api: APIClient) -> None:
    response = vote(voter_api, issued, "middle")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["choice"]
    for allowed in ("left", "right", "tie", "both_bad"):
        assert allowed in body["detail"]
    assert not Vote.objects.exists()


def test_it_refuses_a_vote_without_the_csrf_token(issued: int, voter_api: APIClient) -> None:
    response = voter_api.post(f"/api/v1/matchups/{issued}/vote/", {"choice": "left"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_it_refuses_a_vote_with_a_wrong_csrf_token(issued: int, voter_api: APIClient) -> None:
    response = voter_api.post(
        f"/api/v1/matchups/{issued}/vote/",
        {"choice": "left"},
        format="json",
        HTTP_X_CSRFTOKEN="x" * 64,
    )
    assert response.status_code == 403


def test_it_answers_404_for_an_unknown_matchup(voter_api: APIClient, board: Any) -> None:
    next_matchup(voter_api, board)
    assert vote(voter_api, 987654).status_code == 404


@pytest.mark.parametrize("wants_next", [False, True], ids=["vote", "vote and next"])
def test_it_answers_404_for_an_id_no_matchup_can_have(
    issued: int, voter_api: APIClient, wants_next: bool
) -> None:
    too_big = 2**63
    response = csrf_post(
        voter_api, f"/api/v1/matchups/{too_big}/vote/", {"choice": "left", "next": wants_next}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "matchup_not_found"
    assert str(too_big) in response.json()["detail"]
    assert not Vote.objects.exists()
    assert Matchup.objects.get(pk=issued).closed_at is None


def test_it_flags_a_vote_cast_faster_than_the_minimum_view_time(
    issued: int, voter_api: APIClient, settings: Any
) -> None:
    settings.VERSUS_MIN_VIEW_MS = 60_000
    assert vote(voter_api, issued).status_code == 201
    assert Vote.objects.get().excluded == Vote.Excluded.TOO_FAST


def test_it_measures_view_time_on_the_server_clock(issued: int) -> None:
    matchup = Matchup.objects.get(pk=issued)
    stored = vote_record(
        matchup_id=issued,
        voter=matchup.voter,
        choice="tie",
        now=matchup.issued_at + timedelta(seconds=3),
    )
    assert stored.view_ms == 3000
    assert stored.created == matchup.issued_at + timedelta(seconds=3)


def test_it_flags_votes_of_a_low_trust_voter(issued: int, voter_api: APIClient) -> None:
    voter = Matchup.objects.get(pk=issued).voter
    type(voter).objects.filter(pk=voter.pk).update(trust=0.2)
    assert vote(voter_api, issued).status_code == 201
    assert Vote.objects.get().excluded == Vote.Excluded.LOW_TRUST


def test_it_flags_votes_of_a_voter_an_operator_flagged(issued: int, voter_api: APIClient) -> None:
    voter = Matchup.objects.get(pk=issued).voter
    type(voter).objects.filter(pk=voter.pk).update(is_flagged=True)
    assert vote(voter_api, issued).status_code == 201
    assert Vote.objects.get().excluded == Vote.Excluded.FLAGGED


def test_it_queues_a_ratings_refresh_after_commit(
    issued: int, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    asked: list[int] = []
    monkeypatch.setattr("evaluation.tasks.ratings_refresh_soon", asked.append)
    matchup = Matchup.objects.get(pk=issued)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        vote_record(matchup_id=issued, voter=matchup.voter, choice="left")
    assert asked == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert asked == [matchup.leaderboard_id]


def test_it_records_the_vote_when_the_broker_is_down(
    issued: int, voter_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr("evaluation.tasks.ratings_refresh.apply_async", broken)
    monkeypatch.setattr("evaluation.tasks.ratings_refresh.delay", broken)
    assert vote(voter_api, issued).status_code == 201
    assert Vote.objects.count() == 1


def test_it_refuses_votes_on_an_inactive_board(
    board: Any, issued: int, voter_api: APIClient
) -> None:
    type(board).objects.filter(pk=board.pk).update(is_active=False)
    assert vote(voter_api, issued).status_code == 410
    assert not Vote.objects.exists()


def test_it_reports_an_output_and_moves_on(board: Any, issued: int, voter_api: APIClient) -> None:
    from evaluation.models import OutputReport

    response = csrf_post(
        voter_api, f"/api/v1/matchups/{issued}/report/", {"side": "right", "reason": "broken"}
    )
    assert response.status_code == 201
    matchup = Matchup.objects.get(pk=issued)
    report = OutputReport.objects.get()
    assert report.output_id == matchup.right_id
    assert report.reason == "broken"
    assert matchup.closed_at is not None
    assert vote(voter_api, issued).status_code == 410
    assert next_matchup(voter_api, board).json()["id"] != issued


def test_it_names_the_allowed_sides_of_a_report(issued: int, voter_api: APIClient) -> None:
    response = csrf_post(voter_api, f"/api/v1/matchups/{issued}/report/", {"side": "up"})
    assert response.status_code == 400
    assert "left or right" in response.json()["detail"]


def test_it_refuses_a_report_on_someone_elses_matchup(issued: int) -> None:
    stranger = browser_client()
    next_matchup(stranger, Matchup.objects.get(pk=issued).leaderboard)
    response = csrf_post(stranger, f"/api/v1/matchups/{issued}/report/", {"side": "left"})
    assert response.status_code == 404


def vote_and_next(client: APIClient, matchup_id: int, choice: str = "left") -> Any:
    return csrf_post(
        client, f"/api/v1/matchups/{matchup_id}/vote/", {"choice": choice, "next": True}
    )


def test_it_returns_the_next_matchup_with_the_vote_when_asked(
    board: Any, issued: int, voter_api: APIClient
) -> None:
    body = vote_and_next(voter_api, issued, "tie").json()
    assert Vote.objects.get().choice == "tie"
    shown = body["next"]
    assert body["next_reason"] == ""
    assert set(shown) >= {"id", "instruction", "prompt", "left", "right"}
    assert shown["left"]["kind"] == "image"
    assert shown["left"]["url"].startswith("/media/o/")
    nxt = Matchup.objects.get(pk=shown["id"])
    voted = Matchup.objects.get(pk=issued)
    assert nxt.voter == voted.voter
    assert (nxt.prompt_id, nxt.model_low, nxt.model_high) != (
        voted.prompt_id,
        voted.model_low,
        voted.model_high,
    )
    # It is the voter's open matchup now: asking for the next one gives it again.
    assert next_matchup(voter_api, board).json()["id"] == shown["id"]


def test_it_names_no_model_in_the_next_matchup(issued: int, voter_api: APIClient) -> None:
    from evaluation.models import Model

    body = vote_and_next(voter_api, issued).json()
    shown = str(body["next"])
    for name in Model.objects.values_list("name", flat=True):
        assert name not in shown


def test_it_leaves_the_next_matchup_out_unless_asked(issued: int, voter_api: APIClient) -> None:
    body = vote(voter_api, issued).json()
    assert "next" not in body
    assert Matchup.objects.count() == 1


def test_it_says_when_there_is_no_next_matchup(owner: Any, voter_api: APIClient) -> None:
    from tests.factories import make_leaderboard, make_models

    board = make_leaderboard(owner, name="one pair", prompts=["only prompt"])
    make_models(board, 2)
    only = next_matchup(voter_api, board).json()["id"]
    body = vote_and_next(voter_api, only).json()
    assert body["next"] is None
    assert body["next_reason"] == "all_seen"
    assert Vote.objects.count() == 1


def test_it_serves_no_next_matchup_of_a_board_made_private(
    board: Any, issued: int, voter_api: APIClient
) -> None:
    type(board.benchmark).objects.filter(pk=board.benchmark_id).update(is_public=False)
    response = vote_and_next(voter_api, issued)
    assert response.status_code == 201  # the vote was issued while the board was public
    assert response.json()["next"] is None
    assert response.json()["next_reason"] == "closed"
    assert Matchup.objects.count() == 1


def test_it_names_the_allowed_values_of_next(issued: int, voter_api: APIClient) -> None:
    response = csrf_post(
        voter_api, f"/api/v1/matchups/{issued}/vote/", {"choice": "left", "next": "soon"}
    )
    assert response.status_code == 400
    assert response.json()["errors"]["next"]
    assert "true or false" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_it_reads_the_voters_trust_when_the_vote_arrives(issued: int, voter_api: APIClient) -> None:
    """Flagged between serving and voting: the vote is stored and left out."""
    Matchup.objects.get(pk=issued).voter.__class__.objects.update(is_flagged=True)
    assert vote_and_next(voter_api, issued).status_code == 201
    assert Vote.objects.get().excluded == Vote.Excluded.FLAGGED


PLAIN_BODIES = [
    {"choice": "left"},
    {"choice": "tie", "next": True},
    {"choice": "both_bad", "next": False},
    QueryDict("choice=right"),
]
ODD_BODIES = [
    {"choice": "LEFT"},
    {"choice": 1},
    {"choice": ["left"]},
    {"choice": "left", "next": "true"},
    {"choice": "left", "next": 1},
    {"choice": "left", "next": None},
    QueryDict("choice=right&next=true"),
    {},
    [],
    "left",
]


@pytest.mark.parametrize("body", PLAIN_BODIES + ODD_BODIES, ids=repr)
def test_a_vote_body_read_without_the_serializer_reads_as_the_serializer_would(body: Any) -> None:
    """The view reads the usual bodies without building `VoteIn` (`api._plain_vote_in`);
    anything else goes to the serializer, which accepts it as it is or explains."""
    plain = api._plain_vote_in(body)
    assert (plain is not None) == (body in PLAIN_BODIES)
    if plain is not None:
        serializer = api.VoteIn(data=body)
        assert serializer.is_valid(), serializer.errors
        assert dict(serializer.validated_data) == plain


ACCEPTS = [None, "*/*", "application/json", "text/html", "application/json; indent=4", "*/*;q=0.8"]


@pytest.mark.parametrize("query", ["", "format=json", "format=api"])
@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("browsable", [False, True], ids=["production", "development"])
def test_voting_views_pick_the_renderer_drf_would(accept: Any, query: str, browsable: bool) -> None:
    """`VotingNegotiation` answers the usual requests without DRF's header parsing, and
    agrees with DRF's own negotiation on every request, refusals (404, 406) included."""
    renderers = [JSONRenderer()] + ([BrowsableAPIRenderer()] if browsable else [])
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().post(f"/api/v1/matchups/1/vote/?{query}", **headers))

    def chosen(negotiation: Any) -> Any:
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except NotAcceptable:
            return "406"
        except Http404:  # a ?format= no renderer has
            return "404"
        return type(renderer), media_type

    assert chosen(api.VotingNegotiation()) == chosen(DefaultContentNegotiation())


def test_a_vote_that_accepts_no_json_is_refused_and_not_stored(
    issued: int, voter_api: APIClient
) -> None:
    token = voter_api.cookies["csrftoken"].value
    response = voter_api.post(
        f"/api/v1/matchups/{issued}/vote/",
        {"choice": "left"},
        format="json",
        HTTP_X_CSRFTOKEN=token,
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 406
    assert not Vote.objects.exists()
