"""`import_battles` on slices of the real sets in ../shared/data, and `rebuild_ratings`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from evaluation.models import Model, PairCount, RatingSnapshot, Vote
from evaluation.rating import BOTH_BAD, LEFT, RIGHT, TIE, PairCounts, compute_standings
from evaluation.selectors import snapshot_latest, snapshot_rows
from leaderboards.models import Leaderboard
from tests.rating.boards import add_votes, board
from tests.rating.shared_data import GENAI_ARENA, LLMFAO, require

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_battles", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_it_imports_a_slice_of_genai_arena_into_a_new_public_board(tmp_path):
    battles = json.loads(require(GENAI_ARENA).read_text())
    battles = [b for b in battles if b["model_a"] != b["model_b"]][:400]
    path = write(tmp_path, "battles.json", json.dumps(battles, indent=2))
    out, err = run(str(path), "--leaderboard", "GenAI-Arena", "--owner", "arena")

    assert "created leaderboard 'GenAI-Arena'" in out
    assert "400 votes imported" in out
    assert "importing" in err  # the progress bar
    leaderboard = Leaderboard.objects.get(name="GenAI-Arena")
    assert leaderboard.is_public
    assert leaderboard.benchmark.owner.username == "arena"
    names = sorted({b["model_a"] for b in battles} | {b["model_b"] for b in battles})
    assert sorted(Model.objects.values_list("name", flat=True)) == names
    votes = Vote.objects.filter(leaderboard=leaderboard)
    assert votes.count() == 400
    assert votes.filter(is_imported=True, counted=True, prompt=None).count() == 400
    first = votes.order_by("created", "id").first()
    assert first.created.timestamp() == pytest.approx(min(b["tstamp"] for b in battles))

    # The published standings are the core's fit of the same battles.
    codes = {"model_a": LEFT, "model_b": RIGHT, "tie": TIE, "tie (bothbad)": BOTH_BAD}
    ids = dict(Model.objects.values_list("name", "pk"))
    order = sorted(ids.values())
    index = {pk: k for k, pk in enumerate(order)}
    expected = compute_standings(
        PairCounts.from_votes(
            [index[ids[b["model_a"]]] for b in battles],
            [index[ids[b["model_b"]]] for b in battles],
            [codes[b["winner"]] for b in battles],
            n_models=len(order),
        ),
        min_votes=leaderboard.min_votes,
    )
    snapshot = snapshot_latest(leaderboard=leaderboard)
    assert snapshot.vote_count == 400
    assert snapshot.has_bootstrap
    for row in snapshot_rows(snapshot=snapshot):
        assert row.score == pytest.approx(expected.score[index[row.model_id]], abs=1e-9)


def test_it_imports_llmfao_csv_rows_with_their_prompts(tmp_path):
    with require(LLMFAO).open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:600]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = write(tmp_path, "llmfao.csv", buffer.getvalue())
    out, _ = run(str(path), "--leaderboard", "LLMFAO", "--owner", "evalica", "--no-progress")

    leaderboard = Leaderboard.objects.get(name="LLMFAO")
    prompts = {r["prompt"] for r in rows}
    assert f"{len(prompts)} prompts created" in out
    assert leaderboard.benchmark.prompts.count() == len(prompts)
    assert Vote.objects.filter(prompt__isnull=True).count() == 0
    tallies = {
        choice: Vote.objects.filter(choice=choice).count() for choice in ("left", "right", "tie")
    }
    assert tallies == {c: sum(r["winner"] == c for r in rows) for c in ("left", "right", "tie")}
    counters = PairCount.objects.filter(leaderboard=leaderboard)
    assert sum(c.a_wins + c.b_wins + c.ties for c in counters) == 600
    assert snapshot_latest(leaderboard=leaderboard).vote_count == 600


def test_the_whole_genai_file_is_refused_for_its_self_battle_unless_skipped(tmp_path):
    path = require(GENAI_ARENA)
    text = path.read_text()
    battles = json.loads(text)
    bad = next(k for k, b in enumerate(battles) if b["model_a"] == b["model_b"])
    starts = [k + 1 for k, line in enumerate(text.splitlines()) if line == "  {"]
    line = starts[bad]
    with pytest.raises(CommandError, match=rf"(?s)1 bad rows.*line {line}: model_a and model_b"):
        run(str(path), "--leaderboard", "GenAI", "--owner", "arena", "--no-progress")
    assert Vote.objects.count() == 0
    assert Leaderboard.objects.count() == 0

    out, err = run(
        str(path), "--leaderboard", "GenAI", "--owner", "arena", "--skip-invalid", "--no-progress"
    )
    assert "2,060 votes imported" in out
    assert f"line {line}" in err
    assert "2 disconnected parts" in out


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        "left,right,winner\na,b,left\na,a,tie\nb,c,draw\n,c,right\nc,a,right,extra\na,c,tie\n",
    )
    with pytest.raises(CommandError) as error:
        run(str(path), "--leaderboard", "Bad", "--owner", "someone", "--no-progress")
    message = str(error.value)
    assert "4 bad rows" in message
    assert "line 3: left and right are the same model 'a'" in message
    assert "line 4: winner must be one of 'left', 'right', 'tie', 'both_bad', got 'draw'" in message
    assert "line 5: left must be a model name" in message
    assert "line 6: 4 fields, the header has 3" in message
    assert "Nothing was imported" in message
    assert (Vote.objects.count(), Model.objects.count(), Leaderboard.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x,y\n1,2\n", "line 1: the header lacks left, right, winner"),
        ('[{"model_a": "a", "model_b": "b", "winner": "model_a"}\n{}', "line 2: expected ','"),
        ('[{"model_a": "a",\n "model_b": }]', "line 2: not valid JSON"),
    ],
)
def test_an_unreadable_file_is_refused_with_the_line(tmp_path, text, message):
    suffix = "csv" if text.startswith("x") else "json"
    path = write(tmp_path, f"broken.{suffix}", text)
    with pytest.raises(CommandError, match=message):
        run(str(path), "--leaderboard", "Broken", "--owner", "someone", "--no-progress")


def test_json_rows_are_checked_one_by_one(tmp_path):
    path = write(
        tmp_path,
        "battles.json",
        json.dumps(
            [
                {"model_a": "a", "model_b": "b", "winner": "model_a", "tstamp": 1700000000},
                {"model_a": "a", "model_b": "b", "winner": "model_c"},
                {"model_a": "a", "winner": "tie"},
                ["a", "b"],
                {"model_a": "a", "model_b": "b", "winner": "tie", "tstamp": "soon"},
            ],
            indent=1,
        ),
    )
    with pytest.raises(CommandError) as error:
        run(str(path), "--leaderboard", "J", "--owner", "someone", "--no-progress")
    message = str(error.value)
    assert "line 8: winner must be one of 'model_a', 'model_b', 'tie', 'tie (bothbad)'" in message
    assert "line 13: missing model_b" in message
    assert "line 17: expected an object" in message
    assert "line 21: tstamp must be Unix seconds" in message


def test_it_adds_to_an_existing_board_and_its_models(tmp_path, owner):
    leaderboard, models = board(owner, 2, name="Existing")
    add_votes(leaderboard, [(models[0], models[1], "left")])
    prompt = leaderboard.benchmark.prompts.first()
    path = write(
        tmp_path,
        "more.csv",
        f'left,right,winner,prompt\nm1,m0,left,"{prompt.text}"\nm1,newcomer,tie,\n',
    )
    out, _ = run(str(path), "--leaderboard", "Existing", "--no-progress")
    assert "updated leaderboard 'Existing'" in out
    assert "1 models and 0 prompts created" in out
    assert Vote.objects.filter(prompt=prompt, is_imported=True).count() == 1
    assert snapshot_latest(leaderboard=leaderboard).vote_count == 3


def test_an_existing_board_refuses_unknown_prompts_and_another_owner(tmp_path, owner):
    board(owner, 2, name="Existing")
    path = write(tmp_path, "p.csv", "left,right,winner,prompt\nm0,m1,left,Unknown prompt\n")
    with pytest.raises(CommandError, match=r"1 rows name a prompt .* \(lines 2\)"):
        run(str(path), "--leaderboard", "Existing", "--no-progress")
    with pytest.raises(CommandError, match="belongs to 'owner', not 'intruder'"):
        run(str(path), "--leaderboard", "Existing", "--owner", "intruder", "--no-progress")
    run(str(path), "--leaderboard", "Existing", "--ignore-prompts", "--no-progress", "--no-fit")
    assert Vote.objects.get().prompt is None
    assert not get_user_model().objects.filter(username="intruder").exists()


def test_a_new_board_needs_an_owner(tmp_path, db):
    path = write(tmp_path, "p.csv", "left,right,winner\na,b,left\n")
    with pytest.raises(CommandError, match="give the owner"):
        run(str(path), "--leaderboard", "Nobody's", "--no-progress")


def test_rebuild_ratings_recounts_any_board_from_scratch(owner):
    leaderboard, models = board(owner, 3)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 3)
    add_votes(leaderboard, [(models[2], models[1], "tie")] * 2, excluded="operator")
    PairCount.objects.create(
        leaderboard=leaderboard, model_a=models[0], model_b=models[2], a_wins=99
    )  # a corrupted counter
    out = io.StringIO()
    call_command("rebuild_ratings", str(leaderboard.pk), stdout=out)
    assert f"leaderboard {leaderboard.pk}: 3 votes, 3 models, 2 excluded" in out.getvalue()
    assert list(PairCount.objects.values_list("a_wins", "b_wins")) == [(3, 0)]
    snapshot = snapshot_latest(leaderboard=leaderboard)
    assert snapshot.has_bootstrap
    call_command("rebuild_ratings", "--all", "--no-bootstrap", stdout=io.StringIO())
    assert RatingSnapshot.objects.count() == 2
    assert np.isfinite([r.score for r in snapshot_rows(snapshot=snapshot)][:2]).all()


@pytest.mark.parametrize("args", [[], ["1", "--all"], ["424242"]])
def test_rebuild_ratings_says_what_is_wrong(db, args):
    with pytest.raises(CommandError):
        call_command("rebuild_ratings", *args, stdout=io.StringIO())
