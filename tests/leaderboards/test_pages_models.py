"""The per-prompt view and the model page: outputs, per-prompt win rates, history and records."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from evaluation.models import Model, Output, Rating, RatingSnapshot, Vote
from evaluation.selectors import standings_get
from evaluation.services.ratings import ratings_recompute
from leaderboards.selectors import HISTORY_MAX_POINTS, model_history
from tests.factories import make_leaderboard, make_models
from tests.leaderboards.pages_votes import add_simulated_votes, board_with_votes, simulated_battles

pytestmark = pytest.mark.django_db


def _page_data(response: Any) -> dict[str, Any]:
    match = re.search(
        rb'<script id="page-data" type="application/json">(.*?)</script>', response.content, re.S
    )
    assert match
    return json.loads(match.group(1))


def _record_from_votes(board: Any, model_id: int, **filters: Any) -> dict[int, list[int]]:
    """Straight from the Vote rows: opponent or prompt -> [won, lost, drawn]."""
    record: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    key = filters.pop("by", "opponent")
    for vote in Vote.objects.filter(leaderboard=board, **filters):
        if model_id not in (vote.left_model_id, vote.right_model_id):
            continue
        is_left = vote.left_model_id == model_id
        opponent = vote.right_model_id if is_left else vote.left_model_id
        slot = record[opponent if key == "opponent" else vote.prompt_id]
        if vote.choice in ("tie", "both_bad"):
            slot[2] += 1
        elif (vote.choice == "left") == is_left:
            slot[0] += 1
        else:
            slot[1] += 1
    return record


def _rate(won: int, lost: int, drawn: int) -> str:
    return f"{100 * (won + drawn / 2) / (won + lost + drawn):.1f}%"


@pytest.fixture
def board(owner: Any) -> Any:
    return board_with_votes(owner)


def test_it_shows_every_models_output_on_each_prompt_with_its_win_rate_there(
    client: Client, board: Any
) -> None:
    response = client.get(f"/leaderboards/{board.pk}/prompts/")
    assert response.status_code == 200
    html = response.content.decode()
    models = list(Model.objects.filter(benchmark=board.benchmark))
    for prompt in board.benchmark.prompts.all():
        section = html.split(f'id="prompt-{prompt.pk}"', 1)[1].split("</section>", 1)[0]
        assert prompt.text in section
        for model in models:
            item = section.split(f'data-model-id="{model.pk}"', 1)[1].split("</li>", 1)[0]
            output = Output.objects.get(model=model, prompt=prompt)
            # Galleries name the model, so never with the opaque address voters see.
            assert f"/leaderboards/{board.pk}/outputs/{output.pk}" in item
            assert str(output.public_id) not in html
            won, lost, drawn = _record_from_votes(board, model.pk, by="prompt")[prompt.pk]
            shown = re.search(r'data-field="prompt-win-rate">([^<]*)<', item).group(1)
            assert shown == _rate(won, lost, drawn)
            assert f"{won + lost + drawn:,} vote" in item


def test_it_orders_each_prompts_outputs_by_their_win_rate_there(client: Client, board: Any) -> None:
    html = client.get(f"/leaderboards/{board.pk}/prompts/").content.decode()
    for section in html.split('class="panel prompt-result"')[1:]:
        rates = [
            float(x.rstrip("%"))
            for x in re.findall(r'data-field="prompt-win-rate">([^<]*)<', section)
        ]
        assert rates == sorted(rates, reverse=True)


def test_it_filters_prompts_by_tag_and_shows_one_prompt(client: Client, board: Any) -> None:
    landscape = [p for p in board.benchmark.prompts.all() if "landscape" in p.tags]
    html = client.get(f"/leaderboards/{board.pk}/prompts/", {"tag": "landscape"}).content.decode()
    assert html.count('class="panel prompt-result"') == 2
    for prompt in landscape:
        assert f'id="prompt-{prompt.pk}"' in html
    one = landscape[0]
    html = client.get(f"/leaderboards/{board.pk}/prompts/", {"prompt": one.pk}).content.decode()
    assert html.count('class="panel prompt-result"') == 1
    assert f'id="prompt-{one.pk}"' in html


def test_it_hides_prompt_texts_the_leaderboard_does_not_show(client: Client, owner: Any) -> None:
    board = make_leaderboard(owner, prompts=["A secret prompt"], show_prompt=False)
    make_models(board, 2)
    html = client.get(f"/leaderboards/{board.pk}/prompts/").content.decode()
    assert "A secret prompt" not in html
    assert "Prompt #1" in html


def test_it_pages_prompts_so_a_page_holds_about_a_hundred_outputs(
    client: Client, owner: Any
) -> None:
    board = make_leaderboard(owner, prompts=[f"prompt {k}" for k in range(12)])
    make_models(board, 3)
    first = client.get(f"/leaderboards/{board.pk}/prompts/").content.decode()
    assert first.count('class="panel prompt-result"') == 10
    second = client.get(f"/leaderboards/{board.pk}/prompts/", {"page": 2}).content.decode()
    assert second.count('class="panel prompt-result"') == 2
    assert "Page 2 of 2" in second


def test_it_serves_gallery_outputs_of_the_board_only(
    client: Client, owner: Any, board: Any
) -> None:
    output = Output.objects.filter(model__benchmark=board.benchmark).first()
    response = client.get(f"/leaderboards/{board.pk}/outputs/{output.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    other = make_leaderboard(owner, name="Other")
    assert client.get(f"/leaderboards/{other.pk}/outputs/{output.pk}").status_code == 404


def test_it_shows_a_models_numbers_record_and_outputs(client: Client, board: Any) -> None:
    rows = standings_get(leaderboard=board).rows
    row = rows[1]
    response = client.get(f"/leaderboards/{board.pk}/models/{row.model_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    card = html.split('class="panel model-card"', 1)[1].split("</section>", 1)[0]
    assert f'data-field="score">{row.score:.0f}<' in card
    assert f'data-field="votes">{row.votes:,}<' in card
    assert f'data-field="win_rate">{100 * row.win_rate:.1f}%<' in card
    record = _record_from_votes(board, row.model_id)
    table = html.split('id="record-table"', 1)[1].split("</table>", 1)[0]
    for other in rows:
        if other.model_id == row.model_id:
            continue
        tr = table.split(f'data-model-id="{other.model_id}"', 1)[1].split("</tr>", 1)[0]
        won, lost, drawn = record[other.model_id]
        assert f'data-field="wins">{won}<' in tr
        assert f'data-field="losses">{lost}<' in tr
        assert f'data-field="ties">{drawn}<' in tr
        assert _rate(won, lost, drawn) in tr
        predicted = 1 / (1 + 10 ** ((other.score - row.score) / 400))
        assert f'data-field="predicted">{100 * predicted:.1f}%<' in tr
    for output in Output.objects.filter(model_id=row.model_id):
        assert f"/leaderboards/{board.pk}/outputs/{output.pk}" in html
    assert "<title>" + row.model in html


def test_it_draws_a_models_score_history_from_every_snapshot(client: Client, owner: Any) -> None:
    board = make_leaderboard(owner, prompts=["p"])
    names = ["a", "b", "c", "d", "e"]
    models = {
        n: Model.objects.create(benchmark=board.benchmark, name=n, owner=owner) for n in names
    }
    prompt = board.benchmark.prompts.get()
    start = timezone.now() - timedelta(hours=5)
    for step in range(3):
        battles = simulated_battles(names, 200, seed=step)
        Vote.objects.bulk_create(
            Vote(
                leaderboard=board,
                prompt=prompt,
                left_model=models[a],
                right_model=models[b],
                choice=c,
            )
            for a, b, c, _ in battles
        )
        ratings_recompute(leaderboard_id=board.pk, now=start + timedelta(hours=step))
    data = _page_data(client.get(f"/leaderboards/{board.pk}/models/{models['a'].pk}/"))
    history = data["history"]
    assert len(history) == 3
    assert [h["votes"] for h in history] == sorted(h["votes"] for h in history)
    for point in history:
        assert point["ci_low"] < point["score"] < point["ci_high"]
    latest = next(r for r in standings_get(leaderboard=board).rows if r.model_id == models["a"].pk)
    assert history[-1]["score"] == latest.score


def test_it_thins_a_long_score_history_evenly_over_time_keeping_first_and_latest(
    client: Client, owner: Any
) -> None:
    board = make_leaderboard(owner, prompts=["p"])
    models = make_models(board, 4)
    start = timezone.now() - timedelta(days=10)
    add_simulated_votes(board, models, 200)
    published = RatingSnapshot.objects.get(leaderboard=board)
    rated = list(published.ratings.all())
    # 3,000 more snapshots of the rater's numbers, as a busy board keeps them: 2,000 in one
    # burst hour (one every 1.8 s), the rest spread over ten days.
    times = [start + timedelta(seconds=1.8 * k) for k in range(2000)]
    times += [start + timedelta(hours=1) + timedelta(minutes=14 * k) for k in range(1000)]
    snapshots = RatingSnapshot.objects.bulk_create(
        RatingSnapshot(
            leaderboard=board,
            created=at,
            vote_count=published.vote_count,
            model_count=published.model_count,
            tie_model=published.tie_model,
        )
        for at in times
    )
    Rating.objects.bulk_create(
        Rating(
            snapshot=snapshot,
            model_id=r.model_id,
            rank=r.rank,
            score=r.score + k / 100,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
            votes=r.votes,
        )
        for k, snapshot in enumerate(snapshots)
        for r in rated
    )
    add_simulated_votes(board, models, 100)  # the latest snapshot, after all of those
    latest = RatingSnapshot.objects.filter(leaderboard=board).latest()
    model = models[0]
    history = model_history(leaderboard=board, model_id=model.pk)
    assert 300 <= len(history) <= HISTORY_MAX_POINTS
    assert [p.at for p in history] == sorted({p.at for p in history})
    assert history[0].at == times[0]
    assert history[-1].at == latest.created
    assert history[-1].score == latest.ratings.get(model=model).score
    # Even over time, not over snapshots: the burst hour (1/240 of the span) gets a few points.
    burst = [p for p in history if p.at <= times[1999]]
    assert len(burst) <= 5
    data = _page_data(client.get(f"/leaderboards/{board.pk}/models/{model.pk}/"))
    assert len(data["history"]) == len(history)
    assert data["history"][-1]["score"] == history[-1].score


def test_it_answers_404_for_a_model_of_another_benchmark(
    client: Client, owner: Any, board: Any
) -> None:
    other = make_leaderboard(owner, name="Other board")
    stranger = make_models(other, 1)[0]
    assert client.get(f"/leaderboards/{board.pk}/models/{stranger.pk}/").status_code == 404


def test_it_reads_the_gallery_and_model_pages_in_a_fixed_number_of_queries(
    client: Client, owner: Any, django_assert_max_num_queries: Any
) -> None:
    for count in (3, 9):
        board = make_leaderboard(owner, name=f"Board {count}", prompts=["p1", "p2", "p3"])
        models = make_models(board, count)
        add_simulated_votes(board, models, 40 * count)
        # Each counts one query for the benchmark's boards that still take votes with their
        # outputs hidden (`outputs_publication`).
        with django_assert_max_num_queries(10):
            client.get(f"/leaderboards/{board.pk}/prompts/")
        # 14: the prompts' ids and tags, then the texts of the page's prompts only.
        with django_assert_max_num_queries(14):
            client.get(f"/leaderboards/{board.pk}/models/{models[0].pk}/")


def test_it_shows_a_model_without_votes_yet(client: Client, owner: Any) -> None:
    board = make_leaderboard(owner, name="Fresh board")
    model = make_models(board, 2)[0]
    response = client.get(f"/leaderboards/{board.pk}/models/{model.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No published score yet." in html
    assert "unrated" in html
    assert client.get(f"/leaderboards/{board.pk}/prompts/").status_code == 200
