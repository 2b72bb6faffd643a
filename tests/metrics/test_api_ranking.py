"""GET ranking/ and champion/: modes, filters, checkpoints, errors, who may read."""

from __future__ import annotations

import pytest

from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(owner):
    board = make_board(owner, metrics={"accuracy": True, "latency_ms": False})
    log(
        board,
        "resnet",
        "r-early",
        accuracy=0.80,
        latency_ms=20,
        training_run_id="t1",
        checkpoint_step=1,
        tags=["prod"],
    )
    log(
        board,
        "resnet",
        "r-late",
        accuracy=0.88,
        latency_ms=20,
        training_run_id="t1",
        checkpoint_step=2,
        tags=["prod"],
    )
    log(board, "vit", "v1", accuracy=0.90, latency_ms=60, model_type="transformer")
    log(board, "tiny", "t1", accuracy=0.70, latency_ms=5, tags=["prod"])
    return board


def get(client, board, tail: str, query: str = ""):
    return client.get(f"/api/v1/metric-leaderboards/{board.pk}/{tail}/{query}")


def run_ids(answer) -> list[str]:
    return [row["result"]["run_id"] for row in answer.json()["rows"]]


def test_it_ranks_by_the_primary_metric_with_the_best_checkpoint_per_training_run(anon_api, board):
    answer = get(anon_api, board, "ranking")
    assert answer.status_code == 200
    body = answer.json()
    assert run_ids(answer) == ["v1", "r-late", "t1"]
    assert body["rows"][1]["checkpoints"] == 2
    assert body["rows"][0]["score"] == 0.90
    assert body["description"].startswith("by accuracy")
    assert (body["considered"], body["unranked"], body["count"]) == (4, 0, 3)


def test_it_ranks_in_each_mode(anon_api, board):
    assert run_ids(get(anon_api, board, "ranking", "?metric=latency_ms")) == ["t1", "r-early", "v1"]
    every = get(anon_api, board, "ranking", "?metric=latency_ms&checkpoints=all&tie_break=accuracy")
    assert run_ids(every) == ["t1", "r-late", "r-early", "v1"]
    average = get(anon_api, board, "ranking", "?mode=average_rank&metrics=accuracy,latency_ms")
    assert average.json()["mode"] == "average_rank"
    assert average.json()["score_label"] == "average rank"
    weighted = get(anon_api, board, "ranking", "?mode=weighted&weights=accuracy:1,latency_ms:0")
    assert run_ids(weighted) == ["v1", "r-late", "t1"]
    assert weighted.json()["weights"] == {"accuracy": 1.0, "latency_ms": 0.0}


def test_it_filters_and_limits_the_ranking(anon_api, board):
    assert run_ids(get(anon_api, board, "ranking", "?tag=prod")) == ["r-late", "t1"]
    assert run_ids(get(anon_api, board, "ranking", "?model_type=transformer")) == ["v1"]
    limited = get(anon_api, board, "ranking", "?limit=1")
    assert run_ids(limited) == ["v1"]
    assert limited.json()["count"] == 3
    assert get(anon_api, board, "ranking", "?limit=0").status_code == 400


def test_an_unknown_metric_is_a_400_that_lists_the_known_ones(anon_api, board):
    answer = get(anon_api, board, "ranking", "?metric=bleu")
    assert answer.status_code == 400
    body = answer.json()
    assert body["field"] == "metric"
    assert body["code"] == "unknown_metric"
    assert "known metrics: accuracy, latency_ms" in body["detail"]
    tie = get(anon_api, board, "champion", "?tie_break=f1")
    assert tie.status_code == 400
    assert "known metrics: accuracy, latency_ms" in tie.json()["detail"]


def test_the_champion_is_one_call_and_changes_when_a_better_score_is_logged(api, board):
    first = get(api, board, "champion").json()
    assert first["champion"]["result"]["run_id"] == "v1"
    assert first["champion"]["rank"] == 1
    logged = api.post(
        f"/api/v1/metric-leaderboards/{board.pk}/results/",
        {"model_name": "vit-l", "run_id": "v2", "metrics": {"accuracy": 0.93}},
        format="json",
    )
    assert logged.status_code == 201
    assert get(api, board, "champion").json()["champion"]["result"]["run_id"] == "v2"
    within = get(api, board, "champion", "?tag=prod&metric=latency_ms").json()
    assert within["champion"]["result"]["run_id"] == "t1"
    none = get(api, board, "champion", "?tag=nothing-has-this").json()
    assert none["champion"] is None


def test_a_tag_filter_never_ranks_a_run_on_a_score_a_newer_log_replaced(api, owner):
    board = make_board(owner, name="Promotion")
    results = f"/api/v1/metric-leaderboards/{board.pk}/results/"
    for run, accuracy, tags in (
        ("r1", 0.95, ["prod-candidate"]),
        ("r2", 0.80, ["prod-candidate"]),
        ("r1", 0.70, []),
    ):
        body = {"model_name": "m", "run_id": run, "metrics": {"accuracy": accuracy}, "tags": tags}
        assert api.post(results, body, format="json").status_code == 201
    ranking = get(api, board, "ranking", "?tag=prod-candidate").json()
    assert [(r["result"]["run_id"], r["score"]) for r in ranking["rows"]] == [("r2", 0.80)]
    champion = get(api, board, "champion", "?tag=prod-candidate").json()["champion"]
    assert (champion["result"]["run_id"], champion["score"]) == ("r2", 0.80)
    unfiltered = get(api, board, "champion").json()["champion"]
    assert (unfiltered["result"]["run_id"], unfiltered["score"]) == ("r2", 0.80)


def test_a_private_board_ranks_for_its_owner_only(api, other_api, anon_api, owner):
    private = make_board(owner, name="Private", is_public=False)
    log(private, "m", "r", accuracy=0.5)
    for tail in ("ranking", "champion"):
        assert get(api, private, tail).status_code == 200
        assert get(other_api, private, tail).status_code == 404
        assert get(anon_api, private, tail).status_code == 404


def test_the_run_endpoint_shows_results_and_checkpoints(anon_api, board):
    answer = anon_api.get(f"/api/v1/metric-leaderboards/{board.pk}/runs/r-late/")
    assert answer.status_code == 200
    body = answer.json()
    assert [r["run_id"] for r in body["results"]] == ["r-late"]
    assert body["training_runs"] == ["t1"]
    assert [c["checkpoint_step"] for c in body["checkpoints"]] == [1, 2]
    # On a tie the earlier step is the best one.
    assert body["best_steps"] == {"accuracy": {"": 2}, "latency_ms": {"": 1}}
    assert anon_api.get(f"/api/v1/metric-leaderboards/{board.pk}/runs/nope/").status_code == 404
