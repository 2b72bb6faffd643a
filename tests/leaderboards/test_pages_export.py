"""The raw-votes export: stable documented columns, anonymised voters, counted votes only."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from evaluation.models import Vote
from leaderboards.selectors import VOTE_EXPORT_COLUMNS
from matchmaking.models import Voter
from tests.leaderboards.pages_votes import board_with_votes

pytestmark = pytest.mark.django_db

COLUMNS = [
    "vote_id",
    "created",
    "leaderboard_id",
    "prompt_id",
    "prompt_identifier",
    "left_model_id",
    "left_model",
    "right_model_id",
    "right_model",
    "choice",
    "voter",
    "view_ms",
    "imported",
]


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.fixture
def board(owner: Any) -> Any:
    return board_with_votes(owner, votes=200, sibling=True)


def test_it_exports_every_counted_vote_as_csv_with_stable_columns(
    anon_api: APIClient, board: Any
) -> None:
    rows = _csv(anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/?format=csv"))
    votes = list(Vote.objects.filter(leaderboard=board).order_by("id"))
    assert [int(r["vote_id"]) for r in rows] == [v.pk for v in votes]
    for row, vote in zip(rows, votes, strict=True):
        assert row["leaderboard_id"] == str(board.pk)
        assert row["prompt_id"] == str(vote.prompt_id)
        assert row["left_model_id"] == str(vote.left_model_id)
        assert row["left_model"] == vote.left_model.name
        assert row["right_model"] == vote.right_model.name
        assert row["choice"] == vote.choice
        assert row["view_ms"] == str(vote.view_ms)
        assert row["imported"] == "false"
        assert row["created"].endswith("Z")


def test_it_also_answers_csv_to_an_accept_header(anon_api: APIClient, board: Any) -> None:
    response = anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/", HTTP_ACCEPT="text/csv")
    assert len(_csv(response)) == Vote.objects.filter(leaderboard=board).count()
    assert "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize("headers", [{}, {"HTTP_ACCEPT": "text/csv"}])
def test_options_describes_the_export_in_json_even_when_csv_is_asked(
    anon_api: APIClient, board: Any, headers: dict[str, str]
) -> None:
    # The CSV renderer only writes errors (the CSV itself is streamed): it answered nothing.
    response = anon_api.options(f"/api/v1/leaderboards/{board.pk}/votes/?format=csv", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["name"] == "Leaderboard Votes Export"


def test_it_anonymises_voters_consistently_within_a_board_only(
    anon_api: APIClient, board: Any
) -> None:
    sibling = board.benchmark.leaderboards.exclude(pk=board.pk).get()
    rows = _csv(anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/?format=csv"))
    other = _csv(anon_api.get(f"/api/v1/leaderboards/{sibling.pk}/votes/?format=csv"))
    votes = {v.pk: v for v in Vote.objects.filter(leaderboard=board)}
    key_of: dict[int, str] = {}
    for row in rows:
        voter_id = votes[int(row["vote_id"])].voter_id
        assert len(row["voter"]) == 16
        assert key_of.setdefault(voter_id, row["voter"]) == row["voter"]
    # Different voters, different keys; nothing that names them.
    assert len(set(key_of.values())) == len(key_of)
    text = repr(rows)
    for voter in Voter.objects.all():
        assert voter.session_key not in text
    # The same voter cannot be followed from one leaderboard to another.
    assert not set(key_of.values()) & {r["voter"] for r in other}


def test_it_leaves_out_votes_the_trust_checks_excluded(anon_api: APIClient, board: Any) -> None:
    caught = Vote.objects.filter(leaderboard=board).order_by("id")[:7]
    Vote.objects.filter(pk__in=[v.pk for v in caught]).update(excluded=Vote.Excluded.TOO_FAST)
    rows = _csv(anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/?format=csv"))
    assert len(rows) == Vote.objects.filter(leaderboard=board).count() - 7
    assert not {str(v.pk) for v in caught} & {r["vote_id"] for r in rows}


def test_it_pages_the_json_export_with_the_same_columns(anon_api: APIClient, board: Any) -> None:
    url = f"/api/v1/leaderboards/{board.pk}/votes/?limit=75"
    seen: list[dict[str, Any]] = []
    while url:
        body = anon_api.get(url).json()
        assert len(body["results"]) <= 75
        seen.extend(body["results"])
        url = body["next"]
    assert [list(r) for r in seen[:1]] == [COLUMNS]
    csv_rows = _csv(anon_api.get(f"/api/v1/leaderboards/{board.pk}/votes/?format=csv"))
    assert [r["vote_id"] for r in seen] == [int(r["vote_id"]) for r in csv_rows]
    assert seen[0]["voter"] == csv_rows[0]["voter"]
    assert seen[0]["imported"] is False


def test_it_documents_the_columns_in_the_api_schema(anon_api: APIClient) -> None:
    schema = yaml.safe_load(anon_api.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/leaderboards/{leaderboard_id}/votes/"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    for name, _ in VOTE_EXPORT_COLUMNS:
        assert f"`{name}`" in operation["description"]
    fields = schema["components"]["schemas"]["ExportedVoteOut"]["properties"]
    assert list(fields) == COLUMNS
    assert fields["choice"]["description"].startswith(dict(VOTE_EXPORT_COLUMNS)["choice"])
