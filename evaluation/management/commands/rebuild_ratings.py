"""``manage.py rebuild_ratings LEADERBOARD_ID ... | --all``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.errors import NotFound
from evaluation.management.boards import add_board_arguments, boards_named
from evaluation.services.ratings import ratings_bootstrap, ratings_rebuild


class Command(BaseCommand):
    help = (
        "Recount every vote of the given leaderboards from scratch (pair counters, exclusions) "
        "and publish fresh standings with bootstrap rank intervals."
    )

    def add_arguments(self, parser: Any) -> None:
        add_board_arguments(parser)
        parser.add_argument(
            "--no-bootstrap", action="store_true", help="skip the bootstrap rank intervals"
        )

    def handle(self, *args: Any, leaderboard_ids: list[int], **options: Any) -> None:
        ids = boards_named(leaderboard_ids, every=options["all"])
        for leaderboard_id in ids:
            try:
                snapshot = ratings_rebuild(leaderboard_id=leaderboard_id)
            except NotFound as error:
                raise CommandError(error.message) from None
            if not options["no_bootstrap"]:
                ratings_bootstrap(snapshot_id=snapshot.pk)
            self.stdout.write(
                f"leaderboard {leaderboard_id}: {snapshot.vote_count:,} votes, "
                f"{snapshot.model_count} models, {snapshot.excluded_count:,} excluded, "
                f"published in {snapshot.elapsed_ms:.0f} ms"
            )
