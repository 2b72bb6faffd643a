"""Reads of the evaluation app: pair counts, standings, head-to-head records, refresh sweep.

`standings_get` is the one read behind the standings API (JSON and CSV) and the public pages:
the latest stored snapshot, or, with `tags`, a fit computed on the spot from the votes on the
prompts carrying those tags (never stored).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from numpy.typing import NDArray

from config.errors import Invalid
from evaluation.models import Model, PairCount, Rating, RatingSnapshot, Vote
from evaluation.rating import (
    BOTH_BAD,
    LEFT,
    RIGHT,
    SCORE_CENTRE,
    TIE,
    PairCounts,
    Standings,
    collapse_majority,
    compute_standings,
    online_elo,
    rated_models,
)
from leaderboards.models import Leaderboard
from leaderboards.selectors import leaderboard_prompts

TAGS_CACHE_SECONDS = 600


@dataclass(frozen=True)
class BoardCounts:
    """A leaderboard's counted votes as pair counts over its models (index k is `model_ids[k]`).

    `counts` is what the fit reads: on a `majority` board the votes on each pair and prompt are
    collapsed to one. `votes` is the number of counted votes before any collapse.
    """

    model_ids: list[int]
    counts: PairCounts
    votes: int


def board_models(*, leaderboard: Leaderboard) -> list[Model]:
    """Every model of the leaderboard's benchmark, in id order (the rater's index order)."""
    return list(Model.objects.filter(benchmark_id=leaderboard.benchmark_id).order_by("id"))


def rating_options(*, leaderboard: Leaderboard) -> dict[str, Any]:
    """The leaderboard settings a fit depends on; stored with each snapshot to spot changes.

    `anchor_model` is there only when set, so boards without one keep their stored options.
    """
    options: dict[str, Any] = {
        "tie_model": leaderboard.tie_model,
        "both_bad": leaderboard.both_bad,
        "repeat_votes": leaderboard.repeat_votes,
        "min_votes": leaderboard.min_votes,
        "inverse_ranking": leaderboard.inverse_ranking,
    }
    if leaderboard.anchor_model:
        options["anchor_model"] = leaderboard.anchor_model
    return options


def _positions(model_ids: list[int], ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index of each id in the ascending list `model_ids`, or -1 for an id not in it."""
    known = np.asarray(model_ids, dtype=np.int64)
    if known.size == 0:
        return np.full(ids.size, -1, dtype=np.int64)
    at = np.clip(np.searchsorted(known, ids), 0, known.size - 1)
    return np.where(known[at] == ids, at, -1).astype(np.int64)


