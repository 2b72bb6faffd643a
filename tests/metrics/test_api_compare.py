"""GET /api/v1/metric-leaderboards/compare/: side by side, ambiguity, visibility."""

from __future__ import annotations

import pytest

from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db

URL = "/api/v1/metric-leaderboards/compare/"


@pytest.fixture
def board(owner):
    board = make_board(owner)
    log(
        board,
        "resnet50",
        "run_1",
        accuracy=0.91,
        latency_ms=12,
        metadata={"epochs": 10, "opt": {"lr": 0.1}},
    )
    log(
        board,
        "resnet50",
        "run_2",
        accuracy=0.93,
        latency_ms=12,
        metadata={"epochs": 20, "opt": {"lr": 0.1}},
    )
    return board


def test_it_compares_runs_side_by_side_with_differences_marked(api, board):
    answer = api.get(URL + "?run=run_1&run=run_2")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert [c["run_id"] for c in body["columns"]] == ["run_1", "run_2"]
    metrics = {row["name"]: row for row in body["metrics"]}
    assert metrics["accuracy"]["values"] == [0.91, 0.93]
    assert metrics["accuracy"]["differs"] is True
    assert metrics["accuracy"]["best"] == [False, True]
    assert metrics["latency_ms"]["differs"] is False
    assert metrics["latency_ms"]["best"] == [True, True]
    config = {row["name"]: row for row in body["metadata"]}
    assert config["epochs"] == {
        "name": "epochs",
        "values": [10, 20],
        "differs": True,
        "best": [],
        "direction": "",
        "key": "epochs",
        "board": None,
    }
    assert config["opt.lr"]["differs"] is False
    fields = {row["name"]: row for row in body["fields"]}
    assert fields["model"]["differs"] is False
    assert fields["run"]["differs"] is True


def test_a_run_id_stands_for_its_highest_checkpoint(api, owner):
    board = make_board(owner)
    log(board, "m", "train", accuracy=0.5, checkpoint_step=10)
    log(board, "m", "train", accuracy=0.7, checkpoint_step=30)
    log(board, "m", "train", accuracy=0.6, checkpoint_step=20)
    log(board, "m", "other", accuracy=0.1)
    body = api.get(URL + "?run=train&run=other").json()
    assert body["columns"][0]["checkpoint_step"] == 30


def rows(body, group: str = "metrics") -> dict[str, list]:
    return {row["name"]: row["values"] for row in body[group]}


def test_a_run_logged_to_several_of_the_callers_boards_is_one_run_with_all_their_metrics(
    api, owner
):
    # What ModelLeaderboard("accuracy") and ModelLeaderboard("f1") create: a board per metric.
    accuracy = make_board(owner, name="accuracy", metrics={"accuracy": True})
    f1 = make_board(owner, name="f1", metrics={"f1": True})
    for board, (one, two) in ((accuracy, (0.91, 0.93)), (f1, (0.88, 0.87))):
        log(board, "resnet50", "run_1", metadata={"epochs": 10}, **{board.name: one})
        log(board, "resnet50", "run_2", metadata={"epochs": 20}, **{board.name: two})
    answer = api.get(URL + "?run=run_1&run=run_2")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert rows(body) == {"accuracy": [0.91, 0.93], "f1": [0.88, 0.87]}
    assert [row["best"] for row in body["metrics"]] == [[False, True], [True, False]]
    assert [c["metrics"] for c in body["columns"]] == [
        {"accuracy": 0.91, "f1": 0.88},
        {"accuracy": 0.93, "f1": 0.87},
    ]
    assert [c["boards"] for c in body["columns"]] == [[accuracy.pk, f1.pk]] * 2
    assert [r["board_name"] for r in body["columns"][0]["results"]] == ["accuracy", "f1"]
    assert rows(body, "fields")["board"] == ["accuracy, f1", "accuracy, f1"]
    # The same config logged to both boards is one row.
    assert rows(body, "metadata") == {"epochs": [10, 20]}
    scoped = api.get(URL + f"?run=run_1&run=run_2&board={f1.pk}").json()
    assert rows(scoped) == {"f1": [0.88, 0.87]}


