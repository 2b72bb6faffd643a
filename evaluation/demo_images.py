"""Pictures for the demo: one scene per prompt, drawn in a visibly different style per model.

Deterministic (seeded by model and prompt), so `seed_demo` gives the same images every time.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

if TYPE_CHECKING:
    from leaderboards.models import Leaderboard

SIZE = 320

DEMO_PROMPTS: list[tuple[str, list[str]]] = [
    ("A serene mountain landscape at sunset", ["landscape"]),
    ("A futuristic city with flying cars", ["city"]),
    ("A lighthouse on a cliff in a storm", ["landscape"]),
    ("A red apple on a wooden table", ["still-life"]),
    ("A cat sleeping on a sunny windowsill", ["animal"]),
    ("Northern lights over a frozen lake", ["landscape"]),
    ("A bowl of ramen seen from above", ["still-life"]),
    ("A hot-air balloon over green hills", ["landscape"]),
]

# (sky top, sky bottom, ground, main object colour, shape) per prompt.
_SCENES: list[tuple[str, str, str, str, str]] = [
    ("#2b1055", "#ff7e5f", "#3b2f4a", "#ffd27f", "mountains"),
    ("#0f2027", "#2c5364", "#1c1c1c", "#00e5ff", "towers"),
    ("#232526", "#414345", "#2d3a2e", "#fff59d", "lighthouse"),
    ("#f5e6ca", "#e0c9a6", "#8b5a2b", "#d32f2f", "apple"),
    ("#87ceeb", "#fff3c4", "#c19a6b", "#ff9800", "cat"),
    ("#000428", "#004e92", "#dfe9f3", "#69f0ae", "aurora"),
    ("#fafafa", "#eeeeee", "#5d4037", "#ffb74d", "bowl"),
    ("#89f7fe", "#66a6ff", "#4caf50", "#e53935", "balloon"),
]


def _gradient(top: str, bottom: str) -> Image.Image:
    a = np.array(Image.new("RGB", (1, 1), top).getpixel((0, 0)), dtype=float)
    b = np.array(Image.new("RGB", (1, 1), bottom).getpixel((0, 0)), dtype=float)
    t = np.linspace(0.0, 1.0, SIZE)[:, None, None]
    rows = (a * (1 - t) + b * t).astype(np.uint8)
    return Image.fromarray(np.repeat(rows, SIZE, axis=1), "RGB")


def _scene(position: int, rng: np.random.Generator) -> Image.Image:
    top, bottom, ground, colour, shape = _SCENES[position % len(_SCENES)]
    image = _gradient(top, bottom)
    draw = ImageDraw.Draw(image)
    horizon = int(SIZE * (0.62 + rng.uniform(-0.05, 0.05)))
    draw.rectangle([0, horizon, SIZE, SIZE], fill=ground)
    cx = int(SIZE * rng.uniform(0.35, 0.65))
    if shape == "mountains":
        draw.ellipse([cx - 30, horizon - 230, cx + 30, horizon - 170], fill=colour)
        for x0 in (-40, 90, 200):
            draw.polygon(
                [(x0, horizon), (x0 + 90, horizon - 150), (x0 + 180, horizon)], fill="#4a3b63"
            )
    elif shape == "towers":
        for i in range(7):
            x = 15 + i * 45
            h = int(rng.uniform(80, 200))
            draw.rectangle([x, horizon - h, x + 32, horizon], fill="#263238", outline=colour)
        for _ in range(3):
            y = int(rng.uniform(40, 120))
            x = int(rng.uniform(20, 260))
            draw.ellipse([x, y, x + 40, y + 14], fill=colour)
    elif shape == "lighthouse":
        draw.polygon(
            [
                (cx - 22, horizon),
                (cx - 14, horizon - 150),
                (cx + 14, horizon - 150),
                (cx + 22, horizon),
            ],
            fill="#eceff1",
        )
        draw.polygon(
            [(cx, horizon - 150), (cx - 180, horizon - 200), (cx - 180, horizon - 100)], fill=colour
        )
    elif shape == "apple":
        draw.ellipse([cx - 60, horizon - 100, cx + 60, horizon + 10], fill=colour)
        draw.rectangle([cx - 3, horizon - 125, cx + 3, horizon - 95], fill="#4e342e")
    elif shape == "cat":
        draw.ellipse([cx - 80, horizon - 60, cx + 70, horizon + 10], fill=colour)
        draw.ellipse([cx + 40, horizon - 80, cx + 100, horizon - 20], fill=colour)
        draw.polygon(
            [(cx + 48, horizon - 70), (cx + 58, horizon - 100), (cx + 68, horizon - 72)],
            fill=colour,
        )
    elif shape == "aurora":
        for i in range(4):
            y = 40 + i * 28
            draw.arc([-60, y, SIZE + 60, y + 140], 190, 350, fill=colour, width=10)
    elif shape == "bowl":
        draw.ellipse([cx - 110, 60, cx + 110, 280], fill="#fafafa", outline="#37474f", width=6)
        draw.ellipse([cx - 85, 85, cx + 85, 255], fill=colour)
        draw.ellipse([cx - 20, 120, cx + 25, 165], fill="#fff8e1")
    else:  # balloon
        draw.ellipse([cx - 50, 50, cx + 50, 160], fill=colour)
        draw.rectangle([cx - 14, 175, cx + 14, 195], fill="#6d4c41")
        draw.line([(cx - 40, 140), (cx - 12, 176)], fill="#3e2723", width=2)
        draw.line([(cx + 40, 140), (cx + 12, 176)], fill="#3e2723", width=2)
    return image


def _crisp(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.SMOOTH_MORE).filter(ImageFilter.DETAIL)


def _pixel(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.resize((24, 24), Image.Resampling.BILINEAR).resize(
        (SIZE, SIZE), Image.Resampling.NEAREST
    )


def _sketch(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    edges = ImageOps.grayscale(image).filter(ImageFilter.FIND_EDGES)
    return ImageOps.invert(ImageOps.autocontrast(edges)).convert("RGB")


def _mosaic(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.posterize(image.filter(ImageFilter.ModeFilter(9)), 2)


def _noisy(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    pixels = np.asarray(image, dtype=float)
    pixels += rng.normal(0, 70, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _pastel(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    washed = Image.blend(image, Image.new("RGB", image.size, "#ffffff"), 0.45)
    return washed.filter(ImageFilter.GaussianBlur(3))


def _negative(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageChops.invert(image).filter(ImageFilter.EDGE_ENHANCE)


@dataclass(frozen=True)
class DemoStyle:
    name: str
    description: str
    render: Callable[[Image.Image, np.random.Generator], Image.Image]


DEMO_MODELS: list[DemoStyle] = [
    DemoStyle("Aurora-XL", "clean, detailed rendering", _crisp),
    DemoStyle("Pastel-LCM", "soft, washed-out colours", _pastel),
    DemoStyle("Mosaic-GAN", "posterised flat colour regions", _mosaic),
    DemoStyle("PixelForge-2", "24x24 pixel art", _pixel),
    DemoStyle("SketchNet", "line drawing", _sketch),
    DemoStyle("InvertoFusion", "inverted colours", _negative),
    DemoStyle("NoiseDiffusion-0.1", "under-trained, noisy", _noisy),
]


def demo_image(style: DemoStyle, prompt: str, position: int) -> bytes:
    """PNG bytes of `style`'s picture for the prompt at `position`."""
    seed = zlib.crc32(f"{style.name}|{prompt}".encode())
    rng = np.random.default_rng(seed)
    image = style.render(_scene(position, rng), rng)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# Hidden strengths (Bradley-Terry theta) of the demo styles, in DEMO_MODELS order: clean