def board_counts_get(
    *,
    leaderboard: Leaderboard,
    model_ids: list[int] | None = None,
    prompt_ids: list[int] | None = None,
) -> BoardCounts:
    """Counted votes of `leaderboard` as pair counts, optionally only on `prompt_ids`.

    Reads the pair counters, never the raw votes, so the cost follows pairs x prompts, not
    votes; without the majority option the database sums the counters per pair. With the
    `majority` option the votes on each pair and prompt count once, as their majority (a split
    majority is a tie; on a board that drops both-bad votes they take no part in it); votes
    without a prompt (imported battles) have nothing to group by and count one each.
    """
    if model_ids is None:
        model_ids = [m.pk for m in board_models(leaderboard=leaderboard)]
    rows = PairCount.objects.filter(leaderboard=leaderboard)
    if prompt_ids is not None:
        rows = rows.filter(prompt_id__in=prompt_ids)
    fields = ("model_a_id", "model_b_id", "a", "b", "t", "bb")
    majority = leaderboard.repeat_votes == Leaderboard.RepeatVotes.MAJORITY
    summed = (
        (rows.filter(prompt__isnull=True) if majority else rows)
        .values("model_a_id", "model_b_id")
        .annotate(a=Sum("a_wins"), b=Sum("b_wins"), t=Sum("ties"), bb=Sum("both_bad"))
        .values_list(*fields)
        .order_by()
    )
    each = np.array(list(summed), dtype=np.int64).reshape(-1, 6)
    per_prompt = np.zeros((0, 7), dtype=np.int64)
    if majority:
        per_prompt = np.array(
            list(
                rows.filter(prompt__isnull=False).values_list(
                    "prompt_id", "model_a_id", "model_b_id", "a_wins", "b_wins", "ties", "both_bad"
                )
            ),
            dtype=np.int64,
        ).reshape(-1, 7)
    n = len(model_ids)
    votes = int(each[:, 2:].sum() + per_prompt[:, 3:].sum())

    def pairs(table: NDArray[np.int64], first: int) -> tuple[NDArray[np.int64], ...]:
        i = _positions(model_ids, table[:, first])
        j = _positions(model_ids, table[:, first + 1])
        keep = (i >= 0) & (j >= 0)
        return (i[keep], j[keep], *(table[keep, first + 2 + k] for k in range(4)))

    i, j, a, b, t, bb = pairs(each, 0)
    if majority and per_prompt.size:
        pi, pj, pa, pb, pt, pbb = pairs(per_prompt, 1)
        keep = (_positions(model_ids, per_prompt[:, 1]) >= 0) & (
            _positions(model_ids, per_prompt[:, 2]) >= 0
        )
        collapsed = collapse_majority(
            n_models=n,
            i=pi,
            j=pj,
            wins_i=pa,
            wins_j=pb,
            ties=pt,
            both_bad=pbb,
            prompt=per_prompt[keep, 0],
            drop_both_bad=leaderboard.both_bad == Leaderboard.BothBad.DROP,
        )
        i, j = np.concatenate([i, collapsed.i]), np.concatenate([j, collapsed.j])
        a = np.concatenate([a, collapsed.wins_i])
        b = np.concatenate([b, collapsed.wins_j])
        t = np.concatenate([t, collapsed.ties])
        bb = np.concatenate([bb, collapsed.both_bad])
    counts = PairCounts(
        n_models=n,
        i=i,
        j=j,
        wins_i=np.asarray(a, dtype=np.float64),
        wins_j=np.asarray(b, dtype=np.float64),
        ties=np.asarray(t, dtype=np.float64),
        both_bad=np.asarray(bb, dtype=np.float64),
    )
    return BoardCounts(model_ids=model_ids, counts=counts, votes=votes)


def pair_counts_get(
    *, leaderboard: Leaderboard, model_ids: list[int], prompt_ids: list[int] | None = None
) -> PairCounts:
    """Counted votes of `leaderboard` as the fit reads them; see `board_counts_get`."""
    return board_counts_get(
        leaderboard=leaderboard, model_ids=model_ids, prompt_ids=prompt_ids
    ).counts


def anchor_index(
    *, leaderboard: Leaderboard, models: list[Model], counts: PairCounts
) -> int | None:
    """Index of the leaderboard's anchor model in `models`, if it has a counted vote in `counts`.

    None when the board has no anchor, no model has that name, or the model has no vote the
    fit counts yet (its score would be undefined): the mean model is at 1000 then.
    """
    if not leaderboard.anchor_model:
        return None
    k = next((k for k, m in enumerate(models) if m.name == leaderboard.anchor_model), None)
    if k is None:
        return None
    rated = rated_models(counts, both_bad=leaderboard.both_bad)  # type: ignore[arg-type]
    return k if rated[k] else None


def standings_fit(
    *, leaderboard: Leaderboard, models: list[Model], counts: PairCounts
) -> Standings:
    """Fit `counts` (index k is `models[k]`) with the leaderboard's settings.

    Tie model, both-bad policy, inverse ranking, min votes, and the anchor model when it is
    rated (see `anchor_index`).
    """
    return compute_standings(
        counts,
        tie_model=leaderboard.tie_model,  # type: ignore[arg-type]
        both_bad=leaderboard.both_bad,  # type: ignore[arg-type]
        min_votes=leaderboard.min_votes,
        inverse=leaderboard.inverse_ranking,
        anchor=anchor_index(leaderboard=leaderboard, models=models, counts=counts),
    )


def snapshot_latest(*, leaderboard: Leaderboard) -> RatingSnapshot | None:
    """The leaderboard's newest published snapshot, or None before the first fit."""
    return (
        RatingSnapshot.objects.filter(leaderboard=leaderboard).order_by("-created", "-id").first()
    )


def _display_key(rank: int | None, score: float | None, component: int | None, name: str) -> Any:
    # By part of the comparison graph, then rank and score; unrated models last.
    return (score is None, component or 0, rank or 10**9, -(score or 0.0), name)


