"""What PostgreSQL writes for a page vote: WAL records by kind, and its CPU beside Python's.

``python -m benchmarks.voting_load.wal [--votes 1500] [--sql "DROP INDEX ..."]`` seeds the load
benchmark's board on PostgreSQL ``h_voteload`` and Redis db 5 (as ``run.py`` does), runs each
``--sql`` statement (to price an index or a table setting), then casts ``--votes`` votes
through the page's flow (POST vote with ``"next": true``) one at a time with Django's test
client, and a rater run over them (``ratings_recompute``). No Celery worker runs, and nothing
else may write to the cluster meanwhile: the WAL between the positions before and after is
read back with ``pg_waldump --stats=record``, so the server's WAL directory must be readable
here. Prints the records per vote by kind, the rater's per vote, and the CPU of this process
and of its PostgreSQL backend per vote; their ratio is what to compare between runs, as the
machine's speed moves between them.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import time
from typing import Any

from benchmarks.voting_load.run import (
    CHOICES,
    add_store_arguments,
    environment,
    fresh_database,
    seed,
)
from benchmarks.voting_load.trips import backend_cpu

_STATS_ROW = re.compile(r"^(\S+/\S+)\s+(\d+)\s+\(")


def record_counts(stats: str) -> dict[str, int]:
    """Records by kind (``Heap/INSERT``, ...) in ``pg_waldump --stats=record`` output."""
    counts = {}
    for line in stats.splitlines():
        match = _STATS_ROW.match(line)
        if match and int(match[2]):
            counts[match[1]] = int(match[2])
    return counts


def _waldump() -> str:
    found = shutil.which("pg_waldump") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_waldump"), reverse=True)), None
    )
    if found is None:
        raise SystemExit("pg_waldump not found: install PostgreSQL's client tools on this machine")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voting_load.wal")
    parser.add_argument("--votes", type=int, default=1500)
    parser.add_argument("--sql", action="append", default=[], help="run after seeding")
    add_store_arguments(parser)
    args = parser.parse_args()
    waldump = _waldump()

    import redis

    env = environment(args.database_url, args.redis_url)
    env["VERSUS_RATINGS_DEBOUNCE_SECONDS"] = "100000"  # no refresh queued while voting
    fresh_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    board = seed(env, n_models=30, n_prompts=20)
    os.environ.update(env)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from evaluation.services.ratings import ratings_recompute
    from matchmaking.queue import queue_length
    from matchmaking.services import matchups_refill

    def one(statement: str) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchone()[0] if cursor.description else None

    wal_dir = os.path.join(one("SHOW data_directory"), "pg_wal")
    if not os.access(wal_dir, os.R_OK):
        raise SystemExit(f"cannot read {wal_dir}: run this as a user who can, on that machine")

    def records(start: str, end: str) -> dict[str, int]:
        stats = subprocess.run(
            [waldump, "-p", wal_dir, "-s", start, "-e", end, "--stats=record"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return record_counts(stats)

    for statement in args.sql:
        one(statement)
    clients = [Client(enforce_csrf_checks=True, HTTP_HOST="localhost") for _ in range(8)]
    matchups_refill(leaderboard_id=board)
    for client in clients:
        client.get(f"/leaderboards/{board}/vote/")
    current = {
        id(c): c.get(f"/api/v1/leaderboards/{board}/matchups/next/").json()["id"] for c in clients
    }
    backend = one("SELECT pg_backend_pid()")
    python_cpu = postgres_cpu = 0.0
    start = one("SELECT pg_current_wal_lsn()::text")
    for k in range(args.votes):
        client = clients[k % len(clients)]
        if (queue_length(board) or 0) < 60:
            matchups_refill(leaderboard_id=board)  # reads the database, writes only Redis
        pg0, py0 = backend_cpu(backend), time.process_time()
        answer = client.post(
            f"/api/v1/matchups/{current[id(client)]}/vote/",
            {"choice": random.choice(CHOICES), "next": True},
            content_type="application/json",
            HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        )
        python_cpu += time.process_time() - py0
        postgres_cpu += backend_cpu(backend) - pg0
        assert answer.status_code == 201, answer.content
        current[id(client)] = answer.json()["next"]["id"]
    voted = one("SELECT pg_current_wal_lsn()::text")
    ratings_recompute(leaderboard_id=board)
    rated = one("SELECT pg_current_wal_lsn()::text")
    wal_bytes = float(one(f"SELECT pg_wal_lsn_diff('{voted}', '{start}')"))

    n = args.votes
    by_kind = records(start, voted)
    print(f"{n} page votes, {len(args.sql)} statements run first\n")
    print("| WAL record, vote-and-next statement | per vote |\n|---|---|")
    for kind, count in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"| {kind} | {count / n:.2f} |")
    print(f"| all | {sum(by_kind.values()) / n:.1f} ({wal_bytes / n:.0f} bytes) |")
    print(f"| rater run, per vote counted | {sum(records(voted, rated).values()) / n:.1f} |")
    print(
        f"\nCPU ms per vote: PostgreSQL backend {postgres_cpu * 1000 / n:.3f}, this process "
        f"{python_cpu * 1000 / n:.3f}; ratio {postgres_cpu / python_cpu:.3f}"
    )


if __name__ == "__main__":
    main()
