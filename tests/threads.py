"""Running test work in threads that start together, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(k)` for k < `count` in threads released at once; return each one's result or
    exception (the test must see it). Each thread closes its own connection."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(k: int) -> None:
        try:
            start.wait()
            results[k] = work(k)
        except Exception as exc:
            results[k] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
