"""/api/v1/metric-leaderboards/: create, find by name, read, change, delete; who may do what."""

from __future__ import annotations

import pytest

from metrics.models import MetricBoard
from tests.factories import make_leaderboard
from tests.metrics.boards import log, make_board

pytestmark = pytest.mark.django_db

URL = "/api/v1/metric-leaderboards/"
BODY = {
    "name": "Vision",
    "metrics": [
        {"name": "accuracy", "higher_is_better": True},
        {"name": "latency_ms", "higher_is_better": False, "description": "p50 per image"},
    ],
}


def test_it_creates_a_board_with_its_metrics(api, owner):
    answer = api.post(URL, BODY, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["name"] == "Vision"
    assert body["owner"] == "owner"
    assert body["is_public"] is False
    assert body["primary_metric"] == "accuracy"
    assert body["metrics"][1] == {
        "name": "latency_ms",
        "higher_is_better": False,
        "description": "p50 per image",
    }
    assert body["url"].endswith(f"/metrics/{body['id']}/")
    assert MetricBoard.objects.get().owner == owner


def test_it_answers_with_the_existing_board_when_asked_to(api):
    first = api.post(URL, BODY, format="json").json()
    again = api.post(URL, {**BODY, "if_exists": "return"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    clash = api.post(URL, BODY, format="json")
    assert clash.status_code == 409
    assert clash.json()["code"] == "exists"


def test_it_refuses_a_metric_declared_the_other_way_on_an_existing_board(api):
    api.post(URL, BODY, format="json")
    flipped = {
        "name": "Vision",
        "metrics": [{"name": "latency_ms", "higher_is_better": True}],
        "if_exists": "return",
    }
    answer = api.post(URL, flipped, format="json")
    assert answer.status_code == 409
    assert "lower-is-better" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "metrics": []}, "metrics"),
        ({"name": "x", "metrics": [{"name": "top 1"}]}, "metrics[0].name"),
        ({"name": "x", "metrics": [{"name": "a"}], "primary_metric": "b"}, "primary_metric"),
        (
            {"name": "x", "metrics": [{"name": "a"}], "preference_leaderboard": 999},
            "preference_leaderboard",
        ),
    ],
)
def test_it_refuses_a_bad_board(api, body, field):
    answer = api.post(URL, body, format="json")
    assert answer.status_code == 400
    assert answer.json().get("field", field) == field


def test_it_links_a_preference_leaderboard_the_owner_may_see(api, owner, other_owner):
    mine = make_leaderboard(owner)
    private_other = make_leaderboard(other_owner, name="Secret", is_public=False)
    ok = api.post(URL, {**BODY, "preference_leaderboard": mine.pk}, format="json")
    assert ok.status_code == 201
    assert ok.json()["preference_leaderboard"] == mine.pk
    hidden = api.post(
        URL, {**BODY, "name": "Other", "preference_leaderboard": private_other.pk}, format="json"
    )
    assert hidden.status_code == 400
    assert hidden.json()["field"] == "preference_leaderboard"


def test_the_owner_links_a_preference_leaderboard_to_an_existing_board(
    api, other_api, anon_api, owner, other_owner
):
    board = make_board(owner)
    mine = make_leaderboard(owner)
    theirs_public = make_leaderboard(other_owner, name="Public arena")
    theirs_private = make_leaderboard(other_owner, name="Secret", is_public=False)
    url = f"{URL}{board.pk}/"
    linked = api.patch(url, {"preference_leaderboard": mine.pk}, format="json")
    assert linked.status_code == 200
    assert linked.json()["preference_leaderboard"] == mine.pk
    board.refresh_from_db()
    assert board.preference_leaderboard == mine
    relinked = api.patch(url, {"preference_leaderboard": theirs_public.pk}, format="json")
    assert relinked.json()["preference_leaderboard"] == theirs_public.pk
    # Another owner's private leaderboard, or none at all, is a 400 naming the field.
    for missing in (theirs_private.pk, 999_999):
        refused = api.patch(url, {"preference_leaderboard": missing}, format="json")
        assert refused.status_code == 400
        assert refused.json()["field"] == "preference_leaderboard"
    assert other_api.patch(url, {"preference_leaderboard": None}, format="json").status_code == 403
    assert anon_api.patch(url, {"preference_leaderboard": None}, format="json").status_code == 401
    board.refresh_from_db()
    assert board.preference_leaderboard == theirs_public
    unlinked = api.patch(url, {"preference_leaderboard": None}, format="json")
    assert unlinked.json()["preference_leaderboard"] is None
    private = make_board(owner, name="Private", is_public=False)
    other = other_api.patch(f"{URL}{private.pk}/", {"preference_leaderboard": None}, format="json")
    assert other.status_code == 404


def test_anonymous_callers_cannot_create_boards(anon_api):
    assert anon_api.post(URL, BODY, format="json").status_code == 401


def test_it_lists_the_boards_each_caller_may_see(api, other_api, anon_api, owner, other_owner):
    make_board(owner, name="Mine public")
    make_board(owner, name="Mine private", is_public=False)
    make_board(other_owner, name="Theirs private", is_public=False)

    def names(client, query=""):
        return sorted(b["name"] for b in client.get(URL + query).json()["results"])

    assert names(api) == ["Mine private", "Mine public"]
    assert names(other_api) == ["Mine public", "Theirs private"]
    assert names(anon_api) == ["Mine public"]
    assert names(other_api, "?mine=true") == ["Theirs private"]
    assert names(api, "?name=PRIVATE") == ["Mine private"]


def test_it_reads_a_board_as_owner_other_owner_and_anonymous(api, other_api, anon_api, owner):
    public = make_board(owner, name="Public")
    private = make_board(owner, name="Private", is_public=False)
    log(public, "m", "r", accuracy=0.5)
    assert api.get(f"{URL}{private.pk}/").status_code == 200
    assert other_api.get(f"{URL}{private.pk}/").status_code == 404
    assert anon_api.get(f"{URL}{private.pk}/").status_code == 404
    body = anon_api.get(f"{URL}{public.pk}/").json()
    assert body["result_count"] == 1


def test_only_the_owner_changes_or_deletes_a_board(api, other_api, anon_api, owner):
    board = make_board(owner)
    url = f"{URL}{board.pk}/"
    assert other_api.patch(url, {"is_public": False}, format="json").status_code == 403
    assert anon_api.patch(url, {"is_public": False}, format="json").status_code == 401
    changed = api.patch(url, {"is_public": False, "primary_metric": "latency_ms"}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["is_public"], changed.json()["primary_metric"]) == (False, "latency_ms")
    assert other_api.delete(url).status_code == 404  # now private: not even its existence
    assert anon_api.delete(url).status_code == 401
    assert api.delete(url).status_code == 204
    assert not MetricBoard.objects.exists()


def test_the_owner_declares_another_metric(api, other_api, owner):
    board = make_board(owner)
    url = f"{URL}{board.pk}/metrics/"
    assert other_api.post(url, {"name": "f1"}, format="json").status_code == 403
    answer = api.post(url, {"name": "f1", "higher_is_better": True}, format="json")
    assert answer.status_code == 201
    assert [m["name"] for m in answer.json()["metrics"]] == ["accuracy", "latency_ms", "f1"]
