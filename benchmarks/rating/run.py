"""Run every library on the same generated boards and print one table.

Each (library, task) runs in its own process (see :mod:`benchmarks.rating.worker`) with a
time limit and a memory limit: the process group is watched every 20 ms and killed when its
resident memory passes the limit or the time runs out, and the row then says so. Peers run in
``.venv-bench`` (``--peer-python``); Versus runs in the interpreter running this script.

With ``--repeat N`` every task that took under 30 s runs N times, each in a fresh process,
and its time is the median (memory and accuracy come from the first run); longer tasks run
once.

Columns
-------
fit s
    From the library's natural input to point scores (Versus: from the vote arrays,
    including the reduction to pair counts).
fit+sandwich s
    Point scores and sandwich (robust) 95% intervals, where the library has them.
bootstrap s
    100 bootstrap rounds for 95% intervals, after the fit when the library lets the fit be
    separated (Versus, choix, arena-rank); FastChat and evalica refit the point estimate
    inside their bootstrap call.
ΔMB
    Peak resident memory of the task above the process's memory just before it (interpreter,
    imports and the input already loaded), for the fit / sandwich / bootstrap task. For
    arena-rank's and current FastChat's bootstraps, whose pools run in separate processes,
    the sampled peak of the whole process group is used instead.
tau, rho
    Kendall tau and Spearman rho between the fitted scores and the true strengths.
±Elo, cover
    Median half-width of the 95% intervals (sandwich where available, else bootstrap), and
    the share of models whose interval holds the value ties-as-half estimates on this design
    (the fit to the expected counts; the generator is Davidson's model, so its own strengths
    are not what ties-as-half estimates). One board, so "cover" is a rough check only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from benchmarks.rating.data import REAL_SETS, Board, generate, real_board

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
RESULTS = ROOT / "benchmarks" / "results"

FULL_SIZES = [(20, 10_000), (100, 1_000_000), (300, 5_000_000)]
QUICK_SIZES = [(20, 10_000), (100, 100_000)]

TASKS: dict[str, tuple[str, ...]] = {
    "versus": ("fit", "sandwich", "bootstrap"),
    "choix": ("fit", "bootstrap"),
    "fastchat": ("fit", "bootstrap"),
    "fastchat-main": ("fit", "bootstrap"),
    "arena-rank": ("fit", "sandwich", "bootstrap"),
    "evalica": ("fit", "bootstrap"),
}

# Their bootstrap runs a multiprocessing pool: memory is the whole process group's.
POOLED = ("arena-rank", "fastchat-main")

LABELS = {
    "versus": "Versus",
    "choix": "choix 0.4 (ILSR) *",
    "fastchat": "FastChat (fschat 0.2.36)",
    "fastchat-main": "FastChat (current source)",
    "arena-rank": "arena-rank",
    "evalica": "evalica",
}


@dataclass
class Outcome:
    """What one worker run gave: a result dict, or a failure status."""

    status: str
    seconds: float | None = None
    delta_mb: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the process group ``pgid``."""
    total_kb = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total_kb / 1024


def run_worker(
    python: str,
    library: str,
    task: str,
    data: Path,
    *,
    rounds: int,
    timeout: float,
    memory_mb: float,
    env: dict[str, str],
) -> Outcome:
    """Run one worker; kill its process group on timeout or when it passes ``memory_mb``."""
    command = [
        python,
        "-m",
        "benchmarks.rating.worker",
        "--library",
        library,
        "--task",
        task,
        "--data",
        str(data),
        "--rounds",
        str(rounds),
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=err, env=env, start_new_session=True
        )
        started = time.monotonic()
        group_peak = 0.0
        status = None
        while process.poll() is None:
            group_peak = max(group_peak, _group_rss_mb(process.pid))
            if group_peak > memory_mb:
                status = f"OOM (> {memory_mb / 1024:.0f} GiB)"
            elif time.monotonic() - started > timeout:
                status = f"timeout (> {timeout:.0f} s)"
            if status:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return Outcome(status)
            time.sleep(0.02)
        out.seek(0)
        lines = out.read().decode(errors="replace").strip().splitlines()
        if process.returncode != 0 or not lines:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            killed = process.returncode == -signal.SIGKILL
            return Outcome("OOM (killed)" if killed else f"crashed: {tail[0][:80]}")
        result = json.loads(lines[-1])
    if not result["ok"]:
        return Outcome(f"error: {result['error'][:80]}")
    baseline = result["baseline_mb"]
    peak = max(result["peak_mb"], group_peak if library in POOLED else 0.0)
    return Outcome("ok", result["seconds"], max(peak - baseline, 0.0), result)


