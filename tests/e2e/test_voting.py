"""The voting page in headless Chromium: voting with the keyboard, the reveal, keys that belong
to a focused player, and a phone's screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from evaluation.models import Output, Vote
from matchmaking.models import Matchup
from tests.factories import make_leaderboard, make_models

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    """Every browser here is 127.0.0.1: no test inherits another's rate-limit counts."""
    cache.clear()


def open_board(page: Any, live_server: Any, board: Any, media: str = "img") -> None:
    page.goto(f"{live_server.url}/leaderboards/{board.pk}/vote/")
    page.wait_for_selector(f"#vote-left {media}")


def current(page: Any) -> str:
    return page.locator("#vote-matchup").get_attribute("data-matchup")


def wait_for_another_pair(page: Any, shown: str) -> None:
    page.wait_for_function(
        "id => document.querySelector('#vote-matchup').dataset.matchup !== id", arg=shown
    )


def in_view(page: Any, selector: str) -> bool:
    return page.locator(selector).evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
                     && r.right <= window.innerWidth && r.bottom <= window.innerHeight; }"""
    )


def test_it_votes_three_times_with_the_keyboard(
    page: Any, live_server: Any, owner: Any, tmp_path: Path
) -> None:
    board = make_leaderboard(owner, instruction="Which image do you prefer?", reveal_models=False)
    make_models(board, 3)
    open_board(page, live_server, board)
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
    for key in ("ArrowLeft", "ArrowRight", "w"):
        matchup = current(page)
        left = page.locator("#vote-left img").get_attribute("src")
        right = page.locator("#vote-right img").get_attribute("src")
        shown.append((matchup, left, right))
        page.keyboard.press(key)
        wait_for_another_pair(page, matchup)
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


def test_it_reveals_the_models_under_each_side_after_the_vote(
    page: Any, live_server: Any, owner: Any, tmp_path: Path
) -> None:
    board = make_leaderboard(owner, name="Revealing", reveal_models=True)
    make_models(board, 3)
    open_board(page, live_server, board)
    first = current(page)
    judged = Matchup.objects.select_related("left__model", "right__model").get(pk=first)
    body = page.locator("body").inner_text()
    assert judged.left.model.name not in body
    assert judged.right.model.name not in body
    media: list[str] = []
    page.on("request", lambda r: media.append(r.url) if "/media/o/" in r.url else None)

    page.keyboard.press("ArrowLeft")
    left = page.locator("[data-reveal=left]")
    left.wait_for(state="visible")
    assert left.inner_text() == f"{judged.left.model.name} · your pick"
    assert page.locator("[data-reveal=right]").inner_text() == judged.right.model.name
    assert in_view(page, "[data-reveal=left]")
    assert in_view(page, "[data-reveal=right]")
    assert "chosen" in (page.locator(".vote-pane[data-side=left]").get_attribute("class") or "")
    assert page.locator("#vote-next-button").is_visible()
    # The voted pair stays up with the names while the next one's pictures are fetched.
    assert current(page) == first
    following = Matchup.objects.exclude(pk=first).get()
    fetched = {url.rsplit("/", 1)[-1] for url in media}
    # (An output also in the voted pair is in the browser's cache already: no request.)
    on_screen = {str(judged.left.public_id), str(judged.right.public_id)}
    assert {str(following.left.public_id), str(following.right.public_id)} <= fetched | on_screen
    page.screenshot(path=str(tmp_path / "reveal.png"))

    page.keyboard.press("Enter")
    wait_for_another_pair(page, first)
    assert current(page) == str(following.pk)
    assert page.locator("[data-reveal=left]").is_hidden()
    assert page.locator("#vote-next").is_hidden()
    assert judged.left.model.name not in page.locator("#vote-matchup").inner_text()

    # Without Enter the next pair comes by itself after a short pause.
    page.keyboard.press("ArrowRight")
    page.locator("[data-reveal=right]").wait_for(state="visible")
    wait_for_another_pair(page, str(following.pk))
    assert Vote.objects.count() == 2


def test_it_leaves_the_arrow_keys_to_a_focused_player_and_ignores_a_held_key(
    page: Any, live_server: Any, owner: Any
) -> None:
    board = make_leaderboard(owner, name="Players", reveal_models=False)
    make_models(board, 3)
    # The page only reads the kind; the stored picture stands in for a video file.
    Output.objects.update(kind="video")
    open_board(page, live_server, board, media="video")
    first = current(page)

    page.focus("#vote-left video")
    for key in ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "a", "d"):
        page.keyboard.press(key)
    page.locator("[data-report=right] summary").click()
    page.fill("[data-report=right] input[name=reason]", "sad")  # s, a and d typed, not voted
    page.wait_for_timeout(500)
    assert Vote.objects.count() == 0
    assert current(page) == first

    page.locator(".vote-instruction").click()  # focus leaves the controls
    page.keyboard.down("ArrowLeft")
    wait_for_another_pair(page, first)
    second = current(page)
    page.keyboard.down("ArrowLeft")  # still held: the browser repeats the key
    page.keyboard.down("ArrowLeft")
    page.keyboard.up("ArrowLeft")
    page.wait_for_timeout(500)
    assert current(page) == second
    assert list(Vote.objects.values_list("choice", flat=True)) == ["left"]


def test_it_reports_an_output_from_the_page(page: Any, live_server: Any, owner: Any) -> None:
    from evaluation.models import OutputReport

    board = make_leaderboard(owner, name="Reports", reveal_models=False)
    make_models(board, 3)
    open_board(page, live_server, board)
    first = current(page)
    page.locator("[data-report=left] summary").click()
    page.fill("[data-report=left] input[name=reason]", "cut off at the top")
    page.locator("[data-report=left] button[name=report]").click()
    wait_for_another_pair(page, first)
    report = OutputReport.objects.get()
    assert report.reason == "cut off at the top"
    assert report.output_id == Matchup.objects.get(pk=first).left_id
    assert page.locator("[data-report=left]").get_attribute("open") is None


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized touch screen (about an iPhone 12's)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.mark.parametrize("size", [(512, 512), (1024, 256), (256, 1024)], ids=str)
def test_it_fits_a_phone_screen(
    phone: Any, live_server: Any, owner: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    from tests.factories import png_bytes

    board = make_leaderboard(
        owner, name="On the go", instruction="Which picture follows the prompt better?"
    )
    make_models(board, 2)
    for output in Output.objects.all():
        output.file.save(f"{output.pk}.png", _content(png_bytes("red", size)), save=True)
    open_board(phone, live_server, board)
    phone.wait_for_function(
        "() => [...document.querySelectorAll('.vote-media img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    phone.screenshot(path=str(tmp_path / "phone.png"))
    overflow = phone.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert in_view(phone, "#vote-left img")
    assert in_view(phone, "#vote-right img")
    for choice in ("left", "tie", "both_bad", "right"):
        assert in_view(phone, f"button[data-choice={choice}]")

    phone.locator("button[data-choice=right]").tap()
    phone.locator("[data-reveal=right]").wait_for(state="visible")
    assert in_view(phone, "[data-reveal=left]")
    assert in_view(phone, "[data-reveal=right]")
    assert Vote.objects.get().choice == "right"


def _content(data: bytes) -> Any:
    from django.core.files.base import ContentFile

    return ContentFile(data)


def vote_with_a_failed_first_try(
    page: Any,
    live_server: Any,
    owner: Any,
    key: str,
    first_try: Callable[[Any], None],
    status: str | None = None,
) -> tuple[str, int]:
    """Vote with `key` on a new board's page while `first_try(route)` answers the vote's first
    request (the later ones reach the server), `status` showing in between; the matchup voted
    on, once the next pair is up, and how many times the vote was sent."""
    board = make_leaderboard(owner, reveal_models=False)
    make_models(board, 3)
    open_board(page, live_server, board)
    sent: list[str] = []

    def route_vote(route: Any) -> None:
        sent.append(route.request.url)
        if len(sent) == 1:
            first_try(route)
        else:
            route.continue_()

    page.route("**/api/v1/matchups/*/vote/", route_vote)
    matchup = current(page)
    page.keyboard.press(key)
    if status is not None:
        page.wait_for_selector(f"#vote-status:has-text('{status}')")
    wait_for_another_pair(page, matchup)
    return matchup, len(sent)


def test_it_sends_a_vote_again_that_the_server_could_not_save(
    page: Any, live_server: Any, owner: Any
) -> None:
    def unavailable(route: Any) -> None:
        # The server's answer while its database is out of reach (`config.handlers`).
        route.fulfill(
            status=503,
            headers={"Retry-After": "1", "Content-Type": "application/json"},
            body='{"detail": "the database is unavailable", "code": "unavailable"}',
        )

    matchup, sent = vote_with_a_failed_first_try(
        page, live_server, owner, "ArrowLeft", unavailable, status="sending it again"
    )
    assert sent == 2
    assert [(v.matchup_id, v.choice) for v in Vote.objects.all()] == [(int(matchup), "left")]


@pytest.mark.parametrize("lost", ["request", "answer"])
def test_it_sends_a_vote_again_when_the_connection_drops(
    page: Any, live_server: Any, owner: Any, lost: str
) -> None:
    def dropped(route: Any) -> None:
        if lost == "answer":
            route.fetch()  # the server stores the vote; its answer never arrives
        route.abort("connectionreset")

    matchup, sent = vote_with_a_failed_first_try(page, live_server, owner, "ArrowRight", dropped)
    assert sent == 2
    assert [(v.matchup_id, v.choice) for v in Vote.objects.all()] == [(int(matchup), "right")]
    # Either way the voter is told the vote counted, not that it was refused.
    page.wait_for_selector("#vote-toast:has-text('Vote recorded: Right')")
