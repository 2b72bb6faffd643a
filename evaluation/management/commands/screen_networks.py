"""``manage.py screen_networks LEADERBOARD_ID ... | --all``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from evaluation.management.boards import add_board_arguments, boards_named
from evaluation.models import SuspectNetwork
from evaluation.services.screening import networks_screen


class Command(BaseCommand):
    help = (
        "Screen the votes of the given leaderboards by network now (Celery beat does it every "
        "VERSUS_SCREEN_SECONDS): flag the networks whose voters favour one model and leave "
        "their votes out of the ratings; print what each board's flagged networks did."
    )

    def add_arguments(self, parser: Any) -> None:
        add_board_arguments(parser)

    def handle(self, *args: Any, leaderboard_ids: list[int], **options: Any) -> None:
        ids = boards_named(leaderboard_ids, every=options["all"])
        for leaderboard_id in ids:
            screened = networks_screen(leaderboard_id=leaderboard_id)
            self.stdout.write(
                f"leaderboard {leaderboard_id}: {screened.tests} (network, model) tests, "
                f"{len(screened.flagged)} network(s) flagged, {screened.relabelled} vote(s) "
                "relabelled"
            )
            flagged = SuspectNetwork.objects.filter(
                leaderboard_id=leaderboard_id, network__in=screened.flagged
            ).select_related("model")
            for suspect in flagged:
                self.stdout.write(
                    f"  network {suspect.network}: {suspect.voters} voter(s), "
                    f"{suspect.votes} votes on {suspect.model.name}, scored "
                    f"{suspect.observed:.0%} where the others predict {suspect.expected:.0%} "
                    f"(p <= {suspect.p_bound:.1e})"
                )
