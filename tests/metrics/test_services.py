"""Logging results and declaring boards and metrics: validation, strict mode, constraints."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, Invalid
from metrics.models import MetricBoard, MetricDefinition, MetricResult, MetricValue
from metrics.services import (
    MetricSpec,
    metric_board_create,
    metric_board_update,
    metric_declare,
    result_log,
)
from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db


def test_it_logs_a_result_with_its_lineage_tags_metadata_and_values(owner):
    board = make_board(owner)
    result = log(
        board,
        "resnet50",
        "run_123",
        accuracy=0.95,
        latency_ms=12,
        model_type="cnn",
        training_run_id="train-7",
        checkpoint_step=3000,
        eval_dataset="imagenet-val",
        eval_dataset_version="v2",
        train_dataset="imagenet-train",
        train_dataset_version="2012",
        tags=["prod", " candidate "],
        metadata={"epochs": 10, "optimizer": {"lr": 0.1}},
    )
    result.refresh_from_db()
    assert (result.model_name, result.run_id, result.model_type) == ("resnet50", "run_123", "cnn")
    assert (result.training_run_id, result.checkpoint_step) == ("train-7", 3000)
    assert (result.eval_dataset, result.eval_dataset_version) == ("imagenet-val", "v2")
    assert (result.train_dataset, result.train_dataset_version) == ("imagenet-train", "2012")
    assert result.tags == ["prod", "candidate"]
    assert result.metadata == {"epochs": 10, "optimizer": {"lr": 0.1}}
    assert result.logged_by == owner
    values = dict(result.values.values_list("metric__name", "value"))
    assert values == {"accuracy": 0.95, "latency_ms": 12.0}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0.9", True, None, [0.9]])
def test_it_refuses_a_metric_value_that_is_not_a_finite_number(owner, bad):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        result_log(board=board, user=owner, model_name="m", run_id="r", metrics={"accuracy": bad})
    assert caught.value.field == "metrics.accuracy"
    assert "finite number" in caught.value.message or "not a number" in caught.value.message
    assert MetricResult.objects.count() == 0


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_it_keeps_non_finite_values_out_at_the_database(owner, bad):
    board = make_board(owner)
    result = log(board, "m", "r", accuracy=0.5)
    metric = board.metrics.get(name="latency_ms")
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricValue.objects.create(result=result, metric=metric, value=bad)


def test_it_records_a_second_log_of_a_run_as_a_new_result_with_its_own_time(owner):
    board = make_board(owner)
    start = timezone.now()
    first = log(board, "resnet50", "run_123", accuracy=0.90, now=start)
    second = log(board, "resnet50", "run_123", accuracy=0.93, now=start + timedelta(minutes=5))
    assert first.pk != second.pk
    assert second.created > first.created
    first.refresh_from_db()
    assert first.values.get().value == 0.90  # never overwritten
    assert MetricResult.objects.filter(run_id="run_123").count() == 2


def test_it_refuses_a_different_second_log_of_a_run_in_strict_mode(owner):
    board = make_board(owner)
    log(board, "resnet50", "run_123", accuracy=0.90, strict=True)
    with pytest.raises(Conflict) as caught:
        log(board, "resnet50", "run_123", accuracy=0.93, strict=True)
    assert caught.value.code == "run_exists"
    assert caught.value.field == "run_id"
    assert "strict" in caught.value.message
    assert MetricResult.objects.count() == 1


def test_it_returns_the_stored_result_for_an_identical_log_in_strict_mode(owner):
    board = make_board(owner)
    first, created = result_log(
        board=board, user=owner, model_name="m", run_id="r", metrics={"accuracy": 0.9}, strict=True
    )
    again, created_again = result_log(
        board=board, user=owner, model_name="m", run_id="r", metrics={"accuracy": 0.9}, strict=True
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk


def test_strict_mode_tells_checkpoints_of_one_run_apart(owner):
    board = make_board(owner)
    log(board, "m", "r", accuracy=0.8, checkpoint_step=100, strict=True)
    log(board, "m", "r", accuracy=0.9, checkpoint_step=200, strict=True)
    assert MetricResult.objects.count() == 2


def test_it_rejects_an_undeclared_metric_listing_the_known_ones(owner):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        log(board, "m", "r", metrics={"f1": 0.7})
    assert caught.value.code == "unknown_metric"
    assert "known metrics: accuracy, latency_ms" in caught.value.message
    assert "directions" in caught.value.message


def test_it_declares_a_new_metric_given_its_direction(owner):
    board = make_board(owner)
    log(
        board,
        "m",
        "r",
        metrics={"f1": 0.7, "loss": 0.3},
        directions={"f1": "higher", "loss": "lower"},
    )
    declared = dict(board.metrics.values_list("name", "higher_is_better"))
    assert declared["f1"] is True
    assert declared["loss"] is False


def test_it_refuses_a_direction_that_contradicts_the_declared_one(owner):
    board = make_board(owner)
    with pytest.raises(Conflict) as caught:
        log(board, "m", "r", latency_ms=3, directions={"latency_ms": "higher"})
    assert caught.value.code == "direction_conflict"
    with pytest.raises(Conflict):
        metric_declare(board=board, spec=MetricSpec(name="accuracy", higher_is_better=False))


def test_it_refuses_a_dataset_version_without_its_dataset(owner):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        log(board, "m", "r", accuracy=0.5, eval_dataset_version="v1")
    assert caught.value.field == "eval_dataset_version"


@pytest.mark.parametrize("step", [-1, 1.5, True])
def test_it_refuses_a_checkpoint_step_that_is_not_a_whole_number(owner, step):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        log(board, "m", "r", accuracy=0.5, checkpoint_step=step)
    assert caught.value.field == "checkpoint_step"


def test_it_refuses_metadata_that_is_not_a_json_object(owner):
    board = make_board(owner)
    with pytest.raises(Invalid):
        log(board, "m", "r", accuracy=0.5, metadata=["a"])
    with pytest.raises(Invalid):
        log(board, "m", "r", accuracy=0.5, metadata={"lr": math.nan})


def test_it_finds_the_owners_board_by_name_and_adds_missing_metrics(owner, other_owner):
    board = make_board(owner, name="accuracy", metrics={"accuracy": True})
    same, created = metric_board_create(
        owner=owner,
        name="accuracy",
        metrics=[MetricSpec("f1", True)],
        if_exists="return",
    )
    assert (same.pk, created) == (board.pk, False)
    assert set(board.metrics.values_list("name", flat=True)) == {"accuracy", "f1"}
    theirs, created = metric_board_create(
        owner=other_owner, name="accuracy", metrics=[MetricSpec("accuracy")], if_exists="return"
    )
    assert created
    assert theirs.pk != board.pk


def test_it_refuses_a_second_board_of_the_same_name_by_default(owner):
    make_board(owner, name="Vision")
    with pytest.raises(Conflict) as caught:
        make_board(owner, name="Vision")
    assert caught.value.code == "exists"
    assert MetricBoard.objects.count() == 1


def test_it_refuses_a_board_without_metrics_or_with_a_bad_metric_name(owner):
    with pytest.raises(Invalid):
        metric_board_create(owner=owner, name="x", metrics=[])
    with pytest.raises(Invalid) as caught:
        metric_board_create(owner=owner, name="x", metrics=[MetricSpec("top 1, acc")])
    assert "letters, digits" in caught.value.message


def test_it_checks_the_primary_metric_on_update(owner):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        metric_board_update(board=board, primary_metric="f1")
    assert "known metrics: accuracy, latency_ms" in caught.value.message
    metric_board_update(board=board, primary_metric="latency_ms", is_public=False)
    board.refresh_from_db()
    assert (board.primary_metric, board.is_public) == ("latency_ms", False)


def test_the_database_keeps_metric_names_unique_per_board(owner):
    board = make_board(owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricDefinition.objects.create(board=board, name="accuracy", higher_is_better=True)
