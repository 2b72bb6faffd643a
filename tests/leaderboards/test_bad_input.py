"""Bad input to the leaderboard pages and API: a clear 4xx or a value ignored, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.errors import Invalid
from config.integers import ascii_int
from config.validation import MAX_JSON_DEPTH
from leaderboards.models import Benchmark, Leaderboard
from tests.evaluation.test_api_models import multipart
from tests.factories import make_leaderboard, make_models, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(owner: Any) -> Any:
    board = make_leaderboard(owner, tags=[["landscape"], ["city"]])
    make_models(board, 3)
    return board


@pytest.mark.parametrize(
    ("raw", "value"),
    [("7", 7), ("007", 7), ("9223372036854775807", 2**63 - 1), ("0" * 5000 + "1", 1)],
)
def test_ascii_int_reads_ascii_digits_within_bigint(raw: str, value: int) -> None:
    assert ascii_int(raw) == value


@pytest.mark.parametrize(
    "raw",
    [None, "", "²", "\u0663", " 7", "+7", "-7", "7_0", "1.0", "9223372036854775808", "9" * 5000],
)
def test_ascii_int_refuses_everything_else(raw: str | None) -> None:
    assert ascii_int(raw) is None


@pytest.mark.parametrize("position", ["abc", "", "\u00b2", "-1", "9" * 30])
def test_it_answers_a_vote_cursor_with_a_bad_position_as_an_invalid_cursor(
    anon_api: APIClient, board: Any, position: str
) -> None:
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    response = anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/", {"cursor": cursor})
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


def test_it_still_follows_a_vote_cursor_with_a_position(anon_api: APIClient, board: Any) -> None:
    cursor = base64.b64encode(b"p=12").decode()
    response = anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/", {"cursor": cursor})
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("prompt", ["\u00b2", "\u0663", "-1", " 1", "9" * 30])
def test_it_ignores_a_prompt_filter_that_is_not_an_id(
    client: Client, board: Any, prompt: str
) -> None:
    response = client.get(f"/leaderboards/{board.pk}/prompts/", {"prompt": prompt})
    assert response.status_code == 200
    assert response.content.decode().count('class="panel prompt-result"') == 2


@pytest.mark.parametrize("size", ["\u00b2", "\u0661\u0665", "9" * 5000])
def test_it_shows_the_default_head_to_head_for_a_size_that_is_not_a_number(
    client: Client, board: Any, size: str
) -> None:
    response = client.get(f"/leaderboards/{board.pk}/", {"h2h": size})
    assert response.status_code == 200
    assert response.context["h2h_size"] == 15


NEW = {"name": "Bounded", "instruction": "Which image do you prefer?", "prompts": ["a", "b"]}


@pytest.mark.parametrize("min_votes", [2**31, 2**63, 10**30])
def test_it_refuses_min_votes_past_what_the_column_holds(
    api: APIClient, board: Any, min_votes: int
) -> None:
    for url, body in [
        ("/api/v1/leaderboards/", NEW),
        (f"/api/v1/benchmarks/{board.benchmark_id}/leaderboards/", {**NEW, "name": "Other"}),
    ]:
        response = api.post(url, {**body, "min_votes": min_votes}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["field"] == "min_votes"
        assert "at most 2,147,483,647" in response.json()["detail"]
    assert Leaderboard.objects.count() == 1


def test_it_takes_the_largest_min_votes_the_column_holds(api: APIClient) -> None:
    response = api.post("/api/v1/leaderboards/", {**NEW, "min_votes": 2**31 - 1}, format="json")
    assert response.status_code == 201, response.content
    assert Leaderboard.objects.get().min_votes == 2**31 - 1


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 5_000])
def test_it_refuses_a_multipart_data_part_nested_too_deep(api: APIClient, depth: int) -> None:
    document = '{"name": "Deep", "prompts": ["a"], "description": ' + "[" * (depth - 1)
    document += "]" * (depth - 1) + "}"
    response = api.post("/api/v1/benchmarks/", {"data": document}, format="multipart")
    assert response.status_code == 400, response.content
    assert (response.json()["field"], response.json()["code"]) == ("data", "too_deep")
    assert not Benchmark.objects.exists()


def post_assets(api: APIClient, *keys: str) -> Any:
    document = json.dumps({"name": "Edits", "prompts": ["make it night", "add a hat"]})
    body, content_type = multipart(
        [("data", document)] + [(key, ("hat.png", png_bytes())) for key in keys]
    )
    return api.post("/api/v1/benchmarks/", body, content_type=content_type)


@pytest.mark.parametrize(
    "key",
    [
        "prompt_assets[-1]",
        "prompt_assets[00]",
        "prompt_assets[ 1]",
        "prompt_assets[1_0]",
        "prompt_assets[\u0661]",
        "prompt_assets[]",
        "prompt_assets[" + "9" * 30 + "]",
        "prompt_assets[0",
        "asset",
    ],
)
def test_it_refuses_a_prompt_asset_whose_index_is_not_a_plain_position(
    api: APIClient, key: str
) -> None:
    response = post_assets(api, key)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == key
    assert "prompt_assets[0], prompt_assets[1], ..." in response.json()["detail"]
    assert not Benchmark.objects.exists()


def test_it_refuses_two_prompt_assets_that_name_the_same_prompt(api: APIClient) -> None:
    response = post_assets(api, "prompt_assets[0]", "prompt_assets[00]")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "prompt_assets[00]"
    response = post_assets(api, "prompt_assets[1]", "prompt_assets[1]")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "prompt_assets[1]"
    assert "2 files; send one file for each prompt" in response.json()["detail"]
    assert not Benchmark.objects.exists()


def test_it_refuses_a_prompt_asset_past_the_last_prompt(api: APIClient) -> None:
    response = post_assets(api, "prompt_assets[2]")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "prompt_assets[2]"
    assert "(indices 0-1)" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/leaderboards/", "/api/v1/benchmarks/"])
def test_it_refuses_a_name_search_holding_a_nul_character(
    anon_api: APIClient, board: Any, path: str
) -> None:
    response = anon_api.get(path, {"name": "AI\x00Art"})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "name"
    assert "NUL character" in response.json()["detail"]


def test_it_drops_nul_characters_from_the_index_search(client: Client, board: Any) -> None:
    response = client.get("/", {"q": "AI A\x00rt"})
    assert response.status_code == 200
    assert [b.pk for b in response.context["leaderboards"]] == [board.pk]
    assert response.context["query"] == "AI Art"


def test_the_service_refuses_a_prompt_tag_holding_a_nul_character(owner: Any) -> None:
    """Tags are stored in a JSON column, where PostgreSQL refuses "\\u0000"; callers that skip
    the API's serializer (the SDK's path, scripts) get the same 400."""
    with pytest.raises(Invalid) as caught:
        make_leaderboard(owner, tags=[["land\x00scape"], ["city"]])
    assert (caught.value.field, caught.value.code) == ("prompts[0].tags", "nul_character")
    assert not Benchmark.objects.exists()


def test_the_service_refuses_an_included_tag_holding_a_nul_character(owner: Any) -> None:
    with pytest.raises(Invalid) as caught:
        make_leaderboard(owner, tags=[["city"], ["land"]], included_tags=("city\x00",))
    assert (caught.value.field, caught.value.code) == ("included_tags", "nul_character")
    assert not Leaderboard.objects.exists()
