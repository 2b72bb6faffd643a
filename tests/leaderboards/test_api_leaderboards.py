"""Owner API: creating, reading and searching leaderboards and benchmarks."""

from __future__ import annotations

import json

import pytest

from leaderboards.models import Benchmark, Leaderboard, Prompt
from tests.factories import PROMPTS, make_leaderboard, make_models, png_upload

pytestmark = pytest.mark.django_db

NEW = {
    "name": "AI Art Competition",
    "instruction": "Which image do you prefer?",
    "prompts": PROMPTS,
    "show_prompt": False,
}


def test_it_creates_a_leaderboard_with_its_prompts_in_one_call(api, owner):
    response = api.post("/api/v1/leaderboards/", NEW, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "AI Art Competition"
    assert body["instruction"] == "Which image do you prefer?"
    assert body["show_prompt"] is False
    assert body["prompts"] == PROMPTS
    assert body["models"] == []
    leaderboard = Leaderboard.objects.get(pk=body["id"])
    assert leaderboard.benchmark.owner == owner
    assert list(leaderboard.benchmark.prompts.values_list("text", "position")) == [
        (PROMPTS[0], 0),
        (PROMPTS[1], 1),
    ]


def test_it_reads_one_leaderboard_with_prompts_and_models(api, owner):
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 2)
    body = api.get(f"/api/v1/leaderboards/{leaderboard.pk}/").json()
    for key in ("id", "name", "instruction", "show_prompt", "prompts", "models"):
        assert key in body
    assert body["models"] == ["model-0", "model-1"]


def test_it_searches_leaderboards_by_name(api, owner):
    make_leaderboard(owner, name="AI Art one")
    make_leaderboard(owner, name="Voice clones")
    make_leaderboard(owner, name="ai art two")
    body = api.get("/api/v1/leaderboards/", {"name": "AI Art", "limit": 5}).json()
    assert body["count"] == 2
    assert sorted(r["name"] for r in body["results"]) == ["AI Art one", "ai art two"]


def test_it_hides_private_leaderboards_from_others(api, other_api, anon_api, owner):
    private = make_leaderboard(owner, name="secret board", is_public=False)
    assert api.get(f"/api/v1/leaderboards/{private.pk}/").status_code == 200
    assert other_api.get(f"/api/v1/leaderboards/{private.pk}/").status_code == 404
    assert anon_api.get(f"/api/v1/leaderboards/{private.pk}/").status_code == 404
    assert other_api.get("/api/v1/leaderboards/", {"name": "secret"}).json()["count"] == 0
    assert api.get("/api/v1/leaderboards/", {"name": "secret"}).json()["count"] == 1


def test_it_lets_anyone_read_a_public_leaderboard(anon_api, owner):
    leaderboard = make_leaderboard(owner)
    assert anon_api.get(f"/api/v1/leaderboards/{leaderboard.pk}/").status_code == 200


def test_it_refuses_to_create_without_a_token(anon_api):
    response = anon_api.post("/api/v1/leaderboards/", NEW, format="json")
    assert response.status_code == 401
    assert Benchmark.objects.count() == 0


def test_it_refuses_an_empty_prompt_list(api):
    response = api.post("/api/v1/leaderboards/", {**NEW, "prompts": []}, format="json")
    assert response.status_code == 400
    assert "prompts" in response.json()["detail"]
    assert Benchmark.objects.count() == 0


def test_it_refuses_the_same_prompt_twice_at_registration(api):
    response = api.post(
        "/api/v1/leaderboards/", {**NEW, "prompts": ["a cat", "a dog", "a cat"]}, format="json"
    )
    assert response.status_code == 400
    assert "prompts[2]" in response.json()["detail"]
    assert Benchmark.objects.count() == 0


def test_it_refuses_an_empty_instruction(api):
    response = api.post("/api/v1/leaderboards/", {**NEW, "instruction": ""}, format="json")
    assert response.status_code == 400
    assert "instruction" in response.json()["detail"]


