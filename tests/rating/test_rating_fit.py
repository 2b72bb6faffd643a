"""Bradley-Terry fits against independent solutions, and the published standings' edge cases."""

from __future__ import annotations

import choix
import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.optimize import minimize  # type: ignore[import-untyped, unused-ignore]

from evaluation.rating import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    SCORE_PER_THETA,
    TIE,
    PairCounts,
    compute_standings,
    fit_bradley_terry,
)
from tests.rating.simulate import Votes, simulate_votes


@pytest.fixture
def votes() -> Votes:
    rng = np.random.default_rng(3)
    return simulate_votes(rng, rng.normal(size=7), 900, nu=0.7, both_bad_share=0.3)


@pytest.fixture
def counts(votes: Votes) -> PairCounts:
    return PairCounts.from_votes(votes.left, votes.right, votes.outcome, n_models=7)


def centred(theta: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(theta - theta.mean(), dtype=np.float64)


def half_win_matrix(votes: Votes, n: int) -> NDArray[np.float64]:
    """``W[a, b]``: wins of a over b, a tie (or both-bad) counting half each way."""
    wins = np.zeros((n, n))
    decided = votes.outcome <= RIGHT
    winner = np.where(votes.outcome == LEFT, votes.left, votes.right)[decided]
    loser = np.where(votes.outcome == LEFT, votes.right, votes.left)[decided]
    np.add.at(wins, (winner, loser), 1.0)
    tied = ~decided
    np.add.at(wins, (votes.left[tied], votes.right[tied]), 0.5)
    np.add.at(wins, (votes.right[tied], votes.left[tied]), 0.5)
    return wins


def test_ties_as_half_match_choix_maximum_likelihood(votes: Votes, counts: PairCounts) -> None:
    fit = fit_bradley_terry(counts, ridge=0.0)
    reference = choix.ilsr_pairwise_dense(half_win_matrix(votes, 7), tol=1e-14, max_iter=10_000)
    assert fit.converged
    assert np.allclose(fit.theta, centred(reference), atol=1e-6, rtol=0)


def test_ties_as_half_match_choix_newton_on_doubled_comparisons(
    votes: Votes, counts: PairCounts
) -> None:
    # choix has no ties or weights: a decisive vote counted twice and a tie as one win each
    # way give the same likelihood as ties counted half (LMArena's original trick).
    data: list[tuple[int, int]] = []
    for a, b, outcome in zip(votes.left, votes.right, votes.outcome, strict=True):
        if outcome == LEFT:
            data += [(int(a), int(b))] * 2
        elif outcome == RIGHT:
            data += [(int(b), int(a))] * 2
        else:
            data += [(int(a), int(b)), (int(b), int(a))]
    reference = choix.opt_pairwise(7, data, alpha=0.0, method="Newton-CG", tol=1e-12)
    fit = fit_bradley_terry(counts, ridge=0.0)
    assert np.allclose(fit.theta, centred(reference), atol=1e-6, rtol=0)


def test_ties_as_half_match_scipy_on_the_likelihood_with_the_ridge(counts: PairCounts) -> None:
    ridge = 0.5
    score = counts.wins_i + 0.5 * (counts.ties + counts.both_bad)
    total = counts.wins_i + counts.wins_j + counts.ties + counts.both_bad

    def negative_log_posterior(theta: NDArray[np.float64]) -> float:
        d = theta[counts.i] - theta[counts.j]
        log_likelihood = score @ d - total @ np.logaddexp(0.0, d)
        spread = theta - theta.mean()
        return float(-log_likelihood + 0.5 * ridge * spread @ spread)

    reference = minimize(
        negative_log_posterior, np.zeros(7), method="BFGS", options={"gtol": 1e-11}
    ).x
    fit = fit_bradley_terry(counts, ridge=ridge)
    assert np.allclose(fit.theta, centred(reference), atol=1e-6, rtol=0)


def test_davidson_matches_scipy_on_the_davidson_likelihood(counts: PairCounts) -> None:
    ties = counts.ties + counts.both_bad
    total = counts.wins_i + counts.wins_j + ties

    def negative_log_likelihood(x: NDArray[np.float64]) -> float:
        theta, tau = np.r_[0.0, x[:-1]], x[-1]
        d = theta[counts.i] - theta[counts.j]
        log_d = np.logaddexp(np.logaddexp(d / 2, -d / 2), tau)
        return float(
            -((counts.wins_i - counts.wins_j) @ (d / 2) + ties.sum() * tau - total @ log_d)
        )

    reference = minimize(
        negative_log_likelihood, np.zeros(7), method="BFGS", options={"gtol": 1e-10}
    ).x
    fit = fit_bradley_terry(counts, tie_model="davidson", ridge=0.0)
    assert fit.converged
    assert np.allclose(fit.theta, centred(np.r_[0.0, reference[:-1]]), atol=1e-5, rtol=0)
    assert fit.tie_parameter == pytest.approx(np.exp(reference[-1]), rel=1e-5)


def test_davidson_without_ties_is_bradley_terry_with_nu_zero() -> None:
    counts = PairCounts(
        n_models=3,
        i=[0, 0, 1],
        j=[1, 2, 2],
        wins_i=[5.0, 3.0, 2.0],
        wins_j=[2.0, 3.0, 4.0],
        ties=[0.0, 0.0, 0.0],
    )
    davidson = fit_bradley_terry(counts, tie_model="davidson", ridge=0.0)
    plain = fit_bradley_terry(counts, ridge=0.0)
    assert davidson.tie_parameter == 0.0
    assert np.allclose(davidson.theta, plain.theta, atol=1e-12)


def test_both_bad_is_a_tie_unless_dropped(votes: Votes) -> None:
    counts = PairCounts.from_votes(votes.left, votes.right, votes.outcome, n_models=7)
    kept = votes.outcome != BOTH_BAD
    without = PairCounts.from_votes(
        votes.left[kept], votes.right[kept], votes.outcome[kept], n_models=7
    )
    as_ties = np.where(votes.outcome == BOTH_BAD, TIE, votes.outcome)
    retyped = PairCounts.from_votes(votes.left, votes.right, as_ties, n_models=7)
    assert np.allclose(
        compute_standings(counts, both_bad="drop").theta,
        compute_standings(without).theta,
        atol=1e-12,
    )
    assert np.allclose(
        compute_standings(counts).theta, compute_standings(retyped).theta, atol=1e-12
    )
    dropped = compute_standings(counts, both_bad="drop")
    assert np.array_equal(dropped.both_bad, compute_standings(counts).both_bad)


def test_the_same_votes_in_any_order_give_identical_standings(votes: Votes) -> None:
    first = compute_standings(
        PairCounts.from_votes(votes.left, votes.right, votes.outcome, n_models=7),
        tie_model="davidson",
    )
    order = np.random.default_rng(0).permutation(votes.left.size)
    second = compute_standings(
        PairCounts.from_votes(
            votes.left[order], votes.right[order], votes.outcome[order], n_models=7
        ),
        tie_model="davidson",
    )
    for name in ("theta", "score", "ci_low", "ci_high", "rank", "cov", "win_rate"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert first.tie_parameter == second.tie_parameter


def test_scores_are_the_elo_scale_centred_on_the_mean_model(counts: PairCounts) -> None:
    st = compute_standings(counts)
    assert st.score.mean() == pytest.approx(1000.0, abs=1e-9)
    assert np.allclose(st.score - 1000.0, 400.0 / np.log(10.0) * st.theta)
    assert np.all(st.ci_low < st.score)
    assert np.all(st.score < st.ci_high)
    spread = np.sqrt(np.diag(st.cov)) * SCORE_PER_THETA * 1.959963984540054
    assert np.allclose(st.ci_high - st.score, spread)


def test_rank_is_one_plus_models_whose_lower_bound_is_above_the_upper_bound() -> None:
    rng = np.random.default_rng(5)
    votes = simulate_votes(rng, np.array([2.0, 1.0, 0.9, 0.0, -2.0]), 3000)
    st = compute_standings(
        PairCounts.from_votes(votes.left, votes.right, votes.outcome, n_models=5)
    )
    expected = [1 + int(np.sum(st.ci_low > st.ci_high[k])) for k in range(5)]
    assert st.rank.tolist() == expected
    assert st.rank[0] == 1
    assert st.rank[4] == 5
    assert st.rank[1] == st.rank[2]  # overlapping intervals share a rank


def test_a_model_without_votes_is_unrated_listed_last_and_nan_free() -> None:
    counts = PairCounts(
        n_models=4, i=[0, 1], j=[1, 2], wins_i=[3.0, 2.0], wins_j=[1.0, 2.0], ties=[1.0, 0.0]
    )
    st = compute_standings(counts, min_votes=1)
    assert st.rated.tolist() == [True, True, True, False]
    assert (st.theta[3], st.score[3]) == (0.0, 1000.0)
    assert (st.ci_low[3], st.ci_high[3]) == (-np.inf, np.inf)
    assert st.rank[3] == 4
    assert st.rank[:3].max() < 4
    assert st.component[3] == -1
    assert st.provisional[3]
    assert st.votes[3] == 0.0
    assert st.win_rate[3] == 0.5
    assert st.cov[3, 3] == np.inf
    assert np.all(st.cov[3, :3] == 0.0)
    assert st.order()[-1] == 3
    for name in ("theta", "score", "ci_low", "ci_high", "win_rate", "cov"):
        assert not np.isnan(getattr(st, name)).any(), name
    assert st.connected
    assert st.n_components == 1


REST_OF_THE_BOARD = dict(
    i=[1, 1, 2], j=[2, 3, 3], wins_i=[6.0, 5.0, 6.0], wins_j=[4.0, 5.0, 4.0], ties=[3.0, 2.0, 3.0]
)
"""Models 1-3 of a four-model board: close, with ties, and each lost at least once."""


def board_with_a_winner() -> PairCounts:
    """`REST_OF_THE_BOARD` plus model 0, which beat each of the others ten times out of ten."""
    rest = REST_OF_THE_BOARD
    return PairCounts(
        n_models=4,
        i=[0, 0, 0, *rest["i"]],
        j=[1, 2, 3, *rest["j"]],
        wins_i=[10.0, 10.0, 10.0, *rest["wins_i"]],
        wins_j=[0.0, 0.0, 0.0, *rest["wins_j"]],
        ties=[0.0, 0.0, 0.0, *rest["ties"]],
    )


@pytest.mark.parametrize("tie_model", ["half", "davidson"])
def test_a_model_that_won_every_vote_gets_a_finite_score_and_a_wide_interval(
    tie_model: str,
) -> None:
    st = compute_standings(board_with_a_winner(), tie_model=tie_model)  # type: ignore[arg-type]
    assert st.converged
    for name in ("theta", "score", "ci_low", "ci_high", "cov"):
        assert np.isfinite(getattr(st, name)).all(), name
    assert st.rank[0] == 1
    assert st.score[0] == st.score.max()
    # Only the prior holds it finite, so its interval is much wider than the others', and it
    # is flagged (and provisional though it has 30 votes).
    widths = st.ci_high - st.ci_low
    assert widths[0] > 2 * widths[1:].max()
    assert st.separated.tolist() == [True, False, False, False]
    assert st.provisional.tolist() == [True, False, False, False]


@pytest.mark.parametrize("tie_model", ["half", "davidson"])
def test_a_model_that_won_every_vote_moves_neither_the_others_scores_nor_intervals(
    tie_model: str,
) -> None:
    alone = compute_standings(
        PairCounts(n_models=4, **REST_OF_THE_BOARD),  # type: ignore[arg-type]
        tie_model=tie_model,  # type: ignore[arg-type]
    )
    with_winner = compute_standings(
        board_with_a_winner(),
        tie_model=tie_model,  # type: ignore[arg-type]
    )
    # Centred on the models with a finite score, the rest stay where they are without it, to
    # a point (the prior holding the winner pulls on them a little); centred on
    # all four, they would all move by a quarter of the winner's prior-held lead.
    assert np.allclose(with_winner.score[1:], alone.score[1:], atol=0.2, rtol=0)
    assert np.allclose(with_winner.ci_low[1:], alone.ci_low[1:], atol=1.0, rtol=0)
    assert np.allclose(with_winner.ci_high[1:], alone.ci_high[1:], atol=1.0, rtol=0)


def test_a_group_that_never_lost_to_the_rest_is_flagged_and_the_rest_is_not() -> None:
    # 0 and 1 split their own votes but never lost to 2, 3 or 4, who split theirs.
    counts = PairCounts(
        n_models=5,
        i=[0, 0, 1, 2, 2, 3],
        j=[1, 2, 3, 3, 4, 4],
        wins_i=[3.0, 4.0, 5.0, 2.0, 3.0, 1.0],
        wins_j=[2.0, 0.0, 0.0, 2.0, 1.0, 2.0],
        ties=[1.0, 0.0, 0.0, 1.0, 0.0, 1.0],
    )
    st = compute_standings(counts, min_votes=1)
    assert st.separated.tolist() == [True, True, False, False, False]
    assert st.score[2:].mean() == pytest.approx(1000.0, abs=1e-9)
    assert np.isfinite(st.ci_low).all()
    assert np.isfinite(st.ci_high).all()
    # One loss is enough to make every score finite.
    lost_once = PairCounts(
        n_models=5,
        i=counts.i,
        j=counts.j,
        wins_i=counts.wins_i,
        wins_j=counts.wins_j + np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
        ties=counts.ties,
    )
    assert not compute_standings(lost_once, min_votes=1).separated.any()


def test_a_model_that_lost_every_vote_stays_finite_even_with_its_only_opponent() -> None:
    counts = PairCounts(n_models=2, i=[0], j=[1], wins_i=[0.0], wins_j=[25.0], ties=[0.0])
    st = compute_standings(counts)
    assert np.isfinite(st.score).all()
    assert st.score[0] < st.score[1]
    assert np.isfinite(st.ci_low).all()
    assert np.isfinite(st.ci_high).all()


def test_without_the_ridge_a_perfect_record_stops_unconverged_but_finite() -> None:
    counts = PairCounts(
        n_models=3,
        i=[0, 0, 1],
        j=[1, 2, 2],
        wins_i=[5.0, 5.0, 3.0],
        wins_j=[0.0, 0.0, 2.0],
        ties=[0.0, 0.0, 1.0],
    )
    fit = fit_bradley_terry(counts, ridge=0.0, max_iter=30)
    assert not fit.converged
    assert np.isfinite(fit.theta).all()


def test_two_disconnected_parts_are_reported_and_centred_separately() -> None:
    counts = PairCounts(
        n_models=5,
        i=[0, 1, 3],
        j=[1, 2, 4],
        wins_i=[6.0, 5.0, 2.0],
        wins_j=[4.0, 5.0, 7.0],
        ties=[1.0, 2.0, 1.0],
    )
    st = compute_standings(counts)
    assert not st.connected
    assert st.n_components == 2
    assert st.component.tolist() == [0, 0, 0, 1, 1]
    assert st.score[:3].mean() == pytest.approx(1000.0, abs=1e-9)
    assert st.score[3:].mean() == pytest.approx(1000.0, abs=1e-9)
    assert np.all(st.cov[:3, 3:] == 0.0)
    assert st.rank[3:].tolist() == [1, 1]  # ranks count only models of the same part
    assert np.isfinite(st.ci_low).all()
    assert np.isfinite(st.ci_high).all()


def test_all_ties_give_equal_scores_under_both_tie_models() -> None:
    counts = PairCounts(
        n_models=3,
        i=[0, 0, 1],
        j=[1, 2, 2],
        wins_i=[0.0, 0.0, 0.0],
        wins_j=[0.0, 0.0, 0.0],
        ties=[4.0, 3.0, 5.0],
    )
    for tie_model in ("half", "davidson"):
        st = compute_standings(counts, tie_model=tie_model)
        assert np.allclose(st.score, 1000.0, atol=1e-9)
        assert np.isfinite(st.ci_low).all()
        assert np.isfinite(st.ci_high).all()
        assert st.rank.tolist() == [1, 1, 1]
        assert st.win_rate.tolist() == [0.5, 0.5, 0.5]
    davidson = compute_standings(counts, tie_model="davidson")
    assert davidson.tie_parameter is not None
    assert np.isfinite(davidson.tie_parameter)
    assert davidson.tie_parameter > 100  # only the prior keeps nu from infinity


def test_a_single_vote_rates_its_two_models_and_no_other() -> None:
    counts = PairCounts.from_votes([2], [0], [LEFT], n_models=3)
    st = compute_standings(counts, min_votes=1)
    assert st.rated.tolist() == [True, False, True]
    assert st.score[2] > 1000.0 > st.score[0]
    assert st.score[0] + st.score[2] == pytest.approx(2000.0)
    assert np.isfinite(st.ci_low[[0, 2]]).all()
    # One vote has no finite maximum-likelihood gap: both are flagged, whatever min_votes says.
    assert st.separated.tolist() == [True, False, True]
    assert st.provisional.tolist() == [True, True, True]
    assert st.wins.tolist() == [0.0, 0.0, 1.0]


def test_voter_weights_of_zero_leave_the_standings_as_without_those_votes(votes: Votes) -> None:
    weight = np.where(np.arange(votes.left.size) % 3 == 0, 0.0, 1.0)
    weighted = PairCounts.from_votes(votes.left, votes.right, votes.outcome, weight, n_models=7)
    kept = weight > 0
    subset = PairCounts.from_votes(
        votes.left[kept], votes.right[kept], votes.outcome[kept], n_models=7
    )
    a, b = compute_standings(weighted), compute_standings(subset)
    assert np.array_equal(a.theta, b.theta)
    assert np.array_equal(a.ci_low, b.ci_low)
    assert np.array_equal(a.votes, b.votes)


def test_provisional_follows_min_votes(counts: PairCounts) -> None:
    st = compute_standings(counts, min_votes=0)
    assert not st.provisional.any()
    threshold = float(np.median(st.votes))
    st = compute_standings(counts, min_votes=threshold)
    assert st.provisional.tolist() == (st.votes < threshold).tolist()


def test_inverse_ranking_puts_the_model_judged_worse_least_often_first() -> None:
    counts = PairCounts(
        n_models=3,
        i=[0, 0, 1],
        j=[1, 2, 2],
        wins_i=[8.0, 9.0, 6.0],
        wins_j=[2.0, 1.0, 4.0],
        ties=[1.0, 1.0, 1.0],
    )
    normal = compute_standings(counts)
    inverse = compute_standings(counts, inverse=True)
    assert np.argmax(normal.score) == 0
    assert np.argmax(inverse.score) == 2
    assert np.allclose(inverse.theta, -normal.theta, atol=1e-12)
    assert np.array_equal(inverse.wins, normal.losses)


def test_anchor_fixes_its_score_at_1000_and_keeps_differences(counts: PairCounts) -> None:
    free = compute_standings(counts)
    anchored = compute_standings(counts, anchor=2)
    assert anchored.score[2] == 1000.0
    assert anchored.ci_low[2] == anchored.ci_high[2] == 1000.0
    assert np.allclose(anchored.score - anchored.score[0], free.score - free.score[0])

    def var_difference(cov: NDArray[np.float64], a: int, b: int) -> float:
        return float(cov[a, a] + cov[b, b] - 2 * cov[a, b])

    assert var_difference(anchored.cov, 0, 5) == pytest.approx(var_difference(free.cov, 0, 5))
    assert anchored.cov[4, 4] == pytest.approx(var_difference(free.cov, 4, 2))


def test_anchor_must_be_a_rated_model() -> None:
    counts = PairCounts(n_models=3, i=[0], j=[1], wins_i=[1.0], wins_j=[1.0], ties=[0.0])
    with pytest.raises(ValueError, match="anchor model 2 has no counted vote"):
        compute_standings(counts, anchor=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tie_model": "thirds"}, "tie_model must be one of"),
        ({"both_bad": "ignore"}, "both_bad must be one of"),
        ({"ridge": -1.0}, "ridge must be a finite number >= 0"),
        ({"anchor": 9}, r"anchor must be in \[0, 7\)"),
        ({"level": 1.5}, r"level must be in \(0, 1\)"),
    ],
)
def test_bad_options_are_rejected_by_name(
    counts: PairCounts, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_standings(counts, **options)  # type: ignore[arg-type]


def test_davidson_reports_its_tie_parameter_with_an_interval(counts: PairCounts) -> None:
    st = compute_standings(counts, tie_model="davidson")
    assert st.tie_parameter is not None
    assert st.tie_parameter_ci is not None
    low, high = st.tie_parameter_ci
    assert low < st.tie_parameter < high
    assert compute_standings(counts).tie_parameter is None


def test_duplicate_rows_in_any_order_give_the_standings_of_the_votes(votes: Votes) -> None:
    # Database aggregates may hold several rows per pair, either way round, in any order.
    counts = PairCounts.from_votes(votes.left, votes.right, votes.outcome, n_models=7)
    rng = np.random.default_rng(1)
    halves = rng.integers(0, 2, size=counts.i.size).astype(float)
    rows = np.concatenate([np.arange(counts.i.size)] * 2)
    share = np.concatenate([halves, 1.0 - halves])
    flip = rng.random(rows.size) < 0.5
    order = rng.permutation(rows.size)
    i, j = (
        np.where(flip, counts.j[rows], counts.i[rows]),
        np.where(flip, counts.i[rows], counts.j[rows]),
    )
    a = share * np.where(flip, counts.wins_j[rows], counts.wins_i[rows])
    b = share * np.where(flip, counts.wins_i[rows], counts.wins_j[rows])
    split = PairCounts(
        n_models=7,
        i=i[order],
        j=j[order],
        wins_i=a[order],
        wins_j=b[order],
        ties=(share * counts.ties[rows])[order],
        both_bad=(share * counts.both_bad[rows])[order],
    )
    first, second = compute_standings(counts), compute_standings(split)
    for name in ("theta", "ci_low", "ci_high", "rank", "votes", "wins", "ties", "both_bad"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
