"""Malformed requests any API endpoint may get: a clear 4xx, never a 500, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from config.errors import Invalid
from config.validation import JSON_TOO_DEEP, MAX_JSON_DEPTH, metadata_check
from evaluation.models import Model, Vote
from leaderboards.models import Benchmark, Leaderboard
from metrics.models import MetricBoard
from tests.factories import make_leaderboard, make_models
from tests.matchmaking.conftest import browser_client, open_page

pytestmark = pytest.mark.django_db

TOO_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def board(owner: Any) -> Leaderboard:
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 2)
    return leaderboard


def assert_too_deep(response: Any) -> None:
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("JSON parse error - request body:")
    assert JSON_TOO_DEEP in detail


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/leaderboards/",
        "/api/v1/benchmarks/",  # a view with its own parsers (JSON and multipart)
        "/api/v1/benchmarks/{benchmark}/leaderboards/",
        "/api/v1/benchmarks/{benchmark}/models/",  # ditto
        "/api/v1/leaderboards/{board}/models/",  # ditto
    ],
)
def test_it_answers_400_for_an_owners_json_nested_too_deeply(
    api: APIClient, board: Leaderboard, path: str
) -> None:
    url = path.format(benchmark=board.benchmark_id, board=board.pk)
    assert_too_deep(api.post(url, TOO_DEEP, content_type="application/json"))
    assert (Benchmark.objects.count(), Leaderboard.objects.count()) == (1, 1)
    assert Model.objects.count() == 2


def test_it_answers_400_for_a_vote_nested_too_deeply(board: Leaderboard) -> None:
    voter = browser_client()
    matchup_id = open_page(voter, board).context["matchup"]["id"]
    response = voter.post(
        f"/api/v1/matchups/{matchup_id}/vote/",
        TOO_DEEP,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=voter.cookies["csrftoken"].value,
    )
    assert_too_deep(response)
    assert not Vote.objects.exists()


@pytest.mark.parametrize("token", ["\xe9", "é" * 64], ids=["a lone 0xE9 byte", "UTF-8 accents"])
def test_it_answers_401_for_a_token_that_is_not_ascii(token: str) -> None:
    """WSGI hands a header's bytes over as Latin-1: "\\xe9" is the byte 0xE9 on the wire."""
    response = APIClient().get("/api/v1/leaderboards/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401
    assert "not ASCII" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_it_still_knows_an_owner_by_a_good_token(api: APIClient, owner: Any) -> None:
    response = api.get("/api/v1/leaderboards/?mine=1")
    assert response.status_code == 200
    assert response.wsgi_request.user == owner


def test_the_schema_describes_token_authentication_as_knox_did(anon_api: APIClient) -> None:
    schema = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["securitySchemes"]["knoxApiToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    create = schema["paths"]["/api/v1/leaderboards/"]["post"]
    assert {"knoxApiToken": []} in create["security"]


def test_the_docs_page_answers_options_with_its_methods(anon_api: APIClient) -> None:
    response = anon_api.options("/api/docs/")
    assert response.status_code == 200
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.content == b""
    assert anon_api.get("/api/docs/").status_code == 200


def test_metadata_check_caps_nesting_for_every_caller() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(MAX_JSON_DEPTH):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(Invalid, match=f"at most {MAX_JSON_DEPTH} levels") as caught:
        metadata_check(deep, field="options")
    assert (caught.value.field, caught.value.code) == ("options", "too_deep")
    assert metadata_check(deep["a"]) == deep["a"]


def test_metadata_check_refuses_a_document_that_contains_itself() -> None:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    with pytest.raises(Invalid) as caught:
        metadata_check(looped)
    assert caught.value.code == "too_deep"


def test_it_refuses_an_idempotency_key_holding_a_nul_character(api: APIClient) -> None:
    response = api.post(
        "/api/v1/metric-leaderboards/",
        {"name": "Board", "metrics": [{"name": "accuracy"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="retry\x001",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["field"], body["code"]) == ("Idempotency-Key", "nul_character")
    assert not MetricBoard.objects.exists()


def test_a_nested_field_error_names_the_path_of_the_value(api: APIClient) -> None:
    # A ListField inside a list item: DRF's errors are {prompts: {0: {tags: {1: [...]}}}}.
    response = api.post(
        "/api/v1/benchmarks/",
        {"name": "b", "prompts": ["ok", {"text": "cat", "tags": ["art", ""]}]},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "prompts[1].tags[1]: This field may not be blank."
    assert body["field"] == "prompts[1].tags[1]"
    assert body["errors"] == {"prompts": {"1": {"tags": {"1": ["This field may not be blank."]}}}}
    assert not Benchmark.objects.exists()


def test_errors_of_a_list_of_objects_name_each_item_at_fault(api: APIClient) -> None:
    # A serializer with many=True: one entry per item, empty for the valid ones.
    response = api.post(
        "/api/v1/metric-leaderboards/",
        {
            "name": "m",
            "metrics": [{"name": "acc"}, {"name": ""}, {"name": "f1", "higher_is_better": "maybe"}],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "metrics[1].name: This field may not be blank." in body["detail"]
    assert "metrics[2].higher_is_better: Must be a valid boolean." in body["detail"]
    assert "metrics[0]" not in body["detail"]
    assert body["field"] == "metrics"
    assert not MetricBoard.objects.exists()
