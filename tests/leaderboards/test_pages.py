"""The index and the leaderboard page: counts, published numbers, sorting, tag filter, plots' data,
head-to-head, sibling questions, prompts, and how many queries a page costs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from evaluation.models import Model, RatingSnapshot, Vote
from evaluation.selectors import standings_get
from evaluation.services.ratings import ratings_recompute
from leaderboards.models import Leaderboard
from leaderboards.selectors import (
    predicted_win_rate,
    rated_rows,
    tally_of,
)
from tests.factories import make_leaderboard
from tests.leaderboards.pages_votes import add_simulated_votes, board_with_votes

pytestmark = pytest.mark.django_db


def _page_data(response: Any) -> dict[str, Any]:
    match = re.search(
        rb'<script id="page-data" type="application/json">(.*?)</script>', response.content, re.S
    )
    assert match, "the page carries its numbers for the plots"
    return json.loads(match.group(1))


def _rows(response: Any) -> list[dict[str, str]]:
    """The standings table as the visitor reads it."""
    html = response.content.decode()
    body = html.split('id="standings-table"', 1)[1].split("</tbody>", 1)[0]
    rows = []
    for tr in re.findall(r"<tr data-model-id=.*?</tr>", body, re.S):
        cells = dict(re.findall(r'data-field="(\w+)"[^>]*>(.*?)</', tr, re.S))
        rows.append(
            {
                "model_id": re.search(r'data-model-id="(\d+)"', tr).group(1),
                "rank": cells["rank"].strip(),
                "score": cells["score"].strip(),
                "votes": cells["votes"].strip(),
                "win_rate": cells["win_rate"].strip(),
                "interval": re.sub(
                    r"<[^>]+>", "", tr.split('data-field="interval"')[1].split("</td>")[0]
                )
                .split(">", 1)[1]
                .split(),
            }
        )
    return rows


@pytest.fixture
def board(owner: Any) -> Any:
    return board_with_votes(owner, sibling=True)


def test_it_lists_leaderboards_with_models_prompts_votes_and_update(
    client: Client, board: Any
) -> None:
    snapshot = RatingSnapshot.objects.filter(leaderboard=board).latest()
    response = client.get("/")
    assert response.status_code == 200
    card = response.content.decode().split(f'href="/leaderboards/{board.pk}/"', 1)[1]
    card = card.split("</li>", 1)[0]
    assert "<dt>Models</dt><dd>6</dd>" in card
    assert "<dt>Prompts</dt><dd>4</dd>" in card
    assert f"<dt>Votes</dt><dd>{snapshot.vote_count:,}</dd>" in card
    assert f'datetime="{snapshot.created.isoformat()}' in card
    assert "Which image do you prefer?" in card
    leader = rated_rows(standings_get(leaderboard=board))[0]
    assert f'<strong>{leader.model}</strong> <span class="muted">{leader.score:.0f}</span>' in card


def test_it_counts_only_the_prompts_a_leaderboard_uses(client: Client, owner: Any) -> None:
    make_leaderboard(
        owner,
        name="Only cities",
        prompts=["a", "b", "c"],
        tags=[["city"], ["city"], ["nature"]],
        included_tags=("city",),
    )
    card = client.get("/").content.decode().split("Only cities", 1)[1].split("</li>", 1)[0]
    assert "<dt>Prompts</dt><dd>2</dd>" in card


def test_it_searches_leaderboards_by_name(client: Client, owner: Any) -> None:
    make_leaderboard(owner, name="Portrait arena")
    make_leaderboard(owner, name="Landscape arena")
    html = client.get("/", {"q": "portrait"}).content.decode()
    assert "Portrait arena" in html
    assert "Landscape arena" not in html
    assert "1 leaderboard matching" in html


def test_it_sorts_the_index_by_votes_or_by_recent_update(
    client: Client, owner: Any, board: Any
) -> None:
    quiet = make_leaderboard(owner, name="Quiet board")
    html = client.get("/", {"sort": "votes"}).content.decode()
    assert html.index(f'href="/leaderboards/{board.pk}/"') < html.index(
        f'href="/leaderboards/{quiet.pk}/"'
    )
    html = client.get("/", {"sort": "new"}).content.decode()
    assert html.index(f'href="/leaderboards/{quiet.pk}/"') < html.index(
        f'href="/leaderboards/{board.pk}/"'
    )


def test_it_lists_the_most_recently_updated_leaderboards_first_by_default(
    client: Client, owner: Any, board: Any
) -> None:
    now = timezone.now()
    # `board` was created long ago but rated an hour ago; `stale` was created more recently
    # and never rated; `fresh` was created just now. Newest first would put `stale` second.
    Leaderboard.objects.filter(pk=board.pk).update(created=now - timedelta(days=5))
    RatingSnapshot.objects.filter(leaderboard=board).update(created=now - timedelta(hours=1))
    stale = make_leaderboard(owner, name="Stale board")
    Leaderboard.objects.filter(pk=stale.pk).update(created=now - timedelta(days=3))
    fresh = make_leaderboard(owner, name="Fresh board")

    def order(**params: str) -> list[int]:
        html = client.get("/", params).content.decode()
        ids = [int(pk) for pk in re.findall(r'<h2><a href="/leaderboards/(\d+)/">', html)]
        return [pk for pk in ids if pk in {board.pk, stale.pk, fresh.pk}]

    assert order() == [fresh.pk, board.pk, stale.pk]
    assert order(sort="updated") == order()
    assert order(sort="new") == [fresh.pk, stale.pk, board.pk]
    assert order(sort="votes")[0] == board.pk


def test_it_shows_the_published_standings_as_the_api_gives_them(client: Client, board: Any) -> None:
    api = client.get(f"/api/v1/leaderboards/{board.pk}/standings/").json()
    response = client.get(f"/leaderboards/{board.pk}/")
    assert response.status_code == 200
    shown = _rows(response)
    assert [int(r["model_id"]) for r in shown] == [r["model_id"] for r in api["rows"]]
    for cell, row in zip(shown, api["rows"], strict=True):
        assert cell["rank"] == str(row["rank"])
        assert cell["score"] == f"{row['score']:.0f}"
        assert cell["interval"] == [
            f"+{row['ci_high'] - row['score']:.0f}",
            f"\u2212{row['score'] - row['ci_low']:.0f}",
        ]
        assert cell["votes"] == f"{row['votes']:,}"
        assert cell["win_rate"] == f"{100 * row['win_rate']:.1f}%"
    data = _page_data(response)
    # The same rows, less the API's live Elo estimate (not part of the published numbers).
    assert data["rows"] == [
        {k: v for k, v in row.items() if k != "live_score"} for row in api["rows"]
    ]
    assert data["snapshot_id"] == api["snapshot"]
    # Polled to notice new snapshots only: no live estimate is read for it.
    assert data["standings_url"] == f"/api/v1/leaderboards/{board.pk}/standings/?live=false"


def test_it_gives_the_page_a_title_and_a_description(client: Client, board: Any) -> None:
    html = client.get(f"/leaderboards/{board.pk}/").content.decode()
    leader = rated_rows(standings_get(leaderboard=board))[0]
    assert "<title>Image arena · Versus</title>" in html
    description = re.search(r'<meta name="description" content="([^"]*)"', html).group(1)
    assert "6 models ranked by" in description
    assert leader.model in description


def test_it_marks_provisional_models(client: Client, owner: Any) -> None:
    board = board_with_votes(owner, votes=60, min_votes=30)
    rows = standings_get(leaderboard=board).rows
    assert any(r.provisional for r in rows)
    html = client.get(f"/leaderboards/{board.pk}/").content.decode()
    for row in rows:
        tr = html.split(f'data-model-id="{row.model_id}"', 1)[1].split("</tr>", 1)[0]
        assert ('data-field="provisional"' in tr) == row.provisional


def test_it_sorts_the_table_on_the_server_for_visitors_without_javascript(
    client: Client, board: Any
) -> None:
    response = client.get(f"/leaderboards/{board.pk}/", {"sort": "votes", "dir": "desc"})
    votes = [int(r["votes"].replace(",", "")) for r in _rows(response)]
    assert votes == sorted(votes, reverse=True)
    html = response.content.decode()
    assert 'aria-sort="descending" data-sort-key="votes"' in html
    response = client.get(f"/leaderboards/{board.pk}/", {"sort": "model", "dir": "asc"})
    names = [Model.objects.get(pk=int(r["model_id"])).name.lower() for r in _rows(response)]
    assert names == sorted(names)
    # An unknown sort falls back to the ranking rather than failing.
    assert client.get(f"/leaderboards/{board.pk}/", {"sort": "nope"}).status_code == 200


def test_it_refits_the_standings_on_the_prompts_of_the_chosen_tags(
    client: Client, board: Any
) -> None:
    response = client.get(f"/leaderboards/{board.pk}/", {"tag": "landscape"})
    filtered = standings_get(leaderboard=board, tags=["landscape"])
    published = standings_get(leaderboard=board)
    assert filtered.vote_count < published.vote_count
    data = _page_data(response)
    assert data["tags"] == ["landscape"]
    assert data["rows"] == [
        {k: v for k, v in r.__dict__.items() if k != "live_score"} for r in filtered.rows
    ]
    shown = _rows(response)
    assert [r["score"] for r in shown] == [f"{r.score:.0f}" for r in filtered.rows]
    assert "refitted on the 2 prompts tagged" in response.content.decode()
    # A tag no prompt carries is ignored instead of failing the page.
    response = client.get(f"/leaderboards/{board.pk}/", {"tag": "nothing-has-it"})
    assert _page_data(response)["tags"] == []


def test_it_shows_observed_and_predicted_head_to_head(client: Client, board: Any) -> None:
    data = _page_data(client.get(f"/leaderboards/{board.pk}/"))
    h2h = data["h2h"]
    rows = standings_get(leaderboard=board).rows
    assert h2h["model_ids"] == [r.model_id for r in rows]
    index = {model_id: k for k, model_id in enumerate(h2h["model_ids"])}
    # Observed: straight from the stored votes of each pair.
    for i, a in enumerate(rows):
        for j, b in enumerate(rows):
            if i == j:
                assert h2h["observed"][i][j] is None
                continue
            pair = Vote.objects.filter(
                leaderboard=board, left_model_id__in=[a.model_id, b.model_id]
            ).filter(right_model_id__in=[a.model_id, b.model_id])
            won = sum(
                1
                for v in pair
                if (v.choice == "left" and v.left_model_id == a.model_id)
                or (v.choice == "right" and v.right_model_id == a.model_id)
            )
            drawn = pair.filter(choice__in=["tie", "both_bad"]).count()
            assert h2h["votes"][index[a.model_id]][index[b.model_id]] == pair.count()
            if pair.count():
                expected = (won + drawn / 2) / pair.count()
                assert h2h["observed"][i][j] == pytest.approx(expected)
            # Predicted: Bradley-Terry on the published scores.
            expected = 1 / (1 + 10 ** ((b.score - a.score) / 400))
            assert h2h["predicted"][i][j] == pytest.approx(expected)


def test_it_predicts_with_davidson_ties_when_the_board_models_them() -> None:
    even = predicted_win_rate(1000.0, 1000.0, tie_parameter=0.8)
    assert even == pytest.approx(0.5)
    stronger = predicted_win_rate(1100.0, 1000.0, tie_parameter=0.8)
    plain = predicted_win_rate(1100.0, 1000.0)
    assert 0.5 < stronger < plain


def test_it_counts_a_win_on_an_inverse_board_as_not_being_picked() -> None:
    class Board:
        inverse_ranking = True
        both_bad = "tie"

    tally = tally_of(leaderboard=Board(), as_a=True, a_wins=3, b_wins=7, ties=2, both_bad=0)  # type: ignore[arg-type]
    assert (tally.wins, tally.losses) == (7, 3)
    assert tally.win_rate == pytest.approx((7 + 1) / 12)


def test_it_limits_the_head_to_head_to_the_chosen_top(client: Client, owner: Any) -> None:
    board = make_leaderboard(owner, name="Twelve models", prompts=["p1", "p2"])
    models = [
        Model.objects.create(benchmark=board.benchmark, name=f"model-{k:02d}", owner=owner)
        for k in range(12)
    ]
    add_simulated_votes(board, models, 1500)
    rated = rated_rows(standings_get(leaderboard=board))
    assert len(rated) == 12
    response = client.get(f"/leaderboards/{board.pk}/", {"h2h": 10})
    h2h = _page_data(response)["h2h"]
    # The matrix is cut to the ten best, in the standings' order.
    assert h2h["model_ids"] == [r.model_id for r in rated[:10]]
    assert [len(row) for row in h2h["observed"]] == [10] * 10
    html = response.content.decode()
    assert "Showing the top 10 of 12 rated models." in html
    matrix = html.split('<table class="data matrix">', 1)[1].split("</table>", 1)[0]
    assert matrix.count('<tr><th scope="row">') == 10
    assert rated[10].model not in matrix
    # A size above the number of models shows them all and says nothing about a cut.
    response = client.get(f"/leaderboards/{board.pk}/", {"h2h": 15})
    assert len(_page_data(response)["h2h"]["models"]) == 12
    assert "Showing the top" not in response.content.decode()
    # Sizes outside the offered ones fall back to the default (15).
    response = client.get(f"/leaderboards/{board.pk}/", {"h2h": "999"})
    assert len(_page_data(response)["h2h"]["models"]) == 12


def test_it_links_the_other_questions_with_each_models_rank_there(
    client: Client, board: Any
) -> None:
    sibling = board.benchmark.leaderboards.exclude(pk=board.pk).get()
    sibling_rows = {r.model_id: r.rank for r in standings_get(leaderboard=sibling).rows}
    html = client.get(f"/leaderboards/{board.pk}/").content.decode()
    assert f'href="/leaderboards/{sibling.pk}/"' in html
    assert sibling.instruction in html
    for model_id, rank in sibling_rows.items():
        tr = html.split(f'data-model-id="{model_id}"', 1)[1].split("</tr>", 1)[0]
        assert re.search(
            rf'<td class="num col-sibling" data-sibling="{sibling.pk}"[^>]*>{rank}</td>', tr
        )


def test_it_shows_the_prompts_only_when_the_leaderboard_shows_them(
    client: Client, owner: Any, other_owner: Any
) -> None:
    shown = make_leaderboard(owner, name="Shown", prompts=["A red fox"], show_prompt=True)
    hidden = make_leaderboard(owner, name="Hidden", prompts=["A secret fox"], show_prompt=False)
    assert "A red fox" in client.get(f"/leaderboards/{shown.pk}/").content.decode()
    assert "A secret fox" not in client.get(f"/leaderboards/{hidden.pk}/").content.decode()
    client.force_login(owner)
    assert "A secret fox" in client.get(f"/leaderboards/{hidden.pk}/").content.decode()


def test_it_says_so_when_nothing_is_rated_yet(client: Client, owner: Any) -> None:
    board = make_leaderboard(owner, name="Fresh")
    html = client.get(f"/leaderboards/{board.pk}/").content.decode()
    assert "No votes counted yet" in html
    assert "not rated yet" in html


def test_it_serves_the_numbers_of_the_page_as_json(client: Client, board: Any) -> None:
    data = client.get(f"/leaderboards/{board.pk}/data.json", {"tag": "city"}).json()
    filtered = standings_get(leaderboard=board, tags=["city"])
    assert data["tags"] == ["city"]
    assert data["vote_count"] == filtered.vote_count
    assert [r["score"] for r in data["rows"]] == [r.score for r in filtered.rows]
    assert data["snapshot_id"] == RatingSnapshot.objects.filter(leaderboard=board).latest().pk
    assert len(data["h2h"]["models"]) == 6


def test_it_reads_a_page_in_a_fixed_number_of_queries(
    client: Client, owner: Any, django_assert_max_num_queries: Any
) -> None:
    small = board_with_votes(owner, name="Small", votes=300, sibling=True)
    with django_assert_max_num_queries(12):
        client.get(f"/leaderboards/{small.pk}/")
    with django_assert_max_num_queries(8):
        client.get("/")
    # Ten times the models and votes: not one query more.
    big = make_leaderboard(owner, name="Big", prompts=["p1", "p2"], tags=[["x"], ["y"]])
    models = [
        Model.objects.create(benchmark=big.benchmark, name=f"model-{k}", owner=owner)
        for k in range(60)
    ]
    add_simulated_votes(big, models, 3000)
    with django_assert_max_num_queries(12):
        client.get(f"/leaderboards/{big.pk}/")
    with django_assert_max_num_queries(13):
        client.get(f"/leaderboards/{big.pk}/", {"tag": "x"})
    with django_assert_max_num_queries(8):
        client.get("/")


def test_it_escapes_model_names_in_every_table(client: Client, owner: Any) -> None:
    board = make_leaderboard(owner, name="Escapes", prompts=["p1"])
    evil = '<script>alert("x")</script>'
    models = [
        Model.objects.create(benchmark=board.benchmark, name=name, owner=owner)
        for name in (evil, "plain-a", "plain-b")
    ]
    add_simulated_votes(board, models, 200)
    for url in (
        f"/leaderboards/{board.pk}/",
        f"/leaderboards/{board.pk}/prompts/",
        f"/leaderboards/{board.pk}/models/{models[0].pk}/",
    ):
        html = client.get(url).content.decode()
        assert evil not in html, url
        assert "&lt;script&gt;alert(" in html, url


def test_it_says_how_many_stored_votes_its_quality_checks_leave_out(
    client: Client, board: Any
) -> None:
    url = f"/leaderboards/{board.pk}/"
    assert "standings-excluded" not in client.get(url).content.decode()
    left_out = list(Vote.objects.filter(leaderboard=board).order_by("id")[:7])
    Vote.objects.filter(pk__in=[v.pk for v in left_out]).update(excluded=Vote.Excluded.NETWORK)
    ratings_recompute(leaderboard_id=board.pk)
    page = client.get(url).content.decode()
    assert "7 of the board's stored votes are left out of the fit" in page
    assert "networks found voting one model up" in page
    # The live refresh swaps in the same words.
    parts = client.get(f"/leaderboards/{board.pk}/data.json?html=1").json()["html"]
    assert "7 of the board's stored votes are left out" in parts["standings_table"]