@dataclass
class Row:
    """One library on one board."""

    n_models: int
    n_votes: int
    library: str
    tasks: dict[str, Outcome] = field(default_factory=dict)
    label: str = ""
    tau: float | None = None
    rho: float | None = None
    half_width: float | None = None
    cover: float | None = None


def _accuracy(row: Row, board: Board) -> None:
    truth, theta_half = board.theta, board.theta_half
    fit = row.tasks.get("fit")
    if fit is not None and fit.ok:
        score = np.asarray(fit.data["score"])
        parts = board.component if board.component is not None else np.zeros(truth.size)
        # Within each connected part (weighted by its size): across parts order means nothing.
        taus, rhos, sizes = [], [], []
        for part in np.unique(parts):
            members = parts == part
            if members.sum() > 2:
                taus.append(kendalltau(score[members], truth[members]).statistic)
                rhos.append(spearmanr(score[members], truth[members]).statistic)
                sizes.append(members.sum())
        row.tau = float(np.average(taus, weights=sizes))
        row.rho = float(np.average(rhos, weights=sizes))
    if board.label:
        return
    for task in ("sandwich", "bootstrap"):
        outcome = row.tasks.get(task)
        if outcome is None or not outcome.ok or "low" not in outcome.data:
            continue
        score = np.asarray(outcome.data["score"])
        low, high = np.asarray(outcome.data["low"]), np.asarray(outcome.data["high"])
        centre = score.mean()
        target = 1000.0 + 400.0 / np.log(10.0) * theta_half
        row.half_width = float(np.median(high - low) / 2)
        row.cover = float(
            np.mean((low - centre + 1000 <= target) & (target <= high - centre + 1000))
        )
        return


def _cell(outcome: Outcome | None, value: str) -> str:
    if outcome is None:
        return "—"
    return value if outcome.ok else outcome.status


