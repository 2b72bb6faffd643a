"""The public pages in headless Chromium: the numbers a visitor reads equal the standings API.

A leaderboard with six models and real votes (GenAI-Arena battles, or simulated ones without the
shared data folder) is rated by the real rater; the test reads the index, the leaderboard page,
the per-prompt view and a model page, compares what they show with the API, watches the page
pick up new votes, rank intervals and a new model without a reload, and saves screenshots under
the test's tmp_path. Every request the browser makes goes to the live server: no CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from evaluation.models import Model, PairCount, Vote
from evaluation.services.ratings import ratings_bootstrap, ratings_recompute
from leaderboards.selectors import tally_of
from tests.leaderboards.pages_votes import add_simulated_votes, board_with_votes, snapshot_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _api(page: Any, url: str) -> Any:
    response = page.request.get(url)
    assert response.ok, response.text()
    return response.json()


def _fmt_score(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.0f}"


def _fmt_percent(value: float | None) -> str:
    return "\u2013" if value is None else f"{100 * value:.1f}%"


def _table(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#standings-table tbody tr",
        """rows => rows.map(tr => ({
            model_id: tr.dataset.modelId,
            model: tr.querySelector('.col-model a').textContent.trim(),
            rank: tr.querySelector('[data-field="rank"]').textContent.trim(),
            score: tr.querySelector('[data-field="score"]').textContent.trim(),
            interval: tr.querySelector('[data-field="interval"]').textContent.trim(),
            votes: tr.querySelector('[data-field="votes"]').textContent.trim(),
            win_rate: tr.querySelector('[data-field="win_rate"]').textContent.trim(),
            rank_range: (tr.querySelector('.rank-range') || {textContent: ''}).textContent.trim(),
            siblings: [...tr.querySelectorAll('td[data-sibling]')].map(td => td.textContent.trim()),
        }))""",
    )


def _assert_table_matches(page: Any, api_rows: list[dict[str, Any]]) -> None:
    shown = _table(page)
    assert [int(r["model_id"]) for r in shown] == [r["model_id"] for r in api_rows]
    for cell, row in zip(shown, api_rows, strict=True):
        assert cell["model"] == row["model"]
        assert cell["rank"] == (str(row["rank"]) if row["rank"] is not None else "\u2013")
        assert cell["score"] == _fmt_score(row["score"])
        plus = f"+{row['ci_high'] - row['score']:.0f}"
        minus = f"\u2212{row['score'] - row['ci_low']:.0f}"
        assert cell["interval"].split() == [plus, minus]
        assert cell["votes"] == f"{row['votes']:,}"
        assert cell["win_rate"] == _fmt_percent(row["win_rate"])
        low, high = row["rank_low"], row["rank_high"]
        assert cell["rank_range"] == ("" if low is None else f"{low}\u2013{high}")


def _assert_sibling_ranks(page: Any, sibling_rows: list[dict[str, Any]]) -> None:
    ranks = {r["model_id"]: r["rank"] for r in sibling_rows}
    for cell in _table(page):
        rank = ranks.get(int(cell["model_id"]))
        assert cell["siblings"] == ["\u2013" if rank is None else str(rank)], cell["model"]


def _outside(requests: list[str], base: str) -> list[str]:
    """The requested addresses that are not the live server's (data: and blob: stay local)."""
    host = urlsplit(base).netloc
    return [
        url
        for url in requests
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != host
    ]


