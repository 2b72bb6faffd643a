"""The rater's services on real Vote rows: counting, exclusions, board options, snapshots."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.core.cache import cache
from django.utils import timezone
from scipy.optimize import minimize  # type: ignore[import-untyped, unused-ignore]

from config.errors import Invalid, NotFound
from evaluation.models import PairCount, RatingSnapshot, Vote
from evaluation.rating import (
    BOTH_BAD,
    DEFAULT_RIDGE,
    LEFT,
    RIGHT,
    SCORE_CENTRE,
    SCORE_PER_THETA,
    TIE,
    PairCounts,
    compute_standings,
)
from evaluation.selectors import (
    board_counts_get,
    ratings_due,
    snapshot_rows,
    standings_get,
    win_loss_matrix,
)
from evaluation.services.ratings import (
    pair_counts_update,
    ratings_bootstrap,
    ratings_rebuild,
    ratings_recompute,
    snapshots_thin,
)
from tests.rating.boards import add_votes, board, prompts_of, random_votes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Tag standings are cached by leaderboard and snapshot id, which tests reuse."""
    cache.clear()


CODES = {"left": LEFT, "right": RIGHT, "tie": TIE, "both_bad": BOTH_BAD}


def scores(snapshot: RatingSnapshot) -> dict[str, float | None]:
    return {row.model.name: row.score for row in snapshot_rows(snapshot=snapshot)}


def test_it_publishes_the_fit_of_the_votes_with_every_model_and_unrated_ones_last(owner):
    leaderboard, models = board(owner, 5, min_votes=10)
    votes = random_votes(models[:4], 300, seed=1)
    add_votes(leaderboard, votes)
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)

    index = {m.pk: k for k, m in enumerate(models)}
    expected = compute_standings(
        PairCounts.from_votes(
            [index[a.pk] for a, _, _ in votes],
            [index[b.pk] for _, b, _ in votes],
            [CODES[c] for _, _, c in votes],
            n_models=5,
        ),
        min_votes=10,
    )
    rows = snapshot_rows(snapshot=snapshot)
    assert [r.model.name for r in rows][-1] == "m4"
    for row in rows:
        k = index[row.model_id]
        if k == 4:
            assert (row.score, row.rank, row.component, row.win_rate) == (None, None, None, None)
            assert row.votes == 0
            assert row.provisional
            continue
        assert row.score == pytest.approx(expected.score[k], abs=1e-9)
        assert row.ci_low == pytest.approx(expected.ci_low[k], abs=1e-9)
        assert row.rank == expected.rank[k]
        assert row.wins == expected.wins[k]
        assert row.component == 0
    assert snapshot.vote_count == 300
    assert snapshot.model_count == 5
    assert snapshot.options["tie_model"] == "half"


def test_published_scores_are_the_map_fit_of_the_stored_votes_and_near_the_mle(owner):
    # The path that publishes (votes in the database -> counters -> fit -> snapshot) against
    # scipy maximising the likelihood of the same votes (ties and both-bad as half), with the
    # rater's prior and without it.
    leaderboard, models = board(owner, 6)
    first, second = prompts_of(leaderboard)
    strength = [1.2, 0.6, 0.3, 0.0, -0.5, -1.1]
    add_votes(leaderboard, random_votes(models, 500, seed=7, strength=strength), prompt=first)
    add_votes(leaderboard, random_votes(models, 400, seed=8, strength=strength), prompt=second)
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)

    index = {m.pk: k for k, m in enumerate(models)}
    stored = np.array(
        [
            (index[left], index[right], {"left": 1.0, "right": 0.0}.get(choice, 0.5))
            for left, right, choice in Vote.objects.values_list(
                "left_model_id", "right_model_id", "choice"
            )
        ]
    )
    left, right, result = stored[:, 0].astype(int), stored[:, 1].astype(int), stored[:, 2]

    def fit(ridge: float) -> np.ndarray:
        def negative_log_posterior(theta: np.ndarray) -> tuple[float, np.ndarray]:
            d = theta[left] - theta[right]
            spread = theta - theta.mean()
            value = -(result @ d - np.logaddexp(0.0, d).sum()) + 0.5 * ridge * spread @ spread
            residual = result - 1.0 / (1.0 + np.exp(-d))
            gradient = np.bincount(right, residual, 6) - np.bincount(left, residual, 6)
            return float(value), gradient + ridge * spread

        theta = minimize(
            negative_log_posterior, np.zeros(6), jac=True, method="BFGS", options={"gtol": 1e-12}
        ).x
        return np.asarray(theta - theta.mean())

    published = np.array(
        [
            (row.score - SCORE_CENTRE) / SCORE_PER_THETA
            for row in sorted(snapshot.ratings.all(), key=lambda row: index[row.model_id])
        ]
    )
    assert np.abs(published - fit(DEFAULT_RIDGE)).max() < 1e-6
    # The prior moves the strengths by 1.6e-4 here (0.03 score points): far inside the intervals.
    assert np.abs(published - fit(0.0)).max() < 3e-4


