"""Reads of benchmarks and leaderboards, with the visibility rules in one place."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db.models import (
    Count,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Floor, Least, RowNumber

from config.errors import Forbidden, NotFound

# evaluation.models imports only leaderboards.models, so importing it here makes no cycle; the
# evaluation selectors import this module, so they are imported where they are used (the
# dataclasses only for type hints).
from evaluation.models import Model, Output, PairCount, Rating, RatingSnapshot, Vote
from evaluation.rating import SCORE_PER_THETA

if TYPE_CHECKING:
    from evaluation.selectors import StandingsRow, StandingsView
from leaderboards.models import Benchmark, Leaderboard, Prompt


def _visible_q(user: Any, prefix: str = "") -> Q:
    if getattr(user, "is_staff", False):
        return Q()
    q = Q(**{f"{prefix}is_public": True})
    if getattr(user, "is_authenticated", False):
        q |= Q(**{f"{prefix}owner": user})
    return q


def benchmarks_visible(*, user: Any) -> QuerySet[Benchmark]:
    """Benchmarks `user` may see: public ones, their own, or all for staff."""
    return Benchmark.objects.filter(_visible_q(user)).select_related("owner")


def leaderboards_visible(*, user: Any) -> QuerySet[Leaderboard]:
    """Leaderboards `user` may see, by their benchmark's visibility."""
    return Leaderboard.objects.filter(_visible_q(user, "benchmark__")).select_related(
        "benchmark", "benchmark__owner"
    )


def benchmark_get(*, benchmark_id: int, user: Any, for_write: bool = False) -> Benchmark:
    """One benchmark; 404 when `user` may not see it, 403 when they may see but not change it."""
    benchmark = benchmarks_visible(user=user).filter(pk=benchmark_id).first()
    if benchmark is None:
        raise NotFound(f"benchmark {benchmark_id} does not exist")
    if for_write and not (user.is_staff or benchmark.owner_id == user.pk):
        raise Forbidden(f"benchmark {benchmark_id} belongs to another owner")
    return benchmark


def leaderboard_get(*, leaderboard_id: int, user: Any, for_write: bool = False) -> Leaderboard:
    """One leaderboard; 404 when `user` may not see it, 403 when they may see but not change it."""
    leaderboard = leaderboards_visible(user=user).filter(pk=leaderboard_id).first()
    if leaderboard is None:
        raise NotFound(f"leaderboard {leaderboard_id} does not exist")
    if for_write and not (user.is_staff or leaderboard.benchmark.owner_id == user.pk):
        raise Forbidden(f"leaderboard {leaderboard_id} belongs to another owner")
    return leaderboard


def leaderboard_prompts(*, leaderboard: Leaderboard) -> list[Prompt]:
    """The benchmark's prompts that this leaderboard's included/excluded tags allow."""
    prompts = leaderboard.benchmark.prompts.all()
    return [p for p in prompts if leaderboard.allows_tags(p.tags)]


@dataclass(frozen=True)
class BoardPrompts:
    """Ids and tags of a leaderboard's prompts in their order, without the texts.

    What the public pages need from every prompt (tag counts, the prompts of some tags, how many
    there are, which to show on a page) is read once per request in one light query; the texts
    are read only for the prompts a page shows (`prompts_shown`).
    """

    ids: list[int]
    tags: list[list[str]]

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag with how many prompts carry it, most used first."""
        counter: Counter[str] = Counter()
        for tags in self.tags:
            counter.update(set(tags))
        return sorted(counter.items(), key=lambda item: (-item[1], item[0]))

    def ids_tagged(self, tags: list[str]) -> list[int]:
        """Ids of the prompts carrying any of `tags`."""
        wanted = set(tags)
        return [pk for pk, own in zip(self.ids, self.tags, strict=True) if wanted & set(own)]


def board_prompts(*, leaderboard: Leaderboard) -> BoardPrompts:
    """The ids and tags of the prompts this leaderboard's included/excluded tags allow."""
    ids, tags = [], []
    for pk, own in (
        Prompt.objects.filter(benchmark_id=leaderboard.benchmark_id)
        .order_by("position")
        .values_list("id", "tags")
    ):
        if leaderboard.allows_tags(own):
            ids.append(pk)
            tags.append(own)
    return BoardPrompts(ids=ids, tags=tags)