def test_it_creates_a_benchmark_with_tags_and_two_questions(api):
    response = api.post(
        "/api/v1/benchmarks/",
        {
            "name": "Edits",
            "prompts": [
                {"text": "make it night", "tags": ["lighting"], "identifier": "p1"},
                {"text": "add a hat", "tags": ["objects"]},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    benchmark_id = response.json()["id"]
    first = api.post(
        f"/api/v1/benchmarks/{benchmark_id}/leaderboards/",
        {"name": "quality", "instruction": "Which edit looks better?"},
        format="json",
    )
    second = api.post(
        f"/api/v1/benchmarks/{benchmark_id}/leaderboards/",
        {
            "name": "lighting only",
            "instruction": "Which lighting is right?",
            "included_tags": ["lighting"],
        },
        format="json",
    )
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json()["prompts"] == ["make it night"]
    body = api.get(f"/api/v1/benchmarks/{benchmark_id}/").json()
    assert [lb["name"] for lb in body["leaderboards"]] == ["lighting only", "quality"] or [
        lb["name"] for lb in body["leaderboards"]
    ] == ["quality", "lighting only"]
    assert body["prompts"][0]["identifier"] == "p1"


def test_it_refuses_tags_that_leave_no_prompt(api, owner):
    leaderboard = make_leaderboard(owner, tags=[["a"], ["b"]])
    response = api.post(
        f"/api/v1/benchmarks/{leaderboard.benchmark_id}/leaderboards/",
        {"name": "none", "instruction": "?", "included_tags": ["zzz"]},
        format="json",
    )
    assert response.status_code == 400
    assert "a, b" in response.json()["detail"]


def test_it_answers_409_for_a_leaderboard_name_taken_on_the_benchmark(api, owner):
    leaderboard = make_leaderboard(owner)
    response = api.post(
        f"/api/v1/benchmarks/{leaderboard.benchmark_id}/leaderboards/",
        {"name": leaderboard.name, "instruction": "again?"},
        format="json",
    )
    assert response.status_code == 409


def test_it_refuses_a_leaderboard_on_another_owners_benchmark(other_api, owner):
    leaderboard = make_leaderboard(owner)
    response = other_api.post(
        f"/api/v1/benchmarks/{leaderboard.benchmark_id}/leaderboards/",
        {"name": "mine now", "instruction": "?"},
        format="json",
    )
    assert response.status_code == 403
    assert Leaderboard.objects.count() == 1


def test_it_stores_prompt_assets_under_random_names(api, owner):
    response = api.post(
        "/api/v1/benchmarks/",
        {
            "data": json.dumps({"name": "Edits", "prompts": ["make it night", "add a hat"]}),
            "prompt_assets[1]": png_upload("source-image-of-hat.png"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    prompt = Prompt.objects.get(text="add a hat")
    assert prompt.asset_kind == "image"
    assert "hat" not in prompt.asset.name
    assert response.json()["prompts"][1]["asset_url"].endswith(f"/media/a/{prompt.pk}")
    assert api.get(f"/media/a/{prompt.pk}").status_code == 200


def test_it_replays_an_idempotent_create_instead_of_creating_twice(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-1"}
    first = api.post("/api/v1/leaderboards/", NEW, format="json", **headers)
    second = api.post("/api/v1/leaderboards/", NEW, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Leaderboard.objects.count() == 1


def test_it_refuses_an_idempotency_key_reused_for_another_request(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-2"}
    api.post("/api/v1/leaderboards/", NEW, format="json", **headers)
    response = api.post("/api/v1/leaderboards/", {**NEW, "name": "other"}, format="json", **headers)
    assert response.status_code == 409
    assert Leaderboard.objects.count() == 1


def test_it_serves_an_openapi_schema_and_docs(anon_api):
    schema = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/leaderboards/" in schema.content.decode()
    docs = anon_api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_it_refuses_a_prompt_asset_named_as_a_path(api, owner):
    from tests.evaluation.test_api_models import multipart

    body, content_type = multipart(
        [
            ("data", json.dumps({"name": "Edits", "prompts": ["make it night", "add a hat"]})),
            ("prompt_assets[1]", ("../../etc/hat.png", png_upload("hat.png").read())),
        ]
    )
    response = api.post("/api/v1/benchmarks/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert (response.json()["field"], response.json()["code"]) == (
        "prompt_assets[1]",
        "bad_filename",
    )
    assert not Prompt.objects.exists()


def test_a_failure_after_the_benchmark_is_created_removes_its_asset_files(owner):
    from django.core.files.storage import default_storage
    from django.db import transaction

    from evaluation.media import media_inspect, media_removed_on_error
    from leaderboards.services import PromptSpec, benchmark_create

    stored: list[str] = []

    def create_then_fail() -> None:
        asset = media_inspect(png_upload("hat.png"), filename="hat.png")
        benchmark = benchmark_create(
            owner=owner, name="Edits", prompts=[PromptSpec(text="add a hat", asset=asset)]
        )
        stored.append(Prompt.objects.get(benchmark=benchmark).asset.name)
        raise RuntimeError("the caller's transaction fails after the benchmark was made")

    with pytest.raises(RuntimeError), media_removed_on_error(), transaction.atomic():
        create_then_fail()
    assert stored
    assert not Benchmark.objects.filter(name="Edits").exists()
    assert not default_storage.exists(stored[0])
