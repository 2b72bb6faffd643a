"""The database itself keeps the data model's rules, whatever writes to it.

Services check these rules first and answer with clear errors; these tests go around the services,
as a bug, a shell session or a concurrent request would, and show the database refusing. They run
on PostgreSQL when DATABASE_URL points there, on SQLite otherwise. The tests marked `services`
race two real requests on PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from config.errors import Conflict
from evaluation.models import Model, Output, Vote
from evaluation.services import model_submit, submissions
from leaderboards.models import Prompt
from tests.conftest import client_for
from tests.factories import PROMPTS, make_leaderboard, make_models, named_file, png_bytes
from tests.threads import in_threads


def assert_refused(table: Any, /, **fields: Any) -> None:
    """Creating a row of `table` with these fields raises IntegrityError and adds nothing."""
    before = table.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        table.objects.create(**fields)
    assert table.objects.count() == before


@pytest.fixture
def board(owner: Any) -> Any:
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 2)
    return leaderboard


@pytest.mark.django_db
def test_a_prompt_text_is_unique_per_benchmark(board):
    assert_refused(Prompt, benchmark=board.benchmark, text=PROMPTS[0], position=99)


@pytest.mark.django_db
def test_a_model_name_is_unique_per_benchmark(board, owner):
    assert_refused(Model, benchmark=board.benchmark, name="model-0", owner=owner)


@pytest.mark.django_db
def test_the_same_name_may_enter_another_benchmark(board, owner):
    other = make_leaderboard(owner, name="other")
    Model.objects.create(benchmark=other.benchmark, name="model-0", owner=owner)


@pytest.mark.django_db
def test_a_model_has_one_output_per_prompt(board):
    existing = Output.objects.first()
    assert_refused(
        Output,
        model=existing.model,
        prompt=existing.prompt,
        kind="image",
        file="image/aa/other.png",
        content_type="image/png",
        content_hash="0" * 64,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "file", "text"),
    [("text", "", ""), ("image", "", "a text where a file belongs"), ("video", "", "")],
)
def test_an_output_holds_a_file_or_a_text_as_its_kind_says(board, owner, kind, file, text):
    model = Model.objects.create(benchmark=board.benchmark, name="bare", owner=owner)
    assert_refused(
        Output,
        model=model,
        prompt=board.benchmark.prompts.first(),
        kind=kind,
        file=file,
        text=text,
        content_type="text/plain",
        content_hash="0" * 64,
    )


@pytest.mark.django_db
def test_an_output_kind_is_one_of_the_media_kinds(board, owner):
    model = Model.objects.create(benchmark=board.benchmark, name="bare", owner=owner)
    assert_refused(
        Output,
        model=model,
        prompt=board.benchmark.prompts.first(),
        kind="pdf",
        file="pdf/aa/x.pdf",
        content_type="application/pdf",
        content_hash="0" * 64,
    )


@pytest.mark.django_db
def test_a_vote_choice_is_one_of_the_four_answers(board):
    left, right = board.benchmark.models.all()[:2]
    assert_refused(Vote, leaderboard=board, left_model=left, right_model=right, choice="maybe")
    for choice in Vote.Choice.values:
        Vote.objects.create(leaderboard=board, left_model=left, right_model=right, choice=choice)


@pytest.mark.django_db
def test_a_vote_compares_two_different_models(board):
    model = board.benchmark.models.first()
    assert_refused(Vote, leaderboard=board, left_model=model, right_model=model, choice="left")


def stored_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def both_past_the_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold each submission at its first media inspection until the other arrives there.

    Both have then passed the name check and the idempotency-key lookup, so only the database
    (the benchmark row lock and the unique constraints) can decide between them.
    """
    barrier = threading.Barrier(2, timeout=30)
    waited: set[int] = set()
    inspect = submissions.media_inspect

    def held(*args: Any, **kwargs: Any) -> Any:
        me = threading.get_ident()
        if me not in waited:
            waited.add(me)
            barrier.wait()
        return inspect(*args, **kwargs)

    monkeypatch.setattr(submissions, "media_inspect", held)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_uploads_of_one_name_make_one_model(owner, monkeypatch):
    leaderboard = make_leaderboard(owner)
    both_past_the_checks(monkeypatch)

    def submit(k: int) -> Model:
        return model_submit(
            benchmark=leaderboard.benchmark,
            owner=owner,
            name="twin",
            prompts=PROMPTS,
            media=[named_file(png_bytes(color, (8, 8 + k)), "a.png") for color in ("red", "blue")],
        )

    results = in_threads(2, submit)
    made = [r for r in results if isinstance(r, Model)]
    lost = [r for r in results if not isinstance(r, Model)]
    assert len(made) == 1, results
    assert len(lost) == 1, results
    assert isinstance(lost[0], Conflict), results
    assert (lost[0].status, lost[0].field) == (409, "name")
    assert list(Model.objects.values_list("name", flat=True)) == ["twin"]
    assert Output.objects.count() == 2
    # Only the winner's files are left, and they are the ones its outputs point to.
    names = {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files()}
    assert names == set(Output.objects.values_list("file", flat=True))


def uploads_at_once(
    owner: Any, monkeypatch: pytest.MonkeyPatch, *, names: list[str], key: str
) -> list[Any]:
    """Two API uploads by one owner with one Idempotency-Key, past the checks together."""
    leaderboard = make_leaderboard(owner)
    clients = [client_for(owner), client_for(owner)]
    both_past_the_checks(monkeypatch)

    def upload(k: int) -> Any:
        return clients[k].post(
            f"/api/v1/leaderboards/{leaderboard.pk}/models/",
            {
                "name": names[k],
                "prompts": PROMPTS,
                "media": [named_file(png_bytes(c), f"{c}.png") for c in ("red", "blue")],
            },
            format="multipart",
            headers={"Idempotency-Key": key},
        )

    return in_threads(2, upload)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_retries_with_one_key_both_get_the_first_answer(owner, monkeypatch):
    answers = uploads_at_once(owner, monkeypatch, names=["twin", "twin"], key="retry-1")
    assert [a.status_code for a in answers] == [201, 201], [a.content for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert Model.objects.count() == 1
    assert len(stored_files()) == 2


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_write_rolled_back_for_a_reused_key_leaves_no_files(owner, monkeypatch):
    # One key, two different models at once: both writes succeed, then one key row clashes with
    # the other and that whole write rolls back, files included.
    answers = uploads_at_once(owner, monkeypatch, names=["model-0", "model-1"], key="shared")
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409], [a.content for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["code"] == "idempotency_key_reused"
    assert Model.objects.count() == 1
    names = {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files()}
    assert names == set(Output.objects.values_list("file", flat=True))
    assert len(names) == 2