def prompts_shown(*, prompt_ids: list[int]) -> list[Prompt]:
    """The prompts of `prompt_ids` (a page's worth) in their order, with their texts."""
    return list(Prompt.objects.filter(pk__in=prompt_ids).order_by("position"))


# ---------------------------------------------------------------- public pages
#
# Reads behind the public pages. They only read what the rater published (rating snapshots and
# pair counters) and never refit a board; the standings themselves, tag-filtered or not, come
# from `evaluation.selectors.standings_get`.

INDEX_SORTS = {
    "updated": "recently updated",
    "votes": "most votes",
    "new": "newest",
    "name": "name",
}


def _per_benchmark_count(model: Any) -> Coalesce:
    """How many rows of `model` belong to the outer leaderboard's benchmark (a subquery)."""
    rows = (
        model.objects.filter(benchmark=OuterRef("benchmark_id"))
        .order_by()
        .values("benchmark_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(rows[:1]), 0)


def leaderboards_listed(
    *, user: Any, query: str = "", sort: str = "updated"
) -> QuerySet[Leaderboard]:
    """Visible leaderboards for the index with their counts (models, prompts, votes), the time
    of their newest snapshot and its leader.

    Counts come from correlated subqueries (one row per leaderboard, no join fan-out), and the
    vote count is the one of the newest published snapshot, so listing costs the same with a
    million votes as with ten.
    """
    latest = RatingSnapshot.objects.filter(leaderboard=OuterRef("pk")).order_by("-created", "-id")
    qs = leaderboards_visible(user=user).annotate(
        model_count=_per_benchmark_count(Model),
        benchmark_prompt_count=_per_benchmark_count(Prompt),
        vote_count=Coalesce(Subquery(latest.values("vote_count")[:1]), 0),
        rated_at=Subquery(latest.values("created")[:1]),
        latest_snapshot=Subquery(latest.values("id")[:1]),
    )
    # The leader: the best score of the newest snapshot (the first part of the graph if split).
    leader = Rating.objects.filter(
        snapshot_id=OuterRef("latest_snapshot"), score__isnull=False, component=0
    ).order_by("-score")
    qs = qs.annotate(
        updated=Coalesce("rated_at", "created"),
        leader=Subquery(leader.values("model__name")[:1]),
        leader_score=Subquery(leader.values("score")[:1]),
    )
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(benchmark__name__icontains=query))
    order = {
        "updated": ["-updated", "-id"],
        "votes": ["-vote_count", "-updated", "-id"],
        "new": ["-created", "-id"],
        "name": ["name", "id"],
    }.get(sort, ["-updated", "-id"])
    return qs.order_by(*order)


def leaderboards_prompt_counts(*, leaderboards: list[Leaderboard]) -> dict[int, int]:
    """How many prompts each leaderboard uses, after its included/excluded tags (one query)."""
    counts = {lb.pk: int(getattr(lb, "benchmark_prompt_count", 0)) for lb in leaderboards}
    tagged = [lb for lb in leaderboards if lb.included_tags or lb.excluded_tags]
    if tagged:
        by_benchmark: dict[int, list[list[str]]] = defaultdict(list)
        for benchmark_id, tags in Prompt.objects.filter(
            benchmark_id__in={lb.benchmark_id for lb in tagged}
        ).values_list("benchmark_id", "tags"):
            by_benchmark[benchmark_id].append(tags)
        for lb in tagged:
            counts[lb.pk] = sum(lb.allows_tags(t) for t in by_benchmark[lb.benchmark_id])
    return counts


def rated_rows(standings: StandingsView) -> list[StandingsRow]:
    """The rows of models with a score, best first."""
    return [row for row in standings.rows if row.score is not None]


@dataclass(frozen=True)
class Tally:
    """Outcomes of some votes from one model's side, in the board's sense."""

    wins: float = 0.0
    losses: float = 0.0
    ties: float = 0.0
    both_bad: float = 0.0
    counted: float = 0.0

    @property
    def votes(self) -> int:
        return round(self.wins + self.losses + self.ties + self.both_bad)

    @property
    def win_rate(self) -> float | None:
        """Share of counted votes won, a tie counting one half (as in the standings)."""
        if not self.counted:
            return None
        drawn = self.counted - self.wins - self.losses
        return (self.wins + drawn / 2) / self.counted

    def plus(self, other: Tally) -> Tally:
        return Tally(
            wins=self.wins + other.wins,
            losses=self.losses + other.losses,
            ties=self.ties + other.ties,
            both_bad=self.both_bad + other.both_bad,
            counted=self.counted + other.counted,
        )


def tally_of(
    *,
    leaderboard: Leaderboard,
    as_a: bool,
    a_wins: float,
    b_wins: float,
    ties: float,
    both_bad: float,
) -> Tally:
    """One pair-counter row seen from model a (`as_a`) or b, in the board's sense.

    On an inverse board ("which is worse?") being picked is losing; a both-bad vote counts as a
    tie unless the board drops it, exactly as in the published win rates.
    """
    picked, other = (a_wins, b_wins) if as_a else (b_wins, a_wins)
    wins, losses = (other, picked) if leaderboard.inverse_ranking else (picked, other)
    counted = wins + losses + ties
    if leaderboard.both_bad == Leaderboard.BothBad.TIE:
        counted += both_bad
    return Tally(wins=wins, losses=losses, ties=ties, both_bad=both_bad, counted=counted)


_COUNTER_SUMS = {"a": Sum("a_wins"), "b": Sum("b_wins"), "t": Sum("ties"), "bb": Sum("both_bad")}


def _grouped_counts(
    counters: QuerySet[PairCount], keys: tuple[str, ...]
) -> Iterator[tuple[tuple[Any, ...], dict[str, int]]]:
    """Pair counters summed in the database per `keys`: (key values, counts for `tally_of`)."""
    for *key, a, b, t, bb in (
        counters.order_by()
        .values(*keys)
        .annotate(**_COUNTER_SUMS)
        .values_list(*keys, "a", "b", "t", "bb")
    ):
        yield tuple(key), {"a_wins": a, "b_wins": b, "ties": t, "both_bad": bb}


@dataclass(frozen=True)
class HeadToHead:
    """Win rates between the models of `rows` (row model against column model).

    `observed[i][j]` is the row model's share of the votes against the column model (ties
    half), `votes[i][j]` how many votes that is, and `predicted[i][j]` the share the fitted
    scores predict; None where there is nothing to show.
    """

    rows: list[StandingsRow]
    observed: list[list[float | None]]
    votes: list[list[int]]
    predicted: list[list[float | None]]
    limited: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "models": [row.model for row in self.rows],
            "model_ids": [row.model_id for row in self.rows],
            "observed": self.observed,
            "votes": self.votes,
            "predicted": self.predicted,
        }


