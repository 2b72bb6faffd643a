"""The leaderboard page's controls keep each other's state (sort, direction, tags, head-to-head
size), the "Rank on ..." columns sort, and the page parts the live refresh swaps in."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import pytest
from django.test import Client

from evaluation.models import Model
from evaluation.selectors import standings_get
from evaluation.services.ratings import ratings_bootstrap
from tests.leaderboards.pages_votes import add_simulated_votes, board_with_votes, snapshot_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(owner: Any) -> Any:
    return board_with_votes(owner, sibling=True)


def _form(page: str, marker: str) -> str:
    return page.split(marker, 1)[1].split("</form>", 1)[0]


def _submit(client: Client, url: str, form: str, **choices: Any) -> Any:
    """Submit `form` as a browser would: its hidden inputs, the checked boxes (or `tag` from
    `choices`) and its select (or the value in `choices`)."""
    fields: list[tuple[str, str]] = []
    for tag in re.findall(r"<input[^>]*>", form):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attrs.get("type") == "checkbox":
            wanted = choices.get(attrs["name"])
            if wanted is None and " checked" not in tag:
                continue
            if wanted is not None and html_lib.unescape(attrs["value"]) not in wanted:
                continue
        fields.append((attrs["name"], html_lib.unescape(attrs["value"])))
    for name, options in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.search(r'<option value="([^"]*)" selected>', options)
        fields.append((name, str(choices.get(name, selected.group(1) if selected else ""))))
    params: dict[str, list[str]] = {}
    for name, value in fields:
        params.setdefault(name, []).append(value)
    return client.get(url, params)


def _sorted_by(page: str) -> tuple[str, str]:
    match = re.search(r'aria-sort="(ascending|descending)" data-sort-key="([\w-]+)"', page)
    assert match, "one column is marked as sorted"
    return match.group(2), match.group(1)


def _h2h_size(page: str) -> str:
    return re.search(r'<option value="(\d+)" selected>', page).group(1)


def _shown_order(page: str) -> list[int]:
    body = page.split('id="standings-table"', 1)[1].split("</tbody>", 1)[0]
    return [int(pk) for pk in re.findall(r'<tr data-model-id="(\d+)"', body)]


def test_it_keeps_the_sort_and_head_to_head_size_when_filtering_by_tag(
    client: Client, board: Any
) -> None:
    url = f"/leaderboards/{board.pk}/"
    page = client.get(url, {"sort": "votes", "dir": "asc", "h2h": "10"}).content.decode()
    response = _submit(client, url, _form(page, '<form class="tag-filter"'), tag=["city"])
    after = response.content.decode()
    assert response.wsgi_request.GET.getlist("tag") == ["city"]
    assert _sorted_by(after) == ("votes", "ascending")
    assert _h2h_size(after) == "10"
    filtered = standings_get(leaderboard=board, tags=["city"]).rows
    expected = sorted(filtered, key=lambda r: r.votes)
    assert _shown_order(after) == [r.model_id for r in expected]


def test_it_keeps_the_sort_and_tags_when_changing_the_head_to_head_size(
    client: Client, board: Any
) -> None:
    url = f"/leaderboards/{board.pk}/"
    page = client.get(url, {"tag": "city", "sort": "model", "dir": "desc"}).content.decode()
    response = _submit(client, url, _form(page, 'action="#head-to-head"'), h2h=10)
    after = response.content.decode()
    assert response.wsgi_request.GET.getlist("tag") == ["city"]
    assert _sorted_by(after) == ("model", "descending")
    assert _h2h_size(after) == "10"
    assert "Standings refitted on the 1 prompt tagged" in after


def test_it_keeps_the_other_controls_when_clearing_the_tag_filter(
    client: Client, board: Any
) -> None:
    page = client.get(
        f"/leaderboards/{board.pk}/", {"tag": "city", "sort": "score", "dir": "asc", "h2h": "10"}
    ).content.decode()
    clear = re.search(r'<a class="button small" href="([^"]*)">Clear</a>', page).group(1)
    after = client.get(f"/leaderboards/{board.pk}/" + html_lib.unescape(clear)).content.decode()
    assert "Standings refitted" not in after
    assert _sorted_by(after) == ("score", "ascending")
    assert _h2h_size(after) == "10"


def test_it_sorts_by_the_rank_on_another_question(client: Client, board: Any) -> None:
    sibling = board.benchmark.leaderboards.exclude(pk=board.pk).get()
    ranks = {r.model_id: r.rank for r in standings_get(leaderboard=sibling).rows}
    key = f"on-{sibling.pk}"
    published = standings_get(leaderboard=board).rows
    page = client.get(f"/leaderboards/{board.pk}/", {"sort": key}).content.decode()
    assert _sorted_by(page) == (key, "ascending")
    # By the rank there, ties in this board's order.
    expected = sorted(published, key=lambda r: ranks[r.model_id])
    assert _shown_order(page) == [r.model_id for r in expected]
    page = client.get(f"/leaderboards/{board.pk}/", {"sort": key, "dir": "desc"}).content.decode()
    expected = sorted(published, key=lambda r: ranks[r.model_id], reverse=True)
    assert _shown_order(page) == [r.model_id for r in expected]
    assert _shown_order(page) != [r.model_id for r in published]
    # The heading links to that sort, keeping the tag filter.
    page = client.get(f"/leaderboards/{board.pk}/", {"tag": "city"}).content.decode()
    assert f'data-sort-key="{key}" data-first="asc"><a href="?tag=city&amp;sort={key}' in page


def test_it_serves_the_parts_the_live_refresh_swaps_in(
    client: Client, owner: Any, board: Any
) -> None:
    url = f"/leaderboards/{board.pk}/data.json"
    before = client.get(url, {"html": "1", "sort": "votes", "dir": "desc"}).json()
    assert before["has_bootstrap"] is False
    assert "rank-range" not in before["html"]["standings_table"]
    # Rank intervals arrive for the same snapshot; then a new model gets votes.
    assert ratings_bootstrap(snapshot_id=snapshot_of(board).pk, rounds=20)
    ranked = client.get(url, {"html": "1"}).json()
    assert ranked["snapshot_id"] == before["snapshot_id"]
    assert ranked["has_bootstrap"] is True
    for row in ranked["rows"]:
        span = f"{row['rank_low']}\u2013{row['rank_high']}</small>"
        tr = ranked["html"]["standings_table"].split(f'data-model-id="{row["model_id"]}"', 1)[1]
        assert span in tr.split("</tr>", 1)[0]
    models = list(Model.objects.filter(benchmark=board.benchmark))
    newcomer = Model.objects.create(benchmark=board.benchmark, name="newcomer", owner=owner)
    add_simulated_votes(board, [*models, newcomer], 400)
    after = client.get(url, {"html": "1", "sort": "votes", "dir": "desc"}).json()
    assert after["snapshot_id"] != before["snapshot_id"]
    assert len(after["rows"]) == len(before["rows"]) + 1
    table = after["html"]["standings_table"]
    assert table.startswith('<div id="standings-body"')
    assert f'data-model-id="{newcomer.pk}"' in table
    assert 'aria-sort="descending" data-sort-key="votes"' in table
    votes = [r["votes"] for r in sorted(after["rows"], key=lambda r: -r["votes"])]
    assert _shown_order(table) == [
        r["model_id"] for r in sorted(after["rows"], key=lambda r: -r["votes"])
    ]
    assert votes == sorted(votes, reverse=True)
    assert "col-sibling" in table
    assert "newcomer" in after["html"]["h2h_table"]
    assert after["html"]["standings_notices"].startswith('<div id="standings-notices"')
    # Without html=1 the answer is numbers only; a bad value names the parameter.
    assert "html" not in client.get(url).json()
    response = client.get(url, {"html": "yes"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("html:")
