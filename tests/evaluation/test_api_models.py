"""Owner API: entering a model with one output per prompt, and every way to get it wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import Model, Output
from tests.factories import (
    PROMPTS,
    huge_png,
    jpeg_bytes,
    make_leaderboard,
    make_models,
    png_bytes,
    png_upload,
    wav_bytes,
)

pytestmark = pytest.mark.django_db


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.fixture
def leaderboard(owner):
    return make_leaderboard(owner)


def submit(
    client, leaderboard, *, name="MyAIModel_v2.1", prompts=None, media=None, headers=None, **extra
):
    prompts = PROMPTS if prompts is None else prompts
    media = (
        [png_upload(f"{i}.png", c) for i, c in enumerate(["red", "blue"])]
        if media is None
        else media
    )
    return client.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/",
        {"name": name, "prompts": prompts, "media": media, **extra},
        format="multipart",
        headers=headers,
    )


def assert_nothing_changed(models_before: int = 0) -> None:
    assert Model.objects.count() == models_before
    assert Output.objects.count() == 0 if models_before == 0 else True
    assert stored_files() == [] if models_before == 0 else True


def test_it_enters_a_model_with_one_file_per_prompt(api, leaderboard):
    response = submit(api, leaderboard, metadata='{"steps": 30}')
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "MyAIModel_v2.1"
    assert body["outputs"] == 2
    assert body["metadata"] == {"steps": 30}
    model = Model.objects.get()
    assert [o.prompt.text for o in model.outputs.order_by("prompt__position")] == PROMPTS
    for output in model.outputs.all():
        assert output.kind == "image"
        assert output.content_type == "image/png"
        assert len(output.content_hash) == 64
        assert "MyAIModel" not in output.file.name
        assert output.file.name.endswith(".png")
    assert len(stored_files()) == 2
    assert api.get(f"/api/v1/leaderboards/{leaderboard.pk}/").json()["models"] == ["MyAIModel_v2.1"]


def test_it_lists_a_leaderboards_models(anon_api, leaderboard):
    make_models(leaderboard, 3)
    body = anon_api.get(f"/api/v1/leaderboards/{leaderboard.pk}/models/").json()
    assert [m["name"] for m in body] == ["model-0", "model-1", "model-2"]
    assert all(m["outputs"] == 2 for m in body)


def test_it_enters_a_text_model_as_json(api, owner):
    leaderboard = make_leaderboard(owner, name="poems")
    response = api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/",
        {"name": "poet", "prompts": PROMPTS, "texts": ["roses", "violets"], "data_type": "text"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert sorted(Output.objects.values_list("text", flat=True)) == ["roses", "violets"]
    assert stored_files() == []


def test_it_names_a_prompt_that_is_not_registered(api, leaderboard):
    response = submit(api, leaderboard, prompts=[PROMPTS[0], "A cat on the moon"])
    assert response.status_code == 400
    assert "A cat on the moon" in response.json()["detail"]
    assert_nothing_changed()


def test_it_refuses_media_and_prompts_of_different_lengths(api, leaderboard):
    response = submit(api, leaderboard, media=[png_upload()])
    assert response.status_code == 400
    assert "1 given for 2 prompts" in response.json()["detail"]
    assert_nothing_changed()


def test_it_refuses_the_same_prompt_twice(api, leaderboard):
    response = submit(api, leaderboard, prompts=[PROMPTS[0], PROMPTS[0]])
    assert response.status_code == 400
    assert "prompts[1]" in response.json()["detail"]
    assert_nothing_changed()


def test_it_names_the_prompts_a_model_left_out(api, owner):
    leaderboard = make_leaderboard(owner, prompts=["one", "two", "three"])
    response = submit(api, leaderboard, prompts=["one", "two"])
    assert response.status_code == 400
    assert "'three'" in response.json()["detail"]
    assert_nothing_changed()


def test_it_answers_409_for_a_model_name_that_exists(api, leaderboard):
    assert submit(api, leaderboard).status_code == 201
    response = submit(api, leaderboard)
    assert response.status_code == 409
    assert Model.objects.count() == 1
    assert len(stored_files()) == 2


def test_it_refuses_html_named_png(api, leaderboard):
    html = SimpleUploadedFile("1.png", b"<!doctype html><html><script>alert(1)</script></html>")
    response = submit(api, leaderboard, media=[png_upload(), html])
    assert response.status_code == 400
    assert "media[1]" in response.json()["detail"]
    assert_nothing_changed()


@pytest.mark.parametrize("name", ["image.svg", "image.png"])
def test_it_refuses_svg(api, leaderboard, name):
    svg = SimpleUploadedFile(
        name, b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    )
    response = submit(api, leaderboard, media=[svg, png_upload()])
    assert response.status_code == 400
    assert "media[0]" in response.json()["detail"]
    assert_nothing_changed()


def test_it_refuses_a_decompression_bomb(api, leaderboard):
    bomb = SimpleUploadedFile("bomb.png", huge_png())
    response = submit(api, leaderboard, media=[png_upload(), bomb])
    assert response.status_code == 400
    assert "media[1]" in response.json()["detail"]
    assert_nothing_changed()


def test_it_refuses_a_truncated_jpeg(api, leaderboard):
    data = jpeg_bytes()
    truncated = SimpleUploadedFile("cut.jpg", data[: len(data) // 2])
    response = submit(api, leaderboard, media=[png_upload(), truncated])
    assert response.status_code == 400
    assert_nothing_changed()


def test_it_answers_413_for_a_file_over_the_size_limit(api, leaderboard, settings):
    settings.VERSUS_MAX_IMAGE_BYTES = 200
    big = SimpleUploadedFile("big.png", png_bytes("red", (256, 256)) + b"\x00" * 300)
    response = submit(api, leaderboard, media=[png_upload(), big])
    assert response.status_code == 413
    assert_nothing_changed()


def test_it_refuses_mixed_kinds_in_one_model(api, leaderboard):
    response = submit(
        api, leaderboard, media=[png_upload(), SimpleUploadedFile("a.wav", wav_bytes())]
    )
    assert response.status_code == 400
    assert_nothing_changed()


def test_it_keeps_one_kind_per_benchmark(api, leaderboard):
    assert submit(api, leaderboard).status_code == 201
    response = submit(
        api,
        leaderboard,
        name="audio-model",
        media=[SimpleUploadedFile(f"{i}.wav", wav_bytes()) for i in range(2)],
    )
    assert response.status_code == 400
    assert "image" in response.json()["detail"]
    assert Model.objects.count() == 1
    assert len(stored_files()) == 2


def multipart(fields: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[bytes, str]:
    """A multipart body with file names exactly as given: test clients strip paths themselves."""
    boundary = "versus-test-boundary"
    body = b""
    for name, value in fields:
        body += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, content = value
            body += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode() + content
        else:
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode()
        body += b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/evil.png",
        "evil\x00.png",
        "..\\..\\evil.png",
        "/etc/evil.png",
        "..",
        "ev\x07il.png",
    ],
)
def test_it_refuses_a_file_name_that_is_a_path_or_holds_control_characters(
    api, leaderboard, filename
):
    body, content_type = multipart(
        [
            ("name", "MyAIModel_v2.1"),
            ("prompts", PROMPTS[0]),
            ("prompts", PROMPTS[1]),
            ("media", ("0.png", png_bytes("red"))),
            ("media", (filename, png_bytes("blue"))),
        ]
    )
    response = api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/", body, content_type=content_type
    )
    assert response.status_code == 400, response.content
    answer = response.json()
    assert (answer["field"], answer["code"]) == ("media[1]", "bad_filename")
    assert repr(filename) in answer["detail"]
    assert_nothing_changed()


def test_it_takes_the_same_body_with_a_plain_file_name(api, leaderboard):
    body, content_type = multipart(
        [
            ("name", "MyAIModel_v2.1"),
            ("prompts", PROMPTS[0]),
            ("prompts", PROMPTS[1]),
            ("media", ("0.png", png_bytes("red"))),
            ("media", ("evil.png", png_bytes("blue"))),
        ]
    )
    response = api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/", body, content_type=content_type
    )
    assert response.status_code == 201, response.content
    root = Path(settings.MEDIA_ROOT).resolve()
    assert len(stored_files()) == 2
    for path in stored_files():
        assert root in path.resolve().parents
        assert "evil" not in path.name


def test_it_refuses_without_a_token(anon_api, leaderboard):
    assert submit(anon_api, leaderboard).status_code == 401
    assert_nothing_changed()


def test_it_refuses_another_owners_public_leaderboard(other_api, leaderboard):
    assert submit(other_api, leaderboard).status_code == 403
    assert_nothing_changed()


def test_it_hides_another_owners_private_leaderboard(other_api, owner):
    private = make_leaderboard(owner, name="private", is_public=False)
    assert submit(other_api, private).status_code == 404
    assert_nothing_changed()


def test_a_retried_upload_never_creates_a_second_model(api, leaderboard):
    first = submit(api, leaderboard, headers={"Idempotency-Key": "upload-1"})
    retry = submit(api, leaderboard, headers={"Idempotency-Key": "upload-1"})
    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Model.objects.count() == 1
    assert len(stored_files()) == 2


def test_it_serves_output_media_with_a_fixed_type_and_no_name(anon_api, leaderboard):
    make_models(leaderboard, 1)
    output = Output.objects.first()
    response = anon_api.get(f"/media/o/{output.public_id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Disposition" not in response
    assert "ETag" not in response


def test_it_hides_media_of_a_private_benchmark(anon_api, other_api, api, owner):
    private = make_leaderboard(owner, name="private", is_public=False)
    make_models(private, 1)
    output = Output.objects.first()
    assert anon_api.get(f"/media/o/{output.public_id}").status_code == 404
    assert other_api.get(f"/media/o/{output.public_id}").status_code == 404


@pytest.mark.parametrize("metadata", ['{"loss": NaN}', '{"note": "a\\u0000b"}', "[1, 2]"])
def test_it_refuses_metadata_a_database_cannot_store(api, leaderboard, metadata):
    response = submit(api, leaderboard, metadata=metadata)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "metadata", response.content
    assert_nothing_changed()
