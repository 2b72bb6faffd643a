"""The metric leaderboard page in a real browser: sort by a column, filter, open a run, compare."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.metrics.boards import log, make_board

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=datetime.now().astimezone().tzinfo)


@pytest.fixture
def board() -> Any:
    owner = get_user_model().objects.create_user("mlteam", password="x-pass-123")
    board = make_board(
        owner,
        name="ImageNet classifiers",
        metrics={"accuracy": True, "latency_ms": False, "f1": True},
        description="Top-1 accuracy on ImageNet-val v2 with p50 latency on one A100.",
    )
    rows = [
        ("resnet50", "cnn", "r50-a", 0.912, 12.0, 0.905, ["prod", "gpu"]),
        ("vit-b16", "transformer", "vitb-3", 0.934, 41.5, 0.928, ["research"]),
        ("mobilenet-v3", "cnn", "mnv3-1", 0.802, 3.9, 0.791, ["prod", "edge"]),
        ("convnext-t", "cnn", "cnx-2", 0.921, 18.2, 0.917, ["research", "gpu"]),
        ("deit-s", "transformer", "deit-7", 0.899, 22.0, 0.893, ["prod"]),
    ]
    for k, (model, kind, run, acc, lat, f1, tags) in enumerate(rows):
        log(
            board,
            model,
            run,
            accuracy=acc,
            latency_ms=lat,
            f1=f1,
            model_type=kind,
            tags=tags,
            eval_dataset="imagenet-val",
            eval_dataset_version="v2",
            train_dataset="imagenet-1k",
            train_dataset_version="2012",
            metadata={"epochs": 90 + 10 * k, "optimizer": {"name": "adamw", "lr": 0.001 * (k + 1)}},
            now=T0 + timedelta(hours=k),
        )
    for step, acc in [(1000, 0.71), (2000, 0.83), (3000, 0.87), (4000, 0.86)]:
        log(
            board,
            "efficientnet-b0",
            f"effb0-step{step}",
            accuracy=acc,
            latency_ms=9.5,
            f1=acc - 0.01,
            model_type="cnn",
            tags=["prod"],
            training_run_id="effb0-train",
            checkpoint_step=step,
            eval_dataset="imagenet-val",
            eval_dataset_version="v2",
            now=T0 + timedelta(days=1, hours=step // 1000),
        )
    return board


def shown_runs(page: Any) -> list[str]:
    return page.eval_on_selector_all("tr[data-run]", "rows => rows.map(r => r.dataset.run)")


def test_it_sorts_and_filters_the_metric_page(
    live_server: Any, page: Any, board: Any, tmp_path: Path
):
    page.goto(f"{live_server.url}/metrics/{board.pk}/")
    assert shown_runs(page) == ["vitb-3", "cnx-2", "r50-a", "deit-7", "effb0-step3000", "mnv3-1"]
    assert "best of 4 checkpoints" in page.inner_text("tr[data-run=effb0-step3000]")

    # Sort by latency: lower is better, so the fastest comes first; a second click reverses.
    page.click("a[data-sort=latency_ms]")
    page.wait_for_url("**sort=latency_ms**")
    assert "order=asc" in page.url
    assert shown_runs(page) == ["mnv3-1", "effb0-step3000", "r50-a", "cnx-2", "deit-7", "vitb-3"]
    page.click("a[data-sort=latency_ms]")
    page.wait_for_url("**order=desc**")
    assert shown_runs(page)[0] == "vitb-3"

    # Filter by a tag with the form: the sort stays, both are in the URL.
    page.check("input[name=tag][value=prod]")
    page.click("#metric-controls button[type=submit]")
    page.wait_for_url("**tag=prod**")
    assert "sort=latency_ms" in page.url
    assert shown_runs(page) == ["deit-7", "r50-a", "effb0-step3000", "mnv3-1"]

    # A select filter applies at once; the shared URL reproduces the view in a fresh page.
    page.select_option("select[name=model_type]", "cnn")
    page.wait_for_url("**model_type=cnn**")
    assert shown_runs(page) == ["r50-a", "effb0-step3000", "mnv3-1"]
    shared = page.url
    other = page.context.new_page()
    other.goto(shared)
    assert shown_runs(other) == ["r50-a", "effb0-step3000", "mnv3-1"]
    other.close()

    page.goto(f"{live_server.url}/metrics/{board.pk}/?sort=accuracy")
    page.wait_for_selector("tr[data-run]")
    page.screenshot(path=str(tmp_path / "metrics-board.png"), full_page=True)


def test_it_compares_ticked_runs_and_plots_a_runs_checkpoints(
    live_server: Any, page: Any, board: Any, tmp_path: Path
):
    page.goto(f"{live_server.url}/metrics/{board.pk}/")
    button = page.locator("[data-compare-button]")
    assert button.is_disabled()
    page.check("tr[data-run=vitb-3] input[name=result]")
    page.check("tr[data-run=r50-a] input[name=result]")
    assert button.is_enabled()
    button.click()
    page.wait_for_url("**/metrics/compare/**")
    headers = page.eval_on_selector_all(
        "table.compare-table thead th a", "links => links.map(a => a.textContent.trim())"
    )
    assert headers == ["vitb-3", "r50-a"]
    assert page.locator("tr.differs[data-metric=accuracy]").count() == 1
    page.screenshot(path=str(tmp_path / "metrics-compare.png"), full_page=True)

    page.goto(f"{live_server.url}/metrics/{board.pk}/runs/effb0-step3000/")
    page.wait_for_selector("#checkpoint-plot .main-svg")
    assert page.locator("[data-plot-metrics] button").count() == 3
    page.click("[data-plot-metrics] button[data-metric=latency_ms]")
    assert (
        page.get_attribute("[data-plot-metrics] button[data-metric=latency_ms]", "aria-pressed")
        == "true"
    )
    page.click("[data-plot-metrics] button[data-metric=accuracy]")
    page.screenshot(path=str(tmp_path / "metrics-run.png"), full_page=True)


def test_it_sorts_by_the_human_preference_column(live_server: Any, page: Any, tmp_path: Path):
    from evaluation.services.ratings import ratings_recompute
    from tests.rating.boards import add_votes, random_votes
    from tests.rating.boards import board as preference_board

    owner = get_user_model().objects.create_user("arena", password="x-pass-123")
    leaderboard, models = preference_board(owner, 4, min_votes=5, name="Caption quality")
    add_votes(leaderboard, random_votes(models, 400, seed=11, strength=[1.2, 0.4, -0.3, -1.3]))
    ratings_recompute(leaderboard_id=leaderboard.pk)
    board = make_board(
        owner, name="Captioning", metrics={"cider": True}, preference_leaderboard=leaderboard
    )
    # The metric disagrees with people about m0 and m1.
    for name, cider in [("m1", 1.31), ("m0", 1.25), ("m2", 1.02), ("m3", 0.88)]:
        log(
            board,
            name,
            f"run-{name}",
            cider=cider,
            eval_dataset="coco",
            eval_dataset_version="2017",
        )

    page.goto(f"{live_server.url}/metrics/{board.pk}/")
    assert shown_runs(page) == ["run-m1", "run-m0", "run-m2", "run-m3"]
    assert "Spearman" in page.inner_text("[data-testid=agreement]")
    page.click("a[data-sort=human]")
    page.wait_for_url("**sort=human**")
    assert shown_runs(page) == ["run-m0", "run-m1", "run-m2", "run-m3"]
    page.screenshot(path=str(tmp_path / "metrics-human.png"), full_page=True)