def test_it_counts_each_vote_exactly_once_across_runs(owner):
    leaderboard, models = board(owner, 3)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 4)
    assert pair_counts_update(leaderboard_id=leaderboard.pk) == 4
    assert pair_counts_update(leaderboard_id=leaderboard.pk) == 0
    ratings_recompute(leaderboard_id=leaderboard.pk)
    add_votes(leaderboard, [(models[1], models[0], "left"), (models[2], models[0], "tie")])
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
    assert snapshot.vote_count == 6
    row = PairCount.objects.get(model_a=models[0], model_b=models[1])
    assert (row.a_wins, row.b_wins, row.ties, row.both_bad) == (4, 1, 0, 0)
    assert Vote.objects.filter(counted=False).count() == 0


def test_it_leaves_out_excluded_votes(owner):
    leaderboard, models = board(owner, 3)
    fair = random_votes(models, 120, seed=2)
    add_votes(leaderboard, fair)
    add_votes(leaderboard, [(models[2], models[0], "left")] * 50, excluded="too_fast")
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)

    clean, _ = board(owner, 3, name="Clean")
    clean_models = list(clean.benchmark.models.order_by("id"))
    add_votes(
        clean,
        [(clean_models[int(a.name[1:])], clean_models[int(b.name[1:])], c) for a, b, c in fair],
    )
    reference = ratings_recompute(leaderboard_id=clean.pk)
    assert scores(snapshot) == pytest.approx(scores(reference), abs=1e-9)
    assert snapshot.vote_count == 120
    assert snapshot.excluded_count == 50


def test_it_takes_out_a_vote_excluded_after_counting_and_puts_it_back_when_lifted(owner):
    leaderboard, models = board(owner, 2)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 3)
    late = add_votes(leaderboard, [(models[1], models[0], "left")] * 2)
    assert ratings_recompute(leaderboard_id=leaderboard.pk).vote_count == 5

    Vote.objects.filter(pk__in=[v.pk for v in late]).update(excluded="flagged")
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
    row = PairCount.objects.get(model_a=models[0])
    assert (row.a_wins, row.b_wins) == (3, 0)
    assert (snapshot.vote_count, snapshot.excluded_count) == (5 - 2, 2)

    Vote.objects.filter(pk__in=[v.pk for v in late]).update(excluded="")
    assert ratings_recompute(leaderboard_id=leaderboard.pk).vote_count == 5
    row.refresh_from_db()
    assert (row.a_wins, row.b_wins) == (3, 2)


def test_an_inverse_board_ranks_the_model_picked_as_worse_least_often_first(owner):
    normal, models = board(owner, 3, name="Better")
    inverse, inverse_models = board(owner, 3, name="Worse", inverse_ranking=True)
    picks = [(0, 1, "left")] * 8 + [(1, 2, "left")] * 8 + [(0, 2, "left")] * 8 + [(1, 0, "left")]
    add_votes(normal, [(models[a], models[b], c) for a, b, c in picks])
    add_votes(inverse, [(inverse_models[a], inverse_models[b], c) for a, b, c in picks])
    better = snapshot_rows(snapshot=ratings_recompute(leaderboard_id=normal.pk))
    worse = snapshot_rows(snapshot=ratings_recompute(leaderboard_id=inverse.pk))
    assert [r.model.name for r in better] == ["m0", "m1", "m2"]
    assert [r.model.name for r in worse] == ["m2", "m1", "m0"]
    # Picked as worse 16 times out of 16: on the inverse board that is 16 losses.
    assert worse[-1].losses == 16
    assert worse[-1].wins == 1


