"""POST/GET /api/v1/metric-leaderboards/<id>/results/: logging, bad values, strict, permissions."""

from __future__ import annotations

import pytest

from metrics.models import MetricResult
from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db


def url(board) -> str:
    return f"/api/v1/metric-leaderboards/{board.pk}/results/"


RESULT = {
    "model_name": "resnet50",
    "run_id": "run_123",
    "metrics": {"accuracy": 0.95, "latency_ms": 12},
    "metadata": {"epochs": 10},
    "training_run_id": "train-1",
    "checkpoint_step": 3000,
    "eval_dataset": "imagenet-val",
    "eval_dataset_version": "v2",
    "tags": ["prod"],
}


def test_the_owner_logs_a_result(api, owner):
    board = make_board(owner)
    answer = api.post(url(board), RESULT, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["metrics"] == {"accuracy": 0.95, "latency_ms": 12.0}
    assert body["metadata"] == {"epochs": 10}
    assert (body["training_run_id"], body["checkpoint_step"]) == ("train-1", 3000)
    assert body["created"]
    assert body["url"].endswith(f"/metrics/{board.pk}/runs/run_123/")


def test_it_refuses_a_metric_value_that_is_not_a_finite_number(api, owner):
    board = make_board(owner)
    # 1e999 is valid JSON that decodes to infinity.
    raw = '{"model_name": "m", "run_id": "r", "metrics": {"accuracy": 1e999}}'
    answer = api.post(url(board), raw, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["field"] == "metrics.accuracy"
    assert "finite" in answer.json()["detail"]
    as_text = api.post(url(board), {**RESULT, "metrics": {"accuracy": "NaN"}}, format="json")
    assert as_text.status_code == 400
    assert as_text.json()["field"] == "metrics.accuracy"
    nan_literal = '{"model_name": "m", "run_id": "r", "metrics": {"accuracy": NaN}}'
    assert api.post(url(board), nan_literal, content_type="application/json").status_code == 400
    assert not MetricResult.objects.exists()


def test_it_refuses_an_undeclared_metric_listing_the_known_ones(api, owner):
    board = make_board(owner)
    answer = api.post(url(board), {**RESULT, "metrics": {"bleu": 30}}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "unknown_metric"
    assert "known metrics: accuracy, latency_ms" in answer.json()["detail"]
    declared = api.post(
        url(board),
        {**RESULT, "metrics": {"bleu": 30}, "directions": {"bleu": "higher"}},
        format="json",
    )
    assert declared.status_code == 201


def test_the_same_run_logged_twice_is_a_new_result_unless_strict(api, owner):
    board = make_board(owner)
    first = api.post(url(board), RESULT, format="json").json()
    again = api.post(url(board), {**RESULT, "metrics": {"accuracy": 0.97}}, format="json")
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]
    assert again.json()["created"] > first["created"]
    strict = api.post(
        url(board), {**RESULT, "metrics": {"accuracy": 0.99}, "strict": True}, format="json"
    )
    assert strict.status_code == 409
    assert strict.json()["code"] == "run_exists"
    same = api.post(
        url(board), {**RESULT, "metrics": {"accuracy": 0.97}, "strict": True}, format="json"
    )
    assert same.status_code == 200
    assert same.json()["id"] == again.json()["id"]
    assert MetricResult.objects.count() == 2


def test_a_retried_log_with_the_same_idempotency_key_stores_one_result(api, owner):
    board = make_board(owner)
    headers = {"HTTP_IDEMPOTENCY_KEY": "log-1"}
    one = api.post(url(board), RESULT, format="json", **headers)
    two = api.post(url(board), RESULT, format="json", **headers)
    assert one.json() == two.json()
    assert two.headers["Idempotent-Replayed"] == "true"
    assert MetricResult.objects.count() == 1


def test_only_the_owner_logs_results(other_api, anon_api, owner):
    public = make_board(owner, name="Public")
    private = make_board(owner, name="Private", is_public=False)
    assert other_api.post(url(public), RESULT, format="json").status_code == 403
    assert other_api.post(url(private), RESULT, format="json").status_code == 404
    assert anon_api.post(url(public), RESULT, format="json").status_code == 401
    assert not MetricResult.objects.exists()


def test_it_lists_results_newest_first_with_filters(api, other_api, anon_api, owner):
    board = make_board(owner, is_public=False)
    log(board, "a", "r1", accuracy=0.1, tags=["x"])
    log(board, "b", "r2", accuracy=0.2)
    body = api.get(url(board)).json()
    assert [r["run_id"] for r in body["results"]] == ["r2", "r1"]
    assert [r["run_id"] for r in api.get(url(board) + "?tag=x").json()["results"]] == ["r1"]
    assert other_api.get(url(board)).status_code == 404
    assert anon_api.get(url(board)).status_code == 404
    one = body["results"][0]["id"]
    assert api.get(f"{url(board)}{one}/").json()["metrics"] == {"accuracy": 0.2}
    assert api.get(f"{url(board)}999999/").status_code == 404
