"""Rankings: one metric, average rank, weighted; tie-breaks; checkpoints; filters; champion."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from django.utils import timezone

from config.errors import Invalid
from metrics.selectors import (
    RankingSpec,
    ResultFilters,
    board_metrics,
    board_ranking,
    ranking_rows_sorted,
    ranking_spec_parse,
    result_filters_parse,
)
from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.get_current_timezone())


def runs(ranking) -> list[str]:
    return [row.result.run_id for row in ranking.rows]


def rank(board, **spec) -> list[str]:
    return runs(board_ranking(board=board, spec=RankingSpec(**spec)))


def parse(board, query: str) -> RankingSpec:
    return ranking_spec_parse(
        board=board, query=QueryDict(query), metrics=board_metrics(board=board)
    )


@pytest.fixture
def board(owner):
    board = make_board(owner, metrics={"accuracy": True, "latency_ms": False, "f1": True})
    log(board, "a", "run-a", accuracy=0.90, latency_ms=30, f1=0.70, now=T0)
    log(board, "b", "run-b", accuracy=0.95, latency_ms=50, f1=0.60, now=T0 + timedelta(hours=1))
    log(board, "c", "run-c", accuracy=0.80, latency_ms=10, f1=0.80, now=T0 + timedelta(hours=2))
    return board


def test_it_ranks_by_one_metric_in_its_direction(board):
    assert rank(board, metric="accuracy") == ["run-b", "run-a", "run-c"]
    assert rank(board, metric="latency_ms") == ["run-c", "run-a", "run-b"]


def test_it_ranks_by_the_average_rank_over_several_metrics(board):
    # ranks (acc, lat, f1): a (2,2,2)=2, b (1,3,3)=2.33, c (3,1,1)=1.67
    ranking = board_ranking(
        board=board,
        spec=RankingSpec(mode="average_rank", metrics=("accuracy", "latency_ms", "f1")),
    )
    assert runs(ranking) == ["run-c", "run-a", "run-b"]
    assert [round(row.score, 3) for row in ranking.rows] == [1.667, 2.0, 2.333]


def test_it_ranks_by_a_weighted_combination_of_normalised_metrics(board):
    # accuracy min-max: a .667 b 1 c 0; latency (lower better): a .5 b 0 c 1
    heavy_accuracy = board_ranking(
        board=board,
        spec=RankingSpec(mode="weighted", metrics=("accuracy", "latency_ms"), weights=(3.0, 1.0)),
    )
    assert runs(heavy_accuracy) == ["run-b", "run-a", "run-c"]
    assert heavy_accuracy.rows[0].score == pytest.approx(0.75)
    heavy_latency = rank(
        board, mode="weighted", metrics=("accuracy", "latency_ms"), weights=(1.0, 3.0)
    )
    assert heavy_latency == ["run-c", "run-a", "run-b"]


def test_it_ranks_by_raw_weighted_values_when_not_normalised(board):
    ranking = board_ranking(
        board=board,
        spec=RankingSpec(
            mode="weighted",
            metrics=("accuracy", "latency_ms"),
            weights=(1.0, 1.0),
            normalize="none",
        ),
    )
    # (accuracy - latency) / 2: the latency scale dominates.
    assert runs(ranking) == ["run-c", "run-a", "run-b"]
    assert ranking.rows[0].score == pytest.approx((0.80 - 10) / 2)


def test_it_breaks_ties_by_a_secondary_metric(owner):
    board = make_board(owner)
    log(board, "a", "fast", accuracy=0.9, latency_ms=10, now=T0 + timedelta(hours=1))
    log(board, "b", "slow", accuracy=0.9, latency_ms=40, now=T0)
    log(board, "c", "best", accuracy=0.95, latency_ms=99, now=T0)
    ranking = board_ranking(
        board=board, spec=RankingSpec(metric="accuracy", tie_break="latency_ms")
    )
    assert runs(ranking) == ["best", "fast", "slow"]
    assert [row.rank for row in ranking.rows] == [1, 2, 3]


def test_a_full_tie_shares_the_rank_and_keeps_the_earlier_result_first(owner):
    board = make_board(owner)
    log(board, "b", "later", accuracy=0.9, now=T0 + timedelta(hours=1))
    log(board, "a", "earlier", accuracy=0.9, now=T0)
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy"))
    assert runs(ranking) == ["earlier", "later"]
    assert [row.rank for row in ranking.rows] == [1, 1]


def _training_curve(board, metric: str, values: dict[int, float], training: str, model: str):
    for step, value in values.items():
        log(
            board,
            model,
            f"{training}-eval-{step}",
            training_run_id=training,
            checkpoint_step=step,
            **{metric: value},
        )


def test_best_checkpoint_per_training_run_picks_the_highest_value_when_higher_is_better(owner):
    board = make_board(owner)
    _training_curve(board, "accuracy", {100: 0.70, 200: 0.86, 300: 0.83}, "train-1", "resnet")
    _training_curve(board, "accuracy", {100: 0.75, 200: 0.80, 300: 0.81}, "train-2", "vit")
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy"))
    picked = [(row.result.training_run_id, row.result.checkpoint_step) for row in ranking.rows]
    assert picked == [("train-1", 200), ("train-2", 300)]
    assert [row.checkpoints for row in ranking.rows] == [3, 3]


def test_best_checkpoint_per_training_run_picks_the_lowest_value_when_lower_is_better(owner):
    board = make_board(owner, metrics={"loss": False})
    _training_curve(board, "loss", {100: 0.90, 200: 0.41, 300: 0.45}, "train-1", "resnet")
    _training_curve(board, "loss", {100: 0.60, 200: 0.52, 300: 0.38}, "train-2", "vit")
    ranking = board_ranking(board=board, spec=RankingSpec(metric="loss"))
    picked = [(row.result.training_run_id, row.result.checkpoint_step) for row in ranking.rows]
    assert picked == [("train-2", 300), ("train-1", 200)]


def test_it_lists_every_checkpoint_when_asked(owner):
    board = make_board(owner)
    _training_curve(board, "accuracy", {100: 0.70, 200: 0.86, 300: 0.83}, "train-1", "resnet")
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy", checkpoints="all"))
    assert [row.result.checkpoint_step for row in ranking.rows] == [200, 300, 100]


def test_best_checkpoint_is_chosen_per_evaluation_dataset(owner):
    board = make_board(owner)
    for step, (a, b) in {1: (0.6, 0.9), 2: (0.8, 0.7)}.items():
        log(
            board,
            "m",
            f"e{step}a",
            accuracy=a,
            training_run_id="t",
            checkpoint_step=step,
            eval_dataset="A",
        )
        log(
            board,
            "m",
            f"e{step}b",
            accuracy=b,
            training_run_id="t",
            checkpoint_step=step,
            eval_dataset="B",
        )
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy"))
    assert runs(ranking) == ["e1b", "e2a"]


def test_it_ranks_the_newest_result_of_a_relogged_run(owner):
    board = make_board(owner)
    log(board, "a", "run-a", accuracy=0.99, now=T0)
    log(board, "a", "run-a", accuracy=0.70, now=T0 + timedelta(hours=1))
    log(board, "b", "run-b", accuracy=0.80, now=T0)
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy"))
    assert [(r.result.run_id, r.score) for r in ranking.rows] == [("run-b", 0.80), ("run-a", 0.70)]
    assert ranking.considered == 2


def test_it_leaves_out_results_lacking_the_ranked_metric(owner):
    board = make_board(owner)
    log(board, "a", "with", accuracy=0.9, latency_ms=5)
    log(board, "b", "without", latency_ms=3)
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy"))
    assert runs(ranking) == ["with"]
    assert (ranking.considered, ranking.unranked) == (2, 1)


def test_the_champion_changes_when_a_better_score_is_logged(owner):
    board = make_board(owner)
    spec = RankingSpec(metric="accuracy")
    log(board, "resnet50", "run-1", accuracy=0.91)
    log(board, "resnet50", "run-2", accuracy=0.93)
    assert board_ranking(board=board, spec=spec).champion.result.run_id == "run-2"
    log(board, "vit-b", "run-3", accuracy=0.95)
    assert board_ranking(board=board, spec=spec).champion.result.run_id == "run-3"
    log(board, "vit-b", "run-4", accuracy=0.94)
    assert board_ranking(board=board, spec=spec).champion.result.run_id == "run-3"


def test_the_champion_respects_filters(owner):
    board = make_board(owner)
    log(board, "a", "dev-best", accuracy=0.99, tags=["dev"])
    log(board, "b", "prod-best", accuracy=0.90, tags=["prod", "gpu"])
    log(board, "c", "prod-2", accuracy=0.85, tags=["prod"])
    filters = ResultFilters(tags=("prod",))
    champion = board_ranking(
        board=board, spec=RankingSpec(metric="accuracy"), filters=filters
    ).champion
    assert champion.result.run_id == "prod-best"


@pytest.fixture
def relogged(owner):
    """r1 first logged at 0.95 as a prod candidate, then again at 0.70 without the tag."""
    board = make_board(owner)
    log(board, "m1", "r1", accuracy=0.95, tags=["prod-candidate"], model_type="cnn", now=T0)
    log(board, "m2", "r2", accuracy=0.80, tags=["prod-candidate"], now=T0 + timedelta(minutes=30))
    log(board, "m1", "r1", accuracy=0.70, model_type="transformer", now=T0 + timedelta(hours=1))
    return board


def test_a_filter_never_brings_back_a_result_a_newer_log_superseded(relogged):
    spec = RankingSpec(metric="accuracy")
    tagged = board_ranking(
        board=relogged, spec=spec, filters=ResultFilters(tags=("prod-candidate",))
    )
    assert [(r.result.run_id, r.score) for r in tagged.rows] == [("r2", 0.80)]
    assert tagged.champion.result.run_id == "r2"
    assert tagged.considered == 1
    cnn = board_ranking(board=relogged, spec=spec, filters=ResultFilters(model_type="cnn"))
    assert cnn.rows == []
    everything = board_ranking(board=relogged, spec=spec)
    assert [(r.result.run_id, r.score) for r in everything.rows] == [("r2", 0.80), ("r1", 0.70)]


def test_until_reads_the_board_as_it_stood_then_and_since_filters_current_results(relogged):
    spec = RankingSpec(metric="accuracy")

    def ranked(**window: timedelta) -> list[tuple[str, float]]:
        query = urlencode({k: (T0 + v).isoformat() for k, v in window.items()})
        filters = result_filters_parse(QueryDict(query))
        ranking = board_ranking(board=relogged, spec=spec, filters=filters)
        return [(r.result.run_id, r.score) for r in ranking.rows]

    # As of 12:45, before the re-log, r1's 0.95 was its current result.
    assert ranked(until=timedelta(minutes=45)) == [("r1", 0.95), ("r2", 0.80)]
    # Since 12:45 only r1's current result was logged; its first result is not revived.
    assert ranked(since=timedelta(minutes=45)) == [("r1", 0.70)]
    # As of 12:45, of the results then current, only r2's was logged after 12:15.
    assert ranked(since=timedelta(minutes=15), until=timedelta(minutes=45)) == [("r2", 0.80)]


def test_a_run_without_a_step_and_its_step_0_are_different_evaluations(owner):
    board = make_board(owner)
    log(board, "m", "r", accuracy=0.5, now=T0)
    log(board, "m", "r", accuracy=0.6, checkpoint_step=0, now=T0 + timedelta(minutes=1))
    log(board, "m", "r", accuracy=0.4, now=T0 + timedelta(minutes=2))
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy", checkpoints="all"))
    assert [(r.result.checkpoint_step, r.score) for r in ranking.rows] == [(0, 0.6), (None, 0.4)]


@pytest.fixture
def lineage_board(owner):
    board = make_board(owner)
    log(
        board,
        "r50",
        "r1",
        accuracy=0.9,
        model_type="cnn",
        eval_dataset="imagenet",
        eval_dataset_version="v1",
        train_dataset="in1k",
        train_dataset_version="2012",
        tags=["prod", "gpu"],
        now=T0,
    )
    log(
        board,
        "r50",
        "r2",
        accuracy=0.8,
        model_type="cnn",
        eval_dataset="imagenet",
        eval_dataset_version="v2",
        train_dataset="in21k",
        train_dataset_version="2021",
        tags=["gpu"],
        now=T0 + timedelta(days=2),
    )
    log(
        board,
        "vit",
        "r3",
        accuracy=0.85,
        model_type="transformer",
        eval_dataset="cifar",
        train_dataset="in1k",
        train_dataset_version="2012",
        tags=["prod"],
        training_run_id="t9",
        now=T0 + timedelta(days=5),
    )
    return board


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=prod", ["r1", "r3"]),
        ("tag=prod&tag=gpu", ["r1"]),
        ("model_type=cnn", ["r1", "r2"]),
        ("model=vit", ["r3"]),
        ("eval_dataset=imagenet", ["r1", "r2"]),
        ("eval_dataset=imagenet&eval_dataset_version=v2", ["r2"]),
        ("train_dataset=in1k", ["r1", "r3"]),
        ("train_dataset=in21k&train_dataset_version=2021", ["r2"]),
        ("training_run=t9", ["r3"]),
        ("since=2026-03-02", ["r3", "r2"]),
        ("until=2026-03-03", ["r1", "r2"]),
        ("since=2026-03-02&until=2026-03-04", ["r2"]),
        ("since=2026-03-01T12:00:00Z&until=2026-03-01T12:00:01Z", ["r1"]),
        ("q=r5", ["r1", "r2"]),
    ],
)
def test_it_filters_results(lineage_board, query, expected):
    filters = result_filters_parse(QueryDict(query))
    ranking = board_ranking(
        board=lineage_board, spec=RankingSpec(metric="accuracy"), filters=filters
    )
    assert runs(ranking) == expected


def test_it_refuses_a_date_it_cannot_read(lineage_board):
    with pytest.raises(Invalid) as caught:
        result_filters_parse(QueryDict("since=last-tuesday"))
    assert caught.value.field == "since"
    with pytest.raises(Invalid):
        result_filters_parse(QueryDict("since=2026-03-05&until=2026-03-01"))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("metric=bleu", "metric"),
        ("mode=average_rank&metrics=accuracy,bleu", "metrics"),
        ("mode=weighted&weights=bleu:1", "weights"),
        ("tie_break=bleu", "tie_break"),
    ],
)
def test_it_rejects_an_unknown_metric_in_a_ranking_request_listing_the_known_ones(
    board, query, field
):
    with pytest.raises(Invalid) as caught:
        parse(board, query)
    assert caught.value.field == field
    assert caught.value.code == "unknown_metric"
    assert "'bleu'" in caught.value.message
    assert "known metrics: accuracy, latency_ms, f1" in caught.value.message


@pytest.mark.parametrize(
    "query",
    [
        "mode=best",
        "checkpoints=some",
        "mode=weighted&weights=accuracy",
        "mode=weighted&weights=accuracy:-1",
        "mode=weighted&weights=accuracy:0",
        "normalize=zscore",
    ],
)
def test_it_rejects_a_malformed_ranking_request(board, query):
    with pytest.raises(Invalid):
        parse(board, query)


def test_it_reads_a_ranking_request(board):
    spec = parse(
        board, "mode=weighted&weights=accuracy:2,f1:1&tie_break=latency_ms&checkpoints=all"
    )
    assert spec == RankingSpec(
        mode="weighted",
        metric="accuracy",
        metrics=("accuracy", "f1"),
        weights=(2.0, 1.0),
        tie_break="latency_ms",
        checkpoints="all",
    )
    assert parse(board, "mode=average_rank").metrics == ("accuracy", "latency_ms", "f1")
    assert parse(board, "").metric == "accuracy"


def test_it_sorts_rows_by_a_column_for_the_page(board):
    ranking = board_ranking(board=board, spec=RankingSpec(metric="accuracy"))
    rows, sort, order = ranking_rows_sorted(ranking=ranking, sort="latency_ms")
    assert ([r.result.run_id for r in rows], sort, order) == (
        ["run-c", "run-a", "run-b"],
        "latency_ms",
        "asc",
    )
    rows, _, order = ranking_rows_sorted(ranking=ranking, sort="latency_ms", order="desc")
    assert [r.result.run_id for r in rows] == ["run-b", "run-a", "run-c"]
    rows, _, _ = ranking_rows_sorted(ranking=ranking, sort="model", order="desc")
    assert [r.result.model_name for r in rows] == ["c", "b", "a"]
    with pytest.raises(Invalid):
        ranking_rows_sorted(ranking=ranking, sort="bleu")