def test_it_shows_the_standings_api_numbers_on_every_page(
    live_server: Any, page: Any, owner: Any, tmp_path: Path
) -> None:
    leaderboard = board_with_votes(owner, name="GenAI image arena", sibling=True)
    models = list(Model.objects.filter(benchmark=leaderboard.benchmark).order_by("id"))
    assert len(models) >= 5
    base = live_server.url
    standings_url = f"{base}/api/v1/leaderboards/{leaderboard.pk}/standings/"
    sibling = leaderboard.benchmark.leaderboards.exclude(pk=leaderboard.pk).get()
    sibling_url = f"{base}/api/v1/leaderboards/{sibling.pk}/standings/"
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.context.on("request", lambda request: requests.append(request.url))

    # Index: the board is listed with its counts.
    page.goto(f"{base}/")
    card = page.locator(".board-card", has_text="GenAI image arena").first
    card.wait_for()
    api = _api(page, standings_url)
    assert f"{api['vote_count']:,}" in card.inner_text()
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)

    # Leaderboard page: every number in the table equals the standings API.
    page.goto(f"{base}/leaderboards/{leaderboard.pk}/")
    page.wait_for_selector("#interval-plot .main-svg")
    page.wait_for_selector("#h2h-observed .main-svg")
    page.wait_for_selector("#h2h-predicted .main-svg")
    assert page.title().startswith("GenAI image arena")
    _assert_table_matches(page, api["rows"])
    assert page.locator('[data-stat="votes"]').inner_text() == f"{api['vote_count']:,}"
    # The interval plot draws one point per rated model.
    points = page.locator("#interval-plot .scatterlayer .point").count()
    assert points == sum(1 for r in api["rows"] if r["score"] is not None)
    # Sorting by votes happens in the page, without a reload.
    page.click('th[data-sort-key="votes"] a')
    shown_votes = [int(r["votes"].replace(",", "")) for r in _table(page)]
    assert shown_votes == sorted(shown_votes, reverse=True)
    assert "sort=votes" in page.url
    # The other controls' forms now carry that sort, so applying them keeps it.
    for form in ("form.tag-filter", 'form[action="#head-to-head"]'):
        assert page.locator(f'{form} input[name="sort"]').get_attribute("value") == "votes"
        assert page.locator(f'{form} input[name="dir"]').get_attribute("value") == "desc"
    page.click('th[data-sort-key="rank"] a')
    assert page.locator('form.tag-filter input[name="sort"]').count() == 0
    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)

    # New votes arrive: the page refreshes its numbers without a full reload.
    page.evaluate("window.__sameDocument = true")
    best, worst = api["rows"][0]["model_id"], api["rows"][-1]["model_id"]
    prompt = leaderboard.benchmark.prompts.first()
    Vote.objects.bulk_create(
        Vote(
            leaderboard=leaderboard,
            prompt=prompt,
            left_model_id=worst,
            right_model_id=best,
            choice="left",
        )
        for _ in range(150)
    )
    ratings_recompute(leaderboard_id=leaderboard.pk)
    fresh = _api(page, standings_url)
    assert fresh["vote_count"] == api["vote_count"] + 150
    page.evaluate("Versus.refreshNow()")
    page.wait_for_function(
        "expected => document.querySelector('[data-stat=\"votes\"]').textContent === expected",
        arg=f"{fresh['vote_count']:,}",
    )
    assert page.evaluate("window.__sameDocument") is True
    _assert_table_matches(page, fresh["rows"])

    # Then rank intervals for that snapshot, a new model with its first votes, and new votes
    # on the other question: the rank ranges, the model count, the ranks on the other
    # question and the no-JS head-to-head table all follow, still without a reload.
    assert ratings_bootstrap(snapshot_id=snapshot_of(leaderboard).pk, rounds=20)
    page.evaluate("Versus.refreshNow()")
    page.wait_for_function("() => document.querySelector('#standings-table .rank-range') !== null")
    _assert_table_matches(page, _api(page, standings_url)["rows"])
    newcomer = Model.objects.create(
        benchmark=leaderboard.benchmark, name="Newcomer XL", owner=owner
    )
    add_simulated_votes(leaderboard, [*models, newcomer], 300)
    add_simulated_votes(sibling, [*models, newcomer], 300)
    models.append(newcomer)
    fresh = _api(page, standings_url)
    assert len(fresh["rows"]) == len(api["rows"]) + 1
    page.evaluate("Versus.refreshNow()")
    page.wait_for_function(
        "expected => document.querySelector('[data-stat=\"models\"]').textContent === expected",
        arg=str(len(fresh["rows"])),
    )
    assert page.evaluate("window.__sameDocument") is True
    assert "sort=rank" in page.url
    _assert_table_matches(page, fresh["rows"])
    assert page.locator('[data-stat="votes"]').inner_text() == f"{fresh['vote_count']:,}"
    _assert_sibling_ranks(page, _api(page, sibling_url)["rows"])
    matrix_rows = page.eval_on_selector_all(
        "#h2h-table table.matrix tbody th", "cells => cells.map(c => c.textContent.trim())"
    )
    assert matrix_rows == [r["model"] for r in fresh["rows"]]
    assert page.locator("#interval-plot .scatterlayer .point").count() == len(fresh["rows"])
    page.screenshot(path=str(tmp_path / "leaderboard-refreshed.png"), full_page=True)

    # Per-prompt view: each output's win rate on its prompt equals the counted votes there.
    page.goto(f"{base}/leaderboards/{leaderboard.pk}/prompts/")
    page.wait_for_selector(".prompt-result")
    first = leaderboard.benchmark.prompts.order_by("position").first()
    section = page.locator(f"#prompt-{first.pk}")
    expected: dict[int, Any] = {}
    for row in PairCount.objects.filter(leaderboard=leaderboard, prompt=first):
        counts = {
            "a_wins": row.a_wins,
            "b_wins": row.b_wins,
            "ties": row.ties,
            "both_bad": row.both_bad,
        }
        for model_id, as_a in ((row.model_a_id, True), (row.model_b_id, False)):
            tally = tally_of(leaderboard=leaderboard, as_a=as_a, **counts)
            expected[model_id] = (
                tally if model_id not in expected else expected[model_id].plus(tally)
            )
    items = section.locator(".gallery-item")
    assert items.count() == len(models)
    for k in range(items.count()):
        item = items.nth(k)
        model_id = int(item.get_attribute("data-model-id"))
        shown = item.locator('[data-field="prompt-win-rate"]').inner_text()
        assert shown == _fmt_percent(expected[model_id].win_rate)
    # Lazy images load as they scroll into view: scroll through before the screenshot.
    page.evaluate(
        "document.querySelectorAll('.gallery-item img').forEach(i => i.loading = 'eager')"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery-item img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    page.screenshot(path=str(tmp_path / "prompts.png"), full_page=True)

    # Model page: the leader's numbers equal its API row; history and record are drawn.
    leader = fresh["rows"][0]
    page.goto(f"{base}/leaderboards/{leaderboard.pk}/models/{leader['model_id']}/")
    page.wait_for_selector("#history-plot .main-svg")
    page.wait_for_selector("#record-plot .main-svg")
    assert page.locator('.model-card [data-field="score"]').inner_text() == _fmt_score(
        leader["score"]
    )
    assert page.locator('.model-card [data-field="votes"]').inner_text() == f"{leader['votes']:,}"
    assert page.locator('.model-card [data-field="win_rate"]').inner_text() == _fmt_percent(
        leader["win_rate"]
    )
    assert page.locator("#record-table tbody tr").count() == len(models) - 1
    page.screenshot(path=str(tmp_path / "model.png"), full_page=True)
    assert errors == []
    assert requests, "the browser's requests were recorded"
    assert _outside(requests, base) == []

    # A phone: the page fits its width; and without JavaScript the table is all there.
    chromium = page.context.browser
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone.on("request", lambda request: requests.append(request.url))
    try:
        small = phone.new_page()
        small.goto(f"{base}/leaderboards/{leaderboard.pk}/")
        small.wait_for_selector("#interval-plot .main-svg")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        small.screenshot(path=str(tmp_path / "leaderboard-phone.png"), full_page=True)
        for name, url in (
            ("prompts-phone", f"{base}/leaderboards/{leaderboard.pk}/prompts/"),
            ("model-phone", f"{base}/leaderboards/{leaderboard.pk}/models/{leader['model_id']}/"),
        ):
            small.goto(url)
            small.wait_for_load_state("load")
            assert small.evaluate("document.documentElement.scrollWidth") <= 390, name
            small.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    finally:
        phone.close()
    static = chromium.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    static.on("request", lambda request: requests.append(request.url))
    try:
        plain = static.new_page()
        plain.goto(f"{base}/leaderboards/{leaderboard.pk}/")
        _assert_table_matches(plain, fresh["rows"])
        plain.click('th[data-sort-key="votes"] a')
        plain.wait_for_url("**sort=votes**")
        votes = [int(r["votes"].replace(",", "")) for r in _table(plain)]
        assert votes == sorted(votes, reverse=True)
        plain.screenshot(path=str(tmp_path / "leaderboard-nojs.png"), full_page=True)
        # Filtering by a tag keeps that sort.
        plain.check('form.tag-filter input[name="tag"][value="city"]')
        plain.click("form.tag-filter button[type=submit]")
        plain.wait_for_url("**tag=city**")
        assert "sort=votes" in plain.url
        assert plain.get_attribute('th[data-sort-key="votes"]', "aria-sort") == "descending"
    finally:
        static.close()
    assert _outside(requests, base) == []


def test_it_keeps_outputs_of_a_closed_board_off_its_pages_until_voting_stops(
    live_server: Any, page: Any, owner: Any, tmp_path: Path
) -> None:
    leaderboard = board_with_votes(owner, name="Blind arena", votes=120, outputs_public="closed")
    base = live_server.url
    requests: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    gallery = f"{base}/leaderboards/{leaderboard.pk}/prompts/"
    model = Model.objects.filter(benchmark=leaderboard.benchmark).order_by("id").first()

    # While it takes votes a visitor reads each model's win rates per prompt and why no
    # output is shown, and the browser asks for no output file.
    page.goto(gallery)
    page.wait_for_selector(".prompt-result")
    assert (
        "once this leaderboard stops taking votes" in page.locator("#outputs-notice").inner_text()
    )
    assert page.locator(".gallery-item").count() > 0
    assert page.locator(".gallery-item .output").count() == 0
    assert (
        page.locator('[data-field="prompt-win-rate"]').count()
        == page.locator(".gallery-item").count()
    )
    page.screenshot(path=str(tmp_path / "prompts-hidden.png"), full_page=True)
    page.goto(f"{base}/leaderboards/{leaderboard.pk}/models/{model.pk}/")
    page.wait_for_selector("#outputs-notice")
    assert page.locator("#outputs .output").count() == 0
    page.screenshot(path=str(tmp_path / "model-hidden.png"), full_page=True)
    assert not [url for url in requests if "/outputs/" in url]

    # Closed for votes: the gallery shows every output, and the images load.
    type(leaderboard).objects.filter(pk=leaderboard.pk).update(is_active=False)
    page.goto(gallery)
    page.wait_for_selector(".gallery-item img")
    assert page.locator("#outputs-notice").count() == 0
    page.evaluate(
        "document.querySelectorAll('.gallery-item img').forEach(i => i.loading = 'eager')"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery-item img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    page.screenshot(path=str(tmp_path / "prompts-after-close.png"), full_page=True)
