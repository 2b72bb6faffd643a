"""The screening service on PostgreSQL: over a million votes from 20,000 networks, timed.

``DATABASE_URL=postgres://... python -m benchmarks.screening.service [--networks 20000]``

Creates a leaderboard of ``--models`` models, one voter for each of ``--networks`` networks,
and writes their votes with COPY, drawn as ``python -m benchmarks.screening`` draws a board
(``simulate``: heavy-tailed votes per network, no taste) with one campaign network of
``--campaign`` fully rigged votes for the 15th strongest model; then
times `networks_screen` as the beat task runs it: the first screening (it finds the campaign
and relabels its votes), a second with nothing changed, an operator clearing the campaign's
network and flagging it again (the admin's actions), and the rater's catch-up that counts
the votes with the campaign's left out. The leaderboard is deleted at the end unless
``--keep``. Point DATABASE_URL at a database of your own: the script migrates it first.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np

from benchmarks.rating.e2e import board_of_models, copy_rows, django_on_postgres, timed
from benchmarks.screening.run import simulate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.screening.service", description=__doc__
    )
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--networks", type=int, default=20_000)
    parser.add_argument("--campaign", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the leaderboard afterwards")
    args = parser.parse_args(argv)
    django_on_postgres(parser)
    import evaluation.tasks
    from evaluation.models import SuspectNetwork, Vote
    from evaluation.services.ratings import ratings_recompute
    from evaluation.services.screening import networks_screen, suspect_networks_review
    from leaderboards.models import Leaderboard
    from matchmaking.models import Voter

    # The refresh a screening queues after commit would run here and now (no broker: Celery
    # is eager) and be timed with it; the catch-up below times the rater on its own.
    evaluation.tasks.ratings_refresh_soon = lambda leaderboard_id: None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    board, model_ids = board_of_models(
        username="screening-benchmark",
        name=f"screening {stamp}",
        prompts=[("one prompt", ())],
        n_models=args.models,
    )
    drawn = simulate(
        np.random.default_rng(args.seed),
        models=args.models,
        networks=args.networks,
        taste=0.0,
        votes=args.campaign,
        purity=1.0,
    )
    network = drawn.network
    left, right = np.asarray(model_ids)[drawn.left], np.asarray(model_ids)[drawn.right]
    choice = np.array(["left", "right", "tie", "both_bad"])[drawn.outcome]
    rows: list[tuple[str, float, str]] = []
    print(
        f"# screening on PostgreSQL: {network.size:,} votes, {args.models} models, "
        f"{args.networks + 1:,} networks, leaderboard {board.pk}",
        flush=True,
    )

    def load() -> None:
        now = datetime.now(UTC).isoformat()
        copy_rows(
            "matchmaking_voter",
            "session_key, network, trust, gold_seen, gold_correct, is_flagged, created, last_seen",
            (
                (f"{stamp}-{k}", f"n{k:015d}", 1.0, 0, 0, False, now, now)
                for k in range(args.networks + 1)
            ),
        )
        voter_ids = dict(
            Voter.objects.filter(session_key__startswith=f"{stamp}-").values_list("network", "id")
        )
        voters = np.array([voter_ids[f"n{k:015d}"] for k in range(args.networks + 1)])[network]
        copy_rows(
            "evaluation_vote",
            "leaderboard_id, left_model_id, right_model_id, choice, voter_id, created, excluded, "
            "is_imported, counted",
            (
                (
                    board.pk,
                    int(left[k]),
                    int(right[k]),
                    str(choice[k]),
                    int(voters[k]),
                    now,
                    "",
                    False,
                    False,
                )
                for k in range(network.size)
            ),
        )

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
        suspect_ids = list(
            SuspectNetwork.objects.filter(leaderboard=board).values_list("pk", flat=True)
        )
        for cleared, what in ((True, "an operator clears it"), (False, "... and flags it again")):
            changed = timed(
                what,
                rows,
                lambda cleared=cleared: suspect_networks_review(
                    suspect_ids=suspect_ids, cleared=cleared
                ),
                "relabels the board's network votes once",
            )
            print(f"  {changed:,} votes relabelled", flush=True)
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
