"""The voting-load benchmark's watch on statements waiting for the WAL (`run.watch_wal`)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import psycopg
import pytest

from benchmarks.voting_load.run import Tally, Window, watch_wal


def test_the_rounds_of_a_path_keep_the_longest_wait():
    total = Tally()
    assert total.wal_wait_ms is None  # never looked
    for seen in (12.0, None, 279.0, 40.0):
        total.merge(Tally(wal_wait_ms=seen))
    assert total.wal_wait_ms == 279.0


@pytest.mark.services
def test_it_sees_how_long_a_statement_of_the_database_has_waited():
    # A sleep stands in for a stall of the disk: the same reading, another wait event.
    url = os.environ["DATABASE_URL"]
    started = threading.Event()

    def sleeper() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            started.set()
            conn.execute("SELECT pg_sleep(1.0)")

    thread = threading.Thread(target=sleeper)
    thread.start()
    started.wait(5)
    now = time.perf_counter()
    longest = asyncio.run(watch_wal(url, Window(now, now + 0.7, 0.0), events=("PgSleep",)))
    thread.join()
    assert 300 < longest < 1000

    # Nothing of this database waits on the WAL while nothing writes.
    now = time.perf_counter()
    assert asyncio.run(watch_wal(url, Window(now, now + 0.2, 0.0))) == 0.0