def test_repeat_votes_count_each_by_default_or_their_majority_with_splits_as_ties(owner):
    results = {}
    for option in ("each", "majority"):
        leaderboard, models = board(owner, 3, name=option, repeat_votes=option)
        first, second = prompts_of(leaderboard)
        add_votes(leaderboard, [(models[0], models[1], "left")] * 2, prompt=first)
        add_votes(leaderboard, [(models[1], models[0], "left")], prompt=first)
        # A split: one vote each way on another prompt becomes one tie.
        add_votes(leaderboard, [(models[0], models[1], "left")], prompt=second)
        add_votes(leaderboard, [(models[0], models[1], "right")], prompt=second)
        # Imported battles have no prompt to group by: they count one each either way.
        imported = add_votes(leaderboard, [(models[1], models[2], "left")] * 3)
        Vote.objects.filter(pk__in=[v.pk for v in imported]).update(prompt=None, is_imported=True)
        snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
        results[option] = {r.model.name: r for r in snapshot_rows(snapshot=snapshot)}
        assert snapshot.vote_count == 8
    each, majority = results["each"], results["majority"]
    assert (each["m0"].wins, each["m0"].losses, each["m0"].ties) == (3, 2, 0)
    assert (majority["m0"].wins, majority["m0"].losses, majority["m0"].ties) == (1, 0, 1)
    assert (majority["m1"].wins, majority["m2"].losses) == (3, 3)


def test_a_majority_board_that_drops_both_bad_drops_them_before_taking_the_majority(owner):
    leaderboard, models = board(owner, 2, repeat_votes="majority", both_bad="drop")
    first, second = prompts_of(leaderboard)
    add_votes(leaderboard, [(models[0], models[1], "both_bad")] * 2, prompt=first)
    add_votes(leaderboard, [(models[0], models[1], "left")], prompt=first)
    add_votes(leaderboard, [(models[1], models[0], "both_bad")] * 2, prompt=second)
    rows = {
        r.model.name: r
        for r in snapshot_rows(snapshot=ratings_recompute(leaderboard_id=leaderboard.pk))
    }
    # The win survives the two both-bad votes; the both-bad-only prompt is still reported.
    assert (rows["m0"].wins, rows["m1"].losses, rows["m0"].both_bad) == (1, 1, 1)
    assert rows["m0"].score > rows["m1"].score


def test_a_board_with_no_prompt_votes_uses_every_imported_vote(owner):
    leaderboard, models = board(owner, 2, repeat_votes="majority")
    Vote.objects.bulk_create(
        Vote(
            leaderboard=leaderboard,
            left_model=models[0],
            right_model=models[1],
            choice="left",
            is_imported=True,
        )
        for _ in range(4)
    )
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
    assert {r.model.name: r.wins for r in snapshot_rows(snapshot=snapshot)} == {"m0": 4, "m1": 0}


def test_the_same_votes_stored_in_any_order_give_identical_standings(owner):
    first, models_a = board(owner, 4, name="A")
    second, models_b = board(owner, 4, name="B")
    votes = random_votes(models_a, 200, seed=3)
    order = np.random.default_rng(9).permutation(len(votes))
    add_votes(first, votes)
    add_votes(
        second,
        [
            (models_b[int(votes[k][0].name[1:])], models_b[int(votes[k][1].name[1:])], votes[k][2])
            for k in order
        ],
    )
    a = snapshot_rows(snapshot=ratings_recompute(leaderboard_id=first.pk))
    b = snapshot_rows(snapshot=ratings_recompute(leaderboard_id=second.pk))
    fields = ("score", "ci_low", "ci_high", "rank", "wins", "ties", "win_rate")
    assert [(r.model.name, *(getattr(r, f) for f in fields)) for r in a] == [
        (r.model.name, *(getattr(r, f) for f in fields)) for r in b
    ]


