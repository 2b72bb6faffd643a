"""Retries: a lost answer never creates a second model; busy servers are waited for; no server."""

from __future__ import annotations

import httpx
import pytest
from versus import (
    ConflictError,
    RateLimited,
    ServerError,
    VersusClient,
    VersusConnectionError,
    VersusError,
)
from versus_testing import LOSE, PROMPTS, Recorder

from evaluation.models import Model as ModelRow
from leaderboards.models import Leaderboard as LeaderboardRow

pytestmark = pytest.mark.django_db(transaction=True)


def create_art(client: VersusClient):
    return client.leaderboard.create_new_leaderboard(
        name="AI Art Competition", instruction="Which image do you prefer?", prompts=PROMPTS
    )


def test_a_lost_answer_to_an_upload_does_not_create_a_second_model(make_client, owner, png_paths):
    recorder = Recorder()
    lb = create_art(make_client(owner, transport=recorder))
    recorder.requests.clear()
    recorder.answers.clear()
    recorder.plan = [LOSE]

    model = lb.evaluate_model("MyAIModel_v2.1", png_paths, PROMPTS)

    assert model.name == "MyAIModel_v2.1"
    assert ModelRow.objects.filter(name="MyAIModel_v2.1").count() == 1
    first, second = recorder.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert [a.status_code for a in recorder.answers] == [201, 201]
    assert recorder.answers[1].headers.get("Idempotent-Replayed") == "true"
    assert recorder.answers[0].json()["id"] == recorder.answers[1].json()["id"] == model.id


def test_a_lost_answer_to_a_create_does_not_create_a_second_leaderboard(make_client, owner):
    recorder = Recorder([LOSE])
    lb = create_art(make_client(owner, transport=recorder))
    assert LeaderboardRow.objects.filter(pk=lb.id).count() == LeaderboardRow.objects.count() == 1
    assert len({r.headers["Idempotency-Key"] for r in recorder.requests}) == 1


def test_a_conflict_after_a_lost_answer_asks_again_for_the_first_answer(
    make_client, owner, png_paths
):
    recorder = Recorder()
    lb = create_art(make_client(owner, transport=recorder))
    # The retry overtook the first attempt, which committed only after the retry checked the name.
    racing = httpx.Response(409, json={"detail": "name: already taken", "code": "exists"})
    recorder.plan = [LOSE, racing]

    model = lb.evaluate_model("MyAIModel_v2.1", png_paths, PROMPTS)

    assert ModelRow.objects.get().id == model.id
    assert len({r.headers["Idempotency-Key"] for r in recorder.requests[-3:]}) == 1
    assert recorder.answers[-1].headers.get("Idempotent-Replayed") == "true"


def test_a_conflict_without_a_lost_answer_is_not_retried(make_client, owner, png_paths):
    recorder = Recorder()
    lb = create_art(make_client(owner, transport=recorder))
    lb.evaluate_model("Twin", png_paths, PROMPTS)
    sent = len(recorder.requests)
    with pytest.raises(ConflictError):
        lb.evaluate_model("Twin", png_paths, PROMPTS)
    assert len(recorder.requests) == sent + 1


def test_each_call_sends_its_own_idempotency_key(make_client, owner, png_paths):
    recorder = Recorder()
    lb = create_art(make_client(owner, transport=recorder))
    lb.evaluate_model("One", png_paths, PROMPTS)
    with pytest.raises(ConflictError):
        lb.evaluate_model("One", png_paths, PROMPTS)
    keys = [r.headers["Idempotency-Key"] for r in recorder.requests if r.method == "POST"]
    assert len(keys) == len(set(keys)) == 3


def test_it_waits_out_a_busy_server(make_client, owner):
    busy = httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "maintenance"})
    limited = httpx.Response(
        429, headers={"Retry-After": "0"}, json={"detail": "slow down", "code": "throttled"}
    )
    recorder = Recorder([busy, limited])
    lb = create_art(make_client(owner, transport=recorder))
    assert len(recorder.requests) == 3
    assert LeaderboardRow.objects.filter(pk=lb.id).exists()


def test_it_gives_up_after_its_retries(make_client, owner):
    answers = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"})
        for _ in range(3)
    ]
    recorder = Recorder(answers)
    with pytest.raises(RateLimited) as caught:
        create_art(make_client(owner, transport=recorder, retries=2))
    assert caught.value.retry_after == 0
    assert caught.value.message == "slow down"
    assert len(recorder.requests) == 3
    assert LeaderboardRow.objects.count() == 0


def test_it_does_not_sleep_through_a_long_retry_after(make_client, owner):
    later = httpx.Response(429, headers={"Retry-After": "3600"}, json={"detail": "come back"})
    recorder = Recorder([later])
    with pytest.raises(RateLimited) as caught:
        create_art(make_client(owner, transport=recorder))
    assert caught.value.retry_after == 3600
    assert len(recorder.requests) == 1


def test_it_reports_a_server_failure_that_is_not_json(make_client, owner):
    broken = httpx.Response(
        500, text="<html>Internal Server Error</html>", headers={"Content-Type": "text/html"}
    )
    recorder = Recorder([broken])
    with pytest.raises(ServerError) as caught:
        create_art(make_client(owner, transport=recorder))
    assert caught.value.status_code == 500
    assert caught.value.message.startswith("the server answered HTTP 500 to http")
    assert len(recorder.requests) == 1  # a 500 is not retried: the server may have acted


def test_it_says_when_the_address_is_not_a_versus_server(make_client, owner):
    page = httpx.Response(200, text="<html>hello</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(VersusError, match="not JSON"):
        make_client(owner, transport=Recorder([page])).leaderboard.get_leaderboard_by_id(1)


def test_it_raises_a_connection_error_when_no_server_answers():
    client = VersusClient(url="http://127.0.0.1:9", token="t", retries=1, backoff=0.01)
    with client, pytest.raises(VersusConnectionError) as caught:
        client.leaderboard.get_leaderboard_by_id(1)
    assert isinstance(caught.value, ConnectionError)
    assert "after 2 attempt(s)" in caught.value.message
