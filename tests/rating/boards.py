"""Leaderboards with models and real Vote rows, for the rater's database tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from evaluation.models import Model, Vote
from leaderboards.models import Leaderboard, Prompt
from tests.factories import make_leaderboard

CHOICES = ["left", "right", "tie", "both_bad"]


def board(
    owner: Any,
    n_models: int,
    *,
    prompts: list[str] | None = None,
    tags: list[list[str]] | None = None,
    name: str = "Board",
    **settings: Any,
) -> tuple[Leaderboard, list[Model]]:
    """A leaderboard with `n_models` models (no outputs: the rater never reads them)."""
    leaderboard = make_leaderboard(owner, name=name, prompts=prompts, tags=tags, **settings)
    models = [
        Model.objects.create(benchmark=leaderboard.benchmark, name=f"m{k}", owner=owner)
        for k in range(n_models)
    ]
    return leaderboard, models


def prompts_of(leaderboard: Leaderboard) -> list[Prompt]:
    return list(leaderboard.benchmark.prompts.order_by("position"))


def add_votes(
    leaderboard: Leaderboard,
    votes: Iterable[tuple[Model, Model, str]],
    *,
    prompt: Prompt | None = None,
    **fields: Any,
) -> list[Vote]:
    """Store (left, right, choice) votes on `prompt` (the first prompt by default)."""
    if prompt is None:
        prompt = prompts_of(leaderboard)[0]
    return Vote.objects.bulk_create(
        Vote(
            leaderboard=leaderboard,
            prompt=prompt,
            left_model=left,
            right_model=right,
            choice=choice,
            **fields,
        )
        for left, right, choice in votes
    )


def random_votes(
    models: list[Model], n_votes: int, *, seed: int = 0, strength: list[float] | None = None
) -> list[tuple[Model, Model, str]]:
    """Votes between random pairs; the model with the larger `strength` tends to win."""
    rng = np.random.default_rng(seed)
    theta = np.asarray(strength if strength is not None else np.linspace(1, -1, len(models)))
    out = []
    for _ in range(n_votes):
        a, b = rng.choice(len(models), size=2, replace=False)
        p = 1 / (1 + np.exp(-(theta[a] - theta[b])))
        u = rng.random()
        choice = "left" if u < 0.8 * p else "right" if u < 0.8 else CHOICES[2 + int(u > 0.93)]
        out.append((models[a], models[b], choice))
    return out
