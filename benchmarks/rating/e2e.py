"""End to end on PostgreSQL: a million votes in the database, how long until standings publish.

``DATABASE_URL=postgres://... python -m benchmarks.rating.e2e [--votes 1000000] [--models 100]``

Creates a leaderboard with ``--prompts`` prompts and ``--models`` models, writes the votes
straight into the vote table with COPY (as if voters had cast them, not yet counted), then
times the rater's services as the Celery tasks run them:

- the catch-up run that counts every vote (what happens once after a bulk load or an outage),
- a refresh after 1,000 new votes with the million already counted (the steady state: what
  each debounced refresh costs),
- a refresh with nothing new, the background bootstrap (100 rounds), a ``?tags=`` fit on
  half the prompts, and a full rebuild from scratch.

The leaderboard is deleted at the end unless ``--keep``. Point DATABASE_URL at a database of
your own: the script migrates it first.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def timed(label: str, rows: list[tuple[str, float, str]], act: Callable[[], T], note: str) -> T:
    started = time.perf_counter()
    result = act()
    seconds = time.perf_counter() - started
    rows.append((label, seconds, note))
    print(f"  {label:52s} {seconds:8.3f} s  {note}", flush=True)
    return result


def copy_votes(
    *,
    leaderboard_id: int,
    prompt_ids: list[int],
    model_ids: list[int],
    n_votes: int,
    seed: int,
) -> None:
    """COPY generated votes (Davidson outcomes, random prompts) into the vote table."""
    from benchmarks.rating.data import generate

    generated = generate(len(model_ids), n_votes, seed=seed)
    rng = np.random.default_rng(seed)
    models = np.asarray(model_ids)
    prompts = np.asarray(prompt_ids)[rng.integers(0, len(prompt_ids), n_votes)]
    choices = np.array(["left", "right", "tie", "both_bad"])[generated.outcome]
    left, right = models[generated.left], models[generated.right]
    created = datetime.now(UTC).isoformat()
    copy_rows(
        "evaluation_vote",
        "leaderboard_id, prompt_id, left_model_id, right_model_id, choice, created, excluded, "
        "is_imported, counted",
        (
            (
                leaderboard_id,
                int(prompts[k]),
                int(left[k]),
                int(right[k]),
                choices[k],
                created,
                "",
                False,
                False,
            )
            for k in range(n_votes)
        ),
    )


def copy_rows(table: str, columns: str, rows: Iterable[tuple[object, ...]]) -> None:
    """COPY `rows` into `columns` of `table` on Django's connection, then ANALYZE the table."""
    from django.db import connection

    with connection.cursor() as cursor:
        with (
            cursor.connection.cursor() as copy_cursor,
            copy_cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"ANALYZE {table}")


def django_on_postgres(parser: argparse.ArgumentParser) -> None:
    """Set Django up on the PostgreSQL database of DATABASE_URL, or stop with `parser`'s error."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL database of your own")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Production settings (DEBUG off, no query log) need a key; nothing here signs anything.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    import django

    django.setup()


def board_of_models(
    *, username: str, name: str, prompts: list[tuple[str, tuple[str, ...]]], n_models: int
) -> tuple[Any, list[int]]:
    """Migrate, then create a leaderboard of `prompts` (text, tags) owned by `username` with
    `n_models` models and no outputs; return it and its model ids in id order."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from evaluation.models import Model
    from leaderboards.services import (
        LeaderboardSpec,
        PromptSpec,
        leaderboard_create_with_benchmark,
    )

    call_command("migrate", verbosity=0)
    owner, _ = get_user_model().objects.get_or_create(username=username)
    leaderboard = leaderboard_create_with_benchmark(
        owner=owner,
        spec=LeaderboardSpec(name=name, instruction="Which is better?"),
        prompts=[PromptSpec(text=text, tags=tags) for text, tags in prompts],
    )
    Model.objects.bulk_create(
        Model(benchmark=leaderboard.benchmark, name=f"model-{k:04d}", owner=owner)
        for k in range(n_models)
    )
    model_ids = list(
        Model.objects.filter(benchmark=leaderboard.benchmark)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return leaderboard, model_ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rating.e2e", description=__doc__)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the leaderboard afterwards")
    args = parser.parse_args(argv)
    django_on_postgres(parser)
    from evaluation.models import PairCount
    from evaluation.selectors import standings_get
    from evaluation.services.ratings import ratings_bootstrap, ratings_rebuild, ratings_recompute
    from leaderboards.models import Leaderboard

    stamp = time.strftime("%Y%m%d-%H%M%S")
    half = args.prompts // 2
    leaderboard, model_ids = board_of_models(
        username="e2e-benchmark",
        name=f"e2e {stamp}",
        prompts=[(f"prompt {k}", ("first-half",) if k < half else ()) for k in range(args.prompts)],
        n_models=args.models,
    )
    prompt_ids = list(leaderboard.benchmark.prompts.order_by("id").values_list("id", flat=True))
    rows: list[tuple[str, float, str]] = []
    print(
        f"# e2e: {args.votes:,} votes, {args.models} models, {args.prompts} prompts, "
        f"PostgreSQL, leaderboard {leaderboard.pk}",
        flush=True,
    )
    try:
        timed(
            f"COPY {args.votes:,} votes into PostgreSQL",
            rows,
            lambda: copy_votes(
                leaderboard_id=leaderboard.pk,
                prompt_ids=prompt_ids,
                model_ids=model_ids,
                n_votes=args.votes,
                seed=args.seed,
            ),
            "setup, not the rater",
        )
        first = timed(
            f"catch-up: count {args.votes:,} new votes, fit, publish",
            rows,
            lambda: ratings_recompute(leaderboard_id=leaderboard.pk),
            "once after a bulk load or outage",
        )
        counters = PairCount.objects.filter(leaderboard=leaderboard).count()
        copy_votes(
            leaderboard_id=leaderboard.pk,
            prompt_ids=prompt_ids,
            model_ids=model_ids,
            n_votes=1000,
            seed=args.seed + 1,
        )
        steady = timed(
            f"refresh: 1,000 new votes on {args.votes:,} counted",
            rows,
            lambda: ratings_recompute(leaderboard_id=leaderboard.pk),
            f"the debounced refresh; {counters:,} counter rows",
        )
        latest = timed(
            "refresh with no new vote",
            rows,
            lambda: ratings_recompute(leaderboard_id=leaderboard.pk),
            "",
        )
        bootstrapped = timed(
            "bootstrap, 100 rounds (background task)",
            rows,
            lambda: ratings_bootstrap(snapshot_id=latest.pk, rounds=100),
            "rank intervals",
        )
        assert bootstrapped
        timed(
            "?tags= standings on half the prompts (not stored)",
            rows,
            lambda: standings_get(leaderboard=leaderboard, tags=["first-half"]),
            "per request",
        )
        timed(
            "rebuild from scratch (rebuild_ratings)",
            rows,
            lambda: ratings_rebuild(leaderboard_id=leaderboard.pk),
            "operator command",
        )
        assert steady.vote_count == args.votes + 1000 == first.vote_count + 1000
    finally:
        if not args.keep:
            Leaderboard.objects.filter(pk=leaderboard.pk).delete()
            leaderboard.benchmark.delete()
    print()
    print(f"| step ({args.votes:,} votes, {args.models} models, {args.prompts} prompts) | s | |")
    print("|---|---|---|")
    for label, seconds, note in rows:
        print(f"| {label} | {seconds:.3f} | {note} |")


if __name__ == "__main__":
    main()
