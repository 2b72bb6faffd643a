"""The metric pages: list, board (sort and filter state in the URL), run, compare; visibility."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from evaluation.services.ratings import ratings_recompute
from tests.metrics.boards import log, make_board
from tests.rating.boards import add_votes, random_votes
from tests.rating.boards import board as preference_board

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(owner):
    board = make_board(owner, name="Vision evals")
    log(
        board,
        "resnet50",
        "r50",
        accuracy=0.90,
        latency_ms=12,
        tags=["prod"],
        model_type="cnn",
        eval_dataset="imagenet",
        eval_dataset_version="v2",
        metadata={"epochs": 10},
    )
    log(
        board,
        "vit-b",
        "vit",
        accuracy=0.93,
        latency_ms=40,
        tags=["research"],
        model_type="transformer",
        eval_dataset="imagenet",
        eval_dataset_version="v2",
        metadata={"epochs": 30},
    )
    log(board, "mobilenet", "mob", accuracy=0.80, latency_ms=4, tags=["prod"], model_type="cnn")
    for step, acc in [(100, 0.61), (200, 0.74), (300, 0.72)]:
        log(
            board,
            "resnet50",
            f"ckpt-{step}",
            accuracy=acc,
            latency_ms=12,
            training_run_id="train-9",
            checkpoint_step=step,
        )
    return board


def order(html: str) -> list[str]:
    return re.findall(r'<tr data-run="([^"]+)"', html)


def test_the_board_page_ranks_sorts_and_filters_from_the_url(client, board):
    page = client.get(f"/metrics/{board.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert order(html) == ["vit", "r50", "mob", "ckpt-200"]
    assert "best of 3 checkpoints" in html
    assert order(client.get(f"/metrics/{board.pk}/?sort=latency_ms").content.decode()) == [
        "mob",
        "r50",
        "ckpt-200",
        "vit",
    ]
    assert (
        order(client.get(f"/metrics/{board.pk}/?sort=latency_ms&order=desc").content.decode())[0]
        == "vit"
    )
    assert order(client.get(f"/metrics/{board.pk}/?tag=prod").content.decode()) == ["r50", "mob"]
    assert order(
        client.get(f"/metrics/{board.pk}/?model_type=cnn&sort=model").content.decode()
    ) == ["mob", "r50"]
    assert order(
        client.get(f"/metrics/{board.pk}/?checkpoints=all&training_run=train-9").content.decode()
    ) == ["ckpt-200", "ckpt-300", "ckpt-100"]
    weighted = client.get(
        f"/metrics/{board.pk}/?mode=weighted&weights=accuracy:1,latency_ms:1"
    ).content.decode()
    assert "weighted score" in weighted


def test_sort_links_keep_the_filters_and_flip_the_order(client, board):
    html = client.get(f"/metrics/{board.pk}/?tag=prod&sort=latency_ms").content.decode()
    link = re.search(r'href="([^"]+)" data-sort="latency_ms"', html).group(1).replace("&amp;", "&")
    assert "tag=prod" in link
    assert "order=desc" in link
    assert order(client.get(f"/metrics/{board.pk}/" + link).content.decode()) == ["r50", "mob"]


def test_a_bad_ranking_request_shows_the_error_and_the_default_ranking(client, board):
    page = client.get(f"/metrics/{board.pk}/?metric=bleu")
    assert page.status_code == 400
    html = page.content.decode()
    assert "known metrics: accuracy, latency_ms" in html
    assert order(html)[0] == "vit"


def test_a_private_board_is_a_404_for_others_and_shown_to_its_owner(owner, other_owner):
    private = make_board(owner, name="Secret", is_public=False)
    log(private, "m", "r", accuracy=0.5)
    anonymous = Client()
    other = Client()
    other.force_login(other_owner)
    mine = Client()
    mine.force_login(owner)
    for url in (f"/metrics/{private.pk}/", f"/metrics/{private.pk}/runs/r/"):
        assert anonymous.get(url).status_code == 404
        assert other.get(url).status_code == 404
        assert mine.get(url).status_code == 200
    assert "Secret" not in anonymous.get("/metrics/").content.decode()
    assert "Secret" in mine.get("/metrics/").content.decode()
    compare = f"/metrics/compare/?run=r&run=r2&board={private.pk}"
    assert anonymous.get(compare).status_code == 404


def test_the_run_page_shows_metrics_metadata_lineage_and_checkpoints(client, board):
    html = client.get(f"/metrics/{board.pk}/runs/ckpt-200/").content.decode()
    assert "train-9" in html
    assert 'id="checkpoint-plot"' in html
    assert "plotly-cartesian.min.js" in html
    assert "checkpoint-data" in html
    steps = re.findall(r'<td class="num">(\d+)</td>\s*<td><a href="/metrics/\d+/runs/ckpt', html)
    assert steps == ["100", "200", "300"]
    assert "0.7400 ★" in html
    run = client.get(f"/metrics/{board.pk}/runs/r50/").content.decode()
    assert "imagenet@v2" in run
    assert "epochs" in run
    assert client.get(f"/metrics/{board.pk}/runs/none/").status_code == 404


def test_the_run_page_marks_superseded_results(client, owner):
    board = make_board(owner)
    log(board, "m", "again", accuracy=0.5)
    log(board, "m", "again", accuracy=0.6)
    html = client.get(f"/metrics/{board.pk}/runs/again/").content.decode()
    assert html.count('class="superseded"') == 1


def test_the_compare_page_marks_differences_and_best_values(client, board):
    html = client.get("/metrics/compare/?run=r50&run=vit").content.decode()
    assert re.search(r'<tr class="differs" data-metric="accuracy">', html)
    assert "0.9300 ★" in html
    assert "12 ★" in html
    assert "epochs" in html
    assert client.get("/metrics/compare/?run=r50").status_code == 400


def test_the_compare_page_shows_a_run_on_several_boards_as_one_column(client, owner, board):
    speed = make_board(owner, name="Speed", metrics={"throughput": True})
    log(speed, "resnet50", "r50", throughput=900)
    log(speed, "vit-b", "vit", throughput=300)
    answer = client.get("/metrics/compare/?run=r50&run=vit")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.count("<th data-run=") == 2
    assert re.search(r'data-metric="throughput">', html)
    assert "900 ★" in html
    assert f'href="/metrics/{speed.pk}/runs/r50/">Speed</a>' in html
    assert f'href="/metrics/{board.pk}/runs/r50/">Vision evals</a>' in html


def test_the_compare_page_explains_a_run_id_of_several_other_owners(owner, other_owner, board):
    theirs = make_board(other_owner, name="Theirs")
    log(theirs, "x", "r50", accuracy=0.1)
    answer = Client().get("/metrics/compare/?run=r50&run=vit")
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "is on metric leaderboards of different owners" in html
    assert f"{theirs.pk} (&#x27;Theirs&#x27; by intruder)" in html


def test_the_board_page_shows_the_human_column_and_the_agreement(client, owner):
    leaderboard, models = preference_board(owner, 3, min_votes=5)
    add_votes(leaderboard, random_votes(models, 300, seed=5, strength=[1.0, 0.0, -1.0]))
    ratings_recompute(leaderboard_id=leaderboard.pk)
    board = make_board(owner, preference_leaderboard=leaderboard)
    for k, acc in enumerate([0.9, 0.8, 0.7]):
        log(board, f"m{k}", f"run-{k}", accuracy=acc)
    html = client.get(f"/metrics/{board.pk}/").content.decode()
    assert 'data-testid="agreement"' in html
    assert "Spearman" in html
    assert 'data-sort="human"' in html
    assert (
        order(client.get(f"/metrics/{board.pk}/?sort=human&order=asc").content.decode())[-1]
        == "run-0"
    )


def head(html: str) -> tuple[str, str]:
    """The page's title and meta description, unescaped."""
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    description = re.search(r'<meta name="description" content="([^"]*)">', html).group(1)
    return unescape(title.strip()), unescape(description)


