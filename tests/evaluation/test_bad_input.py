"""Bad input to model submission that is not about the media: a 400 naming the part."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.errors import Invalid
from config.validation import MAX_JSON_DEPTH
from evaluation.models import Model
from evaluation.services import model_submit
from tests.factories import PROMPTS, make_leaderboard, png_upload

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def submit(api: APIClient, leaderboard: Any, metadata: str) -> Any:
    return api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/",
        {
            "name": "deep",
            "prompts": PROMPTS,
            "media": [png_upload("0.png"), png_upload("1.png")],
            "metadata": metadata,
        },
        format="multipart",
    )


# 900 levels parse, then overflow the stack when encoded again; 5,000 overflow it in parsing.
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 5_000])
def test_it_refuses_metadata_nested_too_deep(api: APIClient, owner: Any, depth: int) -> None:
    response = submit(api, make_leaderboard(owner), '{"a": ' + nested(depth - 1) + "}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["field"], body["code"]) == ("metadata", "too_deep")
    assert f"at most {MAX_JSON_DEPTH} levels" in body["detail"]
    assert not Model.objects.exists()


def test_it_takes_metadata_nested_as_deep_as_allowed(api: APIClient, owner: Any) -> None:
    response = submit(api, make_leaderboard(owner), '{"a": ' + nested(MAX_JSON_DEPTH - 1) + "}")
    assert response.status_code == 201, response.content


def test_it_refuses_metadata_nested_too_deep_in_a_json_body(api: APIClient, owner: Any) -> None:
    leaderboard = make_leaderboard(owner)
    body = (
        '{"name": "deep", "data_type": "text", "texts": ["a", "b"], "prompts": '
        + json.dumps(PROMPTS)
        + ', "metadata": {"a": '
        + nested(300)
        + "}}"
    )
    response = api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert (response.json()["field"], response.json()["code"]) == ("metadata", "too_deep")


def test_the_service_refuses_metadata_nested_too_deep(owner: Any) -> None:
    """The SDK's path and any other caller of model_submit get the cap, not only the API."""
    leaderboard = make_leaderboard(owner)
    with pytest.raises(Invalid) as caught:
        model_submit(
            benchmark=leaderboard.benchmark,
            owner=owner,
            name="deep",
            prompts=PROMPTS,
            texts=["a", "b"],
            data_type="text",
            metadata={"a": json.loads(nested(900))},
        )
    assert (caught.value.field, caught.value.code) == ("metadata", "too_deep")
    assert not Model.objects.exists()
