"""gunicorn's settings for the image (`docker compose up`) and the voting-load benchmark.

gunicorn reads this file from the working directory; command-line flags override it. Size the
server without a rebuild: ``WEB_CONCURRENCY`` workers (about one per core) x
``GUNICORN_THREADS`` threads, each thread holding one PostgreSQL connection (CONN_MAX_AGE).

- gthread workers keep connections alive, so a slow client does not hold a whole worker (the
  container faces clients with no buffering proxy in front, which sync workers need), and a
  request's threads overlap PostgreSQL and Redis round trips.
- Workers are not recycled after a number of requests (``max_requests`` stays 0): a gthread
  worker that reaches its limit resets the connections it has accepted and not yet served
  (benoitc/gunicorn#3038, open), so a vote could fail with a reset at every recycle.
- The application is imported once, in the master, before the workers are forked
  (``preload_app``). Importing it (Django, the URLconf, numpy, scipy) costs about 2.5 s of CPU;
  without preloading every worker paid that when it started, and its first voter waited for the
  URLconf import. A forked worker starts with all of it in place, and shares its memory pages
  with the master until it writes to them.
- The collector is kept off the imported objects: collection is paused while the master imports
  the application, what it imported is frozen before each fork (`gc.freeze`: permanent, never
  scanned again), and each worker collects only what it creates. A full collection then walks a
  worker's own objects, not the ~150,000 of Django, numpy and scipy (about 100 ms each time),
  and does not touch, and so copy, the shared pages. This is the sequence the `gc.freeze`
  documentation gives for a process that forks without exec.
- The heartbeat file lives in /dev/shm: a container's overlay filesystem can stall it.
"""

from __future__ import annotations

import gc
import os
from typing import Any


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SystemExit(f"{name} must be 0 or more, not {value}")
    return value


bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
worker_class = "gthread"
workers = max(1, _positive("WEB_CONCURRENCY", 4))
threads = max(1, _positive("GUNICORN_THREADS", 4))
keepalive = 5
preload_app = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"

# The master imports the application after reading this file: no collection while it does.
gc.disable()


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, before each fork: freeze what it holds, so that no worker's collector
    scans it, and collect again from here on (in the master and, inherited, in the worker)."""
    gc.freeze()
    gc.enable()
