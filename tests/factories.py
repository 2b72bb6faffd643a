"""Small builders for test data: images, uploads, benchmarks with models."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from evaluation.models import Model, PairCount
from evaluation.services import model_submit
from leaderboards.models import Leaderboard
from leaderboards.services import LeaderboardSpec, PromptSpec, leaderboard_create_with_benchmark


def png_bytes(color: str = "red", size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name: str = "out.png", color: str = "red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(color), content_type="image/png")


def named_file(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


PROMPTS = ["A serene mountain landscape at sunset", "A futuristic city with flying cars"]


def make_leaderboard(
    owner: Any,
    *,
    name: str = "AI Art",
    prompts: list[str] | None = None,
    tags: list[list[str]] | None = None,
    is_public: bool = True,
    **settings: Any,
) -> Leaderboard:
    prompts = prompts or PROMPTS
    tags = tags or [[] for _ in prompts]
    return leaderboard_create_with_benchmark(
        owner=owner,
        spec=LeaderboardSpec(
            name=name, instruction=settings.pop("instruction", "Which is better?"), **settings
        ),
        prompts=[PromptSpec(text=t, tags=tuple(g)) for t, g in zip(prompts, tags, strict=True)],
        is_public=is_public,
    )


COLORS = ["red", "green", "blue", "yellow", "purple", "orange", "cyan", "magenta", "gray", "black"]


def make_models(leaderboard: Leaderboard, count: int, *, prefix: str = "model") -> list[Model]:
    """Enter `count` models with a distinct solid-colour PNG per prompt."""
    prompts = list(leaderboard.benchmark.prompts.values_list("text", flat=True))
    models = []
    for index in range(count):
        color = COLORS[index % len(COLORS)]
        files = [
            named_file(png_bytes(color, (8 + index, 8 + p)), f"{p}.png")
            for p in range(len(prompts))
        ]
        models.append(
            model_submit(
                benchmark=leaderboard.benchmark,
                owner=leaderboard.benchmark.owner,
                name=f"{prefix}-{index}",
                prompts=prompts,
                media=files,
            )
        )
    return models


def jpeg_bytes(color: str = "blue", size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of `width` x `height` that compresses to a few tens of KB."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row * 500) for _ in range(height // 500))
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def wav_bytes(seconds: float = 0.1) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


def votes_in_pair_counts(board: Leaderboard) -> float:
    """How many votes the rater's counters of `board` hold."""
    return sum(
        row.a_wins + row.b_wins + row.ties + row.both_bad
        for row in PairCount.objects.filter(leaderboard=board)
    )
