"""Round trips and CPU per voting request, counted on the real request path.

``python -m benchmarks.voting_load.trips [--votes 200]`` seeds the load benchmark's board on
PostgreSQL ``h_voteload`` and Redis db 5 (as ``run.py`` does), then drives the voting page and
API in-process through Django's full middleware stack with test clients (one cookie jar per
voter), and prints, per request kind, the database round trips: the SQL statements Django
sent (BEGIN and COMMIT included: with psycopg each is a round trip of its own), less those
that rode in one round trip with another (`statements.read_together`); the connection health
check Django runs once per request is not logged and comes on top, as it does for the bare
view. Then the
Redis round trips (one per command or pipeline; Celery publishes included), the median CPU
time of this process and the mean CPU time of its PostgreSQL backend (read from /proc: the
server must run on this machine). There is no server and no concurrency: it measures what one
request costs, not contention.

Request kinds: the voting page of a returning voter; the scripted flow (GET next, then POST
vote); the page's flow (POST vote with ``"next": true``, which returns the next matchup); and
the bare one-INSERT view of the load benchmark. The queue is refilled outside the measured
requests; no Celery worker runs, so queued tasks cost their publish and nothing else, and the
ratings debounce is set longer than the run (``VERSUS_RATINGS_DEBOUNCE_SECONDS`` in the
environment overrides it).

``--calls`` also counts each request's Python function calls, and ``--profile DIR`` also writes
each request kind's profile, summed over its requests, to ``DIR/<kind>.prof`` (read it with
``python -m pstats`` or snakeviz): where a request's calls go, not only how many.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.voting_load.run import (
    CHOICES,
    FLOORS,
    add_store_arguments,
    environment,
    fresh_database,
    seed,
)


class Counter:
    """Redis round trips (`send_packed_command` runs once per command or pipeline), and the
    statements that shared a database round trip with another (`statements.read_together`
    sends its reads in one)."""

    def __init__(self) -> None:
        self.redis = 0
        self.shared = 0

    def install(self) -> None:
        from redis.connection import AbstractConnection

        from matchmaking import statements

        original = AbstractConnection.send_packed_command
        together = statements.read_together
        counter = self

        def counted(conn: Any, command: Any, check_health: bool = True) -> Any:
            counter.redis += 1
            return original(conn, command, check_health)

        def counted_together(*reads: Any) -> list[Any]:
            counter.shared += max(0, len(reads) - 1)
            return together(*reads)

        AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
        statements.read_together = counted_together


_TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """CPU seconds so far of the PostgreSQL backend process `pid` (same machine, Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class Meter:
    """Per request kind and request: database round trips, Redis round trips, CPU ms of this
    process, CPU ms of its PostgreSQL backend, and with `calls` the Python function calls the
    request made (cProfile's count: the same on every machine, however fast; its overhead
    then weighs on the CPU figures)."""

    def __init__(self, counter: Counter, *, calls: bool = False) -> None:
        self.counter = counter
        self.calls = calls
        self.profiles: dict[str, pstats.Stats] = {}
        self.rows: dict[str, list[tuple[int, int, float, float, int]]] = defaultdict(list)
        self.last_sql: list[str] = []

    def __call__(self, label: str, call: Callable[[], Any]) -> Any:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        before, shared, pg = self.counter.redis, self.counter.shared, backend_cpu(backend)
        profile = cProfile.Profile() if self.calls else None
        with CaptureQueriesContext(connection) as captured:
            t0 = time.process_time()
            if profile is not None:
                profile.enable()
            response = call()
            if profile is not None:
                profile.disable()
            cpu = time.process_time() - t0
        self.rows[label].append(
            (
                len(captured.captured_queries) - (self.counter.shared - shared),
                self.counter.redis - before,
                cpu * 1000,
                (backend_cpu(backend) - pg) * 1000,
                pstats.Stats(profile).total_calls if profile is not None else 0,
            )
        )
        if profile is not None:
            if label in self.profiles:
                self.profiles[label].add(profile)
            else:
                self.profiles[label] = pstats.Stats(profile)
        self.last_sql = [q["sql"] for q in captured.captured_queries]
        return response


def profile_file_name(label: str) -> str:
    """The file `--profile` writes a request kind's profile to: "POST vote + next" ->
    "post-vote-next.prof"."""
    return "-".join("".join(c if c.isalnum() else " " for c in label.lower()).split()) + ".prof"


def main() -> None:
    """Seed, drive the voting requests, print round trips and CPU per request kind."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voting_load.trips")
    parser.add_argument("--votes", type=int, default=200, help="votes per flow")
    parser.add_argument("--voters", type=int, default=4)
    add_store_arguments(parser)
    parser.add_argument("--queries", action="store_true", help="print each kind's last SQL")
    parser.add_argument(
        "--plans",
        action="store_true",
        help="print how often each prepared statement ran a generic plan and a custom one",
    )
    parser.add_argument(
        "--calls",
        action="store_true",
        help="also count each request's Python function calls (cProfile; slows the CPU figures)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="also write each request kind's summed profile to DIR (implies --calls) "
        "(pstats files: `python -m pstats DIR/post-vote-next.prof`, or snakeviz)",
    )
    args = parser.parse_args()

    import redis

    env = environment(args.database_url, args.redis_url)
    # No Celery worker runs here to start the queued ratings refresh and clear its pending
    # mark: once the debounce interval passed, every vote would ask the cache about that
    # mark (two more Redis round trips), as it does on a real server only in the half second
    # before each refresh starts. A debounce longer than the run keeps the common case.
    env.setdefault("VERSUS_RATINGS_DEBOUNCE_SECONDS", "100000")
    fresh_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    board = seed(env, n_models=30, n_prompts=20)
    os.environ.update(env)

    import django

    django.setup()
    from django.test import Client

    from matchmaking.queue import queue_length
    from matchmaking.services import matchups_refill

    def refill() -> None:
        if (queue_length(board) or 0) < 60:
            matchups_refill(leaderboard_id=board)

    counter = Counter()
    counter.install()
    if args.profile is not None:
        args.calls = True  # the profile is what counts the calls
    meter = Meter(counter, calls=args.calls)
    sql: dict[str, list[str]] = {}
    clients = [Client(enforce_csrf_checks=True, HTTP_HOST="localhost") for _ in range(args.voters)]
    refill()
    for client in clients:
        client.get(f"/leaderboards/{board}/vote/")
    for k in range(50):
        client = clients[k % len(clients)]
        meter("page GET (returning voter)", lambda c=client: c.get(f"/leaderboards/{board}/vote/"))
    sql["page GET (returning voter)"] = meter.last_sql

    def vote(client: Client, matchup: int, *, with_next: bool) -> Any:
        body: dict[str, Any] = {"choice": random.choice(CHOICES)}
        if with_next:
            body["next"] = True
        return client.post(
            f"/api/v1/matchups/{matchup}/vote/",
            body,
            content_type="application/json",
            HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        )

    # The scripted flow: GET next, then POST vote. (Each voter's page matchup is voted first.)
    for k in range(args.votes):
        client = clients[k % len(clients)]
        refill()
        nxt = meter(
            "GET next", lambda c=client: c.get(f"/api/v1/leaderboards/{board}/matchups/next/")
        )
        sql["GET next"] = meter.last_sql
        assert nxt.status_code == 200, nxt.content
        matchup = int(nxt.json()["id"])
        voted = meter("POST vote", lambda c=client, m=matchup: vote(c, m, with_next=False))
        sql["POST vote"] = meter.last_sql
        assert voted.status_code == 201, voted.content

    # The page's flow: each vote's answer carries the next matchup (when the server can).
    current = {}
    for client in clients:
        current[id(client)] = client.get(f"/api/v1/leaderboards/{board}/matchups/next/").json()[
            "id"
        ]
    for k in range(args.votes):
        client = clients[k % len(clients)]
        refill()
        voted = meter(
            "POST vote + next",
            lambda c=client: vote(c, current[id(c)], with_next=True),
        )
        sql["POST vote + next"] = meter.last_sql
        assert voted.status_code == 201, voted.content
        if "next" not in voted.json():
            del meter.rows["POST vote + next"]  # a server without "next": nothing to measure
            break
        current[id(client)] = voted.json()["next"]["id"]

    # The floor views, by the load benchmark's own URLs (`run.FLOORS`).
    for label, url in (
        ("bare POST (one INSERT)", FLOORS["bare"]),
        ("bare-orm POST (the INSERT through the ORM)", FLOORS["bare-orm"]),
    ):
        for _ in range(args.votes):
            meter(
                label,
                lambda u=url: clients[0].post(
                    u, {"choice": "left"}, content_type="application/json"
                ),
            )
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        for label, stats in meter.profiles.items():
            stats.dump_stats(args.profile / profile_file_name(label))
        print(f"profiles: {', '.join(sorted(p.name for p in args.profile.glob('*.prof')))}")
    if args.plans:
        from django.db import connection

        # Per session: this process's connection is the one every request above used.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans, custom_plans, left(statement, 70) "
                "FROM pg_prepared_statements ORDER BY generic_plans DESC"
            )
            print("| generic plans | custom plans | statement |\n|---|---|---|")
            for generic, custom, statement in cursor.fetchall():
                print(f"| {generic} | {custom} | `{' '.join(statement.split())}` |")
        print()
    if args.queries:
        for label, statements in sql.items():
            print(f"-- {label}")
            for statement in statements:
                print(statement[:160])
        print()
    calls_head = " Python calls (median) |" if args.calls else ""
    print(
        "| request | database round trips | Redis round trips | Django CPU ms (median) "
        "| PostgreSQL CPU ms (mean) |" + calls_head
    )
    print("|---|---|---|---|---|" + ("---|" if args.calls else ""))
    for label, values in meter.rows.items():
        db = statistics.median(v[0] for v in values)
        trips = statistics.median(v[1] for v in values)
        cpu = statistics.median(v[2] for v in values)
        # The backend's clock ticks are coarse (10 ms): only a mean over many requests says much.
        pg = f"{statistics.mean(v[3] for v in values):.2f}" if len(values) >= 50 else "-"
        calls = f" {statistics.median(v[4] for v in values):,.0f} |" if args.calls else ""
        print(f"| {label} | {db:g} | {trips:g} | {cpu:.2f} | {pg} |{calls}")


if __name__ == "__main__":
    main()