def predicted_win_rate(
    score_i: float, score_j: float, *, tie_parameter: float | None = None
) -> float:
    """The share of votes model i should win against j (ties half) under the fitted model.

    Bradley-Terry on the published scale: P = 1 / (1 + 10 ** ((s_j - s_i) / 400)). With
    Davidson's tie parameter nu, P(win) + P(tie) / 2 with P(tie) proportional to
    nu * sqrt(pi_i * pi_j).
    """
    diff = (score_i - score_j) / SCORE_PER_THETA
    if tie_parameter is None:
        return 1.0 / (1.0 + math.exp(-diff))
    half = diff / 2
    win, lose, tie = math.exp(half), math.exp(-half), tie_parameter
    return (win + tie / 2) / (win + lose + tie)


def _board_counters(
    leaderboard: Leaderboard, prompt_ids: list[int] | None
) -> list[QuerySet[PairCount]]:
    """The leaderboard's pair counters on `prompt_ids`, or on every prompt and on none.

    Naming the prompts lets the database probe the (leaderboard, prompt, model a, model b)
    index for just the wanted pairs; without a prompt term it reads the whole board (100 ms at
    a million votes on SQLite against 10 ms). Counters of votes without a prompt (imported
    battles) come from their own index, in a query of their own.
    """
    counters = PairCount.objects.filter(leaderboard=leaderboard)
    if prompt_ids is not None:
        return [counters.filter(prompt_id__in=prompt_ids)]
    every = Prompt.objects.filter(benchmark_id=leaderboard.benchmark_id).values("id")
    return [counters.filter(prompt_id__in=every), counters.filter(prompt__isnull=True)]