# renderings beat degraded ones, so the simulated votes give a ranking a visitor can check by eye.
DEMO_STRENGTHS = [1.2, 0.7, 0.35, 0.1, -0.2, -0.6, -1.3]
DEMO_TIE_SHARE = 0.2
DEMO_HISTORY_STEPS = 6


def demo_votes_simulate(*, leaderboard: Leaderboard, votes: int, seed: int = 7) -> int:
    """Add `votes` simulated votes to a demo leaderboard that has none, and publish its ratings.

    The votes are drawn from DEMO_STRENGTHS with ties, spread over the last two days and marked
    as imported (they are not people's votes); ratings are published at several moments so the
    history plots have a line to draw. Returns the number of votes added (0 if it had votes).
    """
    from datetime import timedelta

    from django.utils import timezone

    from evaluation.models import Model, Vote
    from evaluation.services.ratings import ratings_recompute

    if Vote.objects.filter(leaderboard=leaderboard).exists():
        return 0
    strength = {style.name: s for style, s in zip(DEMO_MODELS, DEMO_STRENGTHS, strict=True)}
    models = [
        m for m in Model.objects.filter(benchmark=leaderboard.benchmark) if m.name in strength
    ]
    prompts = [p for p in leaderboard.benchmark.prompts.all() if leaderboard.allows_tags(p.tags)]
    if len(models) < 2 or not prompts:
        return 0
    rng = np.random.default_rng(seed + leaderboard.pk)
    now = timezone.now()
    start = now - timedelta(days=2)
    per_step = votes // DEMO_HISTORY_STEPS
    for step in range(DEMO_HISTORY_STEPS):
        moment = start + (now - start) * (step + 1) / DEMO_HISTORY_STEPS
        count = per_step if step < DEMO_HISTORY_STEPS - 1 else votes - per_step * step
        rows = []
        for _ in range(count):
            left, right = rng.choice(len(models), size=2, replace=False)
            a, b = models[left], models[right]
            delta = strength[a.name] - strength[b.name]
            if leaderboard.inverse_ranking:
                delta = -delta
            p_left = (1 - DEMO_TIE_SHARE) / (1 + np.exp(-delta))
            draw = rng.random()
            choice = (
                "left" if draw < p_left else "tie" if draw < p_left + DEMO_TIE_SHARE else "right"
            )
            rows.append(
                Vote(
                    leaderboard=leaderboard,
                    prompt=prompts[int(rng.integers(len(prompts)))],
                    left_model=a,
                    right_model=b,
                    choice=choice,
                    is_imported=True,
                    created=moment,
                )
            )
        Vote.objects.bulk_create(rows)
        ratings_recompute(leaderboard_id=leaderboard.pk, now=moment)
    return votes
