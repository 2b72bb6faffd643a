"""ModelLeaderboard and compare_runs against a live server, configured from the environment."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import datetime

import pytest
from versus import (
    ConflictError,
    ModelLeaderboard,
    NotFoundError,
    RunComparison,
    RunScore,
    ValidationError,
    compare_runs,
)

from metrics.models import MetricBoard, MetricResult
from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

# The issue's snippet, character for character.
SNIPPET = """\
from versus import ModelLeaderboard, compare_runs
board = ModelLeaderboard(metric="accuracy", higher_is_better=True)
board.add_score(model_name="resnet50", run_id="run_123", score=0.95, metadata={"epochs": 10})
best = board.get_best_run()          # .run_id, .model_name, .score, .metadata, .timestamp
top = board.get_top(n=5)             # best first, same fields
board.display(n=10)                  # a readable table in the terminal
diff = compare_runs(["run_1", "run_2"])   # metrics and config side by side, differences marked
"""

REPORT = """
import json
print("@@" + json.dumps({
    "best": [best.run_id, best.model_name, best.score, best.metadata, best.timestamp.isoformat()],
    "top": [[t.run_id, t.model_name, t.score, t.metadata] for t in top],
    "diff": str(diff),
    "differences": diff.differences,
}))
"""


@pytest.fixture
def environment(live_server, owner, monkeypatch):
    """VERSUS_URL and VERSUS_TOKEN set as a user would set them."""
    monkeypatch.setenv("VERSUS_URL", live_server.url)
    monkeypatch.setenv("VERSUS_TOKEN", token_for(owner))
    return os.environ


def test_the_issue_snippet_runs_unchanged_against_a_started_server(environment, owner):
    # Two earlier runs, logged the same way, so that compare_runs has something to compare.
    earlier = ModelLeaderboard(metric="accuracy", higher_is_better=True)
    earlier.add_score(model_name="resnet18", run_id="run_1", score=0.91, metadata={"epochs": 5})
    earlier.add_score(model_name="resnet34", run_id="run_2", score=0.93, metadata={"epochs": 10})
    earlier.close()

    done = subprocess.run(
        [sys.executable, "-c", SNIPPET + REPORT],
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    table, _, report = done.stdout.partition("@@")
    facts = json.loads(report)
    run_id, model, score, metadata, timestamp = facts["best"]
    assert (run_id, model, score, metadata) == ("run_123", "resnet50", 0.95, {"epochs": 10})
    assert datetime.fromisoformat(timestamp).tzinfo is not None
    assert facts["top"] == [
        ["run_123", "resnet50", 0.95, {"epochs": 10}],
        ["run_2", "resnet34", 0.93, {"epochs": 10}],
        ["run_1", "resnet18", 0.91, {"epochs": 5}],
    ]
    # display(): a table, best first, with the columns a person expects.
    lines = table.strip().splitlines()
    assert "higher is better" in lines[0]
    assert lines[1].split()[:4] == ["rank", "model", "run_id", "accuracy"]
    assert lines[3].split()[:4] == ["1", "resnet50", "run_123", "0.95"]
    assert lines[5].split()[:4] == ["3", "resnet18", "run_1", "0.91"]
    # compare_runs(): side by side, differences marked.
    assert "* accuracy" in facts["diff"]
    assert "[0.93]" in facts["diff"]
    assert "* epochs" in facts["diff"]
    assert {"accuracy", "epochs", "model", "run"} <= set(facts["differences"])
    board = MetricBoard.objects.get()
    assert (board.name, board.owner, board.primary_metric) == ("accuracy", owner, "accuracy")
    assert MetricResult.objects.filter(board=board).count() == 3


def test_the_champion_changes_when_a_better_score_is_logged(environment):
    board = ModelLeaderboard(metric="f1")
    assert board.get_best_run() is None
    board.add_score(model_name="bert", run_id="b1", score=0.80)
    assert board.get_best_run().run_id == "b1"
    board.add_score(model_name="roberta", run_id="r1", score=0.84)
    assert board.get_best_run().run_id == "r1"
    board.add_score(model_name="bert", run_id="b2", score=0.82)
    assert board.get_best_run().run_id == "r1"


def test_a_lower_is_better_board_picks_the_best_checkpoint_of_each_training_run(environment):
    board = ModelLeaderboard(metric="loss", higher_is_better=False, name="pretraining")
    for step, loss in [(100, 2.1), (200, 1.4), (300, 1.6)]:
        board.add_score(
            model_name="gpt-small",
            run_id=f"eval-{step}",
            score=loss,
            training_run_id="pretrain-1",
            checkpoint_step=step,
        )
    board.add_score(model_name="gpt-tiny", run_id="tiny", score=1.9)
    top = board.get_top(n=5)
    assert [(t.run_id, t.checkpoint_step, t.score) for t in top] == [
        ("eval-200", 200, 1.4),
        ("tiny", None, 1.9),
    ]
    assert top[0].checkpoints == 3
    every = board.get_top(n=5, checkpoints="all")
    assert [t.run_id for t in every] == ["eval-200", "eval-300", "tiny", "eval-100"]


def test_it_logs_several_metrics_with_lineage_and_ranks_in_every_mode(environment):
    board = ModelLeaderboard(metric="accuracy", name="vision")
    board.declare_metric("latency_ms", higher_is_better=False)
    common = {"eval_dataset": "imagenet-val", "eval_dataset_version": "v2", "train_dataset": "in1k"}
    logged = board.add_score(
        model_name="resnet50",
        run_id="r50",
        score=0.90,
        metrics={"latency_ms": 12.0, "f1": 0.88},
        directions={"f1": "higher"},
        metadata={"lr": 0.1},
        tags=["prod"],
        model_type="cnn",
        **common,
    )
    assert isinstance(logged, RunScore)
    assert logged.metrics == {"accuracy": 0.90, "latency_ms": 12.0, "f1": 0.88}
    assert (logged.eval_dataset, logged.eval_dataset_version) == ("imagenet-val", "v2")
    board.add_score(
        model_name="vit-b",
        run_id="vit",
        score=0.93,
        metrics={"latency_ms": 40.0, "f1": 0.85},
        tags=["research"],
        model_type="transformer",
        **common,
    )
    assert [t.run_id for t in board.get_top()] == ["vit", "r50"]
    assert [t.run_id for t in board.get_top(metric="latency_ms")] == ["r50", "vit"]
    assert board.get_best_run(tags=["prod"]).run_id == "r50"
    assert board.get_best_run(model_type="transformer").run_id == "vit"
    weighted = board.ranking(mode="weighted", weights={"accuracy": 1, "latency_ms": 3})
    assert weighted.rows[0].run_id == "r50"
    assert weighted.score_label == "weighted score"
    average = board.ranking(mode="average_rank", metrics=["accuracy", "latency_ms", "f1"])
    assert average.rows[0].run_id == "r50"
    assert average.rows[0].score == pytest.approx(4 / 3)
    tie = board.get_top(metric="accuracy", tie_break="latency_ms", since=datetime(2020, 1, 1))
    assert len(tie) == 2


def test_bad_input_is_refused_with_a_clear_error(environment):
    board = ModelLeaderboard(metric="accuracy")
    with pytest.raises(ValueError, match="finite"):
        board.add_score(model_name="m", run_id="r", score=math.nan)
    with pytest.raises(ValueError, match="finite"):
        board.add_score(model_name="m", run_id="r", metrics={"recall": math.inf})
    with pytest.raises(ValueError, match="score="):
        board.add_score(model_name="m", run_id="r")
    board.add_score(model_name="m", run_id="r", score=0.5)
    with pytest.raises(ValidationError) as unknown:
        board.get_top(metric="bleu")
    assert "known metrics: accuracy" in str(unknown.value)
    with pytest.raises(ValidationError) as undeclared:
        board.add_score(model_name="m", run_id="r2", metrics={"bleu": 3.0})
    assert undeclared.value.code == "unknown_metric"
    with pytest.raises(ConflictError) as strict:
        board.add_score(model_name="m", run_id="r", score=0.6, strict=True)
    assert strict.value.code == "run_exists"
    with pytest.raises(ConflictError):
        ModelLeaderboard(metric="accuracy", higher_is_better=False).get_top()
    with pytest.raises(TypeError, match="unexpected ranking option"):
        board.get_top(colour="red")  # type: ignore[call-arg]


def test_the_same_run_logged_twice_is_a_new_result_and_the_newer_one_ranks(environment):
    board = ModelLeaderboard(metric="accuracy")
    first = board.add_score(model_name="m", run_id="r", score=0.7)
    second = board.add_score(model_name="m", run_id="r", score=0.8)
    assert second.result_id != first.result_id
    assert second.timestamp >= first.timestamp
    assert [t.score for t in board.get_top()] == [0.8]
    assert [r.score for r in board.results(run_id="r")] == [0.8, 0.7]


def test_get_best_run_never_promotes_a_score_a_newer_log_replaced(environment):
    board = ModelLeaderboard(metric="accuracy")
    board.add_score(model_name="m1", run_id="r1", score=0.95, tags=["prod-candidate"])
    board.add_score(model_name="m2", run_id="r2", score=0.80, tags=["prod-candidate"])
    assert board.get_best_run(tags=["prod-candidate"]).run_id == "r1"
    board.add_score(model_name="m1", run_id="r1", score=0.70)
    best = board.get_best_run(tags=["prod-candidate"])
    assert (best.run_id, best.score) == ("r2", 0.80)
    assert [(t.run_id, t.score) for t in board.get_top(tags=["prod-candidate"])] == [("r2", 0.80)]


def test_a_preference_leaderboard_is_linked_to_a_board_that_already_exists(
    environment, owner, other_owner
):
    from tests.factories import make_leaderboard

    arena = make_leaderboard(owner, name="Arena")
    second = make_leaderboard(owner, name="Second arena")
    secret = make_leaderboard(other_owner, name="Secret", is_public=False)
    board = ModelLeaderboard(metric="accuracy")
    board.add_score(model_name="m", run_id="r", score=0.5)
    assert board.ranking().agreement is None

    def linked() -> int | None:
        return MetricBoard.objects.get().preference_leaderboard_id

    again = ModelLeaderboard(metric="accuracy", preference_leaderboard=arena.pk)
    assert again.id == board.id
    assert linked() == arena.pk
    assert board.ranking().agreement is not None  # the human column is there (no fit yet)
    board.link_preference_leaderboard(second.pk)
    assert linked() == second.pk
    with pytest.raises(ValidationError) as hidden:
        board.link_preference_leaderboard(secret.pk)
    assert hidden.value.field == "preference_leaderboard"
    assert linked() == second.pk
    with pytest.raises(TypeError, match="preference_leaderboard"):
        board.link_preference_leaderboard("Arena")
    board.link_preference_leaderboard(None)
    assert linked() is None


def test_compare_runs_shows_a_run_logged_to_a_board_per_metric_as_one_run(environment):
    accuracy = ModelLeaderboard(metric="accuracy")
    latency = ModelLeaderboard(metric="latency_ms", higher_is_better=False)
    for board, (a, b) in ((accuracy, (0.9, 0.8)), (latency, (10, 12))):
        board.add_score(model_name="m1", run_id="run_1", score=a, metadata={"epochs": 5})
        board.add_score(model_name="m2", run_id="run_2", score=b, metadata={"epochs": 9})
    diff = compare_runs(["run_1", "run_2"])
    assert isinstance(diff, RunComparison)
    assert [r.run_id for r in diff.runs] == ["run_1", "run_2"]
    assert [(row.name, row.values, row.best) for row in diff.metrics] == [
        ("accuracy", [0.9, 0.8], [True, False]),
        ("latency_ms", [10, 12], [True, False]),
    ]
    assert diff.runs[0].metrics == {"accuracy": 0.9, "latency_ms": 10}
    assert diff.runs[0].boards == [accuracy.id, latency.id]
    assert [(row.name, row.values) for row in diff.config] == [("epochs", [5, 9])]
    assert "* latency_ms" in str(diff)
    only = compare_runs(["run_1", "run_2"], board=latency)
    assert [row.name for row in only.metrics] == ["latency_ms"]
    assert accuracy.compare_runs(["run_1", "run_2"]).metrics[0].values == [0.9, 0.8]


def test_compare_runs_labels_a_metric_two_boards_of_a_run_share(environment):
    vision = ModelLeaderboard(metric="accuracy", name="vision")
    accuracy = ModelLeaderboard(metric="accuracy")
    vision.add_score(model_name="m1", run_id="run_1", score=0.9)
    vision.add_score(model_name="m2", run_id="run_2", score=0.8)
    accuracy.add_score(model_name="m1", run_id="run_1", score=0.7)
    diff = compare_runs(["run_1", "run_2"])
    assert [(row.name, row.key, row.board, row.values) for row in diff.metrics] == [
        ("accuracy (vision)", "accuracy", vision.id, [0.9, 0.8]),
        ("accuracy (accuracy)", "accuracy", accuracy.id, [0.7, None]),
    ]


def test_compare_runs_says_when_a_run_id_is_ambiguous(environment, live_server, other_owner):
    from django.contrib.auth import get_user_model
    from versus import VersusClient

    third = get_user_model().objects.create_user("third", password="third-pass-123")
    boards = []
    for user in (other_owner, third):
        with VersusClient(url=live_server.url, token=token_for(user)) as theirs:
            board = ModelLeaderboard(metric="accuracy", public=True, client=theirs)
            board.add_score(model_name="m", run_id="shared_1", score=0.1)
            board.add_score(model_name="m", run_id="shared_2", score=0.2)
            boards.append(board.id)
    with pytest.raises(ConflictError) as ambiguous:
        compare_runs(["shared_1", "shared_2"])
    assert ambiguous.value.code == "ambiguous_run"
    assert "board=" in str(ambiguous.value)
    assert all(str(board_id) in str(ambiguous.value) for board_id in boards)
    diff = compare_runs(["shared_1", "shared_2"], board=boards[1])
    assert diff.metrics[0].values == [0.1, 0.2]


def test_compare_runs_cannot_see_another_owners_private_board(
    environment, other_owner, live_server
):
    from versus import VersusClient

    with VersusClient(url=live_server.url, token=token_for(other_owner)) as theirs:
        private = ModelLeaderboard(metric="accuracy", name="secret", client=theirs)
        private.add_score(model_name="m", run_id="hidden_1", score=0.1)
        private.add_score(model_name="m", run_id="hidden_2", score=0.2)
        board_id = private.id
    with pytest.raises(NotFoundError):
        compare_runs(["hidden_1", "hidden_2"])
    with pytest.raises(NotFoundError):
        compare_runs(["hidden_1", "hidden_2"], board=board_id)
