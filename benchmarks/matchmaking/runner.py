"""The benchmark run: seeds in parallel processes, then the table.

``python -m benchmarks.matchmaking`` calls :func:`main`. Options: ``--quick`` (fewer seeds,
lower caps), ``--seeds N``, ``--models 20 100``, ``--batch 50``, ``--jobs N`` (processes;
default: CPU count). Run from the repository root.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from benchmarks.matchmaking.simulation import (
    Setting,
    quick,
    votes_to_integrate,
    votes_to_rank,
    warm_up,
)
from benchmarks.matchmaking.strategies import (
    ArenaWeighted,
    Strategy,
    UniformPairs,
    VersusMatchmaker,
)
from matchmaking.selection import select_pair, select_pairs

ARENA_TIERS = (1.0, 2.0, 4.0)
"""Hand-set weights drawn per model, the tiers most used in FastChat's ``SAMPLING_WEIGHTS``."""


@dataclass(frozen=True)
class Outcome:
    """Votes one strategy needed on one seed; ``None`` when the cap passed first."""

    n_models: int
    seed: int
    strategy: str
    to_rank: int | None
    tau_at_budget: float
    to_integrate: int | None


def strategies(n_models: int, *, late: int | None, rng: np.random.Generator) -> list[Strategy]:
    """The three strategies for one board; the arena boosts the late model, if there is one."""
    tiers = rng.choice(ARENA_TIERS, size=n_models)
    arena_weights = {model: float(tiers[model]) for model in range(n_models)}
    if late is not None:
        arena_weights[late] = max(ARENA_TIERS)  # a headline newcomer gets the top tier
    boosted = frozenset() if late is None else frozenset({late})
    return [
        UniformPairs(),
        ArenaWeighted(weights=arena_weights, boosted=boosted),
        VersusMatchmaker(),
    ]


def run_seed(setting: Setting, seed: int) -> list[Outcome]:
    """Both measurements for every strategy on one seeded board."""
    n = setting.n_models
    rng = np.random.default_rng([seed, n])
    truth = rng.normal(0.0, setting.strength_sd, size=n)
    late = int(rng.integers(n))
    weights_seed = int(rng.integers(2**32))
    warm = warm_up(setting, truth=truth, late=late, rng=rng)
    ranking_strategies = strategies(n, late=None, rng=np.random.default_rng(weights_seed))
    joining_strategies = strategies(n, late=late, rng=np.random.default_rng(weights_seed))
    outcomes = []
    pairs = zip(ranking_strategies, joining_strategies, strict=True)
    for k, (for_rank, for_late) in enumerate(pairs):
        ranking = votes_to_rank(
            for_rank, setting, truth=truth, rng=np.random.default_rng([seed, n, k, 0])
        )
        to_integrate = votes_to_integrate(
            for_late,
            setting,
            truth=truth,
            late=late,
            warm=warm,
            rng=np.random.default_rng([seed, n, k, 1]),
        )
        outcomes.append(
            Outcome(
                n_models=n,
                seed=seed,
                strategy=for_rank.name,
                to_rank=ranking.votes_to_target,
                tau_at_budget=ranking.tau_at_budget,
                to_integrate=to_integrate,
            )
        )
    return outcomes


def summary(values: list[int | None], cap: int) -> str:
    """Mean (median) [min, max] over seeds; a seed that hit the cap counts as the cap."""
    filled = [cap if v is None else v for v in values]
    capped = sum(v is None for v in values)
    text = (
        f"{'>' if capped else ''}{np.mean(filled):,.0f} ({np.median(filled):,.0f}) "
        f"[{min(filled):,}, {max(filled):,}]"
    )
    return text + (f" {capped} capped" if capped else "")


