"""evaluate_model: uploads from paths and bytes, typed refusals, local checks, the progress bar."""

from __future__ import annotations

import pytest
from versus import (
    ConflictError,
    Leaderboard,
    Model,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    VersusClient,
)
from versus_testing import PROMPTS, Recorder, image_bytes

from evaluation.models import Model as ModelRow

pytestmark = pytest.mark.django_db(transaction=True)


def create_art(client: VersusClient, **kwargs) -> Leaderboard:
    return client.leaderboard.create_new_leaderboard(
        name="AI Art Competition",
        instruction="Which image do you prefer?",
        prompts=PROMPTS,
        **kwargs,
    )


def test_it_enters_a_model_from_file_paths(versus, png_paths):
    lb = create_art(versus)
    model = lb.evaluate_model(
        name="MyAIModel_v2.1", media=[str(p) for p in png_paths], prompts=PROMPTS
    )
    assert isinstance(model, Model)
    assert model.name == "MyAIModel_v2.1"
    assert model.benchmark_id == lb.benchmark_id
    assert model.output_count == 2
    assert model.owner == "owner"
    assert lb.models == ["MyAIModel_v2.1"]
    assert versus.leaderboard.get_leaderboard_by_id(lb.id).models == ["MyAIModel_v2.1"]
    row = ModelRow.objects.get()
    outputs = row.outputs.order_by("prompt__position")
    assert [o.prompt.text for o in outputs] == PROMPTS
    assert [o.file.read() for o in outputs] == [p.read_bytes() for p in png_paths]


def test_it_enters_a_model_from_bytes_named_by_their_format(versus):
    lb = create_art(versus)
    model = lb.evaluate_model(
        "Painter",
        [image_bytes("red", format="JPEG"), image_bytes("green", format="JPEG")],
        PROMPTS,
        metadata={"steps": 30, "sampler": "euler"},
    )
    assert model.metadata == {"steps": 30, "sampler": "euler"}
    assert {o.content_type for o in ModelRow.objects.get().outputs.all()} == {"image/jpeg"}
    assert lb.refresh().models == ["Painter"]


def test_it_lists_the_models_with_their_metadata(versus, png_paths):
    lb = create_art(versus)
    lb.evaluate_model("A", png_paths, PROMPTS, metadata={"seed": 1})
    models = lb.get_models()
    assert [(m.name, m.metadata, m.output_count) for m in models] == [("A", {"seed": 1}, 2)]
    assert repr(models[0]).startswith("Model(id=")


def test_it_names_the_unknown_prompt(versus, png_paths):
    lb = create_art(versus)
    with pytest.raises(ValidationError) as caught:
        lb.evaluate_model("M", png_paths, [PROMPTS[0], "A cat wearing a tiny hat"])
    error = caught.value
    assert "A cat wearing a tiny hat" in error.message
    assert "A cat wearing a tiny hat" in str(error)
    assert (error.status_code, error.code, error.field) == (400, "unknown_prompt", "prompts[1]")
    assert ModelRow.objects.count() == 0


def test_it_refuses_a_second_model_with_the_same_name(versus, png_paths):
    lb = create_art(versus)
    lb.evaluate_model("Twin", png_paths, PROMPTS)
    with pytest.raises(ConflictError) as caught:
        lb.evaluate_model("Twin", list(reversed(png_paths)), PROMPTS)
    assert (caught.value.status_code, caught.value.code, caught.value.field) == (
        409,
        "exists",
        "name",
    )
    assert "Twin" in caught.value.message
    assert ModelRow.objects.count() == 1


def test_it_refuses_entries_on_another_owners_leaderboard(versus, other_versus, png_paths):
    lb = create_art(versus)
    theirs = other_versus.leaderboard.get_leaderboard_by_id(lb.id)
    with pytest.raises(PermissionDenied) as caught:
        theirs.evaluate_model("Intruder", png_paths, PROMPTS)
    assert caught.value.status_code == 403
    assert ModelRow.objects.count() == 0


def test_it_refuses_entries_on_another_owners_private_leaderboard(versus, other_versus, png_paths):
    lb = create_art(versus, is_public=False)
    hidden = Leaderboard.from_json(
        {"id": lb.id, "name": "?", "instruction": "?"}, other_versus._transport
    )
    with pytest.raises(NotFoundError):
        hidden.evaluate_model("Intruder", png_paths, PROMPTS)
    assert ModelRow.objects.count() == 0


def test_it_checks_the_arguments_before_sending_anything(make_client, owner, png_paths, tmp_path):
    recorder = Recorder()
    lb = create_art(make_client(owner, transport=recorder))
    recorder.requests.clear()
    with pytest.raises(ValueError, match="1 outputs given for 2 prompts"):
        lb.evaluate_model("M", png_paths[:1], PROMPTS)
    with pytest.raises(FileNotFoundError, match=r"media\[1\]: no such file"):
        lb.evaluate_model("M", [png_paths[0], tmp_path / "missing.png"], PROMPTS)
    with pytest.raises(ValueError, match="give each prompt once"):
        lb.evaluate_model("M", png_paths, [PROMPTS[0], PROMPTS[0]])
    with pytest.raises(TypeError, match="media: give a list"):
        lb.evaluate_model("M", str(png_paths[0]), PROMPTS[:1])
    with pytest.raises(TypeError, match="data_type='text' takes strings"):
        lb.evaluate_model("M", png_paths, PROMPTS, data_type="text")
    with pytest.raises(ValueError, match="data_type"):
        lb.evaluate_model("M", png_paths, PROMPTS, data_type="video")
    assert recorder.requests == []


def test_it_draws_a_progress_bar_on_stderr_when_asked(versus, png_paths, capsys):
    lb = create_art(versus)
    lb.evaluate_model("Shown", png_paths, PROMPTS, progress=True)
    err = capsys.readouterr().err
    total = sum(p.stat().st_size for p in png_paths)
    assert "Uploading Shown" in err
    assert "100%" in err
    assert f"{total} B/{total} B" in err
    assert err.endswith("\n")


def test_it_draws_no_progress_bar_when_stderr_is_not_a_terminal(
    make_client, owner, png_paths, capsys
):
    lb = create_art(make_client(owner, progress=None))
    lb.evaluate_model("Quiet", png_paths, PROMPTS)
    assert capsys.readouterr().err == ""
