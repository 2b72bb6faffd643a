"""GET /api/v1/leaderboards/<id>/matchups/next/: a blinded pair for this voter, or 204."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from evaluation.models import Model, Output
from matchmaking.identity import BOARD_COOKIE
from matchmaking.models import Matchup
from tests.factories import make_leaderboard, make_models
from tests.matchmaking.conftest import browser_client, next_matchup, vote

pytestmark = pytest.mark.django_db


def test_it_serves_a_blinded_pair_of_one_prompt(board: Any, voter_api: APIClient) -> None:
    response = next_matchup(voter_api, board)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id",
        "instruction",
        "prompt",
        "prompt_asset",
        "left",
        "right",
        "expires_at",
    }
    assert body["instruction"] == board.instruction
    assert body["left"]["kind"] == body["right"]["kind"] == "image"
    matchup = Matchup.objects.get(pk=body["id"])
    assert body["left"]["url"] == f"/media/o/{matchup.left.public_id}"
    assert body["right"]["url"] == f"/media/o/{matchup.right.public_id}"
    assert matchup.left.prompt_id == matchup.right.prompt_id == matchup.prompt_id
    assert matchup.left.model_id != matchup.right.model_id
    assert body["prompt"] == matchup.prompt.text


def test_it_names_no_model_before_the_vote(board: Any, voter_api: APIClient) -> None:
    text = next_matchup(voter_api, board).content.decode()
    for model in Model.objects.all():
        assert model.name not in text
    body = json.loads(text)
    matchup = Matchup.objects.get(pk=body["id"])
    for side in ("left", "right"):
        assert set(body[side]) == {"kind", "url"}  # no size, dimensions, file name or ids
    assert body["left"]["url"] == f"/media/o/{matchup.left.public_id}"  # random, not the model
    assert matchup.left.file.name not in text


def test_it_serves_media_without_names_or_etags(board: Any, voter_api: APIClient) -> None:
    body = next_matchup(voter_api, board).json()
    media = voter_api.get(body["left"]["url"])
    assert media.status_code == 200
    assert "ETag" not in media
    assert "Content-Disposition" not in media
    assert "Last-Modified" not in media


def test_it_hides_the_prompt_when_the_board_does(owner: Any, voter_api: APIClient) -> None:
    board = make_leaderboard(owner, name="hidden", show_prompt=False)
    make_models(board, 2)
    assert next_matchup(voter_api, board).json()["prompt"] is None


def test_it_serves_text_outputs_inline(owner: Any, voter_api: APIClient) -> None:
    from evaluation.services import model_submit
    from tests.factories import PROMPTS

    board = make_leaderboard(owner, name="texts")
    for name in ("a", "b"):
        model_submit(
            benchmark=board.benchmark,
            owner=owner,
            name=name,
            prompts=PROMPTS,
            texts=[f"{name} answer {k}" for k in range(2)],
            data_type="text",
        )
    body = next_matchup(voter_api, board).json()
    assert body["left"]["kind"] == "text"
    assert body["left"]["url"] is None
    assert "answer" in body["left"]["text"]


def test_it_gives_the_open_matchup_again_until_it_is_voted(
    board: Any, voter_api: APIClient
) -> None:
    first = next_matchup(voter_api, board).json()["id"]
    assert next_matchup(voter_api, board).json()["id"] == first
    assert vote(voter_api, first).status_code == 201
    assert next_matchup(voter_api, board).json()["id"] != first


def test_it_never_shows_a_voter_the_same_pair_on_the_same_prompt_twice(
    board: Any, voter_api: APIClient
) -> None:
    seen = set()
    for _ in range(6):  # 3 pairs x 2 prompts
        body = next_matchup(voter_api, board).json()
        matchup = Matchup.objects.get(pk=body["id"])
        seen.add((matchup.prompt_id, matchup.model_low, matchup.model_high))
        assert vote(voter_api, body["id"]).status_code == 201
    assert len(seen) == 6
    done = next_matchup(voter_api, board)
    assert done.status_code == 204
    assert done["Versus-Reason"] == "all_seen"


def test_it_serves_another_voter_the_pairs_the_first_has_seen(
    board: Any, voter_api: APIClient
) -> None:
    for _ in range(6):
        vote(voter_api, next_matchup(voter_api, board).json()["id"])
    assert next_matchup(browser_client(), board).status_code == 200


def test_it_answers_204_when_fewer_than_two_models_share_a_prompt(
    owner: Any, voter_api: APIClient
) -> None:
    board = make_leaderboard(owner, name="lonely")
    make_models(board, 1)
    response = next_matchup(voter_api, board)
    assert response.status_code == 204
    assert response["Versus-Reason"] == "nothing_to_compare"
    assert not Matchup.objects.exists()


def test_it_only_uses_prompts_the_board_tags_allow(owner: Any, voter_api: APIClient) -> None:
    board = make_leaderboard(
        owner, name="tagged", tags=[["keep"], ["drop"]], excluded_tags=("drop",)
    )
    make_models(board, 3)
    allowed = board.benchmark.prompts.get(tags=["keep"])
    for _ in range(3):
        body = next_matchup(voter_api, board).json()
        assert Matchup.objects.get(pk=body["id"]).prompt_id == allowed.pk
        vote(voter_api, body["id"])
    assert next_matchup(voter_api, board).status_code == 204


def test_it_leaves_inactive_models_out(board: Any, voter_api: APIClient) -> None:
    gone = Model.objects.order_by("id").first()
    assert gone is not None
    Model.objects.filter(pk=gone.pk).update(is_active=False)
    for _ in range(2):  # one pair left, on two prompts
        body = next_matchup(voter_api, board).json()
        matchup = Matchup.objects.get(pk=body["id"])
        assert gone.pk not in (matchup.model_low, matchup.model_high)
        vote(voter_api, body["id"])
    assert next_matchup(voter_api, board).status_code == 204


def test_it_hides_a_private_board_from_strangers(owner: Any, voter_api: APIClient) -> None:
    board = make_leaderboard(owner, name="private", is_public=False)
    make_models(board, 2)
    assert next_matchup(voter_api, board).status_code == 404
    owner_client = APIClient()
    owner_client.force_login(owner)
    assert next_matchup(owner_client, board).status_code == 200


def test_it_answers_404_for_an_unknown_board(voter_api: APIClient) -> None:
    response = voter_api.get("/api/v1/leaderboards/999999/matchups/next/")
    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


@pytest.mark.parametrize("board_id", [2**63, 10**30], ids=["one past bigint", "30 digits"])
def test_it_answers_404_for_an_id_no_board_can_have(voter_api: APIClient, board_id: int) -> None:
    response = voter_api.get(f"/api/v1/leaderboards/{board_id}/matchups/next/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert str(board_id) in response.json()["detail"]


@pytest.mark.parametrize("hint", ["²", "1³"])
def test_it_ignores_a_board_hint_with_digits_int_refuses(
    board: Any, voter_api: APIClient, hint: str
) -> None:
    """str.isdigit holds for superscripts (a cookie's bytes arrive as Latin-1)."""
    voter_api.cookies[BOARD_COOKIE] = hint
    response = next_matchup(voter_api, board)
    assert response.status_code == 200
    assert response.cookies[BOARD_COOKIE].value == str(board.pk)


def test_it_binds_the_matchup_to_a_logged_in_users_voter(board: Any, owner: Any) -> None:
    client = APIClient()
    client.force_login(owner)
    body = next_matchup(client, board).json()
    assert Matchup.objects.get(pk=body["id"]).voter.user == owner


def test_it_writes_an_expiry(board: Any, voter_api: APIClient, settings: Any) -> None:
    settings.VERSUS_MATCHUP_TTL_SECONDS = 120
    matchup = Matchup.objects.get(pk=next_matchup(voter_api, board).json()["id"])
    assert (matchup.expires_at - matchup.issued_at).total_seconds() == 120
    assert Output.objects.filter(pk__in=[matchup.left_id, matchup.right_id]).count() == 2
