"""The screening service on PostgreSQL: a million votes from 20,000 networks, timed.

``DATABASE_URL=postgres://... python -m benchmarks.screening.service [--votes 1000000]``

Creates a leaderboard of ``--models`` models, ``--networks`` voters each from a network of its
own, and writes ``--votes`` votes with COPY (heavy-tailed per network, outcomes from the
strengths, one campaign network of ``--campaign`` votes for the 15th strongest model), then
times `networks_screen` as the beat task runs it: the first screening (it finds the campaign
and relabels its votes), a second with nothing changed, and the rater's catch-up that counts
the votes with the campaign's left out. The leaderboard is deleted at the end unless
``--keep``. Point DATABASE_URL at a database of your own: the script migrates it first.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np

from benchmarks.rating.e2e import django_on_postgres, timed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.screening.service", description=__doc__
    )
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--networks", type=int, default=20_000)
    parser.add_argument("--campaign", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the leaderboard afterwards")
    args = parser.parse_args(argv)
    django_on_postgres(parser)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    import evaluation.tasks
    from evaluation.models import Model, SuspectNetwork, Vote
    from evaluation.services.ratings import ratings_recompute
    from evaluation.services.screening import networks_screen
    from leaderboards.models import Leaderboard
    from leaderboards.services import (
        LeaderboardSpec,
        PromptSpec,
        leaderboard_create_with_benchmark,
    )
    from matchmaking.models import Voter

    # The refresh a screening queues after commit would run here and now (no broker: Celery
    # is eager) and be timed with it; the catch-up below times the rater on its own.
    evaluation.tasks.ratings_refresh_soon = lambda leaderboard_id: None
    call_command("migrate", verbosity=0)
    owner, _ = get_user_model().objects.get_or_create(username="screening-benchmark")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    board = leaderboard_create_with_benchmark(
        owner=owner,
        spec=LeaderboardSpec(name=f"screening {stamp}", instruction="Which is better?"),
        prompts=[PromptSpec(text="one prompt")],
    )
    Model.objects.bulk_create(
        Model(benchmark=board.benchmark, name=f"model-{k:04d}", owner=owner)
        for k in range(args.models)
    )
    model_ids = np.array(
        Model.objects.filter(benchmark=board.benchmark).order_by("id").values_list("id", flat=True)
    )
    rng = np.random.default_rng(args.seed)
    theta = np.sort(rng.standard_normal(args.models))[::-1]
    sizes = np.minimum((15 * (rng.pareto(1.2, args.networks) + 1)), 5000)
    sizes = np.maximum(1, np.round(sizes / sizes.sum() * (args.votes - args.campaign))).astype(int)
    network = np.repeat(np.arange(args.networks), sizes)
    n = network.size
    left = rng.integers(0, args.models, n)
    right = (left + rng.integers(1, args.models, n)) % args.models
    p = 1 / (1 + np.exp(-(theta[left] - theta[right])))
    choice = np.where(rng.random(n) < p, "left", "right")
    target = 14
    other = (target + rng.integers(1, args.models, args.campaign)) % args.models
    left = np.concatenate([left, np.full(args.campaign, target)])
    right = np.concatenate([right, other])
    choice = np.concatenate([choice, np.full(args.campaign, "left")])
    network = np.concatenate([network, np.full(args.campaign, args.networks)])
    rows: list[tuple[str, float, str]] = []
    print(
        f"# screening on PostgreSQL: {network.size:,} votes, {args.models} models, "
        f"{args.networks + 1:,} networks, leaderboard {board.pk}",
        flush=True,
    )

    def load() -> None:
        now = datetime.now(UTC).isoformat()
        with connection.cursor() as cursor:
            raw = cursor.connection
            with (
                raw.cursor() as copy_cursor,
                copy_cursor.copy(
                    "COPY matchmaking_voter (session_key, network, trust, gold_seen, "
                    "gold_correct, is_flagged, created, last_seen) FROM STDIN"
                ) as copy,
            ):
                for k in range(args.networks + 1):
                    copy.write_row((f"{stamp}-{k}", f"n{k:015d}", 1.0, 0, 0, False, now, now))
            voter_ids = dict(
                Voter.objects.filter(session_key__startswith=f"{stamp}-").values_list(
                    "network", "id"
                )
            )
            ids = np.array([voter_ids[f"n{k:015d}"] for k in range(args.networks + 1)])
            voters = ids[network]
            with (
                raw.cursor() as copy_cursor,
                copy_cursor.copy(
                    "COPY evaluation_vote (leaderboard_id, left_model_id, right_model_id, "
                    "choice, voter_id, created, excluded, is_imported, counted) FROM STDIN"
                ) as copy,
            ):
                for k in range(network.size):
                    copy.write_row(
                        (
                            board.pk,
                            int(model_ids[left[k]]),
                            int(model_ids[right[k]]),
                            str(choice[k]),
                            int(voters[k]),
                            now,
                            "",
                            False,
                            False,
                        )
                    )
            cursor.execute("ANALYZE evaluation_vote")
            cursor.execute("ANALYZE matchmaking_voter")

    try:
        timed("COPY the voters and votes", rows, load, "setup, not the screening")
        first = timed(
            "first screening",
            rows,
            lambda: networks_screen(leaderboard_id=board.pk),
            "finds the campaign, relabels its votes",
        )
        print(
            f"  flagged {first.flagged}, {first.relabelled:,} votes relabelled, "
            f"{first.tests:,} tests",
            flush=True,
        )
        again = timed(
            "screening again, nothing new",
            rows,
            lambda: networks_screen(leaderboard_id=board.pk),
            "what each beat run costs a quiet board",
        )
        assert again.relabelled == 0
        snapshot = timed(
            "rater catch-up with the campaign left out",
            rows,
            lambda: ratings_recompute(leaderboard_id=board.pk),
            "",
        )
        suspects = SuspectNetwork.objects.filter(leaderboard=board).values_list(
            "network", "votes", "observed", "expected"
        )
        print(
            f"  {snapshot.vote_count:,} votes counted, {snapshot.excluded_count:,} excluded; "
            f"suspect networks (key, votes, observed, expected): {list(suspects)}",
            flush=True,
        )
    finally:
        if not args.keep:
            Vote.objects.filter(leaderboard=board).delete()
            Voter.objects.filter(session_key__startswith=f"{stamp}-").delete()
            Leaderboard.objects.filter(pk=board.pk).delete()
            board.benchmark.delete()


if __name__ == "__main__":
    main()
