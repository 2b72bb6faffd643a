"""Damaged media: images refused with a 400 naming the file whatever Pillow raises, nothing
stored; durations that are no length not kept."""

from __future__ import annotations

import io
import json
import math
import struct
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from evaluation.media import MediaError, media_inspect
from evaluation.models import Model, Output
from evaluation.services import model_submit
from leaderboards.models import Benchmark
from tests.evaluation.test_media_metadata import webm_with_secrets
from tests.factories import PROMPTS, make_leaderboard, named_file


def gif_cut_after_an_extension() -> bytes:
    """A GIF that ends on an extension introducer: counting its frames raises IndexError."""
    buffer = io.BytesIO()
    Image.new("P", (12, 9)).save(buffer, "GIF")
    return buffer.getvalue().removesuffix(b";") + b"!"


def jpeg_with_damaged_exif() -> bytes:
    """A JPEG to be turned upright (orientation 6) whose EXIF holds ImageWidth as text: writing
    the EXIF back without the orientation raises struct.error."""
    tiff = struct.pack(">2sHIH", b"MM", 42, 8, 2)
    tiff += struct.pack(">HHII", 0x0100, 2, 7, 38)  # ImageWidth, ASCII, at the end
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)  # Orientation 6
    tiff += struct.pack(">I", 0) + b"secret\x00"
    buffer = io.BytesIO()
    Image.new("RGB", (12, 9), "red").save(buffer, "JPEG", exif=b"Exif\x00\x00" + tiff)
    return buffer.getvalue()


def webp_with_a_canvas_too_wide() -> bytes:
    """An animated WebP whose canvas is wider than WebP allows: its frames decode, but the
    encoder raises RuntimeError."""
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (10, 8), color) for color in ("red", "blue")]
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:])
    data = bytearray(buffer.getvalue())
    width_at = data.index(b"VP8X") + 12
    data[width_at : width_at + 3] = (20_000 - 1).to_bytes(3, "little")
    return bytes(data)


DAMAGED = [
    ("cut.gif", gif_cut_after_an_extension),
    ("exif.jpg", jpeg_with_damaged_exif),
    ("canvas.webp", webp_with_a_canvas_too_wide),
]


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.mark.parametrize(("name", "make"), DAMAGED)
def test_it_refuses_a_damaged_image_naming_the_field(name, make):
    with pytest.raises(MediaError) as caught:
        media_inspect(named_file(make(), name), filename=name, field="media[1]")
    error = caught.value
    assert (error.status, error.field, error.code) == (400, "media[1]", "corrupt")
    assert error.message.startswith("media[1]: not a readable ")
    assert "PNG, JPEG, WebP or GIF" in error.message


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "make"), DAMAGED)
def test_it_answers_400_for_a_damaged_output_and_stores_nothing(api, owner, name, make):
    leaderboard = make_leaderboard(owner)
    media = [SimpleUploadedFile(name, make()), SimpleUploadedFile(name, make())]
    response = api.post(
        f"/api/v1/leaderboards/{leaderboard.pk}/models/",
        {"name": "broken", "prompts": PROMPTS, "media": media},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert (response.json()["field"], response.json()["code"]) == ("media[0]", "corrupt")
    assert not Model.objects.exists()
    assert stored_files() == []


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "make"), DAMAGED)
def test_it_answers_400_for_a_damaged_prompt_asset_and_stores_nothing(api, name, make):
    response = api.post(
        "/api/v1/benchmarks/",
        {
            "data": json.dumps({"name": "Edits", "prompts": ["make it night"]}),
            "prompt_assets[0]": SimpleUploadedFile(name, make()),
        },
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert (response.json()["field"], response.json()["code"]) == ("prompt_assets[0]", "corrupt")
    assert not Benchmark.objects.exists()
    assert stored_files() == []


def webm_lasting(seconds: float) -> bytes:
    """The test WebM with its Duration (in milliseconds, the default timestamp scale) replaced."""
    data = webm_with_secrets()
    declared = struct.pack(">d", 2000.0)
    assert data.count(declared) == 1
    return data.replace(declared, struct.pack(">d", seconds * 1000))


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf, -5.0, 1e305])
def test_it_keeps_no_duration_that_is_not_a_length(seconds):
    inspected = media_inspect(named_file(webm_lasting(seconds), "v.webm"), filename="v.webm")
    assert inspected.duration is None


def test_it_keeps_a_webm_duration_that_is_a_length():
    inspected = media_inspect(named_file(webm_lasting(2.5), "v.webm"), filename="v.webm")
    assert inspected.duration == pytest.approx(2.5)


@pytest.mark.django_db
def test_it_stores_no_duration_for_a_webm_that_declares_nan(owner):
    leaderboard = make_leaderboard(owner)
    data = webm_lasting(math.nan)
    model_submit(
        benchmark=leaderboard.benchmark,
        owner=owner,
        name="nan",
        prompts=PROMPTS,
        media=[named_file(data, "a.webm"), named_file(data, "b.webm")],
    )
    assert list(Output.objects.values_list("duration", flat=True)) == [None, None]