def test_a_metric_name_two_boards_give_for_one_run_is_shown_once_per_board(api, owner, board):
    second = make_board(owner, name="Second", metrics={"accuracy": True})
    log(second, "resnet50", "run_1", accuracy=0.5, metadata={"epochs": 12, "opt": {"lr": 0.1}})
    body = api.get(URL + "?run=run_1&run=run_2").json()
    assert rows(body) == {
        "accuracy (Vision evals)": [0.91, 0.93],
        "latency_ms": [12, 12],
        "accuracy (Second)": [0.5, None],
    }
    split = {row["name"]: row for row in body["metrics"]}
    assert (split["accuracy (Second)"]["key"], split["accuracy (Second)"]["board"]) == (
        "accuracy",
        second.pk,
    )
    assert split["latency_ms"]["board"] is None
    assert split["accuracy (Second)"]["best"] == [True, False]
    assert body["columns"][0]["metrics"] == {
        "accuracy (Vision evals)": 0.91,
        "latency_ms": 12,
        "accuracy (Second)": 0.5,
    }
    # Config that differs between a run's boards is one row per board; agreeing config is one.
    assert rows(body, "metadata") == {
        "epochs (Vision evals)": [10, 20],
        "epochs (Second)": [12, None],
        "opt.lr": [0.1, 0.1],
    }


def test_a_run_id_on_boards_of_several_other_owners_is_ambiguous(
    anon_api, owner, other_owner, board
):
    theirs = make_board(other_owner, name="Theirs")
    log(theirs, "x", "run_1", accuracy=0.2)
    answer = anon_api.get(URL + "?run=run_1&run=run_2")
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "ambiguous_run"
    assert f"{board.pk} ('Vision evals' by owner)" in body["detail"]
    assert f"{theirs.pk} ('Theirs' by intruder)" in body["detail"]
    assert "board=" in body["detail"]
    scoped = anon_api.get(URL + f"?run=run_1&run=run_2&board={board.pk}")
    assert scoped.status_code == 200
    assert rows(scoped.json())["accuracy"] == [0.91, 0.93]


def test_the_callers_own_board_wins_over_public_boards_of_others(other_api, other_owner, board):
    theirs = make_board(other_owner, name="Theirs")
    log(theirs, "x", "run_1", accuracy=0.2)
    log(theirs, "x", "run_2", accuracy=0.3)
    body = other_api.get(URL + "?run=run_1&run=run_2").json()
    assert {c["board"] for c in body["columns"]} == {theirs.pk}


def test_comparing_runs_of_a_board_the_caller_may_not_see_is_a_404(api, other_api, anon_api, owner):
    private = make_board(owner, name="Private", is_public=False)
    a = log(private, "m", "secret_1", accuracy=0.1)
    b = log(private, "m", "secret_2", accuracy=0.2)
    assert api.get(URL + "?run=secret_1&run=secret_2").status_code == 200
    for client in (other_api, anon_api):
        assert client.get(URL + "?run=secret_1&run=secret_2").status_code == 404
        assert client.get(URL + f"?run=secret_1&run=secret_2&board={private.pk}").status_code == 404
        assert client.get(URL + f"?result={a.pk}&result={b.pk}").status_code == 404


def test_it_compares_two_to_five(api, owner):
    board = make_board(owner)
    results = [log(board, "m", f"r{k}", accuracy=k / 10) for k in range(6)]
    query = "&".join(f"result={r.pk}" for r in results)
    assert api.get(URL + "?" + query).status_code == 400
    assert api.get(URL + f"?result={results[0].pk}").status_code == 400
    assert api.get(URL + f"?result={results[0].pk}&result={results[0].pk}").status_code == 400
    five = "&".join(f"result={r.pk}" for r in results[:5])
    assert len(api.get(URL + "?" + five).json()["columns"]) == 5
    assert api.get(URL + "?result=abc&result=1").status_code == 400