def test_each_metric_page_has_its_own_title_and_description(client, board):
    title, description = head(client.get(f"/metrics/{board.pk}/").content.decode())
    assert title == "Vision evals · metric leaderboard · Versus"
    assert description == (
        "Vision evals: metric leaderboard of 4 runs ranked by accuracy; best checkpoint per "
        "training run; champion vit-b (vit), accuracy 0.9300."
    )
    title, description = head(client.get(f"/metrics/{board.pk}/runs/ckpt-200/").content.decode())
    assert title == "Run ckpt-200 (resnet50) · Vision evals · Versus"
    assert description == (
        "Run ckpt-200 of resnet50 on Vision evals: accuracy 0.7400, latency_ms 12; step 200 of "
        "training run train-9. Metrics, metadata, lineage and checkpoints of the run."
    )
    _, description = head(client.get(f"/metrics/{board.pk}/runs/r50/").content.decode())
    assert "evaluated on imagenet@v2" in description
    title, description = head(client.get("/metrics/compare/?run=r50&run=vit").content.decode())
    assert title == "Compare r50 and vit · Versus"
    assert description == (
        "r50 (resnet50) and vit (vit-b) side by side: metrics, lineage and config; accuracy, "
        "latency_ms and epochs differ."
    )
    title, description = head(client.get("/metrics/compare/?run=r50").content.decode())
    assert title == "Compare runs · Versus"
    assert description.startswith("Compare 2 to 5 runs")
    _, description = head(client.get("/metrics/").content.decode())
    assert description.startswith("Metric leaderboards of Versus")


def test_a_long_board_description_is_cut_at_a_word(client, owner):
    board = make_board(owner, name="Long", description="word " * 200)
    _, description = head(client.get(f"/metrics/{board.pk}/").content.decode())
    assert len(description) <= 300
    assert description.endswith("word\u2026")


def test_the_list_page_shows_visible_boards(client, board):
    html = client.get("/metrics/").content.decode()
    assert "Vision evals" in html
    assert f"/metrics/{board.pk}/" in html


def test_the_admin_lists_boards_and_results(admin_client, board):
    assert admin_client.get("/admin/metrics/metricboard/").status_code == 200
    assert admin_client.get(f"/admin/metrics/metricboard/{board.pk}/change/").status_code == 200
    results = admin_client.get("/admin/metrics/metricresult/")
    assert results.status_code == 200
    assert "accuracy=0.93" in results.content.decode()
    result = board.results.first()
    assert admin_client.get(f"/admin/metrics/metricresult/{result.pk}/change/").status_code == 200
