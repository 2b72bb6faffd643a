"""Bad input to metric leaderboards: a clear 400 naming the field, nothing stored, never a 500.

Each case was found by fuzzing: a run id with a line break (stored, then every page of its board
failed), ids in non-ASCII digits, dates at the ends of the calendar, numbers too large for the
database or for a float, weighted scores that overflowed to NaN, and directions for metrics the
result does not carry.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from django.test import Client

from config.errors import Conflict, Invalid
from config.validation import MAX_JSON_DEPTH
from metrics.models import MAX_CHECKPOINT_STEP, MetricResult
from metrics.selectors import weighted_mean
from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db


def results_url(board) -> str:
    return f"/api/v1/metric-leaderboards/{board.pk}/results/"


RESULT = {"model_name": "resnet50", "run_id": "run_1", "metrics": {"accuracy": 0.9}}


# ---------------------------------------------------------------- names and identifiers


@pytest.mark.parametrize("run_id", ["a\nb", "a\rb", "a\tb", "a\u2028b", "a\x1bb"])
def test_it_refuses_a_run_id_that_is_not_one_printable_line(api, owner, run_id):
    board = make_board(owner)
    answer = api.post(results_url(board), {**RESULT, "run_id": run_id}, format="json")
    assert answer.status_code == 400
    assert answer.json()["field"] == "run_id"
    assert answer.json()["code"] == "bad_character"
    assert "no tabs, line breaks or control characters" in answer.json()["detail"]
    assert not MetricResult.objects.exists()


@pytest.mark.parametrize(
    "field",
    [
        "model_name",
        "model_type",
        "training_run_id",
        "eval_dataset",
        "eval_dataset_version",
        "train_dataset",
        "train_dataset_version",
    ],
)
def test_it_refuses_a_line_break_in_every_name_of_a_result(api, owner, field):
    board = make_board(owner)
    body = {**RESULT, "eval_dataset": "imagenet", "train_dataset": "in1k", field: "x\ny"}
    answer = api.post(results_url(board), body, format="json")
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert not MetricResult.objects.exists()


def test_it_refuses_a_board_name_with_a_line_break_but_not_such_a_description(api):
    body = {"name": "a\nb", "metrics": [{"name": "accuracy"}]}
    refused = api.post("/api/v1/metric-leaderboards/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["field"] == "name"
    described = {**body, "name": "Vision", "description": "Line one.\nLine two."}
    assert api.post("/api/v1/metric-leaderboards/", described, format="json").status_code == 201


def test_the_service_refuses_a_lone_surrogate_in_a_run_id(owner):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        log(board, "m", "run\ud800", accuracy=0.5)
    assert caught.value.field == "run_id"


@pytest.fixture
def poisoned(owner):
    """A board holding a run id with a line break, as one logged before ids were checked."""
    board = make_board(owner, is_public=True)
    log(board, "m", "fine", accuracy=0.5, latency_ms=3)
    stored = log(board, "m", "placeholder", accuracy=0.4, latency_ms=2)
    MetricResult.objects.filter(pk=stored.pk).update(run_id="a\nb")
    return board


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/metric-leaderboards/{board}/results/",
        "/api/v1/metric-leaderboards/{board}/ranking/",
        "/api/v1/metric-leaderboards/{board}/champion/?metric=latency_ms",
        "/api/v1/metric-leaderboards/compare/?run=fine&run=a%0Ab",
        "/metrics/{board}/",
        "/metrics/compare/?run=fine&run=a%0Ab",
    ],
)
def test_a_stored_run_id_with_a_line_break_breaks_no_page(anon_api, poisoned, path):
    answer = anon_api.get(path.format(board=poisoned.pk))
    assert answer.status_code == 200
    assert f"/metrics/{poisoned.pk}/runs/a%0Ab/" in answer.content.decode()


def test_the_run_of_a_stored_run_id_with_a_line_break_can_still_be_read(anon_api, poisoned):
    api_answer = anon_api.get(f"/api/v1/metric-leaderboards/{poisoned.pk}/runs/a%0Ab/")
    assert api_answer.status_code == 200
    assert api_answer.json()["run_id"] == "a\nb"
    assert Client().get(f"/metrics/{poisoned.pk}/runs/a%0Ab/").status_code == 200


# ---------------------------------------------------------------- ids in query parameters


BAD_IDS = ["²", "٣", "①", "-1", "1.5", " ", "9" * 30]


@pytest.mark.parametrize("raw", BAD_IDS)
@pytest.mark.parametrize("parameter", ["board", "result"])
def test_the_compare_api_refuses_an_id_that_is_not_ascii_digits(anon_api, owner, parameter, raw):
    board = make_board(owner)
    log(board, "m", "r1", accuracy=0.5)
    log(board, "m", "r2", accuracy=0.6)
    answer = anon_api.get(
        "/api/v1/metric-leaderboards/compare/", {"run": ["r1", "r2"], parameter: raw}
    )
    if parameter == "board" and not raw.strip():
        assert answer.status_code == 200  # an empty board means "any board"
        return
    assert answer.status_code == 400
    assert answer.json()["field"] == parameter
    assert f"not a {parameter} id" in answer.json()["detail"]


@pytest.mark.parametrize("raw", ["²", "٣", "9" * 30])
@pytest.mark.parametrize("parameter", ["board", "result"])
def test_the_compare_page_explains_an_id_that_is_not_ascii_digits(owner, parameter, raw):
    board = make_board(owner)
    log(board, "m", "r1", accuracy=0.5)
    log(board, "m", "r2", accuracy=0.6)
    answer = Client().get("/metrics/compare/", {"run": ["r1", "r2"], parameter: raw})
    assert answer.status_code == 400
    assert f"{parameter}: " in answer.content.decode()
    assert f"is not a {parameter} id" in answer.content.decode()


# ---------------------------------------------------------------- dates at the ends of time


EDGE_DATES = [
    ("until", "9999-12-31", 1),
    ("until", "9999-12-31T23:59:59-05:00", 1),
    ("since", "0001-01-01T00:00:00+05:00", 1),
    ("since", "0001-01-01", 1),
    ("until", "0001-01-01T00:00:00+05:00", 0),
    ("since", "9999-12-31T23:59:59-05:00", 0),
]


@pytest.mark.parametrize(("parameter", "value", "rows"), EDGE_DATES)
def test_date_filters_at_the_ends_of_the_calendar_are_clamped(
    anon_api, owner, parameter, value, rows
):
    board = make_board(owner, is_public=True)
    log(board, "m", "r", accuracy=0.5)
    base = f"/api/v1/metric-leaderboards/{board.pk}"
    listed = anon_api.get(f"{base}/results/", {parameter: value})
    assert listed.status_code == 200
    assert listed.json()["count"] == rows
    ranked = anon_api.get(f"{base}/ranking/", {parameter: value})
    assert ranked.status_code == 200
    assert ranked.json()["count"] == rows
    champion = anon_api.get(f"{base}/champion/", {parameter: value})
    assert champion.status_code == 200
    assert (champion.json()["champion"] is not None) == bool(rows)
    assert Client().get(f"/metrics/{board.pk}/", {parameter: value}).status_code == 200


# ---------------------------------------------------------------- numbers


def test_it_refuses_a_checkpoint_step_beyond_the_column(api, owner):
    board = make_board(owner)
    too_big = api.post(
        results_url(board), {**RESULT, "checkpoint_step": MAX_CHECKPOINT_STEP + 1}, format="json"
    )
    assert too_big.status_code == 400
    assert too_big.json()["field"] == "checkpoint_step"
    assert not MetricResult.objects.exists()
    largest = api.post(
        results_url(board), {**RESULT, "checkpoint_step": MAX_CHECKPOINT_STEP}, format="json"
    )
    assert largest.status_code == 201
    assert largest.json()["checkpoint_step"] == MAX_CHECKPOINT_STEP


def test_the_service_refuses_a_checkpoint_step_beyond_the_column(owner):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        log(board, "m", "r", accuracy=0.5, checkpoint_step=2**63)
    assert caught.value.field == "checkpoint_step"
    assert str(MAX_CHECKPOINT_STEP) in caught.value.message


def test_it_refuses_a_whole_number_too_large_for_a_float(api, owner):
    board = make_board(owner)
    raw = '{"model_name": "m", "run_id": "r", "metrics": {"accuracy": 1%s}}' % ("0" * 309)
    answer = api.post(results_url(board), raw, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["field"] == "metrics.accuracy"
    assert "a 310-digit number is not a finite number" in answer.json()["detail"]
    assert not MetricResult.objects.exists()


@pytest.fixture
def extreme(owner):
    """Two finite results whose difference overflows a float."""
    board = make_board(owner, is_public=True)
    log(board, "big", "r1", accuracy=1e308, latency_ms=1.0)
    log(board, "small", "r2", accuracy=-1e308, latency_ms=2.0)
    return board


@pytest.mark.parametrize(
    "query",
    [
        "mode=weighted",
        "mode=weighted&normalize=none",
        "mode=weighted&weights=accuracy:10,latency_ms:1&normalize=none",
        "mode=weighted&weights=accuracy:1e308,latency_ms:1e308",
    ],
)
def test_weighted_scores_of_extreme_values_are_finite_and_rank_the_best_first(
    anon_api, extreme, query
):
    ranking = anon_api.get(f"/api/v1/metric-leaderboards/{extreme.pk}/ranking/?{query}")
    assert ranking.status_code == 200
    rows = json.loads(ranking.content, parse_constant=pytest.fail)
    assert [row["result"]["run_id"] for row in rows["rows"]] == ["r1", "r2"]
    assert all(math.isfinite(row["score"]) for row in rows["rows"])
    champion = anon_api.get(f"/api/v1/metric-leaderboards/{extreme.pk}/champion/?{query}")
    assert champion.json()["champion"]["result"]["run_id"] == "r1"
    assert Client().get(f"/metrics/{extreme.pk}/?{query}").status_code == 200


def test_the_weighted_mean_matches_the_plain_formula_on_ordinary_values():
    columns = np.array([[0.8, 0.9, 0.7], [-20.0, -10.0, -10.0]])
    weights = np.array([2.0, 1.0])
    low, high = columns.min(axis=1, keepdims=True), columns.max(axis=1, keepdims=True)
    plain = weights @ ((columns - low) / (high - low)) / weights.sum()
    assert np.allclose(weighted_mean(columns, weights, minmax=True), plain)
    assert np.allclose(
        weighted_mean(columns, weights, minmax=False), weights @ columns / weights.sum()
    )


def test_the_weighted_mean_stays_finite_where_the_plain_formula_overflows():
    columns = np.array([[1e308, -1e308, 0.0], [1.0, 2.0, 2.0]])
    huge = np.array([1e308, 1e308])
    assert np.allclose(weighted_mean(columns, huge, minmax=True), [0.5, 0.5, 0.75])
    raw = weighted_mean(columns, huge, minmax=False)
    assert np.isfinite(raw).all()
    assert np.allclose(raw, [5e307, -5e307, 1.0])
    flat = weighted_mean(np.array([[1.7e308, 1.7e308]]), np.array([1.0]), minmax=True)
    assert np.array_equal(flat, [1.0, 1.0])


# ---------------------------------------------------------------- directions


def test_it_refuses_a_direction_for_a_metric_neither_logged_nor_declared(api, owner):
    board = make_board(owner)
    body = {**RESULT, "metrics": {"accuracy": 0.9, "f1": 0.8}, "directions": {"F1": "higher"}}
    answer = api.post(results_url(board), body, format="json")
    assert answer.status_code == 400
    assert answer.json()["field"] == "directions"
    assert answer.json()["code"] == "unknown_metric"
    assert "'F1' is neither among this result's metrics (accuracy, f1)" in answer.json()["detail"]
    assert not MetricResult.objects.exists()
    assert not board.metrics.filter(name__iexact="f1").exists()


def test_it_accepts_the_direction_of_a_declared_metric_the_result_leaves_out(owner):
    # A caller may pass the same directions with every result, whichever metrics it logs.
    board = make_board(owner)
    log(board, "m", "r", accuracy=0.9, directions={"latency_ms": "lower"})
    assert MetricResult.objects.count() == 1


def test_a_declared_metric_left_out_still_may_not_change_direction(owner):
    board = make_board(owner)
    with pytest.raises(Conflict) as caught:
        log(board, "m", "r", accuracy=0.9, directions={"latency_ms": "higher"})
    assert caught.value.field == "directions.latency_ms"
    assert not MetricResult.objects.exists()


# ---------------------------------------------------------------- metadata


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900])
def test_it_refuses_result_metadata_nested_too_deep(api, owner, depth):
    board = make_board(owner)
    # `depth` levels of arrays inside the metadata object, which is one more.
    body = json.dumps({**RESULT, "metadata": {"a": nested(depth - 1)}})
    answer = api.post(results_url(board), body, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert (answer.json()["field"], answer.json()["code"]) == ("metadata", "too_deep")
    assert f"at most {MAX_JSON_DEPTH} levels" in answer.json()["detail"]
    assert not MetricResult.objects.exists()


def test_it_takes_result_metadata_nested_as_deep_as_allowed(api, owner):
    board = make_board(owner)
    metadata = {"a": nested(MAX_JSON_DEPTH - 1)}
    answer = api.post(results_url(board), {**RESULT, "metadata": metadata}, format="json")
    assert answer.status_code == 201, answer.content
    assert MetricResult.objects.get().metadata == metadata


@pytest.mark.parametrize(
    "metadata", [{"a": "x\x00y"}, {"a": {"b\x00": 1}}, {"a": [[{"c": ["\x00"]}]]}]
)
def test_it_refuses_result_metadata_holding_a_nul_character(api, owner, metadata):
    board = make_board(owner)
    answer = api.post(results_url(board), {**RESULT, "metadata": metadata}, format="json")
    assert answer.status_code == 400, answer.content
    assert (answer.json()["field"], answer.json()["code"]) == ("metadata", "nul_character")
    assert not MetricResult.objects.exists()


def test_it_stores_a_backslash_u0000_that_is_text_not_a_nul_character(api, owner):
    board = make_board(owner)
    metadata = {"escaped": "\\u0000", "path": "C:\\\\u0000"}
    answer = api.post(results_url(board), {**RESULT, "metadata": metadata}, format="json")
    assert answer.status_code == 201, answer.content
    assert MetricResult.objects.get().metadata == metadata


# ---------------------------------------------------------------- NUL characters
# PostgreSQL refuses NUL in any text, so each of these was a 500 there (SQLite found nothing).

TEXT_FILTERS = ["q", "model_type", "model", "eval_dataset", "eval_dataset_version"]
TEXT_FILTERS += ["train_dataset", "train_dataset_version", "training_run"]


@pytest.fixture
def logged(owner):
    board = make_board(owner)
    log(board, "resnet50", "run_1", accuracy=0.5)
    log(board, "vit", "run_2", accuracy=0.6)
    return board


def test_the_board_list_refuses_a_name_search_holding_a_nul_character(anon_api, logged):
    answer = anon_api.get("/api/v1/metric-leaderboards/", {"name": "Vision\x00"})
    assert answer.status_code == 400, answer.content
    assert (answer.json()["field"], answer.json()["code"]) == ("name", "nul_character")


def test_the_board_list_page_drops_nul_characters_from_its_search(logged):
    answer = Client().get("/metrics/", {"q": "Vis\x00ion"})
    assert answer.status_code == 200
    assert [b.pk for b in answer.context["boards"]] == [logged.pk]
    assert answer.context["query"] == "Vision"


@pytest.mark.parametrize("view", ["results", "ranking", "champion"])
@pytest.mark.parametrize("parameter", TEXT_FILTERS)
def test_the_api_refuses_a_text_filter_holding_a_nul_character(anon_api, logged, view, parameter):
    answer = anon_api.get(
        f"/api/v1/metric-leaderboards/{logged.pk}/{view}/", {parameter: "res\x00net"}
    )
    assert answer.status_code == 400, answer.content
    assert (answer.json()["field"], answer.json()["code"]) == (parameter, "nul_character")


@pytest.mark.parametrize("parameter", TEXT_FILTERS)
def test_the_board_page_explains_a_text_filter_holding_a_nul_character(logged, parameter):
    answer = Client().get(f"/metrics/{logged.pk}/", {parameter: "res\x00net"})
    assert answer.status_code == 400
    assert f"{parameter}: contains a NUL character" in answer.content.decode()


@pytest.mark.parametrize(
    "path", ["/api/v1/metric-leaderboards/{board}/runs/run_1%00/", "/metrics/{board}/runs/a%00b/"]
)
def test_a_run_address_holding_a_nul_character_is_not_found(anon_api, logged, path):
    assert anon_api.get(path.format(board=logged.pk)).status_code == 404


@pytest.mark.parametrize("board", [True, False])
def test_comparing_a_run_id_holding_a_nul_character_finds_no_run(anon_api, logged, board):
    query = {"run": ["run_1", "run_2\x00"], **({"board": logged.pk} if board else {})}
    answer = anon_api.get("/api/v1/metric-leaderboards/compare/", query)
    assert answer.status_code == 404, answer.content
    assert answer.json()["field"] == "runs"
    assert Client().get("/metrics/compare/", query).status_code == 404


def test_the_service_refuses_a_result_tag_holding_a_nul_character(owner):
    board = make_board(owner)
    with pytest.raises(Invalid) as caught:
        log(board, "m", "r", accuracy=0.5, tags=["nightly\x00"])
    assert (caught.value.field, caught.value.code) == ("tags", "nul_character")
    assert not MetricResult.objects.exists()