def snapshot_rows(*, snapshot: RatingSnapshot) -> list[Rating]:
    """The snapshot's rows, best first (by part of the comparison graph), unrated models last."""
    rows = list(snapshot.ratings.select_related("model"))
    rows.sort(key=lambda r: _display_key(r.rank, r.score, r.component, r.model.name))
    return rows


@dataclass(frozen=True)
class StandingsRow:
    """One model's line in the standings; `score` is None for a model without counted votes."""

    rank: int | None
    model_id: int
    model: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    rank_low: int | None
    rank_high: int | None
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float | None
    provisional: bool
    component: int | None
    live_score: float | None = None
    """`score` moved by an online Elo pass over the votes the fit has not counted yet (see
    `live_scores`); never the published score. None when not asked for, or for a model with
    neither a score nor a new vote."""


@dataclass(frozen=True)
class StandingsView:
    """Standings as published: the latest snapshot, or a fit on the votes of some tags only.

    `computed_at` is None (and every row unrated) before the first fit. `stored` says whether
    the numbers come from a stored snapshot (`snapshot_id`) or were computed for this request.
    `anchor_model` names the model fixed at 1000 in this fit (None: the mean model is).
    `live_votes` is how many not yet counted votes moved the rows' `live_score`.
    """

    leaderboard_id: int
    computed_at: datetime | None
    stored: bool
    snapshot_id: int | None
    tags: list[str] | None
    vote_count: int
    excluded_count: int
    model_count: int
    tie_model: str
    tie_parameter: float | None
    connected: bool
    component_count: int
    has_bootstrap: bool
    rows: list[StandingsRow]
    anchor_model: str | None = None
    live_votes: int = 0


