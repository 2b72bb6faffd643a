"""GET /api/v1/leaderboards/<id>/standings/ (JSON and CSV) and /win-loss/."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache

from evaluation.api_ratings import STANDINGS_CSV_COLUMNS
from evaluation.services.ratings import ratings_recompute
from tests.rating.boards import add_votes, board, prompts_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Tag standings are cached by leaderboard and snapshot id, which tests reuse."""
    cache.clear()


@pytest.fixture
def public_board(owner):
    leaderboard, models = board(owner, 3, tags=[["photo"], ["art"]], min_votes=5)
    photo, art = prompts_of(leaderboard)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 6, prompt=photo)
    add_votes(leaderboard, [(models[1], models[0], "tie")] * 2, prompt=photo)
    add_votes(leaderboard, [(models[1], models[0], "left")] * 3, prompt=art)
    ratings_recompute(leaderboard_id=leaderboard.pk)
    return leaderboard


@pytest.fixture
def private_board(owner):
    leaderboard, models = board(owner, 2, name="Secret", is_public=False)
    add_votes(leaderboard, [(models[0], models[1], "left")])
    ratings_recompute(leaderboard_id=leaderboard.pk)
    return leaderboard


def standings_url(leaderboard, query=""):
    return f"/api/v1/leaderboards/{leaderboard.pk}/standings/{query}"


@pytest.mark.parametrize("client_name", ["api", "other_api", "anon_api"])
def test_it_serves_public_standings_to_everyone(request, public_board, client_name):
    response = request.getfixturevalue(client_name).get(standings_url(public_board))
    assert response.status_code == 200
    body = response.json()
    assert body["leaderboard"] == public_board.pk
    assert body["stored"] is True
    assert body["vote_count"] == 11
    assert body["computed_at"]
    assert [row["model"] for row in body["rows"]] == ["m0", "m1", "m2"]
    first = body["rows"][0]
    assert set(first) == {name for name, _ in STANDINGS_CSV_COLUMNS} | {"live_score"}
    assert first["live_score"] == first["score"]
    assert (body["anchor_model"], body["live_votes"]) == (None, 0)
    assert first["rank"] == 1
    assert (first["wins"], first["losses"], first["ties"], first["votes"]) == (6, 3, 2, 11)
    assert first["ci_low"] < first["score"] < first["ci_high"]
    assert body["rows"][2]["score"] is None
    assert body["rows"][2]["rank"] is None


def test_it_hides_a_private_leaderboard_from_all_but_its_owner(
    api, other_api, anon_api, private_board
):
    assert api.get(standings_url(private_board)).status_code == 200
    for client in (other_api, anon_api):
        for url in (standings_url(private_board), standings_url(private_board, "?format=csv")):
            response = client.get(url)
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
        win_loss = client.get(f"/api/v1/leaderboards/{private_board.pk}/win-loss/")
        assert win_loss.status_code == 404


def test_it_exports_the_rows_as_csv_with_the_documented_columns(anon_api, public_board):
    response = anon_api.get(standings_url(public_board, "?format=csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == [name for name, _ in STANDINGS_CSV_COLUMNS]
    json_rows = anon_api.get(standings_url(public_board)).json()["rows"]
    assert [r["model"] for r in rows] == [r["model"] for r in json_rows]
    assert float(rows[0]["score"]) == json_rows[0]["score"]
    assert rows[0]["provisional"] == "false"
    assert rows[2]["score"] == ""
    assert rows[2]["provisional"] == "true"


def test_tags_fit_only_the_matching_prompts_for_this_request(anon_api, public_board):
    response = anon_api.get(standings_url(public_board, "?tags=art"))
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["tags"], body["vote_count"]) == (False, ["art"], 3)
    assert [row["model"] for row in body["rows"]][:2] == ["m1", "m0"]
    both = anon_api.get(standings_url(public_board, "?tags=art&tags=photo")).json()
    assert both["vote_count"] == 11
    as_csv = anon_api.get(standings_url(public_board, "?tags=art&format=csv"))
    assert as_csv.content.decode().splitlines()[1].split(",")[1] == "m1"


@pytest.mark.parametrize("query", ["?tags=nope", "?tags=nope&format=csv", "?tags=,"])
def test_bad_tags_are_a_json_400_naming_the_field(anon_api, public_board, query):
    response = anon_api.get(standings_url(public_board, query))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["field"] == "tags"


def test_a_board_without_a_fit_yet_lists_its_models_unrated(anon_api, owner):
    leaderboard, _ = board(owner, 2, name="Fresh")
    body = anon_api.get(standings_url(leaderboard)).json()
    assert body["computed_at"] is None
    assert [(r["model"], r["score"]) for r in body["rows"]] == [("m0", None), ("m1", None)]


def test_an_unknown_leaderboard_is_404(anon_api, db):
    assert anon_api.get("/api/v1/leaderboards/999999/standings/").status_code == 404


def test_it_serves_the_head_to_head_matrix(anon_api, public_board):
    response = anon_api.get(f"/api/v1/leaderboards/{public_board.pk}/win-loss/")
    assert response.status_code == 200
    body = response.json()
    assert body["models"] == ["m0", "m1", "m2"]
    assert body["wins"][0][1] == 6
    assert body["wins"][1][0] == 3
    assert body["ties"][0][1] == body["ties"][1][0] == 2
    assert body["wins"][2] == [0, 0, 0]
    art = anon_api.get(f"/api/v1/leaderboards/{public_board.pk}/win-loss/?tags=art").json()
    assert (art["wins"][0][1], art["wins"][1][0], art["vote_count"]) == (0, 3, 3)


def test_live_scores_move_with_votes_newer_than_the_snapshot(anon_api, public_board):
    m0, m1, _ = public_board.benchmark.models.order_by("id")
    add_votes(public_board, [(m1, m0, "left")] * 5)
    body = anon_api.get(standings_url(public_board)).json()
    rows = {row["model"]: row for row in body["rows"]}
    assert body["live_votes"] == 5
    assert body["vote_count"] == 11
    assert rows["m1"]["live_score"] > rows["m1"]["score"]
    assert rows["m0"]["live_score"] < rows["m0"]["score"]
    assert rows["m2"]["live_score"] is None
    # The CSV stays the published numbers.
    text = anon_api.get(standings_url(public_board, "?format=csv")).content.decode()
    assert "live_score" not in text.splitlines()[0]


def test_live_false_skips_the_live_estimate(anon_api, public_board):
    m0, m1, _ = public_board.benchmark.models.order_by("id")
    add_votes(public_board, [(m1, m0, "left")] * 5)
    body = anon_api.get(standings_url(public_board, "?live=false")).json()
    assert body["live_votes"] == 0
    assert all(row["live_score"] is None for row in body["rows"])


def test_it_names_the_live_parameter_when_its_value_is_wrong(anon_api, public_board):
    response = anon_api.get(standings_url(public_board, "?live=maybe"))
    assert response.status_code == 400
    assert response.json()["field"] == "live"


@pytest.mark.parametrize("asked", [{"query": "?format=csv"}, {"accept": "text/csv"}, {}])
def test_options_describes_the_view_in_json_whatever_format_was_asked(
    anon_api, public_board, asked
):
    # The CSV renderer knows only standings rows: it once got DRF's description and failed.
    url = standings_url(public_board, asked.get("query", ""))
    headers = {"HTTP_ACCEPT": asked["accept"]} if "accept" in asked else {}
    response = anon_api.options(url, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["name"] == "Leaderboard Standings"
