"""Voting under load: Versus's vote paths beside a bare one-insert view, same server, same run.

What runs
---------
- PostgreSQL database ``h_voteload`` (dropped and migrated afresh) and Redis db 5 (flushed),
  unless ``--database-url`` / ``--redis-url`` say otherwise.
- gunicorn with the image's settings (``gunicorn.conf.py``: the application preloaded in the
  master, access log on; ``--workers`` workers of ``--worker-class``, ``--threads`` each; by
  default the image's 4 gthread workers x 4 threads) serving Versus with
  ``benchmarks.voting_load.settings``: Versus's settings and routes plus ``POST /bench/bare/``,
  a view that does one INSERT, and ``POST /bench/bare-orm/``, the same INSERT through the model
  layer. Every path is measured against this one server.
- One Celery worker with two processes, as compose runs it (the matchmaker refilling the Redis
  queue, the debounced rater).
- A leaderboard of ``--models`` models x ``--prompts`` prompts (tiny PNGs).

Paths
-----
- ``bare``: each voter loops ``POST /bench/bare/``.
- ``bare-orm``: each voter loops ``POST /bench/bare-orm/`` (``Model.objects.create``).
- ``api``: the scripted client's flow: GET the next matchup, then POST the vote (two requests).
- ``page``: the voting page's flow: POST the vote with ``"next": true``; the answer carries
  the next matchup (one request per vote; the first matchup comes from one GET).

Each simulated voter is an HTTP client with its own cookies: it opens the voting page once
(voter and CSRF cookies, not timed), then loops. ``--think-ms`` makes each voter pause about
that long with a matchup on screen before voting (bare voters pause as long between inserts):
each pause is drawn uniformly from half to one and a half times it, as people take more or
less time, so that voters who started together do not stay in lockstep and arrive in bursts.
0, the default, is a stress test where every voter always has a request in flight. Clients run
in one asyncio process (httpx). Only cycles that start after the ``--warmup`` and finish
before the end of the ``--seconds`` window count. Rate limits stay on, set high (100000/min)
so they cost what they cost without refusing anyone.

Afterwards the database is compared with what the clients were told: a vote acknowledged with
201 but missing is lost; more than one vote row per matchup is a duplicate; a row the client was
never told about (its request timed out) is reported apart. The CPU time each process group
used during a path's window (gunicorn, this database's PostgreSQL backends, the Celery worker,
the client) is read from /proc and divided by the votes counted.

``--rounds N`` measures the paths in turn N times, every other round in reverse (bare, page,
page, bare, bare, page, ...), and adds up each path's windows; the ratio line also gives each
round's, and from three rounds on their geometric mean with a 95% interval. On shared cloud
cores, whose speed drifts from minute to minute, one window per path compares two minutes as
much as two paths, and a fixed order would give the drift to the path that always comes last.

``python -m benchmarks.voting_load [--voters 8 32] [--seconds 20] [--rounds 3] [--workers 4]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.voting_load import DIRECT_KEY, gcstats

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
    direct: int = 0
    """Matchups chosen in the web process (queue empty) during the whole run."""
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds per process group during the window."""
    gc: list[float] = field(default_factory=lambda: [0.0] * 6)
    """gunicorn's garbage collections in the window (`--gc-stats`): counts of generations 0, 1
    and 2, then their CPU seconds."""
    wal_wait_ms: float | None = None
    """The longest a statement of the benchmark's database was seen waiting on the WAL (its
    fsync, or the lock of the one who does it) during the window; None if never looked."""

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds * 1000)

    def merge(self, other: Tally) -> None:
        """Add `other`'s window to this one (rounds of one path)."""
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.completed += other.completed
        self.statuses.update(other.statuses)
        self.acknowledged.extend(other.acknowledged)
        self.exhausted += other.exhausted
        self.direct += other.direct
        self.gc = [mine + theirs for mine, theirs in zip(self.gc, other.gc, strict=True)]
        for name, seconds in other.cpu.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + seconds
        if other.wal_wait_ms is not None:
            self.wal_wait_ms = max(self.wal_wait_ms or 0.0, other.wal_wait_ms)


