"""Create the demo benchmark: prompts, two questions and models whose images Pillow draws."""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from evaluation.demo_images import DEMO_MODELS, DEMO_PROMPTS, demo_image, demo_votes_simulate
from evaluation.models import Model
from evaluation.services import model_submit
from leaderboards.models import Benchmark, Leaderboard
from leaderboards.services import (
    LeaderboardSpec,
    PromptSpec,
    leaderboard_create,
    leaderboard_create_with_benchmark,
)

DEMO_OWNER = "demo"
DEMO_NAME = "Versus demo: AI art"
DEMO_DESCRIPTION = (
    "A demo: seven made-up models whose images Pillow draws in different styles. The first "
    "votes are simulated (marked as imported) so the pages have rankings to show; yours count "
    "on top of them."
)
SECOND_QUESTION = "Which image follows the prompt better?"


class Command(BaseCommand):
    help = (
        "Create the demo leaderboard with generated images and, unless --votes 0, simulated "
        "votes so the pages have rankings to show (safe to run again)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--votes",
            type=int,
            default=600,
            help="Simulated votes per demo leaderboard, added once, marked as imported "
            "(default 600; 0 for none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        owner, created = User.objects.get_or_create(username=DEMO_OWNER)
        if created:
            owner.set_unusable_password()
            owner.save(update_fields=["password"])

        with transaction.atomic():
            benchmark = Benchmark.objects.filter(owner=owner, name=DEMO_NAME).first()
            if benchmark is None:
                leaderboard = leaderboard_create_with_benchmark(
                    owner=owner,
                    spec=LeaderboardSpec(
                        name=DEMO_NAME,
                        instruction="Which image do you prefer?",
                        show_prompt=True,
                        description=DEMO_DESCRIPTION,
                    ),
                    prompts=[
                        PromptSpec(text=text, tags=tuple(tags)) for text, tags in DEMO_PROMPTS
                    ],
                )
                benchmark = leaderboard.benchmark
                self.stdout.write(f"created benchmark {benchmark.name!r}")
            if not benchmark.leaderboards.filter(name=f"{DEMO_NAME} (prompt following)").exists():
                leaderboard_create(
                    benchmark=benchmark,
                    spec=LeaderboardSpec(
                        name=f"{DEMO_NAME} (prompt following)",
                        instruction=SECOND_QUESTION,
                        show_prompt=True,
                        description=DEMO_DESCRIPTION,
                    ),
                )

        texts = [text for text, _ in DEMO_PROMPTS]
        existing = set(Model.objects.filter(benchmark=benchmark).values_list("name", flat=True))
        for index, style in enumerate(DEMO_MODELS):
            if style.name in existing:
                continue
            files = []
            for position, text in enumerate(texts):
                buffer = io.BytesIO(demo_image(style, text, position))
                buffer.name = f"{position}.png"
                files.append(buffer)
            model_submit(
                benchmark=benchmark,
                owner=owner,
                name=style.name,
                prompts=texts,
                media=files,
                metadata={"style": style.description, "demo": True},
            )
            self.stdout.write(f"  [{index + 1}/{len(DEMO_MODELS)}] model {style.name}")
        if options["votes"] > 0:
            for board in benchmark.leaderboards.order_by("id"):
                added = demo_votes_simulate(leaderboard=board, votes=options["votes"])
                if added:
                    self.stdout.write(f"  {added} simulated votes on {board.name!r}")
        leaderboard = Leaderboard.objects.filter(benchmark=benchmark).order_by("id").first()
        assert leaderboard is not None
        self.stdout.write(
            self.style.SUCCESS(
                f"demo ready: leaderboard {leaderboard.pk} ({leaderboard.name!r}) with "
                f"{benchmark.models.count()} models and {len(texts)} prompts"
            )
        )
