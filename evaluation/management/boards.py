"""The leaderboards a management command acts on: ``LEADERBOARD_ID ... | --all``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from leaderboards.models import Leaderboard


def add_board_arguments(parser: Any) -> None:
    """Positional leaderboard ids, or ``--all``."""
    parser.add_argument("leaderboard_ids", nargs="*", type=int, metavar="LEADERBOARD_ID")
    parser.add_argument("--all", action="store_true", help="every leaderboard")


def boards_named(leaderboard_ids: list[int], *, every: bool) -> list[int]:
    """The ids given (each must exist), or with `every` all of them in id order."""
    if every == bool(leaderboard_ids):
        raise CommandError("give leaderboard ids or --all (not both)")
    if every:
        return list(Leaderboard.objects.order_by("pk").values_list("pk", flat=True))
    known = set(Leaderboard.objects.filter(pk__in=leaderboard_ids).values_list("pk", flat=True))
    missing = sorted(set(leaderboard_ids) - known)
    if missing:
        raise CommandError(f"no leaderboard with id {', '.join(map(str, missing))}")
    return leaderboard_ids