def unrated_row(*, model_id: int, name: str) -> StandingsRow:
    """The row of a model without counted votes."""
    return StandingsRow(
        rank=None,
        model_id=model_id,
        model=name,
        score=None,
        ci_low=None,
        ci_high=None,
        rank_low=None,
        rank_high=None,
        votes=0,
        wins=0,
        losses=0,
        ties=0,
        both_bad=0,
        win_rate=None,
        provisional=True,
        component=None,
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def standings_rows(
    *, models: list[Model], standings: Standings, rank_low: Any = None, rank_high: Any = None
) -> list[StandingsRow]:
    """Rows of fitted `standings` (index k is `models[k]`), unsorted; unrated models as None."""
    st = standings
    rows = []
    for k, model in enumerate(models):
        rated = bool(st.rated[k])
        rows.append(
            StandingsRow(
                rank=int(st.rank[k]) if rated else None,
                model_id=model.pk,
                model=model.name,
                score=_finite(st.score[k]) if rated else None,
                ci_low=_finite(st.ci_low[k]) if rated else None,
                ci_high=_finite(st.ci_high[k]) if rated else None,
                rank_low=int(rank_low[k]) if rated and rank_low is not None else None,
                rank_high=int(rank_high[k]) if rated and rank_high is not None else None,
                votes=round(float(st.votes[k])),
                wins=round(float(st.wins[k])),
                losses=round(float(st.losses[k])),
                ties=round(float(st.ties[k])),
                both_bad=round(float(st.both_bad[k])),
                win_rate=_finite(st.win_rate[k]) if st.votes[k] > 0 else None,
                provisional=bool(st.provisional[k]),
                component=int(st.component[k]) if rated else None,
            )
        )
    return rows


def _sorted(rows: list[StandingsRow]) -> list[StandingsRow]:
    return sorted(rows, key=lambda r: _display_key(r.rank, r.score, r.component, r.model))


def excluded_votes(*, leaderboard: Leaderboard) -> int:
    """How many of the leaderboard's votes are stored but left out of the fit."""
    return Vote.objects.filter(leaderboard=leaderboard).exclude(excluded="").count()


def leaderboard_tags(*, leaderboard: Leaderboard) -> list[str]:
    """Tags carried by the leaderboard's prompts, sorted."""
    return sorted({tag for p in leaderboard_prompts(leaderboard=leaderboard) for tag in p.tags})


def tag_prompt_ids(*, leaderboard: Leaderboard, tags: list[str]) -> list[int]:
    """Ids of the leaderboard's prompts carrying any of `tags`; 400 naming unknown tags."""
    prompts = leaderboard_prompts(leaderboard=leaderboard)
    known = {tag for p in prompts for tag in p.tags}
    unknown = [tag for tag in tags if tag not in known]
    if unknown:
        raise Invalid(
            f"tags: no prompt of this leaderboard has the tag(s) {', '.join(map(repr, unknown))}; "
            f"its tags are: {', '.join(sorted(known)) or '(none)'}",
            field="tags",
        )
    wanted = set(tags)
    return [p.pk for p in prompts if wanted & set(p.tags)]


def standings_get(
    *,
    leaderboard: Leaderboard,
    tags: list[str] | None = None,
    now: datetime | None = None,
    live: bool = False,
) -> StandingsView:
    """The leaderboard's standings: the latest snapshot, or a fit on prompts with `tags` only.

    Without `tags`, the newest stored snapshot (every model unrated before the first fit).
    With `tags`, the votes on the leaderboard's prompts carrying any of those tags are fitted
    for this call, with the leaderboard's settings, and nothing is stored; rank intervals
    (from the background bootstrap) are then None. Unknown tags are a 400 naming them.
    With `live`, every row also gets its `live_score` (see `live_scores`).
    """
    models = board_models(leaderboard=leaderboard)
    prompt_ids = tag_prompt_ids(leaderboard=leaderboard, tags=tags) if tags else None
    view = _standings_published(
        leaderboard=leaderboard, models=models, tags=tags, prompt_ids=prompt_ids, now=now
    )
    if not live:
        return view
    moved, live_votes = live_scores(
        leaderboard=leaderboard, models=models, rows=view.rows, prompt_ids=prompt_ids
    )
    return replace(
        view,
        rows=[replace(row, live_score=moved.get(row.model_id)) for row in view.rows],
        live_votes=live_votes,
    )


def _standings_published(
    *,
    leaderboard: Leaderboard,
    models: list[Model],
    tags: list[str] | None,
    prompt_ids: list[int] | None,
    now: datetime | None,
) -> StandingsView:
    """`standings_get` without the live scores: what the fit published (or fits, for tags)."""
    if tags and prompt_ids is not None:
        # A fit per request is a fraction of a second on a big board: keep it until the next
        # snapshot (new votes) or a change of settings or models.
        latest = snapshot_latest(leaderboard=leaderboard)
        fingerprint = json.dumps(
            [
                leaderboard.pk,
                latest.pk if latest else 0,
                len(models),
                rating_options(leaderboard=leaderboard),
                sorted(set(tags)),
            ],
            sort_keys=True,
            default=str,
        )
        key = "standings:tags:" + hashlib.sha256(fingerprint.encode()).hexdigest()
        try:
            cached = cache.get(key)
        except Exception:  # a cache outage costs a fit, not an error
            cached = None
        if isinstance(cached, StandingsView):
            return cached
        board = board_counts_get(
            leaderboard=leaderboard, model_ids=[m.pk for m in models], prompt_ids=prompt_ids
        )
        st = standings_fit(leaderboard=leaderboard, models=models, counts=board.counts)
        view = StandingsView(
            leaderboard_id=leaderboard.pk,
            computed_at=now or timezone.now(),
            stored=False,
            snapshot_id=None,
            tags=list(tags),
            vote_count=board.votes,
            excluded_count=excluded_votes(leaderboard=leaderboard),
            model_count=len(models),
            tie_model=leaderboard.tie_model,
            tie_parameter=st.tie_parameter,
            connected=st.connected,
            component_count=st.n_components,
            has_bootstrap=False,
            rows=_sorted(standings_rows(models=models, standings=st)),
            anchor_model=models[st.anchor].name if st.anchor is not None else None,
        )
        with contextlib.suppress(Exception):
            cache.set(key, view, timeout=TAGS_CACHE_SECONDS)
        return view
    snapshot = snapshot_latest(leaderboard=leaderboard)
    if snapshot is None:
        return StandingsView(
            leaderboard_id=leaderboard.pk,
            computed_at=None,
            stored=False,
            snapshot_id=None,
            tags=None,
            vote_count=0,
            excluded_count=excluded_votes(leaderboard=leaderboard),
            model_count=len(models),
            tie_model=leaderboard.tie_model,
            tie_parameter=None,
            connected=True,
            component_count=0,
            has_bootstrap=False,
            rows=[
                unrated_row(model_id=m.pk, name=m.name)
                for m in sorted(models, key=lambda m: m.name)
            ],
        )
    rows = snapshot_rows(snapshot=snapshot)
    return StandingsView(
        leaderboard_id=leaderboard.pk,
        computed_at=snapshot.created,
        stored=True,
        snapshot_id=snapshot.pk,
        tags=None,
        vote_count=snapshot.vote_count,
        excluded_count=snapshot.excluded_count,
        model_count=snapshot.model_count,
        tie_model=snapshot.tie_model,
        tie_parameter=snapshot.tie_parameter,
        connected=snapshot.connected,
        component_count=snapshot.component_count,
        has_bootstrap=snapshot.has_bootstrap,
        rows=[
            StandingsRow(
                rank=r.rank,
                model_id=r.model_id,
                model=r.model.name,
                score=r.score,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                rank_low=r.rank_low,
                rank_high=r.rank_high,
                votes=r.votes,
                wins=round(r.wins),
                losses=round(r.losses),
                ties=round(r.ties),
                both_bad=round(r.both_bad),
                win_rate=r.win_rate,
                provisional=r.provisional,
                component=r.component,
            )
            for r in rows
        ],
        anchor_model=_applied_anchor(snapshot=snapshot, rows=rows),
    )


def _applied_anchor(*, snapshot: RatingSnapshot, rows: list[Rating]) -> str | None:
    """The anchor model of a stored fit, if the fit could use it.

    The fit uses the anchor once it has a counted vote (see `anchor_index`), that is once its
    row has a score.
    """
    name = snapshot.options.get("anchor_model")
    for row in rows:
        if row.model.name == name and row.score is not None:
            return str(name)
    return None


LIVE_VOTES_MAX = 5000
"""Most not yet counted votes a live estimate reads: the newest ones. The rater counts new
votes within seconds, so this binds only while it is down or far behind."""

OUTCOME_OF = {
    Vote.Choice.LEFT: LEFT,
    Vote.Choice.RIGHT: RIGHT,
    Vote.Choice.TIE: TIE,
    Vote.Choice.BOTH_BAD: BOTH_BAD,
}
"""The rating core's outcome code of each vote choice."""


def live_scores(
    *,
    leaderboard: Leaderboard,
    models: list[Model],
    rows: list[StandingsRow],
    prompt_ids: list[int] | None = None,
    cap: int = LIVE_VOTES_MAX,
) -> tuple[dict[int, float], int]:
    """A live estimate between fits: the rows' scores moved by the votes not yet counted.

    Runs the online Elo pass (`evaluation.rating.online_elo`, LMArena's small step) over the
    leaderboard's counted-to-be votes (not excluded, not yet in the pair counters, so not in
    the published fit; on `prompt_ids` only when given), oldest first, starting from the
    rows' scores (1000 for a model without one). One indexed query and a loop of about a
    microsecond per vote, at most `cap` votes: no refit. It depends on the order of the votes
    and never replaces the score; the next fit does.

    Returns
    -------
    tuple of (dict, int)
        Model id -> live score, for models with a score or a new vote (equal to the score
        when no vote is newer), and the number of votes the pass read.
    """
    votes = Vote.objects.filter(leaderboard=leaderboard, counted=False, excluded="")
    if prompt_ids is not None:
        votes = votes.filter(prompt_id__in=prompt_ids)
    newest = list(
        votes.order_by("-created", "-id").values_list("left_model_id", "right_model_id", "choice")[
            :cap
        ]
    )
    index = {model.pk: k for k, model in enumerate(models)}
    known = [
        (index[left], index[right], OUTCOME_OF[choice])
        for left, right, choice in reversed(newest)
        if left in index and right in index
    ]
    table = np.array(known, dtype=np.int64).reshape(-1, 3)
    initial = np.full(len(models), SCORE_CENTRE)
    for row in rows:
        if row.score is not None and row.model_id in index:
            initial[index[row.model_id]] = row.score
    moved = online_elo(
        table[:, 0],
        table[:, 1],
        table[:, 2],
        n_models=len(models),
        initial=initial,
        both_bad=leaderboard.both_bad,  # type: ignore[arg-type]
        inverse=leaderboard.inverse_ranking,
    )
    voted = set(table[:, :2].ravel().tolist())
    scored = {row.model_id for row in rows if row.score is not None}
    result = {
        model.pk: float(moved[k])
        for k, model in enumerate(models)
        if model.pk in scored or k in voted
    }
    return result, len(known)


@dataclass(frozen=True)
class WinLossMatrix:
    """Head-to-head counts in the leaderboard's sense, rows and columns in `models` order.

    `wins[r][c]` is how often model r beat model c (on an inverse board: was judged worse less
    often); `ties` and `both_bad` are symmetric. On a `majority` board these are the collapsed
    votes the fit reads, so each row's sum of wins equals that model's wins in the standings.
    """

    leaderboard_id: int
    tags: list[str] | None
    model_ids: list[int]
    models: list[str]
    wins: list[list[int]]
    ties: list[list[int]]
    both_bad: list[list[int]]
    vote_count: int


def win_loss_matrix(*, leaderboard: Leaderboard, tags: list[str] | None = None) -> WinLossMatrix:
    """Head-to-head counts of the counted votes, optionally on prompts with `tags` only."""
    models = board_models(leaderboard=leaderboard)
    ids = [m.pk for m in models]
    prompt_ids = tag_prompt_ids(leaderboard=leaderboard, tags=tags) if tags else None
    board = board_counts_get(leaderboard=leaderboard, model_ids=ids, prompt_ids=prompt_ids)
    counts = board.counts.inverted() if leaderboard.inverse_ranking else board.counts
    n = len(ids)
    wins = np.zeros((n, n))
    ties = np.zeros((n, n))
    both_bad = np.zeros((n, n))
    wins[counts.i, counts.j] = counts.wins_i
    wins[counts.j, counts.i] = counts.wins_j
    ties[counts.i, counts.j] = ties[counts.j, counts.i] = counts.ties
    both_bad[counts.i, counts.j] = both_bad[counts.j, counts.i] = counts.both_bad
    return WinLossMatrix(
        leaderboard_id=leaderboard.pk,
        tags=list(tags) if tags else None,
        model_ids=ids,
        models=[m.name for m in models],
        wins=np.rint(wins).astype(int).tolist(),
        ties=np.rint(ties).astype(int).tolist(),
        both_bad=np.rint(both_bad).astype(int).tolist(),
        vote_count=board.votes,
    )


def ratings_due(*, bootstrap_after_seconds: float = 60.0, now: datetime | None = None) -> Any:
    """What the periodic sweep must do: leaderboards to refresh and snapshots to bootstrap.

    A leaderboard is due for a refresh when it has votes the counters do not reflect (new, newly
    excluded or no longer excluded), when its rating settings changed since its latest snapshot,
    or when models were entered after it. A snapshot is due for a bootstrap when it is its
    leaderboard's latest, has votes, has none yet, and is older than `bootstrap_after_seconds`
    (younger ones are still in the normal after-refresh path).

    Returns
    -------
    tuple of (list of int, list of int)
        Leaderboard ids to refresh, snapshot ids to bootstrap.
    """
    dirty = set(
        Vote.objects.filter(Q(counted=False, excluded="") | (Q(counted=True) & ~Q(excluded="")))
        .values_list("leaderboard_id", flat=True)
        .distinct()
        .order_by()
    )
    latest = RatingSnapshot.objects.filter(leaderboard=OuterRef("pk")).order_by("-created", "-id")
    boards = Leaderboard.objects.annotate(
        latest_id=Subquery(latest.values("id")[:1]),
        latest_options=Subquery(latest.values("options")[:1]),
        latest_models=Subquery(latest.values("model_count")[:1]),
        latest_votes=Subquery(latest.values("vote_count")[:1]),
        latest_bootstrap=Subquery(latest.values("has_bootstrap")[:1]),
        latest_created=Subquery(latest.values("created")[:1]),
        models_now=Subquery(
            Model.objects.filter(benchmark_id=OuterRef("benchmark_id"))
            .order_by()
            .values("benchmark_id")
            .annotate(n=Count("id"))
            .values("n")[:1]
        ),
    ).filter(latest_id__isnull=False)
    cutoff = (now or timezone.now()).timestamp() - bootstrap_after_seconds
    bootstrap: list[int] = []
    for board in boards:
        if board.latest_options != rating_options(leaderboard=board) or (
            board.latest_models != (board.models_now or 0)
        ):
            dirty.add(board.pk)
        elif (
            board.latest_votes
            and not board.latest_bootstrap
            and board.latest_created.timestamp() < cutoff
        ):
            bootstrap.append(board.latest_id)
    return sorted(dirty), sorted(bootstrap)