@dataclass(frozen=True)
class Window:
    """The measured window of one path: cycles starting after `start` and done by `end`."""

    start: float
    end: float
    think: float

    def counts(self, t0: float, t1: float) -> bool:
        return t0 >= self.start and t1 <= self.end

    def pause(self) -> float:
        """One voter's time with a pair on screen: around `think`, never the same twice."""
        return random.uniform(0.5, 1.5) * self.think


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
        # Production settings (DEBUG off) want a real key, and HTTPS unless told otherwise:
        # the clients talk plain HTTP on loopback.
        SECRET_KEY=secrets.token_urlsafe(50),
        VERSUS_HTTPS="0",
        DB_PREPARED_STATEMENTS="1",  # as docker-compose.yml runs it
        PYTHONPATH=str(ROOT),
    )
    return env


NO_PRELOAD = [
    "-c",
    os.devnull,
    "--keep-alive",
    "5",
    "--worker-tmp-dir",
    "/dev/shm",
    "--access-logfile",
    "-",
]
"""gunicorn flags as the image had them before `gunicorn.conf.py` (less worker recycling, see
`boot.py`): no preloading, each worker imports the application itself."""


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--database-url`` and ``--redis-url``: the benchmark's own database and Redis db."""
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/h_voteload")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")


def database_name(database_url: str) -> str:
    """The database a PostgreSQL URL names."""
    return database_url.rsplit("/", 1)[1]


def admin_url(database_url: str) -> str:
    """The same server's `postgres` database: for what must not run in the benchmark's own
    (dropping it, or watching it without being counted as one of its backends)."""
    return database_url.rsplit("/", 1)[0] + "/postgres"


def fresh_database(database_url: str) -> None:
    """Drop and create the benchmark's database (never the project's own)."""
    import psycopg

    name = database_name(database_url)
    admin = admin_url(database_url)
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


def wait_settled(groups: dict[str, int], database: str, limit: float = 90.0) -> float:
    """Wait until every gunicorn and Celery process has finished starting; seconds waited.

    The first worker to answer says nothing of the others: each imports Django, numpy and scipy
    on its own (about 2.3 s of CPU each here), and on a small machine they are still doing so
    when the first path starts, which takes CPU from that path's window. Settled means the two
    groups used under a tenth of a core for two half-second readings in a row.
    """
    started = time.perf_counter()
    quiet = 0
    before = process_cpu(groups, database)
    while quiet < 2 and time.perf_counter() - started < limit:
        time.sleep(0.5)
        after = process_cpu(groups, database)
        used = cpu_used(before, after)
        busy = used.get("gunicorn", 0.0) + used.get("celery", 0.0)
        quiet = quiet + 1 if busy < 0.05 else 0
        before = after
    return time.perf_counter() - started


class Session:
    """A voter's cookies and CSRF token, sent as plain headers.

    httpx's cookie jar copies itself and runs the cookie policy on every request and
    response, on the cores the server shares, which the bare client, holding no cookies,
    never pays (see the README for what it cost). A browser keeps its cookies
    on its own machine. So each voter takes the jar's cookies into a header once, after
    opening the voting page, and folds in any cookie a later answer sets.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.absorb()

    def absorb(self) -> None:
        """Move the jar's cookies into the headers (and empty the jar)."""
        jar = self.client.cookies
        if not jar:
            return
        self.cookies.update({cookie.name: cookie.value for cookie in jar.jar})
        jar.clear()
        self.headers = {
            "Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items()),
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
        }

    async def get(self, url: str) -> Any:
        response = await self.client.get(url, headers=self.headers)
        self.absorb()
        return response

    async def post(self, url: str, body: dict[str, Any]) -> Any:
        response = await self.client.post(url, json=body, headers=self.headers)
        self.absorb()
        return response