def test_tags_fit_only_the_votes_on_prompts_with_those_tags_and_store_nothing(owner):
    leaderboard, models = board(owner, 2, tags=[["photo"], ["art", "hard"]])
    photo, art = prompts_of(leaderboard)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 6, prompt=photo)
    add_votes(leaderboard, [(models[1], models[0], "left")] * 4, prompt=art)
    ratings_recompute(leaderboard_id=leaderboard.pk)
    snapshots = RatingSnapshot.objects.count()

    view = standings_get(leaderboard=leaderboard, tags=["art"])
    assert not view.stored
    assert view.vote_count == 4
    assert [r.model for r in view.rows] == ["m1", "m0"]
    assert view.rows[0].wins == 4
    assert RatingSnapshot.objects.count() == snapshots
    assert standings_get(leaderboard=leaderboard, tags=["art", "photo"]).vote_count == 10
    with pytest.raises(Invalid, match=r"'nope'.*its tags are: art, hard, photo") as error:
        standings_get(leaderboard=leaderboard, tags=["nope"])
    assert error.value.field == "tags"


def test_standings_before_the_first_fit_list_every_model_unrated(owner):
    leaderboard, _ = board(owner, 2)
    view = standings_get(leaderboard=leaderboard)
    assert view.computed_at is None
    assert [(r.model, r.score, r.votes) for r in view.rows] == [("m0", None, 0), ("m1", None, 0)]


def test_the_win_loss_matrix_rows_add_up_to_the_standings_wins(owner):
    leaderboard, models = board(owner, 3, repeat_votes="majority")
    prompts = prompts_of(leaderboard)
    for k, prompt in enumerate(prompts):
        add_votes(leaderboard, random_votes(models, 40, seed=k), prompt=prompt)
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
    matrix = win_loss_matrix(leaderboard=leaderboard)
    assert matrix.models == ["m0", "m1", "m2"]
    wins = {r.model.name: r.wins for r in snapshot_rows(snapshot=snapshot)}
    ties = {r.model.name: r.ties for r in snapshot_rows(snapshot=snapshot)}
    for k, name in enumerate(matrix.models):
        assert sum(matrix.wins[k]) == wins[name]
        assert sum(matrix.ties[k]) == ties[name]
        assert matrix.wins[k][k] == 0
    assert matrix.vote_count == 80


def test_rebuild_from_scratch_gives_what_the_incremental_counts_gave(owner):
    leaderboard, models = board(owner, 4)
    add_votes(leaderboard, random_votes(models, 100, seed=4))
    ratings_recompute(leaderboard_id=leaderboard.pk)
    add_votes(leaderboard, random_votes(models, 50, seed=5))
    incremental = ratings_recompute(leaderboard_id=leaderboard.pk)
    counters = sorted(PairCount.objects.values_list("model_a", "model_b", "a_wins", "ties"))
    rebuilt = ratings_rebuild(leaderboard_id=leaderboard.pk)
    assert sorted(PairCount.objects.values_list("model_a", "model_b", "a_wins", "ties")) == (
        counters
    )
    assert scores(rebuilt) == scores(incremental)
    assert rebuilt.vote_count == 150


def test_bootstrap_adds_rank_intervals_to_the_newest_snapshot_only(owner):
    leaderboard, models = board(owner, 4)
    add_votes(leaderboard, random_votes(models, 200, seed=6))
    older = ratings_recompute(leaderboard_id=leaderboard.pk)
    newer = ratings_recompute(leaderboard_id=leaderboard.pk)
    assert not ratings_bootstrap(snapshot_id=older.pk)
    assert ratings_bootstrap(snapshot_id=newer.pk, rounds=30)
    newer.refresh_from_db()
    assert newer.has_bootstrap
    for row in snapshot_rows(snapshot=newer):
        assert 1 <= row.rank_low <= row.rank_high <= 4
    assert all(row.rank_low is None for row in snapshot_rows(snapshot=older))


