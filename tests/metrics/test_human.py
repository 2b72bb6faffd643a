"""The human-preference column: ratings fitted from real votes, and the rank agreement."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from scipy import stats

from evaluation.selectors import snapshot_latest, snapshot_rows
from evaluation.services.ratings import ratings_recompute
from metrics.selectors import RankingSpec, board_ranking, rank_agreement
from tests.metrics.boards import log, make_board
from tests.rating.boards import add_votes, board, random_votes

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(owner):
    """A preference leaderboard whose models m0 > m1 > m2 > m3 by real votes, fitted."""
    leaderboard, models = board(owner, 4, min_votes=5)
    add_votes(leaderboard, random_votes(models, 400, seed=3, strength=[1.5, 0.5, -0.5, -1.5]))
    ratings_recompute(leaderboard_id=leaderboard.pk)
    return leaderboard


def human_order(leaderboard) -> list[str]:
    rows = snapshot_rows(snapshot=snapshot_latest(leaderboard=leaderboard))
    return [r.model.name for r in rows if r.score is not None]


def test_it_shows_each_models_human_score_and_interval_beside_its_metrics(owner, rated):
    metric_board = make_board(owner, preference_leaderboard=rated)
    for k, accuracy in enumerate([0.9, 0.8, 0.7, 0.6]):
        log(metric_board, f"m{k}", f"run-{k}", accuracy=accuracy)
    log(metric_board, "not-voted-on", "run-x", accuracy=0.5)
    ranking = board_ranking(board=metric_board, spec=RankingSpec(metric="accuracy"), viewer=owner)
    published = {
        r.model.name: r for r in snapshot_rows(snapshot=snapshot_latest(leaderboard=rated))
    }
    for row in ranking.rows[:4]:
        rating = published[row.result.model_name]
        assert row.human.score == rating.score
        assert (row.human.ci_low, row.human.ci_high) == (rating.ci_low, rating.ci_high)
        assert row.human.ci_low < row.human.score < row.human.ci_high
        assert row.human.votes == rating.votes
    assert ranking.rows[-1].human is None


def test_it_measures_how_far_the_metric_ranking_agrees_with_the_human_one(owner, rated):
    order = human_order(rated)
    agreeing = make_board(owner, name="agrees", preference_leaderboard=rated)
    reversed_ = make_board(owner, name="disagrees", preference_leaderboard=rated)
    for position, model in enumerate(order):
        log(agreeing, model, f"a-{model}", accuracy=1.0 - position / 10)
        log(reversed_, model, f"r-{model}", accuracy=0.5 + position / 10)
    spec = RankingSpec(metric="accuracy")
    same = board_ranking(board=agreeing, spec=spec, viewer=owner).agreement
    opposite = board_ranking(board=reversed_, spec=spec, viewer=owner).agreement
    assert same.models == 4
    assert same.spearman == pytest.approx(1.0)
    assert same.kendall == pytest.approx(1.0)
    assert opposite.spearman == pytest.approx(-1.0)
    assert opposite.kendall == pytest.approx(-1.0)


def test_the_agreement_matches_scipy_on_a_partial_agreement():
    ranks = [1, 2, 3, 4, 5]
    scores = [1100.0, 1050.0, 1080.0, 990.0, 1010.0]
    agreement = rank_agreement(metric_ranks=ranks, human_scores=scores)
    negated = [-s for s in scores]
    assert agreement.spearman == pytest.approx(stats.spearmanr(ranks, negated).statistic)
    assert agreement.kendall == pytest.approx(stats.kendalltau(ranks, negated).statistic)
    assert 0 < agreement.spearman < 1


def test_it_needs_three_models_in_both_rankings_for_an_agreement():
    agreement = rank_agreement(metric_ranks=[1, 2], human_scores=[1000.0, 990.0])
    assert (agreement.models, agreement.spearman, agreement.kendall) == (2, None, None)


def test_it_counts_each_model_once_at_its_best_row(owner, rated):
    metric_board = make_board(owner, preference_leaderboard=rated)
    order = human_order(rated)
    for position, model in enumerate(order):
        log(metric_board, model, f"best-{model}", accuracy=1.0 - position / 10)
        log(metric_board, model, f"worse-{model}", accuracy=0.1 + position / 100)
    ranking = board_ranking(board=metric_board, spec=RankingSpec(metric="accuracy"), viewer=owner)
    assert ranking.agreement.models == 4
    assert ranking.agreement.spearman == pytest.approx(1.0)


def test_it_hides_the_human_scores_of_a_preference_leaderboard_the_viewer_may_not_see(
    owner, other_owner, rated
):
    rated.benchmark.is_public = False
    rated.benchmark.save()
    metric_board = make_board(owner, preference_leaderboard=rated, is_public=True)
    log(metric_board, "m0", "run-0", accuracy=0.9)
    spec = RankingSpec(metric="accuracy")
    mine = board_ranking(board=metric_board, spec=spec, viewer=owner)
    assert mine.rows[0].human is not None
    for viewer in (other_owner, AnonymousUser()):
        theirs = board_ranking(board=metric_board, spec=spec, viewer=viewer)
        assert theirs.human is None
        assert theirs.agreement is None
        assert theirs.rows[0].human is None


def test_a_board_without_a_preference_leaderboard_has_no_human_column(owner):
    metric_board = make_board(owner)
    log(metric_board, "m0", "run-0", accuracy=0.9)
    ranking = board_ranking(board=metric_board, spec=RankingSpec(metric="accuracy"), viewer=owner)
    assert ranking.human is None
    assert ranking.agreement is None