def head_to_head(
    *,
    leaderboard: Leaderboard,
    standings: StandingsView,
    limit: int = 20,
    prompt_ids: list[int] | None = None,
) -> HeadToHead:
    """Observed and predicted win rates among the best `limit` rated models of `standings`.

    Reads only the pair counters between those models (grouped in the database), so the cost
    follows `limit` and not the number of votes or models on the board.
    """
    rated = rated_rows(standings)
    chosen = rated[:limit]
    index = {row.model_id: k for k, row in enumerate(chosen)}
    n = len(chosen)
    tallies = [[Tally() for _ in range(n)] for _ in range(n)]
    if n > 1:
        for counters in _board_counters(leaderboard, prompt_ids):
            filtered = counters.filter(model_a_id__in=list(index), model_b_id__in=list(index))
            for (a, b), counts in _grouped_counts(filtered, ("model_a_id", "model_b_id")):
                i, j = index[a], index[b]
                tallies[i][j] = tallies[i][j].plus(
                    tally_of(leaderboard=leaderboard, as_a=True, **counts)
                )
                tallies[j][i] = tallies[j][i].plus(
                    tally_of(leaderboard=leaderboard, as_a=False, **counts)
                )
    predicted: list[list[float | None]] = [
        [
            predicted_win_rate(
                cast(float, ri.score),
                cast(float, rj.score),
                tie_parameter=standings.tie_parameter,
            )
            if i != j and ri.component == rj.component
            else None
            for j, rj in enumerate(chosen)
        ]
        for i, ri in enumerate(chosen)
    ]
    return HeadToHead(
        rows=chosen,
        observed=[[t.win_rate for t in row] for row in tallies],
        votes=[[t.votes for t in row] for row in tallies],
        predicted=predicted,
        limited=len(rated) > n,
    )


@dataclass(frozen=True)
class SiblingBoard:
    """Another leaderboard of the same benchmark and each model's published rank there."""

    leaderboard: Leaderboard
    ranks: dict[int, int | None]
    scores: dict[int, float | None]


def sibling_boards(*, leaderboard: Leaderboard) -> list[SiblingBoard]:
    """The benchmark's other leaderboards (same outputs, other questions), with model ranks.

    Two queries whatever the number of siblings: the boards with their newest snapshot id,
    then the rating rows of those snapshots.
    """
    latest = RatingSnapshot.objects.filter(leaderboard=OuterRef("pk")).order_by("-created", "-id")
    siblings = list(
        Leaderboard.objects.filter(benchmark_id=leaderboard.benchmark_id)
        .exclude(pk=leaderboard.pk)
        .annotate(latest_snapshot=Subquery(latest.values("id")[:1]))
        .order_by("created", "id")
    )
    by_snapshot: dict[int, tuple[dict[int, int | None], dict[int, float | None]]] = {
        s.latest_snapshot: ({}, {}) for s in siblings if s.latest_snapshot
    }
    for snapshot_id, model_id, rank, score in Rating.objects.filter(
        snapshot_id__in=list(by_snapshot)
    ).values_list("snapshot_id", "model_id", "rank", "score"):
        by_snapshot[snapshot_id][0][model_id] = rank
        by_snapshot[snapshot_id][1][model_id] = score
    return [
        SiblingBoard(
            leaderboard=s,
            ranks=by_snapshot.get(s.latest_snapshot, ({}, {}))[0],
            scores=by_snapshot.get(s.latest_snapshot, ({}, {}))[1],
        )
        for s in siblings
    ]


@dataclass(frozen=True)
class OpponentRecord:
    """One model's record against one opponent: observed tally and predicted win rate."""

    opponent: StandingsRow
    tally: Tally
    predicted: float | None


@dataclass(frozen=True)
class ModelReport:
    """What the model page shows beyond the standings row."""

    row: StandingsRow
    record: list[OpponentRecord]
    by_prompt: dict[int, Tally]


