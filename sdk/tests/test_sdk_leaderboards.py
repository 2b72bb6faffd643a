"""client.leaderboard: create, read, search; visibility to other owners and to anonymous users."""

from __future__ import annotations

import httpx
import pytest
from versus import (
    AuthenticationError,
    Leaderboard,
    NotFoundError,
    ValidationError,
    VersusClient,
    _http,
)
from versus_testing import PROMPTS

from evaluation.models import Output as OutputRow
from leaderboards.models import Leaderboard as LeaderboardRow
from tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)


def create_art(client: VersusClient, name: str = "AI Art Competition", **kwargs) -> Leaderboard:
    return client.leaderboard.create_new_leaderboard(
        name=name,
        instruction="Which image do you prefer?",
        prompts=PROMPTS,
        show_prompt=False,
        **kwargs,
    )


def test_it_creates_a_leaderboard_with_its_prompts(versus):
    lb = create_art(versus)
    assert isinstance(lb, Leaderboard)
    assert lb.name == "AI Art Competition"
    assert lb.instruction == "Which image do you prefer?"
    assert lb.prompts == PROMPTS
    assert lb.show_prompt is False
    assert lb.models == []
    assert lb.owner == "owner"
    assert lb.url.endswith(f"/leaderboards/{lb.id}/")
    assert lb.vote_url.endswith(f"/leaderboards/{lb.id}/vote/")
    row = LeaderboardRow.objects.get(pk=lb.id)
    assert row.benchmark_id == lb.benchmark_id
    assert row.show_prompt is False


def test_it_takes_the_seed_shaped_positional_call(versus):
    lb = versus.leaderboard.create_new_leaderboard(
        "Positional", "Which image do you prefer?", PROMPTS, True
    )
    assert (lb.name, lb.prompts, lb.show_prompt) == ("Positional", PROMPTS, True)
    assert LeaderboardRow.objects.get(pk=lb.id).show_prompt is True


def test_it_gets_a_leaderboard_by_id(versus):
    lb = create_art(versus, inverse_ranking=True, min_votes=5, description="Spring round")
    again = versus.leaderboard.get_leaderboard_by_id(lb.id)
    assert (again.id, again.name, again.prompts) == (lb.id, lb.name, PROMPTS)
    assert again.inverse_ranking is True
    assert again.min_votes == 5
    assert again.description == "Spring round"
    assert repr(again).startswith(f"Leaderboard(id={lb.id}, name='AI Art Competition'")


def test_it_finds_at_most_amount_leaderboards_by_part_of_the_name(versus):
    for number in range(3):
        create_art(versus, name=f"AI Art {number}")
    create_art(versus, name="Portraits")
    found = versus.leaderboard.find_leaderboards(name="ai art", amount=2)
    assert len(found) == 2
    assert all(lb.name.startswith("AI Art") for lb in found)
    assert len(versus.leaderboard.find_leaderboards(name="AI Art", amount=None)) == 3
    assert versus.leaderboard.find_leaderboards(name="AI Art", amount=0) == []
    assert len(versus.leaderboard.find_leaderboards()) == 4


def test_it_reads_further_pages_to_collect_amount(versus, monkeypatch):
    for number in range(5):
        create_art(versus, name=f"AI Art {number}")
    monkeypatch.setattr(_http, "PAGE_SIZE", 2)
    found = versus.leaderboard.find_leaderboards(name="AI Art", amount=5)
    assert sorted(lb.name for lb in found) == [f"AI Art {n}" for n in range(5)]


def test_it_hides_a_private_leaderboard_from_another_owner(versus, other_versus):
    lb = create_art(versus, name="Secret Art", is_public=False)
    assert versus.leaderboard.get_leaderboard_by_id(lb.id).is_public is False
    with pytest.raises(NotFoundError) as caught:
        other_versus.leaderboard.get_leaderboard_by_id(lb.id)
    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"
    assert f"leaderboard {lb.id} does not exist" in caught.value.message
    assert other_versus.leaderboard.find_leaderboards(name="Secret") == []


def test_it_shows_a_public_leaderboard_without_a_token(versus, make_client, monkeypatch):
    monkeypatch.delenv("VERSUS_TOKEN", raising=False)
    lb = create_art(versus)
    assert make_client(None).leaderboard.get_leaderboard_by_id(lb.id).prompts == PROMPTS


def test_it_refuses_to_create_without_a_token(make_client, monkeypatch):
    monkeypatch.delenv("VERSUS_TOKEN", raising=False)
    with pytest.raises(AuthenticationError) as caught:
        create_art(make_client(None))
    assert caught.value.status_code == 401
    assert "VERSUS_TOKEN" in str(caught.value)
    assert LeaderboardRow.objects.count() == 0


def test_it_refuses_a_bad_token(make_client, live_server):
    client = VersusClient(url=live_server.url, token="not-a-token", retries=0)
    try:
        with pytest.raises(AuthenticationError):
            create_art(client)
    finally:
        client.close()


def test_it_turns_a_rejected_setting_into_a_validation_error(versus):
    with pytest.raises(ValidationError) as caught:
        create_art(versus, name="x" * 201)
    assert caught.value.status_code == 400
    assert "name" in caught.value.message
    assert "name" in (caught.value.errors or {})


def test_it_keeps_outputs_off_the_public_pages_until_voting_closes(versus, png_paths, live_server):
    lb = create_art(versus, outputs_public="closed")
    assert lb.outputs_public == "closed"
    assert versus.leaderboard.get_leaderboard_by_id(lb.id).outputs_public == "closed"
    lb.evaluate_model(name="Painter", media=png_paths, prompts=PROMPTS)
    output = OutputRow.objects.filter(model__benchmark_id=lb.benchmark_id).first()
    media = f"{live_server.url}/leaderboards/{lb.id}/outputs/{output.pk}"
    assert httpx.get(media).status_code == 404
    LeaderboardRow.objects.filter(pk=lb.id).update(is_active=False)
    assert httpx.get(media).status_code == 200


def test_it_names_the_allowed_values_of_outputs_public(versus):
    with pytest.raises(ValidationError) as caught:
        create_art(versus, outputs_public="sometimes")
    assert caught.value.status_code == 400
    assert caught.value.field == "outputs_public"
    assert "use one of always, closed, never" in caught.value.message
    assert not LeaderboardRow.objects.exists()


def test_it_refuses_unknown_settings_before_sending(versus):
    with pytest.raises(TypeError, match="unexpected leaderboard setting"):
        create_art(versus, show_votes=True)


def test_it_reads_url_and_token_from_the_environment(live_server, owner, monkeypatch):
    monkeypatch.setenv("VERSUS_URL", live_server.url + "/")
    monkeypatch.setenv("VERSUS_TOKEN", token_for(owner))
    with VersusClient() as client:
        assert client.url == live_server.url
        assert "with token" in repr(client)
        assert create_art(client).owner == "owner"


def test_it_needs_a_server_address(monkeypatch):
    monkeypatch.delenv("VERSUS_URL", raising=False)
    with pytest.raises(ValueError, match="VERSUS_URL"):
        VersusClient()