def table(rows: list[Row]) -> str:
    """Markdown table of the rows."""
    head = (
        "| models | votes | library | fit s | fit+sandwich s | bootstrap s | ΔMB fit / "
        "sandwich / boot | tau | rho | ±Elo | cover |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in rows:
        timing = [
            _cell(
                row.tasks.get(task),
                f"{row.tasks[task].seconds:.3f}"
                if task in row.tasks and row.tasks[task].ok
                else "",
            )
            for task in ("fit", "sandwich", "bootstrap")
        ]
        memory = " / ".join(
            f"{row.tasks[task].delta_mb:.0f}"
            if task in row.tasks and row.tasks[task].ok
            else ("—" if task not in row.tasks else "✗")
            for task in ("fit", "sandwich", "bootstrap")
        )
        lines.append(
            f"| {row.label or row.n_models} | {row.n_votes:,} | {LABELS[row.library]} | "
            + " | ".join(timing)
            + f" | {memory} | "
            + (f"{row.tau:.4f}" if row.tau is not None else "—")
            + " | "
            + (f"{row.rho:.4f}" if row.rho is not None else "—")
            + " | "
            + (f"{row.half_width:.1f}" if row.half_width is not None else "—")
            + " | "
            + (f"{row.cover:.0%}" if row.cover is not None else "—")
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.rating",
        description="Versus's rating core side by side with peer libraries on generated votes.",
    )
    parser.add_argument("--quick", action="store_true", help="small boards only (smoke run)")
    parser.add_argument("--sizes", help="models:votes pairs, comma-separated (e.g. 20:10000)")
    parser.add_argument(
        "--libraries",
        default="versus,choix,fastchat,fastchat-main,arena-rank,evalica",
        help="comma-separated: versus, choix, fastchat, fastchat-main, arena-rank, evalica",
    )
    parser.add_argument("--peer-python", default=str(DEFAULT_PEER_PYTHON))
    parser.add_argument("--rounds", type=int, default=100, help="bootstrap rounds")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per task")
    parser.add_argument("--memory-gib", type=float, default=16.0, help="memory limit per task")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OPENBLAS/OMP/MKL_NUM_THREADS for every task (default 1: on this 2-core machine "
        "threaded OpenBLAS slows the small factorisations of every library; 0 leaves the "
        "environment alone)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every task that took under 30 s this many times and report the median time",
    )
    parser.add_argument("--seed", type=int, default=20240220)
    parser.add_argument(
        "--real",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fit the real vote sets of ../shared/data (GenAI-Arena, LLMFAO)",
    )
    args = parser.parse_args(argv)

    if args.sizes:
        sizes = [
            (int(item.split(":")[0]), int(item.split(":")[1])) for item in args.sizes.split(",")
        ]
    else:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
    timeout = args.timeout or (90.0 if args.quick else 300.0)
    libraries = [name.strip() for name in args.libraries.split(",") if name.strip()]
    unknown = sorted(set(libraries) - set(TASKS))
    if unknown:
        parser.error(f"unknown libraries {unknown}; choose from {sorted(TASKS)}")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if args.blas_threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(args.blas_threads)
    peer_python = args.peer_python
    have_peers = Path(peer_python).exists()

    print(
        f"# rating benchmark: {os.cpu_count()} cores, {args.rounds} bootstrap rounds, "
        f"timeout {timeout:.0f} s, memory limit {args.memory_gib:g} GiB, BLAS threads "
        f"{args.blas_threads or 'default'}; peers from {peer_python}",
        flush=True,
    )
    rows: list[Row] = []
    gave_up: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory() as folder:
        makers: list[tuple[str, Callable[[], Board | None]]] = [
            (label, partial(real_board, label)) for label in (REAL_SETS if args.real else [])
        ]
        makers += [(f"{n}:{v}", partial(generate, n, v, seed=args.seed + n)) for n, v in sizes]
        for name, make in makers:
            started = time.perf_counter()
            board = make()
            if board is None:
                print(f"## {name}: real data not found (../shared/data), skipped", flush=True)
                continue
            n_models, n_votes = board.n_models, board.left.size
            path = Path(folder) / f"board-{n_models}-{n_votes}.npz"
            board.save(path)
            print(
                f"## {board.label or 'generated'}: {n_models} models, {n_votes:,} votes "
                f"(ready in {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            for library in libraries:
                row = Row(n_models, n_votes, library, label=board.label)
                python = sys.executable if library == "versus" else peer_python
                for task in TASKS[library]:
                    if library != "versus" and not have_peers:
                        row.tasks[task] = Outcome("not installed (benchmarks/README.md)")
                        continue
                    if (library, task) in gave_up:
                        row.tasks[task] = Outcome(f"skipped: {gave_up[library, task]} before")
                        continue
                    if task != "fit" and "fit" in row.tasks and not row.tasks["fit"].ok:
                        row.tasks[task] = Outcome("skipped: fit failed")
                        continue
                    outcome = run_worker(
                        python,
                        library,
                        task,
                        path,
                        rounds=args.rounds,
                        timeout=timeout,
                        memory_mb=args.memory_gib * 1024,
                        env=env,
                    )
                    if outcome.ok and outcome.seconds is not None and outcome.seconds < 30:
                        # Short tasks are noisy on a shared machine: the median of a few runs.
                        times = [outcome.seconds]
                        for _ in range(args.repeat - 1):
                            again = run_worker(
                                python,
                                library,
                                task,
                                path,
                                rounds=args.rounds,
                                timeout=timeout,
                                memory_mb=args.memory_gib * 1024,
                                env=env,
                            )
                            if again.ok and again.seconds is not None:
                                times.append(again.seconds)
                        outcome.seconds = float(np.median(times))
                    row.tasks[task] = outcome
                    if outcome.status.startswith(("timeout", "OOM")):
                        gave_up[library, task] = outcome.status.split(" ")[0]
                    print(
                        f"  {library:14s} {task:9s} {outcome.status:24s} "
                        + (
                            f"{outcome.seconds:8.3f} s  Δ{outcome.delta_mb:7.0f} MB"
                            if outcome.ok
                            else ""
                        ),
                        flush=True,
                    )
                _accuracy(row, board)
                rows.append(row)
    print()
    print(table(rows))
    if "choix" in libraries:
        print(
            "\n* choix has no interval method: its bootstrap is the harness resampling the pair "
            "counts as Versus does (multinomial), refitted by choix with a warm start."
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dump = [
        {
            "models": r.n_models,
            "votes": r.n_votes,
            "library": r.library,
            "tau": r.tau,
            "rho": r.rho,
            "half_width": r.half_width,
            "cover": r.cover,
            "tasks": {
                t: {
                    "status": o.status,
                    "seconds": o.seconds,
                    "delta_mb": o.delta_mb,
                    "baseline_mb": o.data.get("baseline_mb"),
                    "peak_mb": o.data.get("peak_mb"),
                }
                for t, o in r.tasks.items()
            },
        }
        for r in rows
    ]
    target = RESULTS / f"rating-{stamp}.json"
    target.write_text(json.dumps(dump, indent=1))
    print(f"\n(raw results: {target.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