async def _vote(session: Session, matchup: int, *, with_next: bool) -> Any:
    body: dict[str, Any] = {"choice": random.choice(CHOICES)}
    if with_next:
        body["next"] = True
    return await session.post(f"/api/v1/matchups/{matchup}/vote/", body)


async def api_voter(base: str, board: int, window: Window, tally: Tally) -> None:
    """The scripted flow: GET next, then POST the vote."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await client.get(f"/leaderboards/{board}/vote/")
        session = Session(client)
        while time.perf_counter() < window.end:
            t0 = time.perf_counter()
            nxt = await session.get(f"/api/v1/leaderboards/{board}/matchups/next/")
            t1 = time.perf_counter()
            if nxt.status_code == 204:
                tally.exhausted += 1
                return
            if nxt.status_code != 200:
                tally.statuses[nxt.status_code] += 1
                continue
            matchup = int(nxt.json()["id"])
            await asyncio.sleep(window.pause())
            t2 = time.perf_counter()
            vote = await _vote(session, matchup, with_next=False)
            t3 = time.perf_counter()
            tally.statuses[vote.status_code] += 1
            if vote.status_code == 201:
                tally.acknowledged.append((matchup, int(vote.json()["id"])))
            if window.counts(t0, t3):
                tally.add("next", t1 - t0)
                tally.add("vote", t3 - t2)
                tally.add("cycle", t1 - t0 + t3 - t2)
                tally.completed += vote.status_code == 201


async def page_voter(base: str, board: int, window: Window, tally: Tally) -> None:
    """The voting page's flow: each vote's answer carries the next matchup."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await client.get(f"/leaderboards/{board}/vote/")
        session = Session(client)
        first = await session.get(f"/api/v1/leaderboards/{board}/matchups/next/")
        matchup = int(first.json()["id"]) if first.status_code == 200 else None
        while matchup is not None and time.perf_counter() < window.end:
            await asyncio.sleep(window.pause())
            t0 = time.perf_counter()
            vote = await _vote(session, matchup, with_next=True)
            t1 = time.perf_counter()
            tally.statuses[vote.status_code] += 1
            if vote.status_code != 201:
                # Not expected; start again from GET next as the page does.
                again = await session.get(f"/api/v1/leaderboards/{board}/matchups/next/")
                matchup = int(again.json()["id"]) if again.status_code == 200 else None
                continue
            body = vote.json()
            tally.acknowledged.append((matchup, int(body["id"])))
            if window.counts(t0, t1):
                tally.add("vote", t1 - t0)
                tally.add("cycle", t1 - t0)
                tally.completed += 1
            matchup = int(body["next"]["id"]) if body.get("next") else None
        if matchup is None:
            tally.exhausted += 1


async def bare_voter(base: str, url: str, k: int, window: Window, tally: Tally) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.perf_counter() < window.end:
            await asyncio.sleep(window.pause())
            t0 = time.perf_counter()
            response = await client.post(
                url, json={"choice": random.choice(CHOICES)}, headers={"X-Voter": str(k)}
            )
            t1 = time.perf_counter()
            tally.statuses[response.status_code] += 1
            if response.status_code == 201:
                tally.acknowledged.append((0, int(response.json()["id"])))
            if window.counts(t0, t1):
                tally.add("vote", t1 - t0)
                tally.add("cycle", t1 - t0)
                tally.completed += response.status_code == 201


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(groups: dict[str, int], database: str) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process in the named process groups, and of this
    database's PostgreSQL backends, by pid (Linux /proc; empty elsewhere)."""
    found: dict[int, tuple[str, float]] = {}
    by_group = {pgid: name for name, pgid in groups.items()}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        pgid, seconds = int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK
        if pgid in by_group:
            found[int(entry.name)] = (by_group[pgid], seconds)
        elif cmdline.startswith("postgres:") and f" {database} " in cmdline:
            found[int(entry.name)] = ("postgres", seconds)
    return found


WAITING = """
SELECT coalesce(max(extract(epoch FROM clock_timestamp() - query_start)) * 1000, 0)
FROM pg_stat_activity
WHERE datname = %s AND state = 'active' AND wait_event = ANY(%s)
"""
"""How long the oldest statement of a database now waiting on one of some wait events has
run, in ms (0: none waits)."""

