"""A private leaderboard's pages, exports and media answer 404 to everyone but its owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from evaluation.models import Model, Output
from leaderboards.models import Leaderboard
from tests.factories import png_bytes
from tests.leaderboards.pages_votes import board_with_votes

pytestmark = pytest.mark.django_db

PAGES = [
    "/leaderboards/{board}/",
    "/leaderboards/{board}/?tag=landscape",
    "/leaderboards/{board}/data.json",
    "/leaderboards/{board}/prompts/",
    "/leaderboards/{board}/models/{model}/",
    "/leaderboards/{board}/outputs/{output}",
    "/api/v1/leaderboards/{board}/votes/",
    "/api/v1/leaderboards/{board}/votes/?format=csv",
    "/media/o/{public_id}",
    "/media/a/{prompt}",
]


@pytest.fixture
def private(owner: Any) -> dict[str, Any]:
    board = board_with_votes(owner, name="Secret arena", votes=120, is_public=False)
    model = Model.objects.filter(benchmark=board.benchmark).first()
    output = Output.objects.filter(model=model).first()
    # A prompt asset (the source image of an editing task) the board shows to its voters.
    prompt = board.benchmark.prompts.first()
    prompt.asset.save("asset.png", ContentFile(png_bytes("blue", (12, 12))), save=False)
    prompt.asset_kind, prompt.asset_content_type = "image", "image/png"
    prompt.save()
    Leaderboard.objects.filter(pk=board.pk).update(show_prompt_asset=True)
    return {
        "board": board.pk,
        "model": model.pk,
        "output": output.pk,
        "public_id": output.public_id,
        "prompt": prompt.pk,
    }


def _as(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_it_shows_every_page_of_a_private_board_to_its_owner(
    owner: Any, private: dict[str, Any]
) -> None:
    client = _as(owner)
    for page in PAGES:
        assert client.get(page.format(**private)).status_code == 200, page


def test_it_answers_404_on_every_page_to_another_owner(
    other_owner: Any, private: dict[str, Any]
) -> None:
    client = _as(other_owner)
    for page in PAGES:
        response = client.get(page.format(**private))
        assert response.status_code == 404, page
        assert b"Secret arena" not in response.content


def test_it_answers_404_on_every_page_to_anonymous_visitors(private: dict[str, Any]) -> None:
    client = _as(None)
    for page in PAGES:
        response = client.get(page.format(**private))
        assert response.status_code == 404, page
        assert b"Secret arena" not in response.content


def test_it_lists_a_private_board_for_its_owner_only(
    owner: Any, other_owner: Any, private: dict[str, Any]
) -> None:
    assert b"Secret arena" in _as(owner).get("/").content
    assert b"Secret arena" not in _as(other_owner).get("/").content
    assert b"Secret arena" not in _as(None).get("/", {"q": "secret"}).content


def test_it_answers_404_for_a_board_that_does_not_exist(client: Client) -> None:
    assert client.get("/leaderboards/999999/").status_code == 404
    response = client.get("/api/v1/leaderboards/999999/votes/?format=csv")
    assert response.status_code == 404
