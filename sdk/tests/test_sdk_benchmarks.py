"""client.benchmark: prompts with tags and assets, leaderboards per tag, text models."""

from __future__ import annotations

import httpx
import pytest
from versus import Benchmark, NotFoundError, Prompt, ValidationError
from versus_testing import PROMPTS, image_bytes

from leaderboards.models import Benchmark as BenchmarkRow
from leaderboards.models import Leaderboard as LeaderboardRow

pytestmark = pytest.mark.django_db(transaction=True)

POEM_PROMPTS = ["A haiku about autumn", "A limerick about a cat"]


def test_it_creates_a_benchmark_with_tags_and_prompt_assets(versus, png_paths):
    bm = versus.benchmark.create_new_benchmark(
        name="Edits",
        prompts=PROMPTS,
        tags=[["landscape", "nature"], ["city"]],
        prompt_assets={PROMPTS[0]: png_paths[0]},
    )
    assert isinstance(bm, Benchmark)
    assert bm.prompt_texts == PROMPTS
    first, second = bm.prompts
    assert isinstance(first, Prompt)
    assert (first.tags, second.tags) == (["landscape", "nature"], ["city"])
    assert first.asset_url is not None
    assert second.asset_url is None
    assert httpx.get(first.asset_url).content == png_paths[0].read_bytes()
    assert bm.leaderboards == []
    assert BenchmarkRow.objects.get(pk=bm.id).owner.username == "owner"


def test_it_takes_prompt_assets_as_a_list_with_gaps(versus):
    asset = image_bytes("green")
    bm = versus.benchmark.create_new_benchmark("Edits", PROMPTS, prompt_assets=[None, asset])
    assert bm.prompts[0].asset_url is None
    assert httpx.get(bm.prompts[1].asset_url).content == asset


def test_it_refuses_an_asset_for_a_prompt_it_does_not_have(versus, png_paths):
    with pytest.raises(ValueError, match="not one of the prompts"):
        versus.benchmark.create_new_benchmark(
            "Edits", PROMPTS, prompt_assets={"Another prompt": png_paths[0]}
        )
    with pytest.raises(ValueError, match="tags: 1 tag lists given for 2 prompts"):
        versus.benchmark.create_new_benchmark("Edits", PROMPTS, tags=[["city"]])
    assert BenchmarkRow.objects.count() == 0


def test_it_adds_a_leaderboard_that_asks_only_about_tagged_prompts(versus):
    bm = versus.benchmark.create_new_benchmark("Art", PROMPTS, tags=[["landscape"], ["city"]])
    lb = bm.create_leaderboard(
        "Landscapes", "Which landscape is more beautiful?", included_tags=["landscape"]
    )
    assert lb.prompts == [PROMPTS[0]]
    assert lb.included_tags == ["landscape"]
    assert lb.benchmark_id == bm.id
    assert [x.id for x in bm.leaderboards] == [lb.id]
    fresh = versus.benchmark.get_benchmark_by_id(bm.id)
    assert [x.name for x in fresh.leaderboards] == ["Landscapes"]
    assert fresh.leaderboards[0].prompts == [PROMPTS[0]]


def test_it_adds_a_leaderboard_that_never_shows_outputs_by_model_name(versus):
    bm = versus.benchmark.create_new_benchmark("Art", PROMPTS)
    lb = bm.create_leaderboard("Blind", "Which image do you prefer?", outputs_public="never")
    assert lb.outputs_public == "never"
    assert bm.refresh().leaderboards[0].outputs_public == "never"
    assert LeaderboardRow.objects.get(pk=lb.id).outputs_public == "never"


def test_it_enters_a_model_on_every_leaderboard_of_the_benchmark(versus, png_paths):
    bm = versus.benchmark.create_new_benchmark("Art", PROMPTS, tags=[["landscape"], ["city"]])
    bm.create_leaderboard("Overall", "Which image do you prefer?")
    bm.create_leaderboard("Cities", "Which city looks more real?", included_tags=["city"])
    model = bm.evaluate_model("Painter", png_paths, PROMPTS)
    assert model.benchmark_id == bm.id
    assert bm.models == ["Painter"]
    assert [lb.refresh().models for lb in bm.leaderboards] == [["Painter"], ["Painter"]]
    assert bm.refresh().media_kind == "image"


def test_it_enters_a_text_model(versus):
    bm = versus.benchmark.create_new_benchmark("Poems", POEM_PROMPTS)
    lb = bm.create_leaderboard("Poetry", "Which poem is better?", show_prompt=True)
    model = bm.evaluate_model(
        "Bard",
        ["Leaves drift to the ground", "There once was a cat from Peru"],
        POEM_PROMPTS,
        data_type="text",
    )
    assert model.output_count == 2
    assert bm.refresh().media_kind == "text"
    assert lb.refresh().models == ["Bard"]
    lb.evaluate_model("Scribe", ["Red leaves", "A cat sat"], POEM_PROMPTS, data_type="text")
    assert sorted(m.name for m in bm.get_models()) == ["Bard", "Scribe"]


def test_it_refuses_media_on_a_text_benchmark(versus, png_paths):
    bm = versus.benchmark.create_new_benchmark("Poems", POEM_PROMPTS)
    bm.evaluate_model("Bard", ["one", "two"], POEM_PROMPTS, data_type="text")
    with pytest.raises(ValidationError) as caught:
        bm.evaluate_model("Painter", png_paths, POEM_PROMPTS)
    assert caught.value.code == "wrong_kind"


def test_it_gets_and_finds_benchmarks(versus, other_versus):
    bm = versus.benchmark.create_new_benchmark("Poems", POEM_PROMPTS, description="Short forms")
    versus.benchmark.create_new_benchmark("Secret poems", POEM_PROMPTS, is_public=False)
    versus.benchmark.create_new_benchmark("Art", PROMPTS)
    again = versus.benchmark.get_benchmark_by_id(bm.id)
    assert (again.name, again.description, again.prompt_texts) == (
        "Poems",
        "Short forms",
        POEM_PROMPTS,
    )
    assert repr(again).startswith(f"Benchmark(id={bm.id}, name='Poems', prompts=2")
    assert {b.name for b in versus.benchmark.find_benchmarks(name="poems")} == {
        "Poems",
        "Secret poems",
    }
    assert [b.name for b in other_versus.benchmark.find_benchmarks(name="poems")] == ["Poems"]
    assert len(versus.benchmark.find_benchmarks(amount=2)) == 2
    with pytest.raises(NotFoundError):
        versus.benchmark.get_benchmark_by_id(10_000)
