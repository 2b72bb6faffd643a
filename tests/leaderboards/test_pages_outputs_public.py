"""A leaderboard's `outputs_public` setting: when the galleries show outputs under model names.

The voting page shows the same files blinded, so while a board takes votes a named gallery lets
a voter recognise an output and vote for or against its model on purpose. Each setting is
checked as the owner, staff, another user and an anonymous visitor, on the per-prompt page,
the model page and the gallery's media address.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from evaluation.models import Model, Output
from evaluation.services import model_submit
from leaderboards.models import Leaderboard
from leaderboards.selectors import outputs_publication
from leaderboards.services import LeaderboardSpec, leaderboard_create
from tests.factories import PROMPTS, make_leaderboard, make_models
from tests.leaderboards.pages_votes import add_simulated_votes

pytestmark = pytest.mark.django_db

ALWAYS, CLOSED, NEVER = Leaderboard.OutputsPublic.values
VIEWERS = ["owner", "staff", "other", "anonymous"]
NOTICE = 'id="outputs-notice"'


def _board(owner: Any, outputs_public: str, *, name: str = "Arena") -> Leaderboard:
    board = make_leaderboard(owner, name=name, outputs_public=outputs_public)
    add_simulated_votes(board, make_models(board, 3), 60)
    return board


@pytest.fixture
def clients(owner: Any, other_owner: Any) -> dict[str, Client]:
    staff = get_user_model().objects.create_user("operator", password="op-pass-123", is_staff=True)
    made = {}
    for viewer, user in (("owner", owner), ("staff", staff), ("other", other_owner)):
        made[viewer] = Client()
        made[viewer].force_login(user)
    made["anonymous"] = Client()
    return made


def _shown(client: Client, board: Leaderboard) -> dict[str, Any]:
    """What `client` gets of the board's outputs: on each page, and from each media address."""
    outputs = list(Output.objects.filter(model__benchmark=board.benchmark))
    model = Model.objects.filter(benchmark=board.benchmark).order_by("pk").first()
    gallery = client.get(f"/leaderboards/{board.pk}/prompts/")
    model_page = client.get(f"/leaderboards/{board.pk}/models/{model.pk}/")
    assert gallery.status_code == model_page.status_code == 200
    gallery_html, model_html = gallery.content.decode(), model_page.content.decode()
    # Win rates per prompt stay public whatever the setting.
    assert gallery_html.count('data-field="prompt-win-rate"') == 3 * len(PROMPTS)
    return {
        "gallery": sum(f"/outputs/{o.pk}" in gallery_html for o in outputs),
        "model_page": sum(f"/outputs/{o.pk}" in model_html for o in outputs if o.model == model),
        "media": {
            client.get(f"/leaderboards/{board.pk}/outputs/{o.pk}").status_code for o in outputs
        },
        "notice": (NOTICE in gallery_html, NOTICE in model_html),
        "gallery_html": gallery_html,
    }


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("setting", [ALWAYS, CLOSED, NEVER])
def test_it_shows_outputs_by_name_only_as_the_setting_allows_while_votes_are_taken(
    owner: Any, clients: dict[str, Client], setting: str, viewer: str
) -> None:
    board = _board(owner, setting)
    seen = _shown(clients[viewer], board)
    if setting == ALWAYS or viewer in ("owner", "staff"):
        assert (seen["gallery"], seen["model_page"], seen["media"]) == (
            3 * len(PROMPTS),
            len(PROMPTS),
            {200},
        )
    else:
        assert (seen["gallery"], seen["model_page"], seen["media"]) == (0, 0, {404})
        assert 'class="output' not in seen["gallery_html"]
    # Everyone is told why outputs are missing; the owner is told what the others see.
    assert seen["notice"] == ((setting != ALWAYS),) * 2
    if setting != ALWAYS and viewer == "owner":
        assert "Only you see the outputs here" in seen["gallery_html"]


@pytest.mark.parametrize("viewer", ["other", "anonymous"])
def test_it_shows_the_outputs_of_a_closed_board_once_it_stops_taking_votes(
    owner: Any, clients: dict[str, Client], viewer: str
) -> None:
    board = _board(owner, CLOSED)
    before = _shown(clients[viewer], board)
    assert (before["gallery"], before["media"]) == (0, {404})
    assert "once this leaderboard stops taking votes" in before["gallery_html"]
    Leaderboard.objects.filter(pk=board.pk).update(is_active=False)
    after = _shown(clients[viewer], board)
    assert (after["gallery"], after["model_page"], after["media"]) == (
        3 * len(PROMPTS),
        len(PROMPTS),
        {200},
    )
    assert after["notice"] == (False, False)


def test_it_keeps_the_outputs_of_a_never_board_hidden_after_it_closes(
    owner: Any, clients: dict[str, Client]
) -> None:
    board = _board(owner, NEVER)
    Leaderboard.objects.filter(pk=board.pk).update(is_active=False)
    seen = _shown(clients["anonymous"], board)
    assert (seen["gallery"], seen["model_page"], seen["media"]) == (0, 0, {404})
    assert "does not publish its models' outputs" in seen["gallery_html"]


