"""The cyclic garbage collector's work in each gunicorn process (``run.py --gc-stats``).

`install` (from the benchmark's settings, in a gunicorn process only) hooks `gc.callbacks`:
after every collection the process writes its totals so far, per generation, to a file named
by its pid in the given directory. Under preload the master installs it and every forked
worker inherits it, writing its own file. `read` and `used` turn two readings into the
collections and CPU seconds of a window, all processes added up.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

ENV = "VOTING_LOAD_GC_STATS"
"""The directory the processes write to; unset, nothing is hooked."""


def install(directory: str) -> None:
    """Time every collection of this process (and of the processes forked from it)."""
    counts = [0, 0, 0]
    seconds = [0.0, 0.0, 0.0]
    started = [0.0]

    def hook(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.process_time()
            return
        generation = info["generation"]
        counts[generation] += 1
        seconds[generation] += time.process_time() - started[0]
        line = " ".join(str(value) for value in (*counts, *seconds))
        Path(directory, str(os.getpid())).write_text(line)

    gc.callbacks.append(hook)


def read(directory: str) -> dict[str, list[float]]:
    """Each process's totals so far: collections of generations 0, 1, 2, then their seconds."""
    found = {}
    for entry in Path(directory).iterdir():
        try:
            found[entry.name] = [float(value) for value in entry.read_text().split()]
        except (OSError, ValueError):
            continue  # being written, or gone
    return found


def used(before: dict[str, list[float]], after: dict[str, list[float]]) -> list[float]:
    """What every process did between two readings (a process new since `before` counts from
    zero)."""
    total = [0.0] * 6
    for pid, values in after.items():
        start = before.get(pid, [0.0] * 6)
        if len(values) == 6 and len(start) == 6:
            total = [t + v - s for t, v, s in zip(total, values, start, strict=True)]
    return total
