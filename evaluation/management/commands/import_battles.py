"""``manage.py import_battles FILE --leaderboard NAME [--owner USERNAME]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from tqdm import tqdm

from config.errors import VersusError
from evaluation.management.battles import BattleFileError, read_battles
from evaluation.services.ratings import battles_import, ratings_bootstrap, ratings_recompute

MAX_PROBLEMS_SHOWN = 50


class _Progress:
    """The command's stderr as a file for tqdm (which writes its own line endings)."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text, ending="")

    def flush(self) -> None:
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import pairwise votes into a leaderboard (created public, owned by --owner, if no "
        "leaderboard has that name), then publish its standings. FILE is LMArena's clean-battle "
        "JSON (model_a, model_b, winner in model_a/model_b/tie/'tie (bothbad)', tstamp) or a CSV "
        "with left, right, winner (left/right/tie) columns; optional prompt and tstamp. Every "
        "bad row is reported by line and nothing is imported unless all rows are valid."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--leaderboard", required=True, metavar="NAME")
        parser.add_argument(
            "--owner", metavar="USERNAME", help="owner of a leaderboard created by the import"
        )
        parser.add_argument(
            "--instruction",
            default="Which response is better?",
            help="question of a leaderboard created by the import",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and report the others instead of importing nothing",
        )
        parser.add_argument(
            "--ignore-prompts", action="store_true", help="import the votes without their prompts"
        )
        parser.add_argument("--no-fit", action="store_true", help="do not publish standings now")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        quiet = options["no_progress"]
        with tqdm(desc="reading", unit=" rows", file=_Progress(self.stderr), disable=quiet) as bar:
            try:
                battles, problems = read_battles(path, tick=lambda: bar.update())
            except BattleFileError as error:
                raise CommandError(f"{path}: {error}") from None
        if problems:
            shown = "\n".join(f"  {p}" for p in problems[:MAX_PROBLEMS_SHOWN])
            more = len(problems) - MAX_PROBLEMS_SHOWN
            report = f"{len(problems)} bad rows in {path}:\n{shown}" + (
                f"\n  ... and {more} more" if more > 0 else ""
            )
            if not options["skip_invalid"]:
                raise CommandError(f"{report}\nNothing was imported.")
            self.stderr.write(f"{report}\nThese rows are skipped (--skip-invalid).")
        with tqdm(
            desc="importing",
            total=len(battles),
            unit=" votes",
            file=_Progress(self.stderr),
            disable=quiet,
        ) as bar:
            try:
                result = battles_import(
                    leaderboard_name=options["leaderboard"],
                    battles=battles,
                    owner_username=options["owner"],
                    instruction=options["instruction"],
                    use_prompts=not options["ignore_prompts"],
                    progress=lambda stored: bar.update(stored - bar.n),
                )
            except VersusError as error:
                raise CommandError(error.message) from None
        board = result.leaderboard
        self.stdout.write(
            f"{'created' if result.created_leaderboard else 'updated'} leaderboard "
            f"{board.name!r} (id {board.pk}): {result.votes:,} votes imported, "
            f"{len(result.models_created)} models and {result.prompts_created} prompts created"
        )
        if options["no_fit"]:
            return
        snapshot = ratings_recompute(leaderboard_id=board.pk)
        ratings_bootstrap(snapshot_id=snapshot.pk)
        self.stdout.write(
            f"published standings of {snapshot.vote_count:,} votes in "
            f"{snapshot.elapsed_ms:.0f} ms"
            + ("" if snapshot.connected else f" ({snapshot.component_count} disconnected parts)")
        )