def test_it_hides_outputs_while_another_board_of_the_benchmark_takes_blinded_votes(
    owner: Any, clients: dict[str, Client]
) -> None:
    # Both boards show the same files to their voters: the open gallery of one would unblind
    # the other's votes.
    board = _board(owner, ALWAYS)
    sibling = leaderboard_create(
        benchmark=board.benchmark,
        spec=LeaderboardSpec(
            name="Prompt following", instruction="Which follows it?", outputs_public=CLOSED
        ),
    )
    seen = _shown(clients["anonymous"], board)
    assert (seen["gallery"], seen["model_page"], seen["media"]) == (0, 0, {404})
    assert "once <q>Prompt following</q> stops taking votes" in seen["gallery_html"]
    assert _shown(clients["owner"], board)["gallery"] == 3 * len(PROMPTS)
    Leaderboard.objects.filter(pk=sibling.pk).update(is_active=False)
    assert _shown(clients["anonymous"], board)["media"] == {200}


def test_it_lets_a_closed_or_never_sibling_that_takes_no_votes_keep_the_gallery_open(
    owner: Any,
) -> None:
    board = _board(owner, ALWAYS)
    for name, setting in (("Closed one", CLOSED), ("Never one", NEVER)):
        sibling = leaderboard_create(
            benchmark=board.benchmark,
            spec=LeaderboardSpec(name=name, instruction="Which?", outputs_public=setting),
        )
        Leaderboard.objects.filter(pk=sibling.pk).update(is_active=False)
    assert outputs_publication(leaderboard=board).public
    # An always sibling taking votes is the owner's choice for that board, as on this one.
    leaderboard_create(
        benchmark=board.benchmark, spec=LeaderboardSpec(name="Open one", instruction="Which?")
    )
    assert outputs_publication(leaderboard=board).public


def test_it_hides_text_outputs_too(owner: Any, clients: dict[str, Client]) -> None:
    board = make_leaderboard(owner, name="Stories", outputs_public=NEVER)
    for name in ("writer-a", "writer-b"):
        model_submit(
            benchmark=board.benchmark,
            owner=owner,
            name=name,
            prompts=PROMPTS,
            texts=[f"{name} tells of {p.lower()}" for p in PROMPTS],
            data_type="text",
        )
    for viewer, shown in (("anonymous", False), ("owner", True)):
        html = clients[viewer].get(f"/leaderboards/{board.pk}/prompts/").content.decode()
        assert ("writer-a tells of" in html) is shown, viewer


def test_it_leaves_the_voting_page_media_as_it_is(owner: Any, clients: dict[str, Client]) -> None:
    board = _board(owner, NEVER)
    output = Output.objects.filter(model__benchmark=board.benchmark).first()
    assert clients["anonymous"].get(f"/media/o/{output.public_id}").status_code == 200


# ---------------------------------------------------------------- setting it


def test_it_creates_a_leaderboard_with_outputs_shown_once_voting_closes(api: Any) -> None:
    body = {"name": "Art", "instruction": "Which?", "prompts": PROMPTS, "outputs_public": CLOSED}
    response = api.post("/api/v1/leaderboards/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["outputs_public"] == CLOSED
    assert Leaderboard.objects.get(pk=response.json()["id"]).outputs_public == CLOSED


def test_it_publishes_outputs_always_unless_told_otherwise(api: Any) -> None:
    body = {"name": "Art", "instruction": "Which?", "prompts": PROMPTS}
    response = api.post("/api/v1/leaderboards/", body, format="json")
    assert response.json()["outputs_public"] == ALWAYS


def test_it_adds_a_question_to_a_benchmark_with_outputs_never_shown(api: Any, owner: Any) -> None:
    board = make_leaderboard(owner)
    response = api.post(
        f"/api/v1/benchmarks/{board.benchmark_id}/leaderboards/",
        {"name": "Second", "instruction": "Which is sharper?", "outputs_public": NEVER},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Leaderboard.objects.get(pk=response.json()["id"]).outputs_public == NEVER


@pytest.mark.parametrize("where", ["leaderboards", "benchmark"])
def test_it_refuses_an_unknown_setting_naming_the_field_and_the_allowed_values(
    api: Any, owner: Any, where: str
) -> None:
    body: dict[str, Any] = {"name": "Art", "instruction": "Which?", "outputs_public": "sometimes"}
    if where == "leaderboards":
        url, body["prompts"] = "/api/v1/leaderboards/", PROMPTS
    else:
        url = f"/api/v1/benchmarks/{make_leaderboard(owner).benchmark_id}/leaderboards/"
    response = api.post(url, body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == "outputs_public"
    assert '"sometimes" is not allowed; use one of always, closed, never' in error["detail"]


def test_it_refuses_an_unknown_setting_in_the_service(owner: Any) -> None:
    from config.errors import Invalid

    with pytest.raises(Invalid, match="use one of always, closed, never") as caught:
        make_leaderboard(owner, outputs_public="later")
    assert caught.value.field == "outputs_public"


def test_it_offers_the_setting_in_the_admin(owner: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", password="root-pass-123")
    board = make_leaderboard(owner)
    client = Client()
    client.force_login(admin)
    html = client.get(f"/admin/leaderboards/leaderboard/{board.pk}/change/").content.decode()
    for value in (ALWAYS, CLOSED, NEVER):
        assert f'<option value="{value}"' in html
    assert 'name="outputs_public"' in html