def model_report(
    *, leaderboard: Leaderboard, model_id: int, standings: StandingsView
) -> ModelReport:
    """A model's record against every other model and its results on each prompt.

    Two queries over the model's own pair counters, one for each side of the pair the model
    can be on: each uses that side's model index (an OR of the two sides would read the whole
    board). Both the per-opponent and the per-prompt sums come from the same rows, summed here:
    the rows are spread over the table, a disk page each, so reading them once rather than once
    per grouping halves the page's cost on a big board.
    """
    rows = {row.model_id: row for row in standings.rows}
    row = rows[model_id]
    by_opponent: dict[int, Tally] = defaultdict(Tally)
    by_prompt: dict[int, Tally] = defaultdict(Tally)
    counters = PairCount.objects.filter(leaderboard=leaderboard)
    for side, other_side in (("model_a_id", "model_b_id"), ("model_b_id", "model_a_id")):
        sums: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for other, prompt_id, *counts in (
            counters.filter(**{side: model_id})
            .order_by()
            .values_list(other_side, "prompt_id", "a_wins", "b_wins", "ties", "both_bad")
        ):
            for key in (("opponent", other), ("prompt", prompt_id)):
                if key[1] is not None:
                    total = sums[key]
                    for k, n in enumerate(counts):
                        total[k] += n
        for (kind, value), (a, b, t, bb) in sums.items():
            tally = tally_of(
                leaderboard=leaderboard,
                as_a=side == "model_a_id",
                a_wins=a,
                b_wins=b,
                ties=t,
                both_bad=bb,
            )
            totals = by_opponent if kind == "opponent" else by_prompt
            totals[value] = totals[value].plus(tally)
    record = []
    for other in standings.rows:
        if other.model_id == model_id:
            continue
        predicted = None
        if row.score is not None and other.score is not None and row.component == other.component:
            predicted = predicted_win_rate(
                cast(float, row.score),
                cast(float, other.score),
                tie_parameter=standings.tie_parameter,
            )
        record.append(
            OpponentRecord(
                opponent=other, tally=by_opponent.get(other.model_id, Tally()), predicted=predicted
            )
        )
    return ModelReport(row=row, record=record, by_prompt=dict(by_prompt))


@dataclass(frozen=True)
class HistoryPoint:
    """A model's published numbers in one snapshot."""

    at: datetime
    rank: int | None
    score: float | None
    ci_low: float | None
    ci_high: float | None
    votes: int


# The model page's plot reads well with a few hundred points; the rater keeps every snapshot of
# the last day (one every few seconds on a busy board), which would be ~17,000 points and 2 MB.
HISTORY_MAX_POINTS = 400


class EpochSeconds(Func):
    """Seconds since 1970 (UTC) of a datetime expression, as a float, on PostgreSQL and SQLite."""

    arity = 1
    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM %(expressions)s)::double precision",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores SQLite datetimes as UTC text, which julianday() reads; 2440587.5 is
        # the Julian day of 1970-01-01T00:00Z.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


def model_history(
    *, leaderboard: Leaderboard, model_id: int, max_points: int = HISTORY_MAX_POINTS
) -> list[HistoryPoint]:
    """The model's score, interval, rank and votes over time, oldest first, in at most
    `max_points` points (at least 2).

    With more kept snapshots than that, the time from the model's first to its latest rated
    snapshot is cut into `max_points - 1` equal spans and the newest snapshot of each span is
    kept, plus the very first: the line keeps its start and its current value, and a burst of
    snapshots in the last day weighs no more than a quiet week. The database picks those
    snapshots from the leaderboard's snapshot list (a small table, one row per snapshot) and
    then reads the model's rows of just those through the (snapshot, model) index: a model's
    rows are spread over the whole rating table, one page each, so reading all of them to thin
    them costs a disk page per snapshot (250 ms at 17,000 snapshots). Three queries, each
    reading at most about `max_points` rows; one when the history is short.
    """
    rows = Rating.objects.filter(
        model_id=model_id, snapshot__leaderboard=leaderboard, score__isnull=False
    )
    fields = ("snapshot_id", "snapshot__created", "rank", "score", "ci_low", "ci_high", "votes")
    ordered = rows.order_by("snapshot__created", "snapshot_id")
    found = list(ordered.values_list(*fields)[: max_points + 1])
    if len(found) > max_points:
        first = found[0]
        last = ordered.reverse().values_list(*fields)[0]
        spans = max(max_points - 1, 1)
        width = max((last[1] - first[1]).total_seconds() / spans, 1e-6)
        bucket = Least(
            Floor((EpochSeconds("created") - first[1].timestamp()) / width), Value(spans - 1)
        )
        newest = (
            RatingSnapshot.objects.filter(
                leaderboard=leaderboard, created__gte=first[1], created__lte=last[1]
            )
            .annotate(
                newest=Window(
                    RowNumber(),
                    partition_by=[bucket],
                    order_by=[F("created").desc(), F("id").desc()],
                )
            )
            .filter(newest=1)
            .values("id")
        )
        chosen = list(ordered.filter(snapshot_id__in=newest).values_list(*fields))
        found = [first, *(row for row in chosen if row[0] != first[0])]
    return [
        HistoryPoint(at=at, rank=rank, score=score, ci_low=low, ci_high=high, votes=votes)
        for _, at, rank, score, low, high, votes in found
    ]


