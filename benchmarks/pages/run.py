"""Public pages under a big board: server time of each page with the ratings precomputed.

What is built
-------------
One benchmark with ``--prompts`` prompts (four tags) and ``--models`` models (a short text output
per prompt), a leaderboard and a sibling question on it, and ``--votes`` Vote rows from
``--voters`` voters, drawn from known strengths (Bradley-Terry, 12% ties, 3% both bad) on random
pairs and prompts. Votes are written with one multi-row ``executemany`` (SQLite) or ``COPY``
(PostgreSQL) per chunk, and the real rater (``ratings_recompute``) publishes a snapshot after each
of ``--snapshots`` chunks, dated a day apart, so model pages have a history. The sibling gets a
tenth of the votes. The pair counters and these ratings are the rater's, not hand-filled. On
PostgreSQL the build ends with ``VACUUM ANALYZE`` (what autovacuum does after a bulk load).

A busy board also keeps every snapshot of its last day (one every few seconds while votes
arrive; ``snapshots_thin`` keeps one an hour before that). ``--history`` (17,280 by default: one
every 5 s for a day) such snapshots are added between the last two real ones, each model's
numbers moving in a straight line from the one to the other: they are the rater's numbers
interpolated, written in bulk, only so the model page reads a realistic history (200 models x
17,280 = 3.5 million rating rows).

The database is kept between runs (a marker benchmark name carries the sizes), so the pages can
be timed again without building again; ``--rebuild`` starts over. Builds of other sizes in the
same database are deleted, so give each size its own database.

What is timed
-------------
Each page is requested through Django's full stack in this process (URL routing, middleware,
view, template rendering; ``django.test.Client`` over HTTPS, ``DEBUG`` off), ``--repeat`` times
after two warm-up requests. Times are server time: no network, no browser. The table shows the
median, the 90th percentile and the fastest request, the target (issue 5: a page in under 200 ms
server time at 200 models and a million votes; the same bar is applied to every page a visitor
opens and to the APIs the page polls) and whether the 90th percentile meets it, the number of
SQL queries of one request, and the size of the answer. "cold" rows clear the cache first (the
tag filter's fit is cached per snapshot by ``standings_get``): a refit on every request, with no
target. The votes CSV export is streamed whole once and reported as rows per second. The run
checks that no page published or computed a snapshot, and that the model page's history is
bounded.

``python -m benchmarks.pages [--models 200] [--votes 1000000] [--prompts 50] [--history 17280]
[--database-url postgres://.../NAME]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.simulated import bulk_insert, vote_rows, votes_insert

DEFAULT_SQLITE = Path("/tmp/versus-bench-pages.sqlite3")
TAGS = ["landscape", "city", "portrait", "still-life"]
# Issue 5: "renders in under 200 ms server time for 200 models and 1 million votes".
TARGET_MS = 200.0


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    # Production settings refuse to start without a key; this process serves no one.
    os.environ.setdefault("SECRET_KEY", "benchmarks-pages-" + "x" * 50)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _marker(args: argparse.Namespace) -> str:
    return (
        f"bench-pages m{args.models} v{args.votes} p{args.prompts} "
        f"s{args.snapshots} h{args.history} u{args.voters} seed{args.seed}"
    )


def build(args: argparse.Namespace) -> Any:
    """Create the board, its models, outputs, voters and votes, and publish the snapshots."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from evaluation.models import MediaKind, Model, Output
    from evaluation.services.ratings import ratings_recompute
    from leaderboards.models import Benchmark
    from leaderboards.services import (
        LeaderboardSpec,
        PromptSpec,
        leaderboard_create,
        leaderboard_create_with_benchmark,
    )
    from matchmaking.models import Voter

    marker = _marker(args)
    found = Benchmark.objects.filter(name=marker).first()
    if found is not None and not args.rebuild:
        print(f"reusing the board built earlier ({marker})", flush=True)
        return found.leaderboards.order_by("id").first()
    Benchmark.objects.filter(name__startswith="bench-pages").delete()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    owner, _ = get_user_model().objects.get_or_create(username="bench-pages")
    leaderboard = leaderboard_create_with_benchmark(
        owner=owner,
        spec=LeaderboardSpec(
            name=marker, instruction="Which image do you prefer?", show_prompt=True
        ),
        prompts=[
            PromptSpec(text=f"Prompt {k}: a scene number {k}", tags=(TAGS[k % len(TAGS)],))
            for k in range(args.prompts)
        ],
    )
    sibling = leaderboard_create(
        benchmark=leaderboard.benchmark,
        spec=LeaderboardSpec(name="Prompt following", instruction="Which follows the prompt?"),
    )
    benchmark = leaderboard.benchmark
    benchmark.media_kind = MediaKind.TEXT
    benchmark.save(update_fields=["media_kind"])
    with transaction.atomic():
        models = Model.objects.bulk_create(
            Model(benchmark=benchmark, name=f"model-{k:03d}", owner=owner)
            for k in range(args.models)
        )
        prompts = list(benchmark.prompts.order_by("position"))
        Output.objects.bulk_create(
            (
                Output(
                    model=m,
                    prompt=p,
                    kind=MediaKind.TEXT,
                    text=f"{m.name} answers prompt {p.position}.",
                    content_type="text/plain; charset=utf-8",
                    content_hash=f"{m.pk:032x}{p.pk:032x}",
                )
                for m in models
                for p in prompts
            ),
            batch_size=5000,
        )
        voters = Voter.objects.bulk_create(
            (Voter(session_key=f"bench-voter-{k}") for k in range(args.voters)), batch_size=5000
        )
    model_ids = np.array([m.pk for m in models])
    strength = rng.normal(0, 1, size=model_ids.size)
    prompt_ids = np.array([p.pk for p in prompts])
    voter_ids = np.array([v.pk for v in voters])
    print(f"  models, outputs, voters: {time.perf_counter() - started:.1f} s", flush=True)
    first_day = timezone.now() - timedelta(days=args.snapshots)
    chunk = args.votes // args.snapshots
    published: list[Any] = []
    for step in range(args.snapshots):
        at = first_day + timedelta(days=step + 1)
        count = chunk if step < args.snapshots - 1 else args.votes - chunk * step
        t0 = time.perf_counter()
        with transaction.atomic():
            votes_insert(
                leaderboard.pk,
                vote_rows(
                    rng,
                    count=count,
                    model_ids=model_ids,
                    strength=strength,
                    prompt_ids=prompt_ids,
                    voter_ids=voter_ids,
                ),
                at,
            )
        t1 = time.perf_counter()
        snapshot = ratings_recompute(leaderboard_id=leaderboard.pk, now=at)
        print(
            f"  snapshot {step + 1}/{args.snapshots}: {count:,} votes inserted in {t1 - t0:.1f} s,"
            f" rated in {time.perf_counter() - t1:.1f} s ({snapshot.vote_count:,} counted)",
            flush=True,
        )
        published.append(snapshot)
    if args.history and len(published) >= 2:
        t0 = time.perf_counter()
        rows = _fill_history(published[-2], published[-1], args.history)
        print(
            f"  history: {args.history:,} snapshots of the last day, {rows:,} rating rows,"
            f" in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    with transaction.atomic():
        votes_insert(
            sibling.pk,
            vote_rows(
                rng,
                count=max(args.votes // 10, 1),
                model_ids=model_ids,
                strength=strength + rng.normal(0, 0.3, size=model_ids.size),
                prompt_ids=prompt_ids,
                voter_ids=voter_ids,
            ),
            timezone.now(),
        )
    ratings_recompute(leaderboard_id=sibling.pk)
    _settle()
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    return leaderboard


def _fill_history(before: Any, after: Any, count: int) -> int:
    """Add `count` snapshots evenly between the published `before` and `after`, each model's
    numbers interpolated between the two; return how many rating rows were written."""
    from django.db import transaction

    from evaluation.models import Rating, RatingSnapshot

    start = {r.model_id: r for r in before.ratings.all()}
    end = [r for r in after.ratings.all() if r.model_id in start and r.score is not None]
    step = (after.created - before.created) / (count + 1)
    with transaction.atomic():
        snapshots = RatingSnapshot.objects.bulk_create(
            (
                RatingSnapshot(
                    leaderboard_id=after.leaderboard_id,
                    created=before.created + step * (k + 1),
                    vote_count=before.vote_count
                    + (after.vote_count - before.vote_count) * (k + 1) // (count + 1),
                    model_count=after.model_count,
                    tie_model=after.tie_model,
                    tie_parameter=after.tie_parameter,
                )
                for k in range(count)
            ),
            batch_size=5000,
        )

        def mix(a: float | None, b: float | None, t: float) -> float | None:
            return None if a is None or b is None else a + (b - a) * t

        def rows() -> Any:
            for k, snapshot in enumerate(snapshots):
                t = (k + 1) / (count + 1)
                for r in end:
                    s = start[r.model_id]
                    yield (
                        snapshot.pk,
                        r.model_id,
                        s.rank,
                        mix(s.score, r.score, t),
                        mix(s.ci_low, r.ci_low, t),
                        mix(s.ci_high, r.ci_high, t),
                        round(s.votes + (r.votes - s.votes) * t),
                        mix(s.win_rate, r.win_rate, t),
                        r.provisional,
                        r.component,
                        # wins, losses, ties and both_bad are not on the history.
                        0,
                        0,
                        0,
                        0,
                    )

        columns = [
            "snapshot_id",
            "model_id",
            "rank",
            "score",
            "ci_low",
            "ci_high",
            "votes",
            "win_rate",
            "provisional",
            "component",
            "wins",
            "losses",
            "ties",
            "both_bad",
        ]
        return bulk_insert(Rating._meta.db_table, columns, rows())


def _settle() -> None:
    """On PostgreSQL, what autovacuum would do within minutes of such a bulk load: drop the dead
    row versions the rater's updates left and gather statistics. Without it the planner guesses
    from an empty table (1 s pages instead of tens of ms). SQLite is left as Django leaves it,
    without ANALYZE statistics, as an embedded install runs."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _time(
    client: Any, url: str, repeat: int, *, before: Callable[[], None] | None = None
) -> dict[str, Any]:
    from django.db import connection

    queries: list[str] = []

    def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    if before:
        before()
    # Counted with an execute wrapper: the debug query log is reset at every request start.
    with connection.execute_wrapper(counted):
        response = client.get(url, secure=True)
    assert response.status_code == 200, (url, response.status_code)
    size = len(response.content)
    if before is None:
        client.get(url, secure=True)
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        response = client.get(url, secure=True)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    times.sort()
    return {
        "median": statistics.median(times),
        "p90": times[min(len(times) - 1, int(0.9 * len(times)))],
        "min": times[0],
        "queries": len(queries),
        "kb": size / 1024,
    }


def measure(leaderboard: Any, args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """Time every public page of `leaderboard`; no page may publish or fit a snapshot."""
    from django.core.cache import cache
    from django.test import Client

    import evaluation.selectors
    from evaluation.models import RatingSnapshot
    from evaluation.selectors import standings_get
    from leaderboards.selectors import HISTORY_MAX_POINTS, model_history

    client = Client()
    board = leaderboard.pk
    leader = standings_get(leaderboard=leaderboard).rows[0].model_id
    snapshots = RatingSnapshot.objects.count()
    fits = {"n": 0}
    original_fit = evaluation.selectors.standings_fit

    def counting_fit(**kwargs: Any) -> Any:
        fits["n"] += 1
        return original_fit(**kwargs)

    evaluation.selectors.standings_fit = counting_fit
    history = RatingSnapshot.objects.filter(leaderboard=leaderboard).count()
    target = TARGET_MS
    pages: list[tuple[str, str, Callable[[], None] | None, float | None]] = [
        ("index", "/", None, target),
        ("leaderboard page", f"/leaderboards/{board}/", None, target),
        ("leaderboard page, top 50 head-to-head", f"/leaderboards/{board}/?h2h=50", None, target),
        (
            "leaderboard page, sorted by votes",
            f"/leaderboards/{board}/?sort=votes&dir=desc",
            None,
            target,
        ),
        (
            "leaderboard page, tag filter (cold)",
            f"/leaderboards/{board}/?tag=city",
            cache.clear,
            None,
        ),
        ("leaderboard page, tag filter (cached)", f"/leaderboards/{board}/?tag=city", None, target),
        ("page data JSON (live refresh)", f"/leaderboards/{board}/data.json", None, target),
        (
            "page data JSON with the table's HTML (live refresh)",
            f"/leaderboards/{board}/data.json?html=1",
            None,
            target,
        ),
        (
            "standings API (live refresh poll)",
            f"/api/v1/leaderboards/{board}/standings/",
            None,
            target,
        ),
        ("per-prompt view (page 1)", f"/leaderboards/{board}/prompts/", None, target),
        (
            f"model page (leader, {history:,} snapshots kept)",
            f"/leaderboards/{board}/models/{leader}/",
            None,
            target,
        ),
        ("votes JSON export, one page", f"/api/v1/leaderboards/{board}/votes/", None, None),
    ]
    results = []
    for name, url, before, page_target in pages:
        fits_before = fits["n"]
        row = _time(client, url, args.repeat, before=before)
        row["fits"] = fits["n"] - fits_before
        row["target"] = page_target
        results.append((name, row))
        print(f"  {name}: {row['median']:.1f} ms", flush=True)
    evaluation.selectors.standings_fit = original_fit
    assert RatingSnapshot.objects.count() == snapshots, "a page published a snapshot"
    unfiltered = [r for n, r in results if "tag filter" not in n]
    assert all(r["fits"] == 0 for r in unfiltered), "a page without a tag filter fitted a board"
    plotted = len(model_history(leaderboard=leaderboard, model_id=leader))
    assert plotted <= HISTORY_MAX_POINTS, f"the model page plots {plotted} points"
    print(f"  model page history: {plotted} points plotted of {history:,} snapshots", flush=True)
    t0 = time.perf_counter()
    response = client.get(f"/api/v1/leaderboards/{board}/votes/?format=csv", secure=True)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    elapsed = time.perf_counter() - t0
    results.append(
        (
            "votes CSV export, whole (streamed)",
            {
                "median": elapsed * 1000,
                "p90": elapsed * 1000,
                "min": elapsed * 1000,
                "queries": None,
                "kb": None,
                "fits": 0,
                "target": None,
                "note": f"{lines:,} rows, {lines / elapsed:,.0f} rows/s",
            },
        )
    )
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages", description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--voters", type=int, default=20_000)
    parser.add_argument("--snapshots", type=int, default=5)
    parser.add_argument(
        "--history",
        type=int,
        default=17_280,
        help="snapshots of the last day to keep (default: one every 5 s); 0 for none",
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=f"sqlite:///{DEFAULT_SQLITE}",
        help=f"where to build (default: SQLite file {DEFAULT_SQLITE}); postgres://... works too",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the board again")
    args = parser.parse_args(argv)
    _setup(args.database_url)
    from django.db import connection

    print(
        f"Versus pages benchmark: {args.models} models, {args.votes:,} votes, "
        f"{args.prompts} prompts, {connection.vendor} ({connection.settings_dict['NAME']})",
        flush=True,
    )
    leaderboard = build(args)
    results = measure(leaderboard, args)
    print()
    print(
        f"| page ({args.models} models, {args.votes:,} votes, {args.prompts:,} prompts, "
        f"{connection.vendor}) | median ms | p90 ms | min ms | target ms | p90 within target "
        "| queries | KiB | fits |"
    )
    print("|---|---:|---:|---:|---:|:-:|---:|---:|---:|")
    for name, r in results:
        queries = "" if r["queries"] is None else str(r["queries"])
        size = "" if r["kb"] is None else f"{r['kb']:.0f}"
        label = f"{name} ({r['note']})" if "note" in r else name
        if r["target"] is None:
            goal, met = "\u2014", "\u2014"
        else:
            goal, met = f"< {r['target']:.0f}", "yes" if r["p90"] < r["target"] else "**no**"
        print(
            f"| {label} | {r['median']:.1f} | {r['p90']:.1f} | {r['min']:.1f} | {goal} | {met} "
            f"| {queries} | {size} | {r['fits']} |"
        )
