"""Voting under load: Versus's vote path beside a bare one-insert view, same server, same run.

What runs
---------
- PostgreSQL database ``h_voteload`` (dropped and migrated afresh) and Redis db 5 (flushed),
  unless ``--database-url`` / ``--redis-url`` say otherwise.
- gunicorn (``--workers`` sync workers) serving Versus with ``benchmarks.voting_load.settings``:
  Versus's settings and routes plus ``POST /bench/bare/``, a view that does one INSERT.
- One Celery worker (the matchmaker refilling the Redis queue, the debounced rater).
- A leaderboard of ``--models`` models x ``--prompts`` prompts (tiny PNGs).

Each simulated voter is an HTTP client with its own cookies: it opens the voting page once
(session and CSRF cookie, not timed), then loops GET next matchup -> POST vote with
``X-CSRFToken``. The bare voters loop ``POST /bench/bare/``. Clients run in one asyncio process
(httpx); the first ``--warmup`` seconds are not measured. Rate limits stay on, set high
(100000/min) so they cost what they cost without refusing anyone.

Afterwards the database is compared with what the clients were told: a vote acknowledged with
201 but missing is lost; more than one vote row per matchup is a duplicate; a row the client was
never told about (its request timed out) is reported apart.

``python -m benchmarks.voting_load [--voters 8 32] [--seconds 20] [--workers 4]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
CHOICES = ["left", "right", "tie", "both_bad"]


@dataclass
class Tally:
    """What the clients saw in the measured window, and every acknowledgement."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    completed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: list[tuple[int, int]] = field(default_factory=list)
    exhausted: int = 0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds * 1000)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="benchmarks.voting_load.settings",
        CELERY_TASK_ALWAYS_EAGER="0",
        DEBUG="0",
        VERSUS_RATE_VOTER="100000/min",
        VERSUS_RATE_IP="100000/min",
        VERSUS_MIN_VIEW_MS="0",
        VERSUS_GOLD_SHARE_PERCENT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    return env


def fresh_database(database_url: str) -> None:
    """Drop and create the benchmark's database (never the project's own)."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(env: dict[str, str], *, n_models: int, n_prompts: int) -> int:
    """Migrate, create the board and the bare table; return the leaderboard id."""
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    script = f"""
import django, io
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from PIL import Image
from evaluation.services import model_submit
from leaderboards.services import LeaderboardSpec, PromptSpec, leaderboard_create_with_benchmark
from benchmarks.voting_load import BARE_TABLE
owner = get_user_model().objects.create_user("load-owner", password="x-load-owner-1")
prompts = [f"prompt {{k}}" for k in range({n_prompts})]
board = leaderboard_create_with_benchmark(
    owner=owner, spec=LeaderboardSpec(name="load", instruction="Which is better?"),
    prompts=[PromptSpec(text=t) for t in prompts])
for m in range({n_models}):
    files = []
    for p in range({n_prompts}):
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), ((m * 37) % 256, (p * 53) % 256, 90)).save(buffer, "PNG")
        buffer.seek(0); buffer.name = f"{{p}}.png"; files.append(buffer)
    model_submit(benchmark=board.benchmark, owner=owner, name=f"model-{{m}}",
                 prompts=prompts, media=files)
with connection.cursor() as cursor:
    cursor.execute(f"CREATE TABLE {{BARE_TABLE}} (id bigserial PRIMARY KEY, voter text, "
                   "choice text, created timestamptz)")
