"""Starting and recycling gunicorn workers: the image's settings beside the flags they replaced.

``python -m benchmarks.voting_load.boot [--requests 1000] [--recycle-after 100]``

Seeds the load benchmark's database (PostgreSQL ``h_voteload``, dropped and recreated, as
``run.py`` does), then starts gunicorn four ways, one after the other, each with 4 gthread
workers x 4 threads serving the bare one-INSERT view:

- **image**: ``gunicorn.conf.py`` (the application imported once, in the master, and forked
  into the workers; workers never recycled);
- **image, recycled**: the same, recycling each worker after about ``--recycle-after`` requests;
- **no preload**: the flags the image ran before (each worker imports the application itself),
  workers never recycled;
- **no preload, recycled**: those flags as the image had them, recycling every ~2,000 requests,
  here after about ``--recycle-after``.

For each: seconds from start until the first answer; the slowest of the next 40 requests (a
worker's first request, if it still had to import anything); the proportional memory (PSS) of
the master and its workers once all answered; then ``--requests`` requests, one at a time and
each on a new connection (as a proxy that does not keep connections alive sends them), the
requests that failed (a reset connection), the workers booted, and the server's CPU time in all
(master and every worker, those recycled included). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import http.client
import resource
import time
from pathlib import Path

import redis

from benchmarks.voting_load.run import (
    BIN,
    NO_PRELOAD,
    ROOT,
    add_store_arguments,
    environment,
    fresh_database,
    seed,
    start,
    stop,
)

OLD_FLAGS = [*NO_PRELOAD, "--worker-class", "gthread", "--workers", "4", "--threads", "4"]
"""The Dockerfile's gunicorn flags before `gunicorn.conf.py` (less the recycling)."""


def post(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/bench/bare/",
            body=b'{"choice": "left"}',
            headers={"Content-Type": "application/json", "Connection": "close"},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def pss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def server_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    label: str, flags: list[str], env: dict[str, str], *, port: int, requests: int
) -> list[str]:
    log = ROOT / "benchmarks" / "results" / f"boot_{label.replace(' ', '_').replace(',', '')}.log"
    cpu_before = server_cpu()
    started = time.monotonic()
    server = start(
        [str(BIN / "gunicorn"), *flags, "config.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        env,
        log,
    )
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {log}")
            try:
                if post(port) == 201:
                    break
            except OSError:
                time.sleep(0.02)
        first = time.monotonic() - started
        slowest = 0.0
        for _ in range(40):
            t0 = time.perf_counter()
            post(port)
            slowest = max(slowest, time.perf_counter() - t0)
        time.sleep(2)
        memory = pss_mb(server.pid) + sum(pss_mb(pid) for pid in children(server.pid))
        failed = 0
        t0 = time.monotonic()
        for _ in range(requests):
            try:
                failed += post(port) != 201
            except (OSError, http.client.HTTPException):
                failed += 1
        wall = time.monotonic() - t0
    finally:
        stop(server)
    booted = log.read_text().count("Booting worker")
    return [
        label,
        f"{first:.2f}",
        f"{slowest * 1000:.0f}",
        f"{memory:.0f}",
        f"{wall:.1f}",
        str(failed),
        str(booted),
        f"{server_cpu() - cpu_before:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.voting_load.boot")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--recycle-after", type=int, default=100)
    parser.add_argument("--port", type=int, default=8766)
    add_store_arguments(parser)
    args = parser.parse_args()

    env = environment(args.database_url, args.redis_url)
    print("Seeding the database ...", flush=True)
    fresh_database(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    seed(env, n_models=2, n_prompts=2)
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    recycle = [
        "--max-requests",
        str(args.recycle_after),
        "--max-requests-jitter",
        str(args.recycle_after // 10),
    ]
    image = ["-c", str(ROOT / "gunicorn.conf.py")]
    variants = [
        ("image", image),
        ("image, recycled", image + recycle),
        ("no preload", OLD_FLAGS),
        ("no preload, recycled", OLD_FLAGS + recycle),
    ]
    rows = []
    for label, flags in variants:
        print(f"{label} ...", flush=True)
        rows.append(measure(label, flags, env, port=args.port, requests=args.requests))
    print()
    print(
        f"gunicorn, 4 gthread workers x 4 threads, bare one-INSERT view; {args.requests} requests "
        f"one at a time on new connections; recycled = after about {args.recycle_after} requests"
    )
    print(
        "| server | first answer s | slowest of next 40 ms | PSS MB | "
        f"{args.requests} requests s | failed | workers booted | server CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