WAL_EVENTS = ("WALSync", "WALWrite")
"""Waiting on the WAL: its fsync (IO), or the lock of the backend doing one (LWLock)."""

WAL_EVERY_SECONDS = 0.1


async def watch_wal(
    database_url: str, window: Window, *, events: tuple[str, ...] = WAL_EVENTS
) -> float:
    """The longest a statement waited on the WAL (`events`) in `window`, in ms, read from
    `pg_stat_activity` every `WAL_EVERY_SECONDS`: a vote is acknowledged once its commit is on
    disk, so when the disk stalls every vote waits (stalls shorter than the interval can be
    missed). Watches from the `postgres` database (`admin_url`)."""
    import psycopg

    name = database_name(database_url)
    longest = 0.0
    async with await psycopg.AsyncConnection.connect(
        admin_url(database_url), autocommit=True
    ) as conn:
        await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
        while time.perf_counter() < window.end:
            row = await (await conn.execute(WAITING, [name, list(events)])).fetchone()
            longest = max(longest, float(row[0]) if row else 0.0)
            await asyncio.sleep(WAL_EVERY_SECONDS)
    return longest


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting on I/O)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def cpu_used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    used: dict[str, float] = {}
    for pid, (name, seconds) in after.items():
        start = before.get(pid, (name, 0.0))[1]
        used[name] = used.get(name, 0.0) + seconds - start
    return used


def load(
    kind: str,
    base: str,
    board: int,
    voters: int,
    seconds: float,
    warmup: float,
    think_ms: float,
    groups: dict[str, int],
    database_url: str,
    gc_dir: str = "",
) -> Tally:
    tally = Tally()
    start_at = time.perf_counter()
    window = Window(start_at + warmup, start_at + warmup + seconds, think_ms / 1000)
    database = database_name(database_url)
    marks: dict[str, Any] = {}

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
        marks["before"], marks["client0"] = process_cpu(groups, database), os.times()
        marks["busy0"] = machine_busy()
        marks["gc0"] = gcstats.read(gc_dir) if gc_dir else {}
        await asyncio.sleep(max(0.0, window.end - time.perf_counter()))
        marks["after"], marks["client1"] = process_cpu(groups, database), os.times()
        marks["busy1"] = machine_busy()
        marks["gc1"] = gcstats.read(gc_dir) if gc_dir else {}

    async def everyone() -> float:
        """Every voter and the meters; what `watch_wal` saw."""
        jobs: list[Any] = [watch_wal(database_url, window), measure_cpu()]
        for k in range(voters):
            if kind == "api":
                jobs.append(api_voter(base, board, window, tally))
            elif kind == "page":
                jobs.append(page_voter(base, board, window, tally))
            else:
                jobs.append(bare_voter(base, FLOORS[kind], k, window, tally))
        return (await asyncio.gather(*jobs))[0]

    tally.wal_wait_ms = asyncio.run(everyone())
    tally.cpu = cpu_used(marks["before"], marks["after"])
    c0, c1 = marks["client0"], marks["client1"]
    tally.cpu["client"] = (c1.user + c1.system) - (c0.user + c0.system)
    # Everything else the machine did meanwhile: Redis, PostgreSQL's background processes, the
    # kernel, and other people's work, which would make this window's figures unreliable.
    tally.cpu["rest"] = max(0.0, marks["busy1"] - marks["busy0"] - sum(tally.cpu.values()))
    tally.gc = gcstats.used(marks["gc0"], marks["gc1"])
    return tally


def audit(database_url: str, kind: str, tally: Tally) -> tuple[int, int, int]:
    """(lost, duplicated, stored without an acknowledgement) from the database."""
    import psycopg

    from benchmarks.voting_load import BARE_TABLE

    with psycopg.connect(database_url) as conn:
        if kind in FLOORS:
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


