"""One library, one task, one board, in a process of its own; prints one JSON line.

``python -m benchmarks.rating.worker --library NAME --task fit|sandwich|bootstrap --data FILE``

Run by :mod:`benchmarks.rating.run` with the interpreter that has the library (Versus from the
project's ``.venv``, peers from ``.venv-bench``), so each measurement starts from a fresh
process: memory is the library's own, and a hang can be killed. The library's input is built
in its natural form first (vote arrays for Versus, a DataFrame of strings for FastChat and
arena-rank, Python lists for evalica, a win matrix for choix) and is not timed; the timed
part is everything from that input to the scores (and intervals). The peak memory reported
is the process's high-water mark during the timed part (reset with ``/proc/self/clear_refs``)
minus its resident memory just before.

Only numpy and the library under test are imported, so this module also runs in the peers'
virtualenv.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

SCORE_PER_THETA = 400.0 / math.log(10.0)
LEVEL = 0.95

Result = dict[str, Any]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _elo_from_log(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(1000.0 + SCORE_PER_THETA * values, dtype=np.float64)


def _frame(
    left: NDArray[np.int64],
    right: NDArray[np.int64],
    outcome: NDArray[np.int8],
    n: int,
    *,
    both_bad: str,
) -> Any:
    import pandas as pd

    names = np.array([f"model-{k:04d}" for k in range(n)], dtype=object)
    winners = np.array(["model_a", "model_b", "tie", both_bad], dtype=object)
    return pd.DataFrame(
        {"model_a": names[left], "model_b": names[right], "winner": winners[outcome]}
    )


def _reindex(series: Any, n: int) -> NDArray[np.float64]:
    names = [f"model-{k:04d}" for k in range(n)]
    return np.asarray(series.reindex(names).to_numpy(dtype=np.float64), dtype=np.float64)


def versus(task: str, board: dict[str, Any], rounds: int, seed: int) -> Callable[[], Result]:
    from evaluation.rating import (
        PairCounts,
        bootstrap_standings,
        compute_standings,
        fit_bradley_terry,
        theta_to_score,
    )

    left, right, outcome, n = board["left"], board["right"], board["outcome"], board["n"]

    def fit() -> Result:
        counts = PairCounts.from_votes(left, right, outcome, n_models=n)
        return {"score": theta_to_score(fit_bradley_terry(counts, covariance=None).theta)}

    def sandwich() -> Result:
        counts = PairCounts.from_votes(left, right, outcome, n_models=n)
        st = compute_standings(counts)
        return {"score": st.score, "low": st.ci_low, "high": st.ci_high}

    if task != "bootstrap":
        return fit if task == "fit" else sandwich
    counts = PairCounts.from_votes(left, right, outcome, n_models=n)
    base = compute_standings(counts)

    def bootstrap() -> Result:
        boot = bootstrap_standings(
            counts, rounds=rounds, rng=np.random.default_rng(seed), base=base
        )
        return {"score": base.score, "low": boot.score_low, "high": boot.score_high}

    return bootstrap


def choix_peer(task: str, board: dict[str, Any], rounds: int, seed: int) -> Callable[[], Result]:
    import choix

    left, right, outcome, n = board["left"], board["right"], board["outcome"], board["n"]

    def cells() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        # choix takes a win matrix; ties count half each way (both-bad is a tie).
        decided = outcome <= 1
        winner = np.where(outcome == 0, left, right)[decided]
        loser = np.where(outcome == 0, right, left)[decided]
        wins = np.bincount(winner * n + loser, minlength=n * n)
        ties = np.bincount(left[~decided] * n + right[~decided], minlength=n * n)
        return wins.astype(np.float64), ties.astype(np.float64)

    def matrix(wins: NDArray[np.float64], ties: NDArray[np.float64]) -> NDArray[np.float64]:
        tie_matrix = ties.reshape(n, n)
        return np.asarray(wins.reshape(n, n) + 0.5 * (tie_matrix + tie_matrix.T))

    def fit() -> Result:
        params = choix.ilsr_pairwise_dense(matrix(*cells()))
        return {"score": _elo_from_log(params - params.mean())}

    if task == "fit":
        return fit
    wins, ties = cells()
    params = choix.ilsr_pairwise_dense(matrix(wins, ties))

    def bootstrap() -> Result:
        # choix has no intervals: the same multinomial resampling of the (pair, outcome)
        # cells as Versus, each round refitted by choix, warm-started.
        rng = np.random.default_rng(seed)
        flat = np.concatenate([wins, ties])
        nonzero = np.flatnonzero(flat)
        total = int(flat.sum())
        samples = np.empty((rounds, n))
        for r in range(rounds):
            drawn = np.zeros_like(flat)
            drawn[nonzero] = rng.multinomial(total, flat[nonzero] / total)
            fitted = choix.ilsr_pairwise_dense(
                matrix(drawn[: n * n], drawn[n * n :]), initial_params=params
            )
            samples[r] = fitted - fitted.mean()
        low, high = np.quantile(samples, [0.5 - LEVEL / 2, 0.5 + LEVEL / 2], axis=0)
        return {
            "score": _elo_from_log(params - params.mean()),
            "low": _elo_from_log(low),
            "high": _elo_from_log(high),
        }

    return bootstrap


def _fastchat_pypi() -> Any:
    # fastchat/model/__init__.py imports torch for model serving; the rating code only needs
    # model_registry from that folder, so the package is registered without running it.
    import fastchat

    package = types.ModuleType("fastchat.model")
    package.__path__ = [os.path.join(os.path.dirname(fastchat.__file__), "model")]
    sys.modules["fastchat.model"] = package
    from fastchat.serve.monitor import elo_analysis

    return elo_analysis


def fastchat(task: str, board: dict[str, Any], rounds: int, seed: int) -> Callable[[], Result]:
    elo_analysis = _fastchat_pypi()
    n = board["n"]
    frame = _frame(board["left"], board["right"], board["outcome"], n, both_bad="tie (bothbad)")
    if task == "fit":
        return lambda: {"score": _reindex(elo_analysis.compute_elo_mle_with_tie(frame), n)}

    def run() -> Result:
        # FastChat resamples with pandas, from numpy's global state.
        np.random.seed(seed)  # noqa: NPY002
        point = elo_analysis.compute_elo_mle_with_tie(frame)
        samples = elo_analysis.get_bootstrap_result(
            frame, elo_analysis.compute_elo_mle_with_tie, num_round=rounds
        )
        return {
            "score": _reindex(point, n),
            "low": _reindex(samples.quantile(0.5 - LEVEL / 2), n),
            "high": _reindex(samples.quantile(0.5 + LEVEL / 2), n),
        }

    return run


def fastchat_main(task: str, board: dict[str, Any], rounds: int, seed: int) -> Callable[[], Result]:
    source = os.environ.get("FASTCHAT_SOURCE", "")
    if not os.path.isfile(os.path.join(source, "fastchat/serve/monitor/rating_systems.py")):
        raise RuntimeError("set FASTCHAT_SOURCE to a FastChat checkout (see benchmarks/README)")
    sys.path.insert(0, source)
    from fastchat.serve.monitor import rating_systems

    n = board["n"]
    frame = _frame(board["left"], board["right"], board["outcome"], n, both_bad="tie (bothbad)")
    if task == "fit":
        return lambda: {"score": _reindex(rating_systems.compute_bt(frame), n)}

    def run() -> Result:
        point = rating_systems.compute_bt(frame)
        samples = rating_systems.compute_bootstrap_bt(frame, num_round=rounds)
        return {
            "score": _reindex(point, n),
            "low": _reindex(samples.quantile(0.5 - LEVEL / 2), n),
            "high": _reindex(samples.quantile(0.5 + LEVEL / 2), n),
        }

    return run


def arena_rank(task: str, board: dict[str, Any], rounds: int, seed: int) -> Callable[[], Result]:
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    n = board["n"]
    frame = _frame(board["left"], board["right"], board["outcome"], n, both_bad="both_bad")

    def scores(model: Any, dataset: Any, method: str) -> Result:
        out = model.compute_ratings_and_cis(
            dataset, ci_method=method, num_bootstrap=rounds, seed=seed, significance_level=0.05
        )
        names = list(out["competitors"])
        order = [names.index(f"model-{k:04d}") for k in range(n)]
        return {
            key: np.asarray(out[field])[order]
            for key, field in (
                ("score", "ratings"),
                ("low", "rating_lower"),
                ("high", "rating_upper"),
            )
        }

    if task == "fit":

        def run() -> Result:
            dataset = PairDataset.from_pandas(frame)
            model = BradleyTerry(n_competitors=len(dataset.competitors))
            model.fit(dataset)
            names = list(dataset.competitors)
            ratings = np.asarray(model.params["ratings"]) * model.alpha + model.init_rating
            return {"score": ratings[[names.index(f"model-{k:04d}") for k in range(n)]]}

        return run
    if task == "sandwich":

        def run() -> Result:
            dataset = PairDataset.from_pandas(frame)
            model = BradleyTerry(n_competitors=len(dataset.competitors))
            model.fit(dataset)
            return scores(model, dataset, "sandwich")

        return run
    # Its bootstrap runs a multiprocessing pool; with the default fork start method the
    # children inherit JAX's threads and hang, so it needs spawn.
    multiprocessing.set_start_method("spawn", force=True)
    dataset = PairDataset.from_pandas(frame)
    model = BradleyTerry(n_competitors=len(dataset.competitors))
    model.fit(dataset)
    return lambda: scores(model, dataset, "bootstrap")


def evalica_peer(task: str, board: dict[str, Any], rounds: int, seed: int) -> Callable[[], Result]:
    import evalica

    n = board["n"]
    xs, ys = board["left"].tolist(), board["right"].tolist()
    codes = [evalica.Winner.X, evalica.Winner.Y, evalica.Winner.Draw, evalica.Winner.Draw]
    winners = [codes[k] for k in board["outcome"].tolist()]
    index = list(range(n))

    def log_scores(series: Any) -> NDArray[np.float64]:
        return np.asarray(np.log(series.reindex(index).to_numpy(dtype=np.float64)), dtype=float)

    def fit() -> Result:
        result = evalica.bradley_terry(xs, ys, winners)
        logs = log_scores(result.scores)
        return {"score": _elo_from_log(logs - logs.mean())}

    def bootstrap() -> Result:
        boot = evalica.bootstrap(
            evalica.bradley_terry,
            xs,
            ys,
            winners,
            n_resamples=rounds,
            bootstrap_method="percentile",
            random_state=seed,
        )
        logs = log_scores(boot.result.scores)
        centre = logs.mean()
        return {
            "score": _elo_from_log(logs - centre),
            "low": _elo_from_log(log_scores(boot.low) - centre),
            "high": _elo_from_log(log_scores(boot.high) - centre),
        }

    return fit if task == "fit" else bootstrap


LIBRARIES: dict[str, Callable[[str, dict[str, Any], int, int], Callable[[], Result]]] = {
    "versus": versus,
    "choix": choix_peer,
    "fastchat": fastchat,
    "fastchat-main": fastchat_main,
    "arena-rank": arena_rank,
    "evalica": evalica_peer,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", required=True, choices=sorted(LIBRARIES))
    parser.add_argument("--task", required=True, choices=["fit", "sandwich", "bootstrap"])
    parser.add_argument("--data", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    loaded = np.load(args.data)
    board = {
        "n": int(loaded["n_models"]),
        "left": loaded["left"].astype(np.int64),
        "right": loaded["right"].astype(np.int64),
        "outcome": loaded["outcome"].astype(np.int8),
    }
    try:
        run = LIBRARIES[args.library](args.task, board, args.rounds, args.seed)
        del loaded
        baseline_kb = _status_kb("VmRSS")
        exact = _reset_peak()
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        peak_kb = _status_kb("VmHWM") if exact else _status_kb("VmRSS")
        children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out: Result = {
            "ok": True,
            "seconds": elapsed,
            "baseline_mb": baseline_kb / 1024,
            "peak_mb": peak_kb / 1024,
            "children_peak_mb": children_kb / 1024,
        }
        for key in ("score", "low", "high"):
            if key in result:
                out[key] = np.asarray(result[key], dtype=np.float64).tolist()
    except Exception as error:  # report any failure of the library as a result
        out = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
