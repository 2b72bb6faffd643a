"""The voting page in headless Chromium: three votes with the keyboard, three different pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluation.models import Vote
from matchmaking.models import Matchup
from tests.factories import make_leaderboard, make_models

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_votes_three_times_with_the_keyboard(
    page: Any, live_server: Any, owner: Any, tmp_path: Path
) -> None:
    board = make_leaderboard(owner, instruction="Which image do you prefer?")
    make_models(board, 3)
    page.goto(f"{live_server.url}/leaderboards/{board.pk}/vote/")
    page.wait_for_selector("#vote-left img")
    assert page.locator(".vote-instruction").inner_text() == "Which image do you prefer?"

    shown: list[tuple[str, str, str]] = []
    api_calls: list[str] = []
    page.on(
        "request",
        lambda request: (
            api_calls.append(f"{request.method} {request.url}")
            if "/api/v1/" in request.url
            else None
        ),
    )
    for key in ("ArrowLeft", "ArrowRight", "t"):
        current = page.locator("#vote-matchup").get_attribute("data-matchup")
        left = page.locator("#vote-left img").get_attribute("src")
        right = page.locator("#vote-right img").get_attribute("src")
        shown.append((current, left, right))
        page.keyboard.press(key)
        page.wait_for_function(
            "id => document.querySelector('#vote-matchup').dataset.matchup !== id", arg=current
        )
    page.screenshot(path=str(tmp_path / "voting.png"), full_page=True)

    votes = list(Vote.objects.order_by("id"))
    assert [v.choice for v in votes] == ["left", "right", "tie"]
    assert [v.matchup_id for v in votes] == [int(s[0]) for s in shown]
    pairs = {
        (m.prompt_id, m.model_low, m.model_high)
        for m in Matchup.objects.filter(pk__in=[v.matchup_id for v in votes])
    }
    assert len(pairs) == 3
    assert len({(s[1], s[2]) for s in shown}) == 3
    assert (tmp_path / "voting.png").stat().st_size > 0
    # One request per vote: each vote's answer carried the next pair.
    assert len(api_calls) == 3
    assert all(call.startswith("POST ") and call.endswith("/vote/") for call in api_calls)
    # The fourth pair is already on the screen, its pictures loaded without a page reload.
    assert page.locator("#vote-left img").evaluate("img => img.complete && img.naturalWidth > 0")
