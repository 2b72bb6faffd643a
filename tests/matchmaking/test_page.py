"""The voting page /leaderboards/<id>/vote/: server-rendered, blinded, keyboard-ready."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from evaluation.models import Model, Vote
from matchmaking.identity import VOTER_COOKIE
from matchmaking.models import Matchup
from tests.factories import make_leaderboard, make_models

pytestmark = pytest.mark.django_db


def page(client: Client, board: Any) -> Any:
    return client.get(f"/leaderboards/{board.pk}/vote/")


def test_it_shows_the_instruction_the_prompt_and_two_outputs(board: Any, client: Client) -> None:
    response = page(client, board)
    assert response.status_code == 200
    html = response.content.decode()
    matchup = Matchup.objects.get()
    assert board.instruction in html
    assert matchup.prompt.text in html
    assert f"/media/o/{matchup.left.public_id}" in html
    assert f"/media/o/{matchup.right.public_id}" in html
    assert 'name="viewport"' in html  # phone-friendly


def test_it_sets_the_csrf_cookie_and_the_voter_cookie(board: Any, client: Client) -> None:
    response = page(client, board)
    assert "csrftoken" in response.cookies
    voter = response.cookies[VOTER_COOKIE]
    assert voter["httponly"]
    assert int(voter["max-age"]) > 0
    # An anonymous voter needs no server-side session.
    assert "sessionid" not in response.cookies


def test_it_names_no_model_on_the_page(board: Any, client: Client) -> None:
    html = page(client, board).content.decode()
    for model in Model.objects.all():
        assert model.name not in html
    matchup = Matchup.objects.get()
    assert matchup.left.file.name not in html
    assert "model" not in html.lower().replace("models", "")  # not even the word


def test_it_shows_the_keyboard_shortcuts_on_the_buttons(board: Any, client: Client) -> None:
    html = page(client, board).content.decode()
    for key in ("←", "→", "↑", "↓", "A", "D", "W", "S"):
        assert f"<kbd>{key}</kbd>" in html
    for keys in ("ArrowLeft A", "ArrowUp W", "ArrowDown S", "ArrowRight D"):
        assert f'aria-keyshortcuts="{keys}"' in html
    assert "js/vote.js" in html
    assert html.count("Report this output") == 2


def test_it_names_the_panes_so_that_no_shortcut_reads_two_ways(board: Any, client: Client) -> None:
    import re

    html = page(client, board).content.decode()
    panes = re.findall(r'<figcaption class="side-label">([^<]*)</figcaption>', html)
    assert panes == ["Left", "Right"]
    keys = set(re.findall(r"<kbd>([A-Z])</kbd>", html))
    assert keys == {"A", "D", "W", "S"}
    assert not keys & {pane[0] for pane in panes}


def test_it_hides_the_prompt_when_the_board_does(owner: Any, client: Client) -> None:
    board = make_leaderboard(owner, name="blind", show_prompt=False)
    make_models(board, 2)
    html = page(client, board).content.decode()
    assert Matchup.objects.get().prompt.text not in html


def test_it_says_there_is_nothing_to_compare_yet(owner: Any, client: Client) -> None:
    board = make_leaderboard(owner, name="alone")
    make_models(board, 1)
    response = page(client, board)
    assert response.status_code == 200
    assert "Nothing to compare yet" in response.content.decode()
    assert not Matchup.objects.exists()


def test_it_says_so_when_the_voter_has_seen_every_pair(owner: Any, client: Client) -> None:
    board = make_leaderboard(owner, name="tiny", prompts=["only prompt"])
    make_models(board, 2)
    page(client, board)
    Matchup.objects.update(closed_at=Matchup.objects.get().issued_at)
    assert "You have compared every pair" in page(client, board).content.decode()


def test_it_answers_404_for_a_private_board(owner: Any, client: Client) -> None:
    board = make_leaderboard(owner, name="secret", is_public=False)
    make_models(board, 2)
    assert page(client, board).status_code == 404


def test_it_answers_404_for_an_id_no_board_can_have(client: Client) -> None:
    assert client.get(f"/leaderboards/{2**63}/vote/").status_code == 404


def test_it_renders_text_outputs_escaped(owner: Any, client: Client) -> None:
    from evaluation.services import model_submit
    from tests.factories import PROMPTS

    board = make_leaderboard(owner, name="texts")
    for name in ("a", "b"):
        model_submit(
            benchmark=board.benchmark,
            owner=owner,
            name=name,
            prompts=PROMPTS,
            texts=["<script>alert(1)</script>", "plain"],
            data_type="text",
        )
    html = page(client, board).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "text-output" in html


def test_it_records_a_vote_posted_without_javascript(board: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    page(client, board)
    matchup = Matchup.objects.get()
    response = client.post(
        f"/leaderboards/{board.pk}/vote/",
        {
            "matchup": matchup.pk,
            "choice": "tie",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
    assert Vote.objects.get().choice == "tie"
    page(client, board)
    assert Matchup.objects.count() == 2


def test_it_refuses_a_form_vote_without_the_csrf_token(board: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    page(client, board)
    response = client.post(
        f"/leaderboards/{board.pk}/vote/", {"matchup": Matchup.objects.get().pk, "choice": "tie"}
    )
    assert response.status_code == 403
    assert not Vote.objects.exists()
    # In the site's layout, saying what to do, not Django's page for developers.
    html = response.content.decode()
    assert "<h1>Please reload the page</h1>" in html
    assert 'class="site-header"' in html


def test_it_shows_the_prompt_asset_when_the_board_does(owner: Any, client: Client) -> None:
    import io

    from evaluation.media import media_inspect
    from leaderboards.services import (
        LeaderboardSpec,
        PromptSpec,
        leaderboard_create_with_benchmark,
    )
    from tests.factories import png_bytes

    asset = media_inspect(io.BytesIO(png_bytes("blue", (20, 20))), filename="source.png")
    board = leaderboard_create_with_benchmark(
        owner=owner,
        spec=LeaderboardSpec(
            name="edits", instruction="Which edit is better?", show_prompt_asset=True
        ),
        prompts=[PromptSpec(text="make it red", asset=asset)],
    )
    make_models(board, 2)
    html = page(client, board).content.decode()
    prompt = board.benchmark.prompts.get()
    assert f"/media/a/{prompt.pk}" in html
    body = client.get(f"/api/v1/leaderboards/{board.pk}/matchups/next/").json()
    assert body["prompt_asset"] == {"kind": "image", "url": f"/media/a/{prompt.pk}"}


@pytest.mark.parametrize(("kind", "tag"), [("audio", "<audio"), ("video", "<video")])
def test_it_renders_audio_and_video_outputs(
    owner: Any, client: Client, kind: str, tag: str
) -> None:
    from evaluation.models import Output

    board = make_leaderboard(owner, name=f"{kind} board")
    make_models(board, 2)
    # The page only reads the kind; a stored image stands in for the media file.
    Output.objects.update(kind=kind)
    html = page(client, board).content.decode()
    assert html.count(tag) == 2
    assert "controls" in html


def form_post(client: Client, board: Any, data: dict[str, Any]) -> Any:
    """POST the page's own form, as a browser without JavaScript does, and follow it."""
    token = client.cookies["csrftoken"].value
    return client.post(
        f"/leaderboards/{board.pk}/vote/", {**data, "csrfmiddlewaretoken": token}, follow=True
    )


