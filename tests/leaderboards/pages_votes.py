"""Leaderboards with real outputs and real votes for the page tests (no hand-filled ratings).

Votes come from the GenAI-Arena image-generation battles in ../shared/data when that folder is
there (six real models, real human choices), or else are drawn from known strengths. Either way
they are stored as Vote rows and the published numbers come from `ratings_recompute`.
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

import numpy as np

from evaluation.demo_images import DEMO_MODELS, demo_image
from evaluation.models import Model, RatingSnapshot, Vote
from evaluation.services import model_submit
from evaluation.services.ratings import ratings_recompute
from leaderboards.models import Leaderboard
from matchmaking.models import Voter
from tests.factories import make_leaderboard
from tests.rating.shared_data import GENAI_ARENA

PROMPTS = [
    "A serene mountain landscape at sunset",
    "A futuristic city with flying cars",
    "A lighthouse on a cliff in a storm",
    "A red apple on a wooden table",
]
TAGS = [["landscape"], ["city"], ["landscape"], ["still-life"]]
CHOICES = {"model_a": "left", "model_b": "right", "tie": "tie", "tie (bothbad)": "both_bad"}


@functools.cache
def _picture(style_index: int, text: str, position: int) -> bytes:
    # Drawing is most of the cost of a board; the same picture serves every test.
    return demo_image(DEMO_MODELS[style_index], text, position)


def arena_battles(limit: int = 600, *, skip: int = 0) -> list[tuple[str, str, str, str]] | None:
    """(model a, model b, choice, judge) of `limit` image-generation battles after `skip`."""
    if not GENAI_ARENA.is_file():
        return None
    battles = json.loads(GENAI_ARENA.read_text())
    rows = [
        (
            b["model_a"].removeprefix("imagenhub_").removesuffix("_generation"),
            b["model_b"].removeprefix("imagenhub_").removesuffix("_generation"),
            CHOICES[b["winner"]],
            str(b.get("judge", "")),
        )
        for b in battles
        if b["model_a"].endswith("_generation")
        and b["model_b"].endswith("_generation")
        and b["model_a"] != b["model_b"]
    ]
    return rows[skip : skip + limit]


def simulated_battles(
    names: list[str], count: int, *, seed: int = 7
) -> list[tuple[str, str, str, str]]:
    """Battles drawn from known strengths (the first name strongest), with 15% ties."""
    rng = np.random.default_rng(seed)
    strength = np.linspace(1.2, -1.2, len(names))
    rows = []
    for _ in range(count):
        i, j = rng.choice(len(names), size=2, replace=False)
        p = 1 / (1 + np.exp(-(strength[i] - strength[j])))
        u = rng.random()
        choice = "tie" if u < 0.15 else ("left" if rng.random() < p else "right")
        rows.append((names[i], names[j], choice, f"sim-{rng.integers(40)}"))
    return rows


def add_simulated_votes(leaderboard: Leaderboard, models: list[Model], count: int) -> None:
    """Store `count` votes drawn from known strengths, spread over the prompts, and rate."""
    by_name = {m.name: m for m in models}
    prompts = list(leaderboard.benchmark.prompts.order_by("position"))
    Vote.objects.bulk_create(
        Vote(
            leaderboard=leaderboard,
            prompt=prompts[k % len(prompts)],
            left_model=by_name[a],
            right_model=by_name[b],
            choice=choice,
        )
        for k, (a, b, choice, _) in enumerate(simulated_battles(list(by_name), count))
    )
    ratings_recompute(leaderboard_id=leaderboard.pk)


def board_with_votes(
    owner: Any,
    *,
    name: str = "Image arena",
    is_public: bool = True,
    votes: int = 600,
    sibling: bool = False,
    **settings: Any,
) -> Leaderboard:
    """A leaderboard whose models have demo images for every prompt and real votes, rated.

    With `sibling`, a second leaderboard on the same benchmark asks another question and gets
    the next `votes` battles, so its ranks are close to the first one's but not the same.
    """
    battles = arena_battles(votes)
    other = arena_battles(votes, skip=votes)
    names = sorted({a for a, _, _, _ in battles} | {b for _, b, _, _ in battles}) if battles else []
    if not battles or not other:
        names = [style.name for style in DEMO_MODELS[:6]]
        battles = simulated_battles(names, votes)
        other = simulated_battles(names, votes, seed=11)
    leaderboard = make_leaderboard(
        owner,
        name=name,
        prompts=PROMPTS,
        tags=TAGS,
        is_public=is_public,
        instruction=settings.pop("instruction", "Which image do you prefer?"),
        **settings,
    )
    models = {}
    for k, model_name in enumerate(names):
        files = []
        for position, text in enumerate(PROMPTS):
            handle = io.BytesIO(_picture(k % len(DEMO_MODELS), text, position))
            handle.name = f"{position}.png"
            files.append(handle)
        models[model_name] = model_submit(
            benchmark=leaderboard.benchmark,
            owner=owner,
            name=model_name,
            prompts=PROMPTS,
            media=files,
        )
    prompts = list(leaderboard.benchmark.prompts.order_by("position"))
    judges = sorted({j for _, _, _, j in battles + other})
    created = Voter.objects.bulk_create(
        Voter(session_key=f"judge-{leaderboard.pk}-{index}") for index in range(len(judges))
    )
    voters = dict(zip(judges, created, strict=True))
    boards = [leaderboard]
    if sibling:
        from leaderboards.services import LeaderboardSpec, leaderboard_create

        boards.append(
            leaderboard_create(
                benchmark=leaderboard.benchmark,
                spec=LeaderboardSpec(
                    name=f"{name}: prompt following",
                    instruction="Which image follows the prompt better?",
                ),
            )
        )
    for board, board_battles in zip(boards, [battles, other], strict=False):
        Vote.objects.bulk_create(
            Vote(
                leaderboard=board,
                prompt=prompts[k % len(prompts)],
                left_model=models[a],
                right_model=models[b],
                choice=choice,
                voter=voters[judge],
                view_ms=1500 + k % 700,
            )
            for k, (a, b, choice, judge) in enumerate(board_battles)
        )
        ratings_recompute(leaderboard_id=board.pk)
    return leaderboard


def snapshot_of(leaderboard: Leaderboard) -> RatingSnapshot:
    return RatingSnapshot.objects.filter(leaderboard=leaderboard).latest()


def model_named(leaderboard: Leaderboard, name: str) -> Model:
    return Model.objects.get(benchmark=leaderboard.benchmark, name=name)
