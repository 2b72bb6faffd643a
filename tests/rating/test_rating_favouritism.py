"""Groups of votes that favour one model: planted campaigns are found, honest groups are not."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from evaluation.rating import BOTH_BAD, LEFT, RIGHT, TIE
from evaluation.rating.counts import PairCounts
from evaluation.rating.favouritism import _less, favouring_groups, tail_bound
from tests.rating.shared_data import LLMFAO, require
from tests.rating.simulate import simulate_votes

THETA = np.linspace(-1.5, 1.5, 12)


def _honest(rng: np.random.Generator, n_votes: int, n_groups: int):
    votes = simulate_votes(rng, THETA, n_votes)
    return votes.left, votes.right, votes.outcome, rng.integers(0, n_groups, n_votes)


def _campaign(rng: np.random.Generator, model: int, n_votes: int, *, share: float = 1.0):
    """`n_votes` votes each showing `model` against a random other, which it wins with
    probability `share` (the rest fairly, as the strengths say)."""
    others = (model + rng.integers(1, THETA.size, n_votes)) % THETA.size
    on_left = rng.random(n_votes) < 0.5
    left = np.where(on_left, model, others)
    right = np.where(on_left, others, model)
    p_win = 1 / (1 + np.exp(-(THETA[model] - THETA[others])))
    wins = rng.random(n_votes) < np.where(rng.random(n_votes) < share, 1.0, p_win)
    outcome = np.where(wins == on_left, LEFT, RIGHT)
    return left, right, outcome


def _join(*parts):
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))


def test_it_finds_a_network_that_votes_a_weak_model_up() -> None:
    rng = np.random.default_rng(1)
    honest = _honest(rng, 6000, 40)
    left, right, outcome = _campaign(rng, model=0, n_votes=40)
    stuffed = (left, right, outcome, np.full(40, 40))
    found, tests = favouring_groups(*_join(honest, stuffed), n_models=THETA.size)
    assert [(f.group, f.model) for f in found] == [(40, 0)]
    (hit,) = found
    assert hit.votes == 40
    assert hit.observed == 1.0
    assert hit.expected < 0.3  # the weakest model: the others' fit says it mostly loses
    assert hit.p_bound < 1e-3 / tests


def test_a_small_campaign_among_many_larger_networks_is_still_fitted() -> None:
    """300 honest networks of 40 votes each, far more than the 50 fitted without themselves,
    and each larger than the campaign of 30 votes: the fit of every vote ranks it first."""
    rng = np.random.default_rng(10)
    honest = _honest(rng, 12000, 300)
    left, right, outcome = _campaign(rng, model=2, n_votes=30)
    found, tests = favouring_groups(
        *_join(honest, (left, right, outcome, np.full(30, 300))), n_models=THETA.size
    )
    assert tests > 1
    assert [(f.group, f.model) for f in found] == [(300, 2)]


def test_it_flags_no_honest_group() -> None:
    rng = np.random.default_rng(2)
    for _ in range(5):
        found, tests = favouring_groups(*_honest(rng, 8000, 30), n_models=THETA.size)
        assert tests > 100
        assert found == []


def test_it_ignores_a_mild_preference_of_one_population() -> None:
    """A group that gives a model 15 points more than the others do is a taste, not a
    campaign, however many votes show it."""
    rng = np.random.default_rng(3)
    honest = _honest(rng, 6000, 20)
    left, right, outcome = _campaign(rng, model=6, n_votes=2000, share=0.3)
    found, _ = favouring_groups(
        *_join(honest, (left, right, outcome, np.full(left.size, 20))), n_models=THETA.size
    )
    assert found == []
    found, _ = favouring_groups(
        *_join(honest, (left, right, outcome, np.full(left.size, 20))),
        n_models=THETA.size,
        min_excess=0.1,
    )
    assert [(f.group, f.model) for f in found] == [(20, 6)]


def test_a_campaign_cannot_hide_by_having_lifted_the_model_already() -> None:
    """The expectation comes from the other groups only: a campaign as large as everyone
    else's votes on that model is still measured against the model's honest strength."""
    rng = np.random.default_rng(4)
    honest = _honest(rng, 3000, 10)
    left, right, outcome = _campaign(rng, model=0, n_votes=600)
    found, _ = favouring_groups(
        *_join(honest, (left, right, outcome, np.full(600, 10))), n_models=THETA.size
    )
    assert (10, 0) in [(f.group, f.model) for f in found]
    assert found[0].expected < 0.3


def test_it_needs_enough_votes_to_test() -> None:
    rng = np.random.default_rng(5)
    honest = _honest(rng, 3000, 10)
    left, right, outcome = _campaign(rng, model=0, n_votes=12)
    found, _ = favouring_groups(
        *_join(honest, (left, right, outcome, np.full(12, 10))), n_models=THETA.size
    )
    assert found == []


def test_votes_of_no_group_count_in_the_fits_and_are_never_flagged() -> None:
    rng = np.random.default_rng(6)
    left, right, outcome = _campaign(rng, model=0, n_votes=200)
    honest = _honest(rng, 3000, 1)
    found, tests = favouring_groups(
        *_join(
            (honest[0], honest[1], honest[2], np.full(3000, -1)),
            (left, right, outcome, np.full(200, -1)),
        ),
        n_models=THETA.size,
    )
    assert found == []
    assert tests == 0


def test_on_an_inverse_board_voting_against_the_others_lifts_a_model() -> None:
    """On "which is worse?" a campaign for model 0 picks its opponent every time."""
    rng = np.random.default_rng(7)
    votes = simulate_votes(rng, -THETA, 6000)  # picked as worse: the weak ones
    honest = (votes.left, votes.right, votes.outcome, rng.integers(0, 20, 6000))
    left, right, outcome = _campaign(rng, model=0, n_votes=60)
    against = np.where(outcome == LEFT, RIGHT, LEFT)  # the campaign names the opponent worse
    joined = _join(honest, (left, right, against, np.full(60, 20)))
    found, _ = favouring_groups(*joined, n_models=THETA.size, inverse=True)
    assert [(f.group, f.model) for f in found] == [(20, 0)]
    read_as_better, _ = favouring_groups(*joined, n_models=THETA.size)
    assert (20, 0) not in [(f.group, f.model) for f in read_as_better]


def test_both_bad_votes_score_as_ties_or_are_dropped() -> None:
    """A group that gives model 0 twenty wins and twenty "both bad": 0.75 a vote over 40
    votes when both bad is a tie, 1.0 over 20 when the board drops those votes."""
    rng = np.random.default_rng(9)
    honest = _honest(rng, 4000, 10)
    opponents = 1 + rng.integers(0, THETA.size - 1, 40)
    group = (
        np.zeros(40, dtype=np.int64),
        opponents,
        np.array([LEFT] * 20 + [BOTH_BAD] * 20),
        np.full(40, 10),
    )
    joined = _join(honest, group)
    options = {"n_models": THETA.size, "min_excess": 0.0, "alpha": 1.0}
    (as_tie,) = [f for f in favouring_groups(*joined, **options)[0] if f.group == 10]
    (dropped,) = [
        f for f in favouring_groups(*joined, both_bad="drop", **options)[0] if f.group == 10
    ]
    assert (as_tie.votes, as_tie.observed) == (40, 0.75)
    assert (dropped.votes, dropped.observed) == (20, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group": [0, -2]}, "group must be >= 0"),
        ({"right": [1]}, "right must have length 2"),
        ({"min_votes": 0}, "min_votes must be >= 1"),
        ({"alpha": 0}, "alpha in (0, 1]"),
        ({"both_bad": "count"}, "both_bad"),
    ],
)
def test_it_names_what_is_wrong_with_its_input(kwargs, message) -> None:
    args = {"left": [0, 1], "right": [1, 2], "outcome": [LEFT, RIGHT], "group": [0, 0]}
    options = {}
    for key, value in kwargs.items():
        (args if key in args else options)[key] = value
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        favouring_groups(**args, n_models=3, **options)


def test_real_crowd_workers_two_of_whom_favour_one_model() -> None:
    """LLMFAO's 8,931 crowd votes, each worker a group: 124 real people with real tastes. Two
    of them stand out, and for the same model: workers 15 and 70 scored "Weaver 12k" 0.97 in
    110 votes and 0.96 in 45, where the other workers' votes predict 0.41 and 0.39 (neither
    simply prefers one side). Nobody else is flagged; a planted campaign of 40 votes for the
    model with the fewest wins is found beside them."""
    with require(LLMFAO).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = sorted({r["left"] for r in rows} | {r["right"] for r in rows})
    index = {name: k for k, name in enumerate(names)}
    left = np.array([index[r["left"]] for r in rows])
    right = np.array([index[r["right"]] for r in rows])
    outcome = np.array([{"left": LEFT, "right": RIGHT, "tie": TIE}[r["winner"]] for r in rows])
    worker = np.array([int(r["worker"]) for r in rows])
    found, tests = favouring_groups(left, right, outcome, worker, n_models=len(names))
    assert tests == 192
    assert [(f.group, names[f.model], f.votes) for f in found] == [
        (15, "Weaver 12k", 110),
        (70, "Weaver 12k", 45),
    ]
    assert [round(f.observed, 2) for f in found] == [0.97, 0.96]
    assert [round(f.expected, 2) for f in found] == [0.41, 0.39]

    wins = np.bincount(left[outcome == LEFT], minlength=len(names)) + np.bincount(
        right[outcome == RIGHT], minlength=len(names)
    )
    weakest = int(np.argmin(wins))
    rng = np.random.default_rng(8)
    others = np.array([k for k in range(len(names)) if k != weakest])
    opponents = rng.choice(others, 40)
    campaign = worker.max() + 1
    planted = (
        np.concatenate([left, np.full(40, weakest)]),
        np.concatenate([right, opponents]),
        np.concatenate([outcome, np.full(40, LEFT)]),
        np.concatenate([worker, np.full(40, campaign)]),
    )
    found, _ = favouring_groups(*planted, n_models=len(names))
    assert sorted((f.group, f.model) for f in found) == [
        (15, index["Weaver 12k"]),
        (70, index["Weaver 12k"]),
        (campaign, weakest),
    ]


def test_the_bound_is_hoeffdings_or_bernsteins_whichever_is_smaller() -> None:
    # p = 0.5 everywhere: V = n / 4, Hoeffding is the sharper.
    assert tail_bound(10.0, votes=40, variance=10.0) == pytest.approx(np.exp(-2 * 100 / 40))
    # A weak model, p = 0.1: V = 0.09 n, Bernstein is.
    assert tail_bound(10.0, votes=40, variance=3.6) == pytest.approx(
        np.exp(-100 / (2 * 3.6 + 20 / 3))
    )
    assert tail_bound(0.0, votes=40, variance=3.6) == 1.0
    assert tail_bound(-3.0, votes=40, variance=3.6) == 1.0


@pytest.mark.parametrize("p_win", [0.1, 0.3, 0.5, 0.8])
def test_the_bound_is_never_below_the_chance_it_bounds(p_win: float) -> None:
    """200,000 honest groups of 30 votes with ties (a score of 0, 0.5 or 1): the share whose
    excess reaches t never exceeds the bound for t."""
    rng = np.random.default_rng(12)
    p_tie = 0.3 * min(p_win, 1 - p_win)
    win = p_win - p_tie / 2  # the expected score stays p_win
    u = rng.random((200_000, 30))
    scores = np.where(u < win, 1.0, np.where(u < win + p_tie, 0.5, 0.0))
    excess = scores.sum(axis=1) - 30 * p_win
    for t in (2.0, 4.0, 6.0, 8.0):
        seen = float((excess >= t).mean())
        assert seen <= tail_bound(t, votes=30, variance=30 * p_win * (1 - p_win))


def test_the_counts_without_a_group_are_those_of_the_other_votes() -> None:
    """Each group's fit without itself subtracts its votes from the board's counts: exactly
    what counting the other votes gives, pairs the group alone voted on dropped."""
    rng = np.random.default_rng(5)
    left, right, outcome, group = _honest(rng, 3000, 40)
    outcome = np.where(rng.random(3000) < 0.05, BOTH_BAD, outcome)
    n = THETA.size + 1  # model 12: shown only to group 7, whose pair (0, 12) must vanish
    left, right = np.where(group == 7, 0, left), np.where(group == 7, n - 1, right)
    every = PairCounts.from_votes(left, right, outcome, n_models=n)
    for g in (7, 19):
        mine = group == g
        own = PairCounts.from_votes(left[mine], right[mine], outcome[mine], n_models=n)
        rest = PairCounts.from_votes(left[~mine], right[~mine], outcome[~mine], n_models=n)
        less = _less(every, own)
        for name in ("i", "j", "wins_i", "wins_j", "ties", "both_bad"):
            assert np.array_equal(getattr(less, name), getattr(rest, name)), (g, name)
    assert (0, n - 1) in zip(every.i, every.j, strict=True)
