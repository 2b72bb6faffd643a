"""Screening votes by network against campaigns for one model, beside two simple checks.

A simulated board: ``--models`` models (default 20) with strengths from a standard normal and
``--networks`` honest networks (default 400), each with its own taste (every model's strength
moved by a normal of sd ``--taste``, 0.3 by default: a typical 10 points of win rate between equal
models) and a heavy-tailed number of votes (15 x (1 + Pareto(1.2)), at most 5,000: most
networks cast a few dozen votes, a few cast thousands) on uniformly random pairs, ties as
Davidson's model gives them (nu = 0.6); with ``--pairing mixed`` half the networks vote
after the matchmaker has learned the order and are shown models within three places of each
other (so a model's win rate depends on when its voters came). One more network runs a
campaign: ``V`` votes, each showing the target model (the 15th strongest of 20) beside a
random other, where it picks the target with probability ``purity`` and otherwise votes as an
honest voter would.

Three detectors read the same votes, each at the same false-flag budget (alpha = 0.001 over
all its tests, at least 15 votes per test, an excess of at least ``--min-excess`` per vote,
0.25 by default):

- **Versus** (`favouring_groups`): the network's expected score from a fit of everyone
  else's votes, Hoeffding's or Bernstein's bound.
- **pooled fit**: the same test with the expected score from one fit of every vote, the
  campaign's own included (what a screening that skips the leave-one-out fit does).
- **win rate**: the network's win rate for a model against the model's win rate over all
  votes, a two-proportion z-test; no fit, so it ignores whom the model was shown against.

For each campaign size and purity, over ``--trials`` boards: the share of boards where the
campaign was flagged for its target, honest networks flagged per board (the false flags), and
the target's rank among the models with the campaign counted, with it left out, and with
whatever the detector flagged left out (1 is the top; the true rank is 15).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from evaluation.rating import LEFT, RIGHT, TIE, PairCounts, fit_bradley_terry
from evaluation.rating.favouritism import favouring_groups, log_tail_bound

ALPHA, MIN_VOTES = 1e-3, 15


@dataclass
class Board:
    left: NDArray[np.int64]
    right: NDArray[np.int64]
    outcome: NDArray[np.int64]
    network: NDArray[np.int64]
    campaign: int
    target: int


def davidson(rng: np.random.Generator, d: NDArray[np.float64], nu: float = 0.6) -> NDArray:
    win, lose, tie = np.exp(d / 2), np.exp(-d / 2), np.full(d.size, nu)
    total = win + lose + tie
    u = rng.random(d.size) * total
    return np.where(u < win, LEFT, np.where(u < win + lose, RIGHT, TIE)).astype(np.int64)


def simulate(
    rng: np.random.Generator,
    *,
    models: int,
    networks: int,
    taste: float,
    votes: int,
    purity: float,
    pairing: str = "uniform",
) -> Board:
    theta = np.sort(rng.standard_normal(models))[::-1]  # model 0 the strongest
    target = min(14, models - 1)
    # Most networks are a voter or two; a few (offices, campuses) cast thousands of votes.
    sizes = np.minimum((15 * (rng.pareto(1.2, networks) + 1)).astype(np.int64), 5000)
    network = np.repeat(np.arange(networks), sizes)
    tastes = theta + taste * rng.standard_normal((networks, models))
    n = network.size
    left = rng.integers(0, models, n)
    right = (left + rng.integers(1, models, n)) % models
    if pairing == "mixed":
        # Half the networks vote once the matchmaker has learned the order: it shows them
        # models within three places of each other (model k is the k-th strongest).
        close = (rng.random(networks) < 0.5)[network]
        step = rng.integers(1, 4, n) * np.where(rng.random(n) < 0.5, 1, -1)
        near = left + step
        near = np.where((near < 0) | (near >= models), left - step, near)
        right = np.where(close, near, right)
    outcome = davidson(rng, tastes[network, left] - tastes[network, right])
    # The campaign: the target beside a random other, picked with probability `purity`.
    other = (target + rng.integers(1, models, votes)) % models
    on_left = rng.random(votes) < 0.5
    c_left, c_right = np.where(on_left, target, other), np.where(on_left, other, target)
    honest = davidson(rng, theta[c_left] - theta[c_right])
    rigged = rng.random(votes) < purity
    c_outcome = np.where(rigged, np.where(on_left, LEFT, RIGHT), honest)
    return Board(
        left=np.concatenate([left, c_left]),
        right=np.concatenate([right, c_right]),
        outcome=np.concatenate([outcome, c_outcome]).astype(np.int64),
        network=np.concatenate([network, np.full(votes, networks)]),
        campaign=networks,
        target=target,
    )


def _scores(board: Board, keep: NDArray[np.bool_], n_models: int) -> NDArray[np.float64]:
    counts = PairCounts.from_votes(
        board.left[keep], board.right[keep], board.outcome[keep], n_models=n_models
    )
    return fit_bradley_terry(counts, covariance=None).theta


def rank_of(theta: NDArray[np.float64], model: int) -> int:
    return int((theta > theta[model]).sum()) + 1


def _model_scores(board: Board) -> tuple[NDArray, NDArray, NDArray]:
    """(network, model, score) twice per vote: each of its two models."""
    s = np.where(board.outcome == LEFT, 1.0, np.where(board.outcome == RIGHT, 0.0, 0.5))
    return (
        np.concatenate([board.network, board.network]),
        np.concatenate([board.left, board.right]),
        np.concatenate([s, 1.0 - s]),
    )


def pooled_fit(board: Board, n_models: int, min_excess: float) -> set[tuple[int, int]]:
    theta = _scores(board, np.ones(board.left.size, dtype=bool), n_models)
    p = 1 / (1 + np.exp(-(theta[board.left] - theta[board.right])))
    g, m, s = _model_scores(board)
    e = np.concatenate([p, 1 - p])
    key = g * n_models + m
    n = np.bincount(key)
    excess = np.bincount(key, weights=s, minlength=n.size) - np.bincount(
        key, weights=e, minlength=n.size
    )
    variance = np.bincount(key, weights=e * (1 - e), minlength=n.size)
    tests = int((n >= MIN_VOTES).sum())
    log_bound = log_tail_bound(excess, votes=n, variance=variance)
    hit = (
        (n >= MIN_VOTES)
        & (excess / np.maximum(n, 1) >= min_excess)
        & (log_bound <= np.log(ALPHA / max(tests, 1)))
    )
    return {(int(k // n_models), int(k % n_models)) for k in np.flatnonzero(hit)}


def win_rate(board: Board, n_models: int, min_excess: float) -> set[tuple[int, int]]:
    g, m, s = _model_scores(board)
    key = g * n_models + m
    n = np.bincount(key)
    wins = np.bincount(key, weights=s, minlength=n.size)
    all_n, all_wins = (
        np.bincount(m, minlength=n_models),
        np.bincount(m, weights=s, minlength=n_models),
    )
    model = np.arange(n.size) % n_models
    rest_n = all_n[model] - n
    rest_rate = (all_wins[model] - wins) / np.maximum(rest_n, 1)
    rate = wins / np.maximum(n, 1)
    pooled = (all_wins[model]) / np.maximum(all_n[model], 1)
    se = np.sqrt(pooled * (1 - pooled) * (1 / np.maximum(n, 1) + 1 / np.maximum(rest_n, 1)))
    z = (rate - rest_rate) / np.maximum(se, 1e-12)
    tests = int((n >= MIN_VOTES).sum())
    hit = (n >= MIN_VOTES) & (rate - rest_rate >= min_excess) & (norm.sf(z) <= ALPHA / tests)
    return {(int(k // n_models), int(k % n_models)) for k in np.flatnonzero(hit)}


def versus(board: Board, n_models: int, min_excess: float) -> set[tuple[int, int]]:
    found, _ = favouring_groups(
        board.left,
        board.right,
        board.outcome,
        board.network,
        n_models=n_models,
        min_votes=MIN_VOTES,
        min_excess=min_excess,
        alpha=ALPHA,
    )
    return {(f.group, f.model) for f in found}


DETECTORS = {"Versus": versus, "pooled fit": pooled_fit, "win rate": win_rate}


def power_table(args: argparse.Namespace) -> None:
    print(
        f"\n{args.models} models, {args.networks} honest networks (taste sd {args.taste}), "
        f"{args.pairing} pairs; one campaign network; smallest excess {args.min_excess}; "
        f"{args.trials} boards per row; alpha {ALPHA} over each detector's tests.\n"
    )
    print(
        "| campaign votes | purity | detector | campaign caught | honest networks flagged "
        "per board | target's rank: counted / left out / after the detector | ms per board |"
    )
    print("|---|---|---|---|---|---|---|")
    for purity in args.purity:
        for votes in args.votes:
            rng = np.random.default_rng(1000 * votes + int(100 * purity))
            boards = [
                simulate(
                    rng,
                    models=args.models,
                    networks=args.networks,
                    taste=args.taste,
                    votes=votes,
                    purity=purity,
                    pairing=args.pairing,
                )
                for _ in range(args.trials)
            ]
            ranks_with, ranks_without = [], []
            for board in boards:
                everything = np.ones(board.left.size, dtype=bool)
                ranks_with.append(rank_of(_scores(board, everything, args.models), board.target))
                honest = board.network != board.campaign
                ranks_without.append(rank_of(_scores(board, honest, args.models), board.target))
            for name, detect in DETECTORS.items():
                caught, false_flags, after, elapsed = 0, 0, [], 0.0
                for board in boards:
                    t0 = time.perf_counter()
                    found = detect(board, args.models, args.min_excess)
                    elapsed += time.perf_counter() - t0
                    caught += (board.campaign, board.target) in found
                    flagged = {g for g, _ in found}
                    false_flags += len(flagged - {board.campaign})
                    keep = ~np.isin(board.network, list(flagged))
                    after.append(rank_of(_scores(board, keep, args.models), board.target))
                print(
                    f"| {votes} | {purity:.0%} | {name} | {caught / len(boards):.0%} | "
                    f"{false_flags / len(boards):.2f} | {np.mean(ranks_with):.1f} / "
                    f"{np.mean(ranks_without):.1f} / {np.mean(after):.1f} | "
                    f"{1000 * elapsed / len(boards):.0f} |"
                )
            sys.stdout.flush()


def scale_table(args: argparse.Namespace) -> None:
    print("\nTime of one screening (`favouring_groups`) on larger boards, no campaign:\n")
    print("| models | networks | votes | (network, model) tests | networks flagged | seconds |")
    print("|---|---|---|---|---|---|")
    for models, networks in args.scale:
        rng = np.random.default_rng(models * networks)
        board = simulate(rng, models=models, networks=networks, taste=0.0, votes=0, purity=0)
        t0 = time.perf_counter()
        found, tests = favouring_groups(
            board.left, board.right, board.outcome, board.network, n_models=models
        )
        elapsed = time.perf_counter() - t0
        print(
            f"| {models} | {networks:,} | {board.left.size:,} | {tests:,} | "
            f"{len({f.group for f in found})} | {elapsed:.2f} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.screening", description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--networks", type=int, default=400)
    parser.add_argument("--taste", type=float, default=0.3)
    parser.add_argument("--votes", type=int, nargs="+", default=[20, 40, 80, 160, 640, 2560])
    parser.add_argument("--purity", type=float, nargs="+", default=[1.0, 0.5, 0.35])
    parser.add_argument(
        "--pairing",
        choices=["uniform", "mixed"],
        default="uniform",
        help="mixed: half the networks are shown models within three places of each other",
    )
    parser.add_argument(
        "--min-excess", type=float, default=0.25, help="every detector's smallest excess"
    )
    parser.add_argument("--quick", action="store_true", help="5 trials, smaller scale table")
    args = parser.parse_args(argv)
    args.scale = [(20, 1000), (100, 5000), (100, 20000)]
    if args.quick:
        args.trials, args.scale = 5, [(20, 1000)]
    power_table(args)
    scale_table(args)