def test_bootstrap_skips_a_snapshot_whose_votes_have_moved_on(owner):
    leaderboard, models = board(owner, 3)
    add_votes(leaderboard, random_votes(models, 60, seed=7))
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
    add_votes(leaderboard, random_votes(models, 5, seed=8))
    pair_counts_update(leaderboard_id=leaderboard.pk)
    assert not ratings_bootstrap(snapshot_id=snapshot.pk)


def test_a_missing_leaderboard_is_not_found(db):
    with pytest.raises(NotFound):
        ratings_recompute(leaderboard_id=987654)


def test_the_sweep_finds_new_votes_changed_settings_new_models_and_missing_bootstraps(owner):
    quiet, models = board(owner, 2, name="Quiet")
    add_votes(quiet, [(models[0], models[1], "left")])
    old = timezone.now() - timedelta(hours=1)
    ratings_recompute(leaderboard_id=quiet.pk, now=old)
    assert ratings_due() == ([], [RatingSnapshot.objects.get().pk])
    ratings_bootstrap(snapshot_id=RatingSnapshot.objects.get().pk)
    assert ratings_due() == ([], [])

    add_votes(quiet, [(models[1], models[0], "tie")])
    assert ratings_due()[0] == [quiet.pk]
    ratings_recompute(leaderboard_id=quiet.pk)
    assert ratings_due() == ([], [])

    quiet.tie_model = "davidson"
    quiet.save()
    assert ratings_due()[0] == [quiet.pk]
    ratings_recompute(leaderboard_id=quiet.pk)
    assert ratings_due()[0] == []

    board(owner, 0, name="Empty")  # no votes and no snapshot: nothing to do
    models[0].__class__.objects.create(benchmark=quiet.benchmark, name="late", owner=owner)
    assert ratings_due()[0] == [quiet.pk]


def test_thinning_keeps_the_last_day_and_one_snapshot_per_older_hour(owner):
    leaderboard, models = board(owner, 2)
    add_votes(leaderboard, [(models[0], models[1], "left")])
    now = timezone.now().replace(minute=30)
    for minutes in (0, 5, 10, 70, 24 * 60 + 5, 24 * 60 + 10, 24 * 60 + 70):
        ratings_recompute(leaderboard_id=leaderboard.pk, now=now - timedelta(minutes=minutes))
    assert snapshots_thin(leaderboard_id=leaderboard.pk, now=now) == 1
    assert RatingSnapshot.objects.count() == 6


def test_board_counts_sum_the_counters_of_every_prompt(owner):
    leaderboard, models = board(owner, 2)
    first, second = prompts_of(leaderboard)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 2, prompt=first)
    add_votes(leaderboard, [(models[1], models[0], "both_bad")], prompt=second)
    pair_counts_update(leaderboard_id=leaderboard.pk)
    counts = board_counts_get(leaderboard=leaderboard).counts
    assert (counts.wins_i.tolist(), counts.both_bad.tolist(), counts.total) == ([2.0], [1.0], 3.0)


def test_tag_standings_are_reused_until_the_next_snapshot(owner):
    leaderboard, models = board(owner, 2, tags=[["photo"], ["art"]])
    photo, _ = prompts_of(leaderboard)
    add_votes(leaderboard, [(models[0], models[1], "left")] * 2, prompt=photo)
    ratings_recompute(leaderboard_id=leaderboard.pk)
    first = standings_get(leaderboard=leaderboard, tags=["photo"])
    assert standings_get(leaderboard=leaderboard, tags=["photo"]) == first
    add_votes(leaderboard, [(models[1], models[0], "left")] * 3, prompt=photo)
    assert standings_get(leaderboard=leaderboard, tags=["photo"]) == first  # not published yet
    ratings_recompute(leaderboard_id=leaderboard.pk)
    assert standings_get(leaderboard=leaderboard, tags=["photo"]).vote_count == 5