def test_it_reveals_the_models_on_the_page_after_a_form_vote(board: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    page(client, board)
    judged = Matchup.objects.select_related("left__model", "right__model").get()
    response = form_post(client, board, {"matchup": judged.pk, "choice": "right"})
    assert response.redirect_chain == [(f"/leaderboards/{board.pk}/vote/", 302)]
    html = response.content.decode()
    assert "Your last vote: <strong>Right is better</strong>" in html
    assert f"<dt>Left</dt><dd>{judged.left.model.name}</dd>" in html
    assert f"<dt>Right</dt><dd>{judged.right.model.name}</dd>" in html
    # Shown once: a reload shows the next pair blinded again.
    assert "Your last vote" not in page(client, board).content.decode()


def test_it_keeps_the_names_hidden_after_a_form_vote_when_the_board_does(owner: Any) -> None:
    board = make_leaderboard(owner, name="blind after", reveal_models=False)
    make_models(board, 3)
    client = Client(enforce_csrf_checks=True)
    page(client, board)
    response = form_post(client, board, {"matchup": Matchup.objects.get().pk, "choice": "tie"})
    html = response.content.decode()
    assert "Vote recorded: Tie." in html
    for model in Model.objects.all():
        assert model.name not in html


def report_left(board: Any, reason: str) -> tuple[Any, Matchup]:
    """Open the page as a new browser and report its left output by the form, with `reason`;
    the answer and the matchup reported."""
    client = Client(enforce_csrf_checks=True)
    page(client, board)
    reported = Matchup.objects.get()
    data = {"matchup": reported.pk, "report": "left", "reason": reason}
    return form_post(client, board, data), reported


def test_it_reports_an_output_without_javascript(board: Any) -> None:
    from evaluation.models import OutputReport

    response, reported = report_left(board, "  blank image ")
    assert "Thank you: output reported." in response.content.decode()
    report = OutputReport.objects.get()
    assert (report.output_id, report.reason) == (reported.left_id, "blank image")
    reported.refresh_from_db()
    assert reported.closed_at is not None  # the voter moves on to another pair
    assert Matchup.objects.count() == 2
    assert not Vote.objects.exists()


def test_it_refuses_a_report_reason_holding_a_nul_character(board: Any) -> None:
    """The form posts the reason as typed; PostgreSQL refused the NUL as it was stored (500)."""
    from evaluation.models import OutputReport

    response, reported = report_left(board, "blank\x00image")
    assert response.status_code == 200
    assert "reason: contains a NUL character" in response.content.decode()
    assert not OutputReport.objects.exists()
    reported.refresh_from_db()
    assert reported.closed_at is None


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"matchup": "x", "choice": "left"}, "That form was not valid"),
        ({"matchup": str(2**63), "choice": "left"}, f"matchup {2**63} was not issued to you"),
        ({"matchup": str(2**63), "report": "left"}, f"matchup {2**63} was not issued to you"),
        ({"choice": "maybe"}, "choice: &#x27;maybe&#x27; is not allowed; use one of"),
        ({"report": "middle"}, "side: &#x27;middle&#x27; is not allowed; use &#x27;left&#x27;"),
    ],
    ids=[
        "matchup not a number",
        "vote on a matchup id too large for any row",
        "report of a matchup id too large for any row",
        "unknown choice",
        "unknown side",
    ],
)
def test_it_says_what_was_wrong_with_a_form(board: Any, data: dict[str, Any], said: str) -> None:
    client = Client(enforce_csrf_checks=True)
    page(client, board)
    matchup = Matchup.objects.get()
    response = form_post(client, board, {"matchup": matchup.pk, **data})
    assert response.status_code == 200
    assert said in response.content.decode()
    assert not Vote.objects.exists()
