"""The Celery work behind the votes, one task at a time: what the load benchmark's worker does.

``python -m benchmarks.voting_load.background [--models 30] [--prompts 20] [--votes 4000]``
seeds the load benchmark's board on PostgreSQL ``h_voteload`` and Redis db 5 (as ``run.py``
does), stores ``--votes`` votes between random pairs and counts them, then times, each
``--repeat`` times on an otherwise idle machine:

- a matchmaker refill of ``VERSUS_QUEUE_SIZE`` candidates (``matchups_refill``), and its two
  parts: reading and fitting the board (``board_state_get``) and choosing the pairs
  (``select_pairs``);
- a ratings refresh that counts ``--new-votes`` new votes and publishes a snapshot
  (``ratings_recompute``), and the snapshot's bootstrap (``ratings_bootstrap``).

Under load the worker runs a refill each time the queue falls below ``VERSUS_QUEUE_LOW``, and a
refresh (then its bootstrap) once per ``VERSUS_RATINGS_DEBOUNCE_SECONDS``; divide by the votes
in between for their cost per vote.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.simulated import vote_rows, votes_insert
from benchmarks.voting_load.run import environment, fresh_database, seed


def timed(repeat: int, work: Callable[[], Any]) -> list[float]:
    """Wall-clock milliseconds of `work`, `repeat` times."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voting_load.background")
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--votes", type=int, default=4000, help="votes counted before timing")
    parser.add_argument("--new-votes", type=int, default=1000, help="new votes per refresh")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/h_voteload")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    import redis

    env = environment(args.database_url, args.redis_url)
    fresh_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    print(f"Seeding {args.models} models x {args.prompts} prompts ...", flush=True)
    board_id = seed(env, n_models=args.models, n_prompts=args.prompts)
    os.environ.update(env)

    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.utils import timezone

    from evaluation.models import Model
    from evaluation.services.ratings import ratings_bootstrap, ratings_recompute
    from leaderboards.models import Leaderboard
    from matchmaking.models import Voter
    from matchmaking.selection import select_pairs
    from matchmaking.selectors import board_state_get
    from matchmaking.services import matchups_refill

    board = Leaderboard.objects.select_related("benchmark").get(pk=board_id)
    model_ids = np.array(
        Model.objects.filter(benchmark=board.benchmark).order_by("pk").values_list("pk", flat=True)
    )
    prompt_ids = np.array(board.benchmark.prompts.order_by("position").values_list("pk", flat=True))
    voter_ids = np.array(
        [
            v.pk
            for v in Voter.objects.bulk_create(
                Voter(session_key=f"bench-voter-{k}") for k in range(32)
            )
        ]
    )
    rng = np.random.default_rng(0)
    strength = np.linspace(1.0, -1.0, model_ids.size)

    def add_votes(n: int) -> None:
        rows = vote_rows(
            rng,
            count=n,
            model_ids=model_ids,
            strength=strength,
            prompt_ids=prompt_ids,
            voter_ids=voter_ids,
        )
        votes_insert(board.pk, rows, timezone.now())

    print(f"Counting {args.votes} votes ...", flush=True)
    add_votes(args.votes)
    ratings_recompute(leaderboard_id=board.pk)

    def choose() -> None:
        select_pairs(
            has_output=state.has_output,
            theta=state.theta,
            cov=state.cov,
            component=state.component,
            model_votes=state.model_votes,
            prompt_use=state.prompt_use,
            batch_size=settings.VERSUS_QUEUE_SIZE,
            rng=np.random.default_rng(int(rng.integers(1 << 30))),
        )

    refreshes: list[float] = []
    bootstraps: list[float] = []
    for _ in range(args.repeat):
        add_votes(args.new_votes)
        started = time.perf_counter()
        snapshot = ratings_recompute(leaderboard_id=board.pk)
        refreshes.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        assert ratings_bootstrap(snapshot_id=snapshot.pk)
        bootstraps.append((time.perf_counter() - started) * 1000)
    state = board_state_get(leaderboard=board)  # the board the refills below read

    rows = [
        (
            f"refill ({settings.VERSUS_QUEUE_SIZE} candidates)",
            timed(args.repeat, lambda: matchups_refill(leaderboard_id=board.pk)),
        ),
        (
            "refill, of which: read and fit the board",
            timed(args.repeat, lambda: board_state_get(leaderboard=board)),
        ),
        ("refill, of which: choose the pairs", timed(args.repeat, choose)),
        (f"ratings refresh ({args.new_votes} new votes)", refreshes),
        ("its bootstrap", bootstraps),
    ]
    print()
    print(
        f"Background work on {args.models} models x {args.prompts} prompts, "
        f"{args.votes} votes counted; {args.repeat} runs each, one at a time:"
    )
    print()
    print("| task | min ms | median ms | max ms |")
    print("|---|---|---|---|")
    for label, values in rows:
        print(
            f"| {label} | {min(values):.1f} | {statistics.median(values):.1f} | {max(values):.1f} |"
        )


if __name__ == "__main__":
    main()