def test_an_anchored_board_fixes_its_anchor_at_1000_once_it_has_votes(owner):
    anchored, models = board(owner, 4, name="Anchored", anchor_model="m2")
    free, free_models = board(owner, 4, name="Free")
    votes = random_votes(models[:3], 200, seed=4)
    add_votes(anchored, votes)
    add_votes(
        free, [(free_models[int(a.name[1:])], free_models[int(b.name[1:])], c) for a, b, c in votes]
    )
    snapshot = ratings_recompute(leaderboard_id=anchored.pk)
    rows = {r.model.name: r for r in snapshot_rows(snapshot=snapshot)}
    reference = scores(ratings_recompute(leaderboard_id=free.pk))

    assert rows["m2"].score == 1000.0
    assert rows["m2"].ci_low == rows["m2"].ci_high == 1000.0
    for name in ("m0", "m1"):
        assert rows[name].score - 1000.0 == pytest.approx(
            reference[name] - reference["m2"], abs=1e-9
        )
    assert standings_get(leaderboard=anchored).anchor_model == "m2"
    assert standings_get(leaderboard=free).anchor_model is None
    assert ratings_bootstrap(snapshot_id=snapshot.pk, rounds=20, seed=1)
    assert ratings_due()[0] == []
    anchored.anchor_model = "m1"
    anchored.save(update_fields=["anchor_model"])
    assert ratings_due()[0] == [anchored.pk]


def test_an_anchor_without_counted_votes_leaves_the_mean_model_at_1000(owner):
    leaderboard, models = board(owner, 4, anchor_model="m3")
    add_votes(leaderboard, random_votes(models[:3], 120, seed=6))
    snapshot = ratings_recompute(leaderboard_id=leaderboard.pk)
    rated = [s for s in scores(snapshot).values() if s is not None]
    assert sum(rated) / len(rated) == pytest.approx(1000.0, abs=1e-9)
    assert standings_get(leaderboard=leaderboard).anchor_model is None


def test_live_scores_follow_new_votes_until_the_refit_and_never_replace_the_score(owner):
    leaderboard, models = board(owner, 3)
    add_votes(leaderboard, random_votes(models, 150, seed=9))
    ratings_recompute(leaderboard_id=leaderboard.pk)
    before = standings_get(leaderboard=leaderboard, live=True)
    assert before.live_votes == 0
    assert all(row.live_score == row.score for row in before.rows)
    assert standings_get(leaderboard=leaderboard).rows[0].live_score is None

    add_votes(leaderboard, [(models[2], models[0], "left")] * 10)
    add_votes(leaderboard, [(models[1], models[2], "tie")], excluded="too_fast")
    during = standings_get(leaderboard=leaderboard, live=True)
    by_name = {row.model: row for row in during.rows}
    old = {row.model: row for row in before.rows}
    assert during.live_votes == 10
    assert by_name["m2"].live_score > old["m2"].score == by_name["m2"].score
    assert by_name["m0"].live_score < old["m0"].score == by_name["m0"].score
    assert by_name["m1"].live_score == old["m1"].score

    ratings_recompute(leaderboard_id=leaderboard.pk)
    after = standings_get(leaderboard=leaderboard, live=True)
    assert after.live_votes == 0
    assert all(row.live_score == row.score for row in after.rows)
    assert {r.model: r.score for r in after.rows}["m2"] > old["m2"].score


def test_live_scores_of_tag_standings_read_only_the_new_votes_on_those_prompts(owner):
    leaderboard, models = board(owner, 2, tags=[["photo"], ["art"]])
    photo, art = prompts_of(leaderboard)
    add_votes(
        leaderboard,
        [(models[0], models[1], "left"), (models[1], models[0], "left")] * 3,
        prompt=photo,
    )
    ratings_recompute(leaderboard_id=leaderboard.pk)
    add_votes(leaderboard, [(models[1], models[0], "left")] * 4, prompt=art)
    photo_view = standings_get(leaderboard=leaderboard, tags=["photo"], live=True)
    assert photo_view.live_votes == 0
    assert all(row.live_score == row.score for row in photo_view.rows)
    art_view = standings_get(leaderboard=leaderboard, tags=["art"], live=True)
    # No art vote is counted yet: unrated there, but the new votes give a live estimate.
    assert art_view.live_votes == 4
    m1 = next(row for row in art_view.rows if row.model == "m1")
    assert m1.score is None
    assert m1.live_score > 1000.0