def selection_timing() -> str:
    """Wall time of one batch of 200 and of one pick at 300 models (best of five)."""
    rng = np.random.default_rng(0)
    n = 300
    has_output = np.ones((50, n), dtype=bool)
    theta = rng.normal(size=n)
    noise = rng.normal(size=(n, n)) * 0.02
    cov = noise @ noise.T + 0.05 * np.eye(n)
    votes = rng.integers(0, 2000, size=n)
    batch, one = [], []
    for _ in range(5):
        start = time.perf_counter()
        select_pairs(
            has_output=has_output, theta=theta, cov=cov, model_votes=votes, batch_size=200, rng=rng
        )
        batch.append(time.perf_counter() - start)
        start = time.perf_counter()
        select_pair(has_output=has_output, theta=theta, cov=cov, model_votes=votes, rng=rng)
        one.append(time.perf_counter() - start)
    return (
        f"select_pairs at 300 models (44,850 pairs), 50 prompts: batch of 200 in "
        f"{1000 * min(batch):.0f} ms, one pick (select_pair) in {1000 * min(one):.1f} ms"
    )


def seeds_for(n_models: int, *, requested: int | None, quick: bool) -> int:
    """Seeds per board: first passages are noisy on small boards, and cheap there."""
    if requested is not None:
        return requested
    if quick:
        return 8 if n_models <= 30 else 2
    return 40 if n_models <= 30 else 12


def main() -> None:
    """Parse the options, run every seed of every board, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matchmaking", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds, lower caps")
    parser.add_argument(
        "--seeds", type=int, default=None, help="seeds per board (default 40 at M <= 30, else 12)"
    )
    parser.add_argument("--models", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--batch", type=int, default=50, help="votes between refits")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    settings = {n: Setting(n_models=n, batch=args.batch) for n in args.models}
    if args.quick:
        settings = {n: quick(s) for n, s in settings.items()}
    seeds = {n: seeds_for(n, requested=args.seeds, quick=args.quick) for n in args.models}
    started = time.perf_counter()
    tasks = [(settings[n], seed) for n in args.models for seed in range(seeds[n])]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = [o for batch in pool.map(run_seed, *zip(*tasks, strict=True)) for o in batch]

    s = next(iter(settings.values()))
    print(
        f"Matchmaking benchmark: true strengths N(0, {s.strength_sd:g}^2) (natural log scale), "
        f"{s.tie_rate:.0%} ties, {s.n_prompts} prompts; ratings refitted every {args.batch} votes "
        "with evaluation.rating (ties as half a win)."
    )
    print(
        f"rank: votes until Kendall tau >= {s.tau_target} with the truth, all models present "
        f"from the first vote (checked every {args.batch} votes)."
    )
    budget = f"tau@{s.budget_votes_per_model}M"
    print(f"{budget}: mean Kendall tau after {s.budget_votes_per_model} x M votes.")
    print(
        f"late: votes after a model joins a board whose M - 1 others had "
        f"{s.warmup_votes_per_model} x M uniform votes (~{2 * s.warmup_votes_per_model} each), "
        f"until its 95% interval is at "
        f"most {s.width_ratio}x the others' mean width (checked every {s.fine_step} votes for "
        f"the first {s.fine_until}, then every {args.batch})."
    )
    print(
        "LMArena: FastChat's get_battle_pair re-implemented (SAMPLING_WEIGHTS drawn from tiers "
        f"{'/'.join(f'{w:g}' for w in ARENA_TIERS)}; the newcomer gets the top tier and "
        "SAMPLING_BOOST_MODELS' x5; no battle targets)."
    )
    print("Cells: mean (median) [min, max] over seeds; a capped seed counts as the cap.\n")
    header = f"{'M':>4} {'seeds':>5}  {'strategy':<34}{'rank':<32}{budget:>9}   {'late':<30}"
    print(header)
    print("-" * len(header))
    names = [s.name for s in strategies(2, late=None, rng=np.random.default_rng(0))]
    for n in args.models:
        for name in names:
            rows = [o for o in outcomes if o.n_models == n and o.strategy == name]
            rank = summary([o.to_rank for o in rows], settings[n].max_votes)
            tau = np.nanmean([o.tau_at_budget for o in rows])
            late = summary([o.to_integrate for o in rows], settings[n].max_late_votes)
            print(f"{n:>4} {seeds[n]:>5}  {name:<34}{rank:<32}{tau:>9.3f}   {late:<30}")
    print()
    print(selection_timing())
    print(f"Total time {time.perf_counter() - started:.0f} s.")
