"""leaderboard.get_standings() and get_win_loss_matrix() against the live server."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from versus import NotFoundError, Standings, ValidationError, WinLossMatrix

from evaluation.services.ratings import ratings_recompute
from leaderboards.models import Leaderboard as LeaderboardRow
from tests.rating.boards import add_votes, board, prompts_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Tag standings are cached by leaderboard and snapshot id, which tests reuse."""
    cache.clear()


@pytest.fixture
def voted(owner):
    """A leaderboard with tagged prompts, votes on both, and published standings."""
    leaderboard, models = board(owner, 3, tags=[["photo"], ["art"]], min_votes=5)
    photo, art = prompts_of(leaderboard)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 6, prompt=photo)
    add_votes(leaderboard, [(models[0], models[1], "both_bad")], prompt=photo)
    add_votes(leaderboard, [(models[1], models[0], "left")] * 3, prompt=art)
    add_votes(leaderboard, [(models[2], models[1], "tie")] * 2, prompt=art)
    ratings_recompute(leaderboard_id=leaderboard.pk)
    return leaderboard


def test_it_reads_the_published_standings(versus, voted):
    lb = versus.leaderboard.get_leaderboard_by_id(voted.pk)
    standings = lb.get_standings()
    assert isinstance(standings, Standings)
    assert standings.stored
    assert standings.vote_count == 12
    assert standings.computed_at is not None
    assert standings.leaderboard_id == voted.pk
    assert len(standings) == 3
    first = next(iter(standings))
    assert first.model == "m0"
    assert first.rank == 1
    assert first.ci_low < first.score < first.ci_high
    assert (first.wins, first.losses, first.both_bad, first.votes) == (6, 3, 1, 10)
    assert standings["m2"].ties == 2
    with pytest.raises(KeyError):
        standings["nobody"]


def test_tags_give_standings_of_those_prompts_only(versus, voted):
    lb = versus.leaderboard.get_leaderboard_by_id(voted.pk)
    art = lb.get_standings(tags=["art"])
    assert not art.stored
    assert art.tags == ["art"]
    assert art.vote_count == 5
    assert art["m1"].wins == 3
    assert art["m0"].losses == 3
    with pytest.raises(ValidationError) as error:
        lb.get_standings(tags=["sculpture"])
    assert error.value.field == "tags"
    with pytest.raises(TypeError):
        lb.get_standings(tags="art")  # type: ignore[arg-type]


def test_it_reads_the_head_to_head_matrix(versus, voted):
    lb = versus.leaderboard.get_leaderboard_by_id(voted.pk)
    matrix = lb.get_win_loss_matrix()
    assert isinstance(matrix, WinLossMatrix)
    assert matrix.models == ["m0", "m1", "m2"]
    assert matrix.record("m0", "m1") == (6, 3, 1)
    assert matrix.record("m1", "m2") == (0, 0, 2)
    assert matrix.vote_count == 12
    photo = lb.get_win_loss_matrix(tags=["photo"])
    assert photo.record("m0", "m1") == (6, 0, 1)


def test_standings_of_a_private_board_are_the_owners_alone(
    versus, other_versus, make_client, owner
):
    leaderboard, models = board(owner, 2, name="Secret", is_public=False)
    add_votes(leaderboard, [(models[0], models[1], "left")])
    ratings_recompute(leaderboard_id=leaderboard.pk)
    mine = versus.leaderboard.get_leaderboard_by_id(leaderboard.pk)
    assert mine.get_standings().vote_count == 1
    assert LeaderboardRow.objects.get(pk=leaderboard.pk).is_public is False
    for client in (other_versus, make_client()):
        # The object is private, so others cannot even get it; build the call on the id.
        with pytest.raises(NotFoundError):
            client.leaderboard.get_leaderboard_by_id(leaderboard.pk)
        mine._transport = client._transport
        with pytest.raises(NotFoundError):
            mine.get_standings()
        with pytest.raises(NotFoundError):
            mine.get_win_loss_matrix()


def test_rows_carry_a_live_score_that_follows_new_votes(versus, voted):
    lb = versus.leaderboard.get_leaderboard_by_id(voted.pk)
    published = lb.get_standings()
    assert published.live_votes == 0
    assert all(row.live_score == row.score for row in published if row.score is not None)
    m0, m1, _ = voted.benchmark.models.order_by("id")
    add_votes(voted, [(m1, m0, "left")] * 4)
    live = lb.get_standings()
    assert live.live_votes == 4
    assert live["m1"].score == published["m1"].score
    assert live["m1"].live_score > live["m1"].score


def test_an_anchor_model_set_at_creation_is_fixed_at_1000(versus, owner):
    lb = versus.leaderboard.create_new_leaderboard(
        "Anchored", "Which is better?", ["a cat", "a dog"], anchor_model="m1"
    )
    assert lb.anchor_model == "m1"
    row = LeaderboardRow.objects.get(pk=lb.id)
    models = [row.benchmark.models.create(name=f"m{k}", owner=owner) for k in range(3)]
    add_votes(row, [(models[0], models[1], "left")] * 3 + [(models[1], models[2], "left")] * 2)
    add_votes(row, [(models[2], models[0], "tie"), (models[1], models[0], "left")])
    ratings_recompute(leaderboard_id=row.pk)
    standings = lb.get_standings()
    assert standings.anchor_model == "m1"
    assert standings["m1"].score == standings["m1"].ci_low == 1000.0
    assert standings["m0"].score > 1000.0 > standings["m2"].score