@dataclass(frozen=True)
class GalleryEntry:
    """One model's output on one prompt and how it fared in votes on that prompt."""

    row: StandingsRow
    output: Output | None
    tally: Tally


@dataclass(frozen=True)
class PromptResults:
    """One prompt with every model's output, best on this prompt first."""

    prompt: Prompt
    entries: list[GalleryEntry]


def prompt_results(
    *,
    leaderboard: Leaderboard,
    prompts: list[Prompt],
    standings: StandingsView,
    with_outputs: bool = True,
) -> list[PromptResults]:
    """Every model's output on each of `prompts` with its win rate on that prompt.

    Three queries whatever the number of prompts and models: the outputs, then the pair
    counters of these prompts summed per (prompt, model) once from each side of the pair.
    Without `with_outputs` (the visitor may not see them) no output is read: every entry's
    `output` is None.
    """
    prompt_ids = [p.pk for p in prompts]
    outputs: dict[tuple[int, int], Output] = (
        {
            (o.prompt_id, o.model_id): o
            for o in Output.objects.filter(prompt_id__in=prompt_ids).only(
                "id", "prompt_id", "model_id", "kind", "text", "width", "height", "content_type"
            )
        }
        if with_outputs
        else {}
    )
    tallies: dict[tuple[int, int], Tally] = defaultdict(Tally)
    counters = PairCount.objects.filter(leaderboard=leaderboard, prompt_id__in=prompt_ids)
    for side in ("model_a_id", "model_b_id"):
        for (prompt_id, model_id), counts in _grouped_counts(counters, ("prompt_id", side)):
            tally = tally_of(leaderboard=leaderboard, as_a=side == "model_a_id", **counts)
            tallies[(prompt_id, model_id)] = tallies[(prompt_id, model_id)].plus(tally)
    results = []
    for prompt in prompts:
        entries = [
            GalleryEntry(
                row=row,
                output=outputs.get((prompt.pk, row.model_id)),
                tally=tallies.get((prompt.pk, row.model_id), Tally()),
            )
            for row in standings.rows
        ]
        entries.sort(
            key=lambda e: (
                e.tally.win_rate is None,
                -(e.tally.win_rate or 0.0),
                -e.tally.votes,
                e.row.model,
            )
        )
        results.append(PromptResults(prompt=prompt, entries=entries))
    return results


def model_outputs(*, model_id: int, prompt_ids: list[int]) -> dict[int, Output]:
    """The model's outputs on `prompt_ids`, by prompt id."""
    return {
        o.prompt_id: o
        for o in Output.objects.filter(model_id=model_id, prompt_id__in=prompt_ids).only(
            "id", "prompt_id", "model_id", "kind", "text", "width", "height", "content_type"
        )
    }


@dataclass(frozen=True)
class OutputsPublication:
    """Whether a board's public pages show each model's outputs under its name, and if not, why.

    `reason` is "never" (the board's setting), "closed" (the board publishes them once it
    stops taking votes, and it still takes them) or "sibling" (other boards of the benchmark,
    named in `waiting_on`, still take votes on the same files, shown blinded).
    """

    public: bool
    reason: str = ""
    waiting_on: tuple[str, ...] = ()


def outputs_publication(*, leaderboard: Leaderboard) -> OutputsPublication:
    """Whether the galleries of `leaderboard` may show outputs by model name to the public.

    A board's own setting is not enough: every board of the benchmark shows the same output
    files on its voting page, so a gallery that names them on one board would unblind the votes
    of a sibling that keeps its outputs hidden while it takes votes. One query, none when the
    board's own setting already hides them.
    """
    setting = leaderboard.outputs_public
    if setting == Leaderboard.OutputsPublic.NEVER:
        return OutputsPublication(public=False, reason="never")
    shown_now = setting == Leaderboard.OutputsPublic.ALWAYS or (
        setting == Leaderboard.OutputsPublic.CLOSED and not leaderboard.is_active
    )
    if not shown_now:
        return OutputsPublication(public=False, reason="closed")
    blinded = tuple(
        Leaderboard.objects.filter(benchmark_id=leaderboard.benchmark_id, is_active=True)
        .exclude(pk=leaderboard.pk)
        .exclude(outputs_public=Leaderboard.OutputsPublic.ALWAYS)
        .order_by("created", "id")
        .values_list("name", flat=True)
    )
    if blinded:
        return OutputsPublication(public=False, reason="sibling", waiting_on=blinded)
    return OutputsPublication(public=True)