def rounds_order(paths: list[str], rounds: int) -> list[str]:
    """The windows of `rounds` rounds of `paths`, every other round in reverse (bare, page,
    page, bare, ...): a machine that slows down or speeds up steadily then weighs on every
    path alike, not on the one that always comes last."""
    return [kind for k in range(rounds) for kind in (paths if k % 2 == 0 else paths[::-1])]


def ratio_interval(ratios: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """The geometric mean of per-round throughput ratios and its `level` interval (Student's t
    on the logs, rounds as independent draws): how far the machine's drift leaves the ratio
    uncertain. A ratio is a quotient, so its logs, not its values, spread evenly; the mean of
    0.5 and 2 is 1. Needs two rounds or more."""
    from scipy import stats

    values = np.asarray(ratios, dtype=float)
    if values.size < 2 or not np.all(values > 0):
        raise ValueError("an interval needs two or more positive ratios")
    logs = np.log(values)
    centre = float(logs.mean())
    half = float(stats.t.ppf(0.5 + level / 2, logs.size - 1) * stats.sem(logs))
    return float(np.exp(centre)), float(np.exp(centre - half)), float(np.exp(centre + half))


FLOORS = {"bare": "/bench/bare/", "bare-orm": "/bench/bare-orm/"}
"""The floor views, by path: one INSERT in raw SQL, and the same through the model layer."""

PATHS = {
    "bare": "bare: POST /bench/bare/ (one INSERT)",
    "bare-orm": "bare-orm: POST /bench/bare-orm/ (the same INSERT through Model.objects.create)",
    "api": "api: GET next + POST vote (two requests per vote)",
    "page": 'page: POST vote with "next": true (one request per vote)',
}


def main() -> None:
    """Set up the stack, run every voter count for every path, print the tables, clean up."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.voting_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voters", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--paths", nargs="+", choices=list(PATHS), default=list(PATHS))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure the paths in turn this many times (bare, page, bare, page, ...) and add "
        "up each path's windows: a machine whose speed drifts then slows every path alike",
    )
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause before each vote, drawn from 0.5x to 1.5x (0: stress test)",
    )
    # The defaults are the production image's (Dockerfile): 4 gthread workers x 4 threads.
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--no-prepared",
        action="store_true",
        help="PostgreSQL without prepared statements (DB_PREPARED_STATEMENTS=0; compose has 1)",
    )
    parser.add_argument(
        "--bare-extra-selects",
        type=int,
        default=0,
        help="the bare view also runs this many one-row SELECTs (the price of a round trip)",
    )
    parser.add_argument("--models", type=int, default=30)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--no-preload",
        action="store_true",
        help="each gunicorn worker imports the application itself (the image's flags before "
        "gunicorn.conf.py), instead of forking from a master that imported it",
    )
    parser.add_argument(
        "--gc-stats",
        action="store_true",
        help="also time the garbage collections of the gunicorn processes (gcstats.py)",
    )
    parser.add_argument(
        "--sql",
        action="append",
        default=[],
        help="run this statement on the benchmark's database after seeding (repeatable): to "
        "price an index, a constraint or a table setting under load",
    )
    add_store_arguments(parser)
    args = parser.parse_args()

    import psycopg
    import redis

    env = environment(args.database_url, args.redis_url)
    if args.no_prepared:
        env["DB_PREPARED_STATEMENTS"] = "0"
    env["VOTING_LOAD_BARE_EXTRA_SELECTS"] = str(args.bare_extra_selects)
    gc_dir = ""
    if args.gc_stats:
        gc_dir = str(ROOT / "benchmarks" / "results" / "gc")
        Path(gc_dir).mkdir(parents=True, exist_ok=True)
        for old in Path(gc_dir).iterdir():
            old.unlink()
        env[gcstats.ENV] = gc_dir
    fresh_database(args.database_url)
    queue_redis = redis.Redis.from_url(args.redis_url)
    queue_redis.flushdb()
    board = seed(env, n_models=args.models, n_prompts=args.prompts)
    if args.sql:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            for statement in args.sql:
                conn.execute(statement)
        print(f"{len(args.sql)} statements run after seeding")
    logs = ROOT / "benchmarks" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{args.port}"
    server = [
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
    ]
    web = start(
        [
            str(BIN / "gunicorn"),
            *(NO_PRELOAD if args.no_preload else ["-c", str(ROOT / "gunicorn.conf.py")]),
            "config.wsgi:application",
            *server,
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        env,
        logs / "voting_load_gunicorn.log",
    )
    worker = start(
        [str(BIN / "celery"), "-A", "config", "worker", "-c", "2", "--loglevel", "WARNING"],
        env,
        logs / "voting_load_celery.log",
    )
    groups = {"gunicorn": web.pid, "celery": worker.pid}
    database = database_name(args.database_url)
    load_before = os.getloadavg()
    rows = []
    try:
        wait_ready(base)
        settled = wait_settled(groups, database)
        print(f"Every server process settled {settled:.1f} s after the first answer.", flush=True)
        for voters in args.voters:
            for kind in rounds_order(args.paths, args.rounds):
                clear(args.database_url)
                queue_redis.delete(DIRECT_KEY)
                tally = load(
                    kind,
                    base,
                    board,
                    voters,
                    args.seconds,
                    args.warmup,
                    args.think_ms,
                    groups,
                    args.database_url,
                    gc_dir,
                )
                tally.direct = int(queue_redis.get(DIRECT_KEY) or 0)
                lost, duplicated, unacked = audit(args.database_url, kind, tally)
                rows.append((kind, voters, tally, lost, duplicated, unacked))
    finally:
        stop(web)
        stop(worker)
    report(args, rows, load_before, os.getloadavg())


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f}" if values else "-"


def report(
    args: argparse.Namespace,
    rows: list[tuple[str, int, Tally, int, int, int]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    """Print the latency table, the CPU-per-vote table and the throughput ratios, each
    path's rounds added up."""
    rounds: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for kind, voters, *window_row in rows:
        rounds.setdefault((kind, voters), []).append(tuple(window_row))
    totals: dict[tuple[str, int], Tally] = {}
    merged = []
    for (kind, voters), windows in rounds.items():
        total = totals[(kind, voters)] = Tally()
        for tally, *_ in windows:
            total.merge(tally)
        lost, duplicated, unacked = (sum(w[k] for w in windows) for k in (1, 2, 3))
        merged.append((kind, voters, total, lost, duplicated, unacked))
    window = args.seconds * args.rounds
    threads = f", {args.threads} threads each" if args.threads > 1 else ""
    print(
        f"Voting load: gunicorn {args.workers} {args.worker_class} workers{threads} + PostgreSQL "
        f"+ Redis + 1 Celery worker (2 processes), {args.models} models x {args.prompts} prompts; "
        f"{args.seconds:g} s measured after {args.warmup:g} s warm-up"
        + (f", {args.rounds} rounds of the paths in turn" if args.rounds > 1 else "")
        + "; think time "
        f"{args.think_ms:g} ms; prepared statements {'off' if args.no_prepared else 'on'}; "
        + (
            f"the bare view runs {args.bare_extra_selects} extra SELECTs; "
            if args.bare_extra_selects
            else ""
        )
        + "clients in one asyncio process on the same "
        f"{os.cpu_count()}-core machine; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after."
    )
    print("; ".join(PATHS[p] for p in args.paths) + ".")
    print("Latencies: the vote request, GET next (api only), and both together (cycle).")
    print()
    print(
        "| path | voters | votes/s | vote p50 ms | vote p99 ms | next p50 ms | next p99 ms "
        "| cycle p50 ms | cycle p99 ms | direct choices | lost | duplicated | stored, not acked "
        "| other answers |"
    )
    print("|---" * 14 + "|")
    for kind, voters, tally, lost, duplicated, unacked in merged:
        rate = tally.completed / window
        lat = tally.latencies
        others = {k: v for k, v in tally.statuses.items() if k not in (200, 201)}
        exhausted = f"; {tally.exhausted} voters saw every pair" if tally.exhausted else ""
        issued = len(tally.acknowledged)
        direct = f"{100 * tally.direct / issued:.1f}%" if kind not in FLOORS and issued else "-"
        print(
            f"| {kind} | {voters} | {rate:,.0f} | {_ms(lat.get('vote', []), 50)} | "
            f"{_ms(lat.get('vote', []), 99)} | {_ms(lat.get('next', []), 50)} | "
            f"{_ms(lat.get('next', []), 99)} | {_ms(lat.get('cycle', []), 50)} | "
            f"{_ms(lat.get('cycle', []), 99)} | {direct} | {lost} | {duplicated} | {unacked} | "
            f"{dict(others) or '-'}{exhausted} |"
        )
    waits = [(kind, voters, t.wal_wait_ms) for kind, voters, t, *_ in merged]
    if any(ms is not None for *_, ms in waits):
        print()
        print(
            "Longest a statement was seen waiting on the WAL's fsync (pg_stat_activity every "
            f"{WAL_EVERY_SECONDS:g} s; a vote is acknowledged once its commit is on disk, so a "
            "stall of the disk is in the latency of every vote it catches): "
            + ", ".join(
                f"{kind} x {voters}: {ms:.0f} ms" for kind, voters, ms in waits if ms is not None
            )
            + "."
        )
    print()
    print(
        "CPU ms per counted vote, by process group, during the measured window; rest = the "
        "rest of the machine (Redis, PostgreSQL background, kernel, other work), in cores:"
    )
    print()
    names = ["gunicorn", "postgres", "celery", "client"]
    print("| path | voters | " + " | ".join(names) + " | total | rest (cores) |")
    print("|---" * (len(names) + 4) + "|")
    for kind, voters, tally, *_ in merged:
        per = [1000 * tally.cpu.get(n, 0.0) / max(tally.completed, 1) for n in names]
        cells = " | ".join(f"{v:.2f}" for v in per)
        rest = tally.cpu.get("rest", 0.0) / window
        print(f"| {kind} | {voters} | {cells} | {sum(per):.2f} | {rest:.2f} |")
    if args.gc_stats:
        print()
        print("gunicorn's garbage collections in the measured window, all processes:")
        print()
        print(
            "| path | voters | collections per 1,000 votes: gen 0 / 1 / 2 | GC CPU ms per vote: "
            "gen 0 / 1 / 2 | GC CPU ms per vote |"
        )
        print("|---|---|---|---|---|")
        for kind, voters, tally, *_ in merged:
            votes = max(tally.completed, 1)
            counts = " / ".join(f"{1000 * n / votes:.1f}" for n in tally.gc[:3])
            ms = " / ".join(f"{1000 * s / votes:.3f}" for s in tally.gc[3:])
            print(
                f"| {kind} | {voters} | {counts} | {ms} | {1000 * sum(tally.gc[3:]) / votes:.3f} |"
            )
    for base_kind in [p for p in args.paths if p in FLOORS]:
        for voters in args.voters:
            bare = totals[(base_kind, voters)]
            for kind in [p for p in args.paths if p not in FLOORS]:
                ratio = totals[(kind, voters)].completed / max(bare.completed, 1)
                per_round = [
                    versus[0].completed / max(floor[0].completed, 1)
                    for floor, versus in zip(
                        rounds[(base_kind, voters)], rounds[(kind, voters)], strict=True
                    )
                ]
                each = ", ".join(f"{r:.2f}" for r in per_round)
                print(
                    f"\n{voters} voters: Versus ({kind}) votes/s = {ratio:.2f} x the {base_kind} "
                    "view's inserts/s" + (f" (round by round: {each})" if args.rounds > 1 else "")
                )
                if len(per_round) >= 3 and min(per_round) > 0:
                    mean, low, high = ratio_interval(per_round)
                    print(
                        f"  geometric mean of the {len(per_round)} rounds {mean:.3f}, "
                        f"95% interval {low:.3f} to {high:.3f}"
                    )
