"""Simulated votes for the benchmarks, written in bulk: many thousands per second.

`vote_rows` draws votes between random pairs with Bradley-Terry strengths, 12% ties and 3% "both
bad"; `votes_insert` writes them, every other column of the Vote table at its default;
`bulk_insert` is the writer under it (``COPY`` on PostgreSQL). Django must be set up first.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any

import numpy as np


def vote_rows(
    rng: np.random.Generator,
    *,
    count: int,
    model_ids: np.ndarray,
    strength: np.ndarray,
    prompt_ids: np.ndarray,
    voter_ids: np.ndarray,
) -> dict[str, np.ndarray]:
    n = model_ids.size
    left = rng.integers(0, n, size=count)
    right = (left + rng.integers(1, n, size=count)) % n
    p_left = 1 / (1 + np.exp(-(strength[left] - strength[right])))
    u = rng.random(count)
    choice = np.where(rng.random(count) < p_left, "left", "right").astype(object)
    choice[u < 0.12] = "tie"
    choice[u > 0.97] = "both_bad"
    return {
        "left": model_ids[left],
        "right": model_ids[right],
        "choice": choice,
        "prompt": prompt_ids[rng.integers(0, prompt_ids.size, size=count)],
        "voter": voter_ids[rng.integers(0, voter_ids.size, size=count)],
        "view_ms": rng.integers(800, 9000, size=count),
    }


def bulk_insert(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Write `rows` into `table`: one ``COPY`` on PostgreSQL, multi-row ``executemany`` batches
    elsewhere. Returns how many rows were written."""
    from django.db import connection

    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = ", ".join(f'"{c}"' for c in columns)
            with cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        marks = ", ".join(["%s"] * len(columns))
        sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})'
        rows = iter(rows)
        while batch := list(islice(rows, 50_000)):
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


def votes_insert(leaderboard_id: int, rows: dict[str, np.ndarray], created: Any) -> None:
    """Write votes in bulk, filling every other column of the Vote table with its default."""
    from django.db import connection

    from evaluation.models import Vote

    given = {
        "leaderboard_id": lambda k: leaderboard_id,
        "prompt_id": lambda k: int(rows["prompt"][k]),
        "left_model_id": lambda k: int(rows["left"][k]),
        "right_model_id": lambda k: int(rows["right"][k]),
        "choice": lambda k: rows["choice"][k],
        "voter_id": lambda k: int(rows["voter"][k]),
        "view_ms": lambda k: int(rows["view_ms"][k]),
        "created": lambda k: created,
    }
    fields = [f for f in Vote._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults: list[Any] = []
    for f in fields:
        if f.column in given:
            defaults.append(None)
        elif f.has_default():
            defaults.append(f.get_db_prep_value(f.get_default(), connection))
        else:
            defaults.append(None)
    count = rows["left"].size

    def values(k: int) -> tuple[Any, ...]:
        return tuple(
            given[c](k) if c in given else d for c, d in zip(columns, defaults, strict=True)
        )

    bulk_insert(Vote._meta.db_table, columns, (values(k) for k in range(count)))