def output_for_page(*, leaderboard: Leaderboard, output_id: int) -> Output:
    """An output of the leaderboard's benchmark, for the public pages' galleries."""
    output = (
        Output.objects.filter(pk=output_id, model__benchmark_id=leaderboard.benchmark_id)
        .exclude(file="")
        .first()
    )
    if output is None:
        raise NotFound(f"output {output_id} is not on leaderboard {leaderboard.pk}")
    return output


# ---------------------------------------------------------------- vote export

VOTE_EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("vote_id", "Stable id of the vote."),
    ("created", "When the vote was cast, ISO 8601 in UTC."),
    ("leaderboard_id", "The leaderboard the vote belongs to."),
    ("prompt_id", "Id of the prompt both outputs answered (empty for imported votes without one)."),
    ("prompt_identifier", "The owner's identifier of that prompt, when given."),
    ("left_model_id", "Id of the model whose output was shown on the left."),
    ("left_model", "Name of that model."),
    ("right_model_id", "Id of the model whose output was shown on the right."),
    ("right_model", "Name of that model."),
    (
        "choice",
        "The voter's answer to the leaderboard's instruction: left, right, tie or both_bad. "
        "On an inverse leaderboard ('Which is worse?') left means the left output is worse.",
    ),
    (
        "voter",
        "Anonymous voter key: the same voter has the same key on this leaderboard, but keys "
        "cannot be linked to accounts, sessions or other leaderboards. Empty for imported votes.",
    ),
    ("view_ms", "Milliseconds between showing the pair and the vote, when known."),
    ("imported", "true when the vote was imported from another arena rather than cast here."),
)


def voter_key(*, leaderboard_id: int, voter_id: int | None) -> str:
    """A voter's anonymous key on one leaderboard: a keyed hash, not reversible or linkable."""
    if voter_id is None:
        return ""
    message = f"versus-vote-export:{leaderboard_id}:{voter_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:16]


def votes_exported(*, leaderboard: Leaderboard) -> QuerySet[Vote]:
    """The leaderboard's votes that count in its published standings, oldest first.

    Votes the trust checks left out are not published: showing them would tell a suspicious
    voter that they were caught.
    """
    return Vote.objects.filter(leaderboard=leaderboard, excluded="").order_by("id")


def vote_export_rows(*, leaderboard: Leaderboard, votes: Any) -> Iterator[list[str]]:
    """Rows of `VOTE_EXPORT_COLUMNS` for `votes` (a queryset of the board's exported votes).

    Model names and prompt identifiers are read once up front, and the votes in chunks, so a
    million votes stream in constant memory without a join per row.
    """
    names = dict(
        Model.objects.filter(benchmark_id=leaderboard.benchmark_id).values_list("id", "name")
    )
    identifiers = dict(
        Prompt.objects.filter(benchmark_id=leaderboard.benchmark_id)
        .exclude(identifier="")
        .values_list("id", "identifier")
    )
    keys: dict[int, str] = {}
    fields = (
        "id",
        "created",
        "prompt_id",
        "left_model_id",
        "right_model_id",
        "choice",
        "voter_id",
        "view_ms",
        "is_imported",
    )
    for (
        vote_id,
        created,
        prompt_id,
        left,
        right,
        choice,
        voter_id,
        view_ms,
        imported,
    ) in votes.values_list(*fields).iterator(chunk_size=5000):
        if voter_id is not None and voter_id not in keys:
            keys[voter_id] = voter_key(leaderboard_id=leaderboard.pk, voter_id=voter_id)
        yield [
            str(vote_id),
            created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            str(leaderboard.pk),
            "" if prompt_id is None else str(prompt_id),
            identifiers.get(prompt_id, "") if prompt_id is not None else "",
            str(left),
            names.get(left, ""),
            str(right),
            names.get(right, ""),
            choice,
            keys.get(voter_id, "") if voter_id is not None else "",
            "" if view_ms is None else str(view_ms),
            "true" if imported else "false",
        ]