print(board.pk)
"""
    out = subprocess.run(
        [PYTHON, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return int(out.stdout.strip().splitlines()[-1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process this benchmark started, and its children (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(base: str) -> None:
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"{base}/", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer")


async def versus_voter(
    base: str, board: int, deadline: float, measure_from: float, tally: Tally
) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await client.get(f"/leaderboards/{board}/vote/")
        token = client.cookies.get("csrftoken", "")
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            nxt = await client.get(f"/api/v1/leaderboards/{board}/matchups/next/")
            t1 = time.perf_counter()
            if nxt.status_code == 204:
                tally.exhausted += 1
                return
            if nxt.status_code != 200:
                tally.statuses[nxt.status_code] += 1
                continue
            matchup = nxt.json()["id"]
            vote = await client.post(
                f"/api/v1/matchups/{matchup}/vote/",
                json={"choice": random.choice(CHOICES)},
                headers={"X-CSRFToken": token},
            )
            t2 = time.perf_counter()
            tally.statuses[vote.status_code] += 1
            if vote.status_code == 201:
                tally.acknowledged.append((matchup, int(vote.json()["id"])))
            if t0 >= measure_from:
                tally.add("next", t1 - t0)
                tally.add("vote", t2 - t1)
                tally.add("cycle", t2 - t0)
                tally.completed += vote.status_code == 201


async def bare_voter(base: str, k: int, deadline: float, measure_from: float, tally: Tally) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            response = await client.post(
                "/bench/bare/", json={"choice": random.choice(CHOICES)}, headers={"X-Voter": str(k)}
            )
            t1 = time.perf_counter()
            tally.statuses[response.status_code] += 1
            if response.status_code == 201:
                tally.acknowledged.append((0, int(response.json()["id"])))
            if t0 >= measure_from:
                tally.add("vote", t1 - t0)
                tally.completed += response.status_code == 201


def load(kind: str, base: str, board: int, voters: int, seconds: float, warmup: float) -> Tally:
    tally = Tally()
    start_at = time.perf_counter()
    measure_from, deadline = start_at + warmup, start_at + warmup + seconds

    async def everyone() -> None:
        if kind == "versus":
            jobs = [versus_voter(base, board, deadline, measure_from, tally) for _ in range(voters)]
        else:
            jobs = [bare_voter(base, k, deadline, measure_from, tally) for k in range(voters)]
        await asyncio.gather(*jobs)

    asyncio.run(everyone())
    return tally


def audit(database_url: str, kind: str, tally: Tally) -> tuple[int, int, int]:
    """(lost, duplicated, stored without an acknowledgement) from the database."""
    import psycopg

    from benchmarks.voting_load import BARE_TABLE

    with psycopg.connect(database_url) as conn:
        if kind == "bare":
            stored = {row[0] for row in conn.execute(f"SELECT id FROM {BARE_TABLE}")}
            acked = {vote_id for _, vote_id in tally.acknowledged}
            return len(acked - stored), 0, len(stored - acked)
        rows = conn.execute("SELECT matchup_id, id FROM evaluation_vote").fetchall()
    stored_ids = {vote_id for _, vote_id in rows}
    per_matchup = Counter(matchup for matchup, _ in rows)
    duplicated = sum(n - 1 for n in per_matchup.values() if n > 1)
    acked = {vote_id for _, vote_id in tally.acknowledged}
    pairs = set(rows)
    # Acknowledged for one matchup but stored for another would be a lost vote too.
    misfiled = sum(1 for pair in tally.acknowledged if pair[1] in stored_ids and pair not in pairs)
    return len(acked - stored_ids) + misfiled, duplicated, len(stored_ids - acked)


def clear(database_url: str) -> None:
    """Empty the bare table and the votes, so each run is audited on its own rows."""
    import psycopg

    from benchmarks.voting_load import BARE_TABLE

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {BARE_TABLE}")
        conn.execute("DELETE FROM evaluation_vote")


def main() -> None:
    """Set up the stack, run every voter count for both paths, print the table, clean up."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voting_load", description=__doc__)
    parser.add_argument("--voters", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/h_voteload")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()

    import redis

    env = environment(args.database_url, args.redis_url)
    fresh_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    board = seed(env, n_models=args.models, n_prompts=args.prompts)
    logs = ROOT / "benchmarks" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    web = start(
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        env,
        logs / "voting_load_gunicorn.log",
    )
    worker = start(
        [str(BIN / "celery"), "-A", "config", "worker", "-c", "1", "--loglevel", "WARNING"],
        env,
        logs / "voting_load_celery.log",
    )
    rows = []
    try:
        wait_ready(base)
        for voters in args.voters:
            for kind in ("bare", "versus"):
                clear(args.database_url)
                tally = load(kind, base, board, voters, args.seconds, args.warmup)
                lost, duplicated, unacked = audit(args.database_url, kind, tally)
                rows.append((kind, voters, tally, lost, duplicated, unacked))
    finally:
        stop(web)
        stop(worker)

    print(
        f"Voting load: gunicorn {args.workers} sync workers + PostgreSQL + Redis + 1 Celery "
        f"worker, {args.models} models x {args.prompts} prompts; {args.seconds:g} s measured "
        f"after {args.warmup:g} s warm-up; clients in one asyncio process on the same "
        f"{os.cpu_count()}-core machine."
    )
    print(
        "bare = POST /bench/bare/ (one INSERT). Versus = GET next matchup + POST vote per vote; "
        "latency of the vote POST, of GET next, and of the whole cycle."
    )
    print()
    header = (
        "| path | voters | votes/s | vote p50 ms | vote p99 ms | next p50 ms | next p99 ms "
        "| cycle p99 ms | lost | duplicated | stored, not acked | other answers |"
    )
    print(header)
    print("|---" * 12 + "|")
    for kind, voters, tally, lost, duplicated, unacked in rows:
        rate = tally.completed / args.seconds
        lat = tally.latencies
        others = {k: v for k, v in tally.statuses.items() if k not in (200, 201)}
        exhausted = f"; {tally.exhausted} voters saw every pair" if tally.exhausted else ""
        print(
            f"| {kind} | {voters} | {rate:,.0f} | {percentile(lat.get('vote', []), 50):.1f} | "
            f"{percentile(lat.get('vote', []), 99):.1f} | "
            f"{percentile(lat.get('next', []), 50):.1f} | "
            f"{percentile(lat.get('next', []), 99):.1f} | "
            f"{percentile(lat.get('cycle', []), 99):.1f} | {lost} | {duplicated} | {unacked} | "
            f"{dict(others) or '-'}{exhausted} |"
        )
    for voters in args.voters:
        bare = next(r for r in rows if r[0] == "bare" and r[1] == voters)
        versus = next(r for r in rows if r[0] == "versus" and r[1] == voters)
        ratio = versus[2].completed / max(bare[2].completed, 1)
        print(f"\n{voters} voters: Versus votes/s = {ratio:.2f} x the bare view's inserts/s")
