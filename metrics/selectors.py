"""Reads of metric leaderboards: visibility, filters, rankings, the champion, runs, comparisons.

Rankings read the current result of each evaluation (run id, checkpoint step, evaluation dataset
and version): its newest result. The filters are applied to current results only, so a result a
newer log superseded never comes back through a filter it matched and its successor does not
(the superseded result stays on the run page). ``until`` reads the board as it stood then: the
result current at that time. A ranking orders by one metric, by the average
rank over several metrics, or by a weighted combination of min-max normalised metrics; ties are
broken by an optional secondary metric, then by the earlier result (the incumbent keeps its
place). With ``checkpoints="best"`` each training run (a run id when no training run is named)
keeps only its best checkpoint per evaluation dataset.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_date, parse_datetime
from scipy import stats

from config.errors import Conflict, Forbidden, Invalid, NotFound
from config.integers import ascii_int
from config.validation import nul_check

# The one visibility rule of Versus: public, or the caller's own, or everything for staff.
from leaderboards.selectors import _visible_q as visible_q
from metrics.models import (
    FLOAT_MAX,
    MetricBoard,
    MetricDefinition,
    MetricResult,
    MetricValue,
)

RANKING_MODES = {
    "metric": "one metric",
    "average_rank": "average rank over several metrics",
    "weighted": "weighted combination of metrics",
}
CHECKPOINT_MODES = {"best": "best checkpoint per training run", "all": "every checkpoint"}
NORMALIZE_MODES = {"minmax": "min-max normalised to 0-1", "none": "raw values"}
MAX_COMPARE = 5


# ---------------------------------------------------------------- visibility


def metric_boards_visible(*, user: Any) -> QuerySet[MetricBoard]:
    """Metric boards `user` may see: public ones, their own, or all for staff."""
    return MetricBoard.objects.filter(visible_q(user)).select_related(
        "owner", "preference_leaderboard__benchmark"
    )


def metric_board_get(*, board_id: int, user: Any, for_write: bool = False) -> MetricBoard:
    """One board; 404 when `user` may not see it, 403 when they may see but not change it."""
    board = metric_boards_visible(user=user).filter(pk=board_id).first()
    if board is None:
        raise NotFound(f"metric leaderboard {board_id} does not exist")
    if for_write and not (getattr(user, "is_staff", False) or board.owner_id == user.pk):
        raise Forbidden(f"metric leaderboard {board_id} belongs to another owner")
    return board


def board_metrics(*, board: MetricBoard) -> dict[str, MetricDefinition]:
    """The board's declared metrics by name, in declaration order."""
    return {m.name: m for m in board.metrics.order_by("id")}


# ---------------------------------------------------------------- query parsing


def _values(query: Mapping[str, Any], key: str) -> list[str]:
    if hasattr(query, "getlist"):
        raw = query.getlist(key)
    else:
        raw = query.get(key, [])
        raw = raw if isinstance(raw, list | tuple) else [raw]
    return [str(v).strip() for v in raw if v is not None and str(v).strip()]


def _value(query: Mapping[str, Any], key: str) -> str:
    values = _values(query, key)
    return values[-1] if values else ""


def id_parse(raw: str, *, field: str, noun: str) -> int:
    """An id from a query parameter (`ascii_int`), or a 400 naming `field`."""
    value = ascii_int(raw.strip())
    if value is None:
        raise Invalid(
            f"{field}: {raw[:40]!r} is not a {noun} id; give its number, such as {field}=12",
            field=field,
        )
    return value


# The range a time filter is clamped to: a day inside what Python's datetime holds, so that
# neither the end of a bare date nor a conversion to another time zone (the database's, a day at
# most) overflows. No result is logged that early or that late, so clamping changes no answer.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _moment(raw: str, *, field: str, end_of_day: bool) -> datetime:
    """A date or ISO 8601 time from `raw`, in UTC and within EARLIEST..LATEST; a 400 naming
    `field` when it is neither."""
    try:
        day = parse_date(raw)
        moment = None if day is not None else parse_datetime(raw)
    except ValueError:
        day = moment = None
    if day is None and moment is None:
        raise Invalid(
            f"{field}: {raw!r} is not a date; use YYYY-MM-DD or an ISO 8601 date and time",
            field=field,
        )
    if day is not None:
        if end_of_day:
            # A bare end date includes that whole day.
            day = day + timedelta(days=1) if day < LATEST.date() else LATEST.date()
        moment = datetime.combine(day, time.min)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # such as 0001-01-01T00:00+05:00, which is in the year 0 in UTC
        return EARLIEST if moment.year == 1 else LATEST
    return min(max(moment, EARLIEST), LATEST)


FILTER_FIELDS = (
    "model_type",
    "model",
    "eval_dataset",
    "eval_dataset_version",
    "train_dataset",
    "train_dataset_version",
    "training_run",
)


@dataclass(frozen=True)
class ResultFilters:
    """Which results take part: all tags given, a time window, and exact lineage fields.

    `until` is exclusive; a bare date given as ``until`` is read as the end of that day. In a
    ranking, `until` is an "as of" time (the board as it stood then) and every other filter,
    `since` included, is applied to the results current at that time.
    """

    tags: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    model_type: str = ""
    model: str = ""
    eval_dataset: str = ""
    eval_dataset_version: str = ""
    train_dataset: str = ""
    train_dataset_version: str = ""
    training_run: str = ""
    query: str = ""

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def apply(self, qs: QuerySet[MetricResult]) -> QuerySet[MetricResult]:
        """Narrow `qs` by every filter the database can answer (tags are matched in Python)."""
        if self.since is not None:
            qs = qs.filter(created__gte=self.since)
        if self.until is not None:
            qs = qs.filter(created__lt=self.until)
        columns = {"model": "model_name", "training_run": "training_run_id"}
        for name in FILTER_FIELDS:
            if value := getattr(self, name):
                qs = qs.filter(**{columns.get(name, name): value})
        if self.query:
            qs = qs.filter(Q(model_name__icontains=self.query) | Q(run_id__icontains=self.query))
        return qs

    def keeps(self, result: MetricResult) -> bool:
        """Whether `result` carries every wanted tag."""
        return set(self.tags) <= set(result.tags or [])


def result_filters_parse(query: Mapping[str, Any]) -> ResultFilters:
    """Filters from query parameters: ``tag`` (repeatable, all must match), ``since``, ``until``
    (dates or ISO 8601 times), ``model_type``, ``model``, ``eval_dataset``,
    ``eval_dataset_version``, ``train_dataset``, ``train_dataset_version``, ``training_run``
    and ``q`` (part of a model name or run id). A bad date is a 400 naming the parameter."""
    since_raw, until_raw = _value(query, "since"), _value(query, "until")
    since = _moment(since_raw, field="since", end_of_day=False) if since_raw else None
    until = _moment(until_raw, field="until", end_of_day=True) if until_raw else None
    if since and until and since >= until:
        raise Invalid(f"until: {until_raw!r} is not after since {since_raw!r}", field="until")
    tags: list[str] = []
    for raw in _values(query, "tag"):
        if raw not in tags:
            tags.append(raw)
    # Tags are matched in Python; the other text filters go into the query, where PostgreSQL
    # refuses a NUL character.
    return ResultFilters(
        tags=tuple(tags),
        since=since,
        until=until,
        query=nul_check(_value(query, "q"), field="q"),
        **{name: nul_check(_value(query, name), field=name) for name in FILTER_FIELDS},
    )


@dataclass(frozen=True)
class RankingSpec:
    """How to rank: the mode, its metrics and weights, the tie-break, and checkpoint handling."""

    mode: str = "metric"
    metric: str = ""
    metrics: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    normalize: str = "minmax"
    tie_break: str = ""
    checkpoints: str = "best"

    @property
    def ranked_metrics(self) -> tuple[str, ...]:
        """The metrics the order depends on (without the tie-break)."""
        return (self.metric,) if self.mode == "metric" else self.metrics

    @property
    def score_label(self) -> str:
        if self.mode == "metric":
            return self.metric
        if self.mode == "average_rank":
            return "average rank"
        return "weighted score"

    def describe(self) -> str:
        """One line for people: what decides the order."""
        if self.mode == "metric":
            text = f"by {self.metric}"
        elif self.mode == "average_rank":
            text = f"by average rank over {', '.join(self.metrics)}"
        else:
            parts = ", ".join(
                f"{name} x{weight:g}"
                for name, weight in zip(self.metrics, self.weights, strict=True)
            )
            text = f"by weighted {NORMALIZE_MODES[self.normalize]} {parts}"
        if self.tie_break:
            text += f", ties broken by {self.tie_break}"
        return text + ("; best checkpoint per training run" if self.checkpoints == "best" else "")

    def as_query(self, board: MetricBoard) -> dict[str, str]:
        """The query parameters that give this spec (defaults left out)."""
        out: dict[str, str] = {}
        if self.mode != "metric":
            out["mode"] = self.mode
            out["metrics"] = ",".join(self.metrics)
            if self.mode == "weighted":
                out["weights"] = ",".join(
                    f"{n}:{w:g}" for n, w in zip(self.metrics, self.weights, strict=True)
                )
                if self.normalize != "minmax":
                    out["normalize"] = self.normalize
        elif self.metric != board.primary_metric:
            out["metric"] = self.metric
        if self.tie_break:
            out["tie_break"] = self.tie_break
        if self.checkpoints != "best":
            out["checkpoints"] = self.checkpoints
        return out


def _known(name: str, metrics: Mapping[str, MetricDefinition], *, field: str) -> str:
    if name not in metrics:
        raise Invalid(
            f"{field}: unknown metric {name!r}; known metrics: {', '.join(metrics) or '(none)'}",
            field=field,
            code="unknown_metric",
        )
    return name


def _choice(query: Mapping[str, Any], key: str, allowed: Mapping[str, str], default: str) -> str:
    value = _value(query, key) or default
    if value not in allowed:
        raise Invalid(f"{key}: {value!r}; use one of {', '.join(allowed)}", field=key)
    return value


def ranking_spec_parse(
    *, board: MetricBoard, query: Mapping[str, Any], metrics: Mapping[str, MetricDefinition]
) -> RankingSpec:
    """A ranking from query parameters; unknown metric names are a 400 listing the known ones.

    ``mode``: ``metric`` (default; ``metric``, default the board's primary metric),
    ``average_rank`` (``metrics``, comma-separated, default all) or ``weighted`` (``weights``
    such as ``accuracy:2,f1:1``, default equal weights on all; ``normalize`` ``minmax`` or
    ``none``). ``tie_break``: a secondary metric. ``checkpoints``: ``best`` (default) or ``all``.
    """
    mode = _choice(query, "mode", RANKING_MODES, "metric")
    checkpoints = _choice(query, "checkpoints", CHECKPOINT_MODES, "best")
    normalize = _choice(query, "normalize", NORMALIZE_MODES, "minmax")
    metric = _known(_value(query, "metric") or board.primary_metric, metrics, field="metric")
    names: list[str] = []
    weights: list[float] = []
    if mode == "weighted" and _value(query, "weights"):
        for part in _value(query, "weights").split(","):
            name, sep, raw = part.strip().rpartition(":")
            if not sep or not name:
                raise Invalid(
                    f"weights: {part!r} is not metric:weight, such as accuracy:2", field="weights"
                )
            _known(name, metrics, field="weights")
            try:
                weight = float(raw)
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight) or weight < 0:
                raise Invalid(
                    f"weights: {raw!r} for {name!r} is not a finite number of 0 or more",
                    field="weights",
                )
            if name in names:
                raise Invalid(f"weights: {name!r} is given twice", field="weights")
            names.append(name)
            weights.append(weight)
        if not any(weights):
            raise Invalid("weights: at least one weight must be above 0", field="weights")
    elif mode != "metric":
        raw_names = _value(query, "metrics")
        wanted = [n.strip() for n in raw_names.split(",") if n.strip()] if raw_names else []
        for name in wanted or list(metrics):
            _known(name, metrics, field="metrics")
            if name not in names:
                names.append(name)
        weights = [1.0] * len(names)
    tie_break = _value(query, "tie_break")
    if tie_break:
        _known(tie_break, metrics, field="tie_break")
    return RankingSpec(
        mode=mode,
        metric=metric,
        metrics=tuple(names) if mode != "metric" else (),
        weights=tuple(weights) if mode == "weighted" else (),
        normalize=normalize,
        tie_break=tie_break,
        checkpoints=checkpoints,
    )


# ---------------------------------------------------------------- human preference


@dataclass(frozen=True)
class HumanScore:
    """A model's published human-preference rating on the linked preference leaderboard."""

    score: float
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    votes: int
    provisional: bool


def human_scores(*, board: MetricBoard, viewer: Any) -> dict[str, HumanScore] | None:
    """Rated models of the board's preference leaderboard by name, from its newest snapshot.

    None when the board links no preference leaderboard or `viewer` may not see it (its private
    scores are never shown through a public metric board); empty before the first fit.
    """
    from evaluation.selectors import snapshot_latest, snapshot_rows

    leaderboard = board.preference_leaderboard
    if leaderboard is None or not leaderboard.is_visible_to(viewer):
        return None
    snapshot = snapshot_latest(leaderboard=leaderboard)
    if snapshot is None:
        return {}
    return {
        row.model.name: HumanScore(
            score=row.score,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            rank=row.rank,
            votes=row.votes,
            provisional=row.provisional,
        )
        for row in snapshot_rows(snapshot=snapshot)
        if row.score is not None
    }


@dataclass(frozen=True)
class Agreement:
    """How far the metric ranking agrees with the human ranking over the models in both.

    Each model counts once, at its best-ranked row. Coefficients are None with fewer than three
    such models or when either ranking has no spread; +1 is full agreement, -1 reversed order.
    """

    models: int
    spearman: float | None = None
    spearman_p: float | None = None
    kendall: float | None = None
    kendall_p: float | None = None


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def rank_agreement(*, metric_ranks: Sequence[float], human_scores: Sequence[float]) -> Agreement:
    """Spearman's rho and Kendall's tau between metric ranks (1 = best) and human scores."""
    n = len(metric_ranks)
    if n < 3:
        return Agreement(models=n)
    x = np.asarray(metric_ranks, dtype=float)
    y = -np.asarray(human_scores, dtype=float)  # higher human score = better = smaller
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Agreement(models=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = stats.spearmanr(x, y)
        tau = stats.kendalltau(x, y)
    return Agreement(
        models=n,
        spearman=_finite_or_none(rho.statistic),
        spearman_p=_finite_or_none(rho.pvalue),
        kendall=_finite_or_none(tau.statistic),
        kendall_p=_finite_or_none(tau.pvalue),
    )


# ---------------------------------------------------------------- ranking


@dataclass(frozen=True)
class RankedRow:
    """One ranked result: its rank, the score that ranked it, and its values by metric name.

    `score` is the metric's value, the average rank (lower is better) or the weighted score.
    `checkpoints` counts the results of its training run that competed for the row.
    """

    rank: int
    result: MetricResult
    values: dict[str, float]
    score: float
    checkpoints: int = 1
    human: HumanScore | None = None


@dataclass(frozen=True)
class Ranking:
    """A board's ranking under one spec and filters, best first.

    `considered` counts the current results that passed the filters, `unranked` those of them
    that lack a metric the ranking needs (they are left out of `rows`). `human` is None when no
    preference leaderboard is linked (or visible), else the rated models by name.
    """

    board: MetricBoard
    spec: RankingSpec
    filters: ResultFilters
    metrics: list[MetricDefinition]
    rows: list[RankedRow]
    considered: int
    unranked: int
    human: dict[str, HumanScore] | None = None
    agreement: Agreement | None = None

    @property
    def champion(self) -> RankedRow | None:
        return self.rows[0] if self.rows else None


def results_current(*, board: MetricBoard, as_of: datetime | None = None) -> QuerySet[MetricResult]:
    """The current result of each evaluation on `board`: the newest of its (run id, checkpoint
    step, evaluation dataset and version), among the results logged before `as_of` if given.

    One query: a result is current when no result of the same evaluation is newer (later time,
    or the same time and a larger id, the order the run page uses).
    """
    qs = MetricResult.objects.filter(board=board)
    if as_of is not None:
        qs = qs.filter(created__lt=as_of)
    no_step = Value(-1, output_field=BigIntegerField())
    newer = (
        qs.annotate(step_key=Coalesce("checkpoint_step", no_step, output_field=BigIntegerField()))
        .filter(
            run_id=OuterRef("run_id"),
            eval_dataset=OuterRef("eval_dataset"),
            eval_dataset_version=OuterRef("eval_dataset_version"),
            # Steps are 0 or more, so -1 stands for "no step" and two step-less results match.
            step_key=Coalesce(OuterRef("checkpoint_step"), no_step, output_field=BigIntegerField()),
        )
        .filter(
            Q(created__gt=OuterRef("created"))
            | Q(created=OuterRef("created"), pk__gt=OuterRef("pk"))
        )
    )
    return qs.filter(~Exists(newer))


def _latest_results(
    board: MetricBoard, filters: ResultFilters
) -> list[tuple[MetricResult, dict[str, float]]]:
    """The current results that pass `filters`, newest first, with their values.

    The newest result of each evaluation is picked before filtering: a re-logged run that lost a
    tag (or changed model type) must not be ranked on its older, superseded score.
    """
    # `until` is an "as of" time: it picks the results current then (so `apply`'s own `until`
    # condition, which it repeats, removes nothing more).
    qs = filters.apply(results_current(board=board, as_of=filters.until))
    latest = [r for r in qs.order_by("-created", "-id") if filters.keeps(r)]
    # A subquery, not a list of ids: a large board would exceed SQLite's parameter limit.
    values = result_values(result_ids=qs.values("id"))
    return [(r, values.get(r.pk, {})) for r in latest]


def result_values(*, result_ids: Any) -> dict[int, dict[str, float]]:
    """Metric values by result id and metric name for `result_ids` (ids or an id subquery)."""
    values: dict[int, dict[str, float]] = defaultdict(dict)
    for result_id, name, value in MetricValue.objects.filter(result_id__in=result_ids).values_list(
        "result_id", "metric__name", "value"
    ):
        values[result_id][name] = value
    return values


def _goodness(
    rows: Sequence[dict[str, float]], spec: RankingSpec, metrics: Mapping[str, MetricDefinition]
) -> tuple[list[float], list[float]]:
    """For rows that have every ranked metric: (larger-is-better keys, displayed scores)."""
    if not rows:
        return [], []

    def signed(name: str) -> np.ndarray:
        sign = 1.0 if metrics[name].higher_is_better else -1.0
        return sign * np.array([row[name] for row in rows], dtype=float)

    if spec.mode == "metric":
        good = signed(spec.metric)
        shown = np.array([row[spec.metric] for row in rows], dtype=float)
        return good.tolist(), shown.tolist()
    if spec.mode == "average_rank":
        ranks = np.mean(
            [stats.rankdata(-signed(name), method="average") for name in spec.metrics], axis=0
        )
        return (-ranks).tolist(), ranks.tolist()
    combined = weighted_mean(
        np.array([signed(name) for name in spec.metrics]),
        np.array(spec.weights, dtype=float),
        minmax=spec.normalize == "minmax",
    )
    return combined.tolist(), combined.tolist()


def weighted_mean(columns: np.ndarray, weights: np.ndarray, *, minmax: bool) -> np.ndarray:
    """The weighted mean over metrics of each row, finite for any finite input.

    Parameters
    ----------
    columns : ndarray of shape (metrics, rows)
        Finite values, signed so that larger is better.
    weights : ndarray of shape (metrics,)
        Finite weights of 0 or more, at least one above 0.
    minmax : bool
        Scale each metric to 0-1 (its worst row 0, its best 1; all 1 when its rows are equal)
        before weighting.

    Returns
    -------
    ndarray of shape (rows,)
        Each row's score, within the range of its values (0-1 with `minmax`).

    Notes
    -----
    Finite values and weights can still overflow on the way: the spread of 1e308 and -1e308 is
    infinite, and so is the sum of two weights of 1e308; an infinite spread or total then turns
    every score into NaN, which ranks arbitrarily and which JSON cannot carry. So spreads are
    taken of halved values (halving is exact, and the ratio of two halved differences is the
    ratio of the differences), and weights become shares of 1 before they multiply anything.
    A weighted mean of values lies between their minimum and maximum; only rounding can push one
    past the largest double, and the clip takes it back.
    """
    shares = weights / weights.max()
    shares = shares / shares.sum()
    if minmax:
        low = columns.min(axis=1, keepdims=True) / 2
        half_spread = columns.max(axis=1, keepdims=True) / 2 - low
        flat = half_spread == 0
        columns = np.where(flat, 1.0, (columns / 2 - low) / np.where(flat, 1.0, half_spread))
    with np.errstate(over="ignore"):
        combined = shares @ columns
    return np.clip(combined, -FLOAT_MAX, FLOAT_MAX)


def _group_key(result: MetricResult) -> tuple[str, str, str, str]:
    # Training-run ids and run ids are separate namespaces: a run "t1" is not training run "t1".
    kind, name = (
        ("training", result.training_run_id) if result.training_run_id else ("run", result.run_id)
    )
    return (kind, name, result.eval_dataset, result.eval_dataset_version)


def _order_key(good: float, tie: float, result: MetricResult) -> tuple[Any, ...]:
    return (-good, -tie, result.created, result.pk)


def board_ranking(
    *,
    board: MetricBoard,
    spec: RankingSpec,
    filters: ResultFilters | None = None,
    viewer: Any = None,
) -> Ranking:
    """Rank the board's newest results that pass `filters` under `spec`, best first.

    Rows that lack a ranked metric are counted in `unranked` and left out. With best-checkpoint
    mode each group keeps its best result under the spec, and composite scores (average rank,
    min-max weights) are then computed again over the rows that remain, so a displayed score
    always refers to the displayed rows. A missing tie-break value counts as the worst.
    """
    filters = filters or ResultFilters()
    metrics = board_metrics(board=board)
    candidates = _latest_results(board, filters)
    needed = spec.ranked_metrics
    complete = [(r, v) for r, v in candidates if all(name in v for name in needed)]
    tie_sign = 1.0
    if spec.tie_break:
        tie_sign = 1.0 if metrics[spec.tie_break].higher_is_better else -1.0

    def tie_of(values: dict[str, float]) -> float:
        if not spec.tie_break or spec.tie_break not in values:
            return -math.inf
        return tie_sign * values[spec.tie_break]

    def ordered(pool: list[tuple[MetricResult, dict[str, float]]]) -> list[tuple[Any, ...]]:
        good, shown = _goodness([v for _, v in pool], spec, metrics)
        rows = [(g, tie_of(v), s, r, v) for (r, v), g, s in zip(pool, good, shown, strict=True)]
        rows.sort(key=lambda row: _order_key(row[0], row[1], row[3]))
        return rows

    group_sizes: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for result, _ in complete:
        group_sizes[_group_key(result)] += 1
    pool = complete
    if spec.checkpoints == "best":
        best: dict[tuple[str, str, str, str], tuple[MetricResult, dict[str, float]]] = {}
        for _, _, _, result, values in ordered(complete):
            best.setdefault(_group_key(result), (result, values))
        pool = list(best.values())
    human = human_scores(board=board, viewer=viewer)
    rows: list[RankedRow] = []
    previous: tuple[float, float] | None = None
    for position, (good, tie, shown, result, values) in enumerate(ordered(pool), start=1):
        rank = rows[-1].rank if previous == (good, tie) else position
        previous = (good, tie)
        rows.append(
            RankedRow(
                rank=rank,
                result=result,
                values=values,
                score=shown,
                checkpoints=group_sizes[_group_key(result)] if spec.checkpoints == "best" else 1,
                human=human.get(result.model_name) if human else None,
            )
        )
    agreement = None
    if human is not None:
        firsts: dict[str, tuple[int, float]] = {}
        for row in rows:
            if row.human is not None and row.result.model_name not in firsts:
                firsts[row.result.model_name] = (row.rank, row.human.score)
        agreement = rank_agreement(
            metric_ranks=[rank for rank, _ in firsts.values()],
            human_scores=[score for _, score in firsts.values()],
        )
    return Ranking(
        board=board,
        spec=spec,
        filters=filters,
        metrics=list(metrics.values()),
        rows=rows,
        considered=len(candidates),
        unranked=len(candidates) - len(complete),
        human=human,
        agreement=agreement,
    )


SORT_COLUMNS = {
    "rank": "asc",
    "model": "asc",
    "run": "asc",
    "step": "desc",
    "logged": "desc",
    "human": "desc",
}


def ranking_rows_sorted(
    *, ranking: Ranking, sort: str = "", order: str = ""
) -> tuple[list[RankedRow], str, str]:
    """The ranking's rows in a column's order, for the page; returns (rows, sort, order).

    `sort` is a metric name (best first by default) or one of ``rank``, ``model``, ``run``,
    ``step``, ``logged``, ``human``; `order` is ``asc`` or ``desc`` (default: the column's
    natural one). Rows without a value in the column go last in either order.
    """
    metrics = {m.name: m for m in ranking.metrics}
    sort = sort or "rank"
    if sort in metrics:
        natural = "desc" if metrics[sort].higher_is_better else "asc"
    elif sort in SORT_COLUMNS:
        natural = SORT_COLUMNS[sort]
    else:
        raise Invalid(
            f"sort: {sort!r}; sort by a metric ({', '.join(metrics)}) or by "
            f"{', '.join(SORT_COLUMNS)}",
            field="sort",
        )
    order = order or natural
    if order not in {"asc", "desc"}:
        raise Invalid(f"order: {order!r}; use asc or desc", field="order")

    def value(row: RankedRow) -> Any:
        if sort in metrics:
            return row.values.get(sort)
        return {
            "rank": row.rank,
            "model": row.result.model_name.lower(),
            "run": row.result.run_id.lower(),
            "step": row.result.checkpoint_step,
            "logged": row.result.created,
            "human": row.human.score if row.human else None,
        }[sort]

    present = [row for row in ranking.rows if value(row) is not None]
    missing = [row for row in ranking.rows if value(row) is None]
    # Stable sorts: equal values keep the ranking's order.
    present.sort(key=value, reverse=order == "desc")
    return present + missing, sort, order


def board_filter_choices(*, board: MetricBoard) -> dict[str, list[str]]:
    """The distinct values of each filterable field on the board, for the page's filter form."""
    results = MetricResult.objects.filter(board=board)
    choices: dict[str, list[str]] = {}
    columns = {"model": "model_name", "training_run": "training_run_id"}
    for name in FILTER_FIELDS:
        column = columns.get(name, name)
        choices[name] = sorted(
            v for v in results.order_by().values_list(column, flat=True).distinct() if v
        )
    tags: set[str] = set()
    for row in results.values_list("tags", flat=True):
        tags.update(row or [])
    choices["tag"] = sorted(tags)
    return choices


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class CheckpointPoint:
    """One checkpoint of a training run: its step, evaluation and metric values."""

    step: int
    result: MetricResult
    values: dict[str, float]

    @property
    def eval_label(self) -> str:
        return dataset_label(self.result.eval_dataset, self.result.eval_dataset_version)


@dataclass(frozen=True)
class RunView:
    """Everything logged for one run id on a board: its results (newest first), which of them
    are superseded by a newer evaluation of the same thing, and the checkpoints of its
    training run(s) in step order, with the best step of each metric per evaluation dataset."""

    board: MetricBoard
    run_id: str
    results: list[MetricResult]
    values: dict[int, dict[str, float]]
    superseded: set[int]
    metrics: list[MetricDefinition]
    training_runs: list[str]
    checkpoints: list[CheckpointPoint]
    best_steps: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def latest(self) -> MetricResult:
        return self.results[0]


def dataset_label(name: str, version: str) -> str:
    """``name@version``, ``name`` or an empty string."""
    return f"{name}@{version}" if name and version else name


def run_get(*, board: MetricBoard, run_id: str) -> RunView:
    """The run page's facts for `run_id`; 404 when the board has no result for it."""
    # No run id is stored with a NUL character, and PostgreSQL refuses one in a query.
    results = (
        []
        if "\x00" in run_id
        else list(
            MetricResult.objects.filter(board=board, run_id=run_id).order_by("-created", "-id")
        )
    )
    if not results:
        raise NotFound(f"run {run_id!r} has no result on metric leaderboard {board.pk}")
    metrics = board_metrics(board=board)
    seen: set[tuple[Any, ...]] = set()
    superseded: set[int] = set()
    for result in results:
        if result.lineage_key in seen:
            superseded.add(result.pk)
        seen.add(result.lineage_key)
    training_runs = sorted({r.training_run_id for r in results if r.training_run_id})
    group = MetricResult.objects.filter(board=board, checkpoint_step__isnull=False)
    group = (
        group.filter(training_run_id__in=training_runs)
        if training_runs
        else group.filter(run_id=run_id)
    )
    points: list[CheckpointPoint] = []
    seen = set()
    group_results = list(group.order_by("-created", "-id"))
    values = result_values(result_ids=[r.pk for r in results] + [r.pk for r in group_results])
    for result in group_results:
        if result.lineage_key in seen:
            continue
        seen.add(result.lineage_key)
        assert result.checkpoint_step is not None
        points.append(CheckpointPoint(result.checkpoint_step, result, values.get(result.pk, {})))
    points.sort(key=lambda p: (p.eval_label, p.step, p.result.run_id))
    best_steps: dict[str, dict[str, int]] = defaultdict(dict)
    for name, metric in metrics.items():
        sign = 1.0 if metric.higher_is_better else -1.0
        by_eval: dict[str, tuple[float, int]] = {}
        for point in points:
            if name not in point.values:
                continue
            key = (sign * point.values[name], -point.step)
            if point.eval_label not in by_eval or key > by_eval[point.eval_label]:
                by_eval[point.eval_label] = key
        for label, (_, negative_step) in by_eval.items():
            best_steps[name][label] = -negative_step
    return RunView(
        board=board,
        run_id=run_id,
        results=results,
        values=values,
        superseded=superseded,
        metrics=list(metrics.values()),
        training_runs=training_runs,
        checkpoints=points,
        best_steps=dict(best_steps),
    )


# ---------------------------------------------------------------- comparing runs


@dataclass(frozen=True)
class ComparedRow:
    """One line of a comparison: a label, one value per column, and whether they differ.

    For metrics, `best` marks the columns holding the best value (by the metric's direction;
    none when boards disagree on the direction) and `direction` is ``higher``, ``lower`` or
    ``mixed``. `key` is the metric name or metadata key without a label; `board` is set when the
    row holds one board's values of a name that two boards give for the same run (the label
    then names the board).
    """

    name: str
    values: list[Any]
    differs: bool
    best: list[bool] = field(default_factory=list)
    direction: str = ""
    key: str = ""
    board: int | None = None


@dataclass(frozen=True)
class ComparedRun:
    """One column of a comparison: a run and its results, one per board it was logged to.

    A run id logged to several boards of one owner (the SDK names boards after their metric, so
    ``ModelLeaderboard("accuracy")`` and ``ModelLeaderboard("f1")`` are two boards) is one run:
    its column holds each board's result, in board order, and `values` the union of their
    metrics, keyed by the labels of the comparison's metric rows.
    """

    run_id: str
    results: list[MetricResult]
    values: dict[str, float] = field(default_factory=dict)

    @property
    def first(self) -> MetricResult:
        return self.results[0]

    @property
    def model_name(self) -> str:
        return _joined([r.model_name for r in self.results])

    @property
    def checkpoint_step(self) -> int | None:
        """The step when every result of the column was taken at the same one."""
        steps = {r.checkpoint_step for r in self.results}
        return steps.pop() if len(steps) == 1 else None


@dataclass(frozen=True)
class Comparison:
    """Two to five runs side by side: lineage fields, metrics, and flattened metadata."""

    columns: list[ComparedRun]
    fields: list[ComparedRow]
    metrics: list[ComparedRow]
    metadata: list[ComparedRow]


def _flatten(metadata: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(metadata, dict) and metadata:
        flat: dict[str, Any] = {}
        for key, value in metadata.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: metadata} if prefix else {}


def _differs(values: Iterable[Any]) -> bool:
    return len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1


def _joined(values: Iterable[Any]) -> Any:
    """One value when the results of a column agree, else the distinct ones joined; blanks (no
    step, no dataset) say nothing and are left out."""
    distinct: list[Any] = []
    for value in values:
        if value not in (None, "") and value not in distinct:
            distinct.append(value)
    if not distinct:
        return None if all(v is None for v in values) else ""
    return distinct[0] if len(distinct) == 1 else ", ".join(map(str, distinct))


_NEWEST_STEP_FIRST = (F("checkpoint_step").desc(nulls_last=True), "-created", "-id")


def _resolve_run(user: Any, run_id: str, board: MetricBoard | None) -> list[MetricResult]:
    """The results a run id stands for: on each board, its highest checkpoint step, newest first.

    With `board`, that board only. Otherwise the caller's own boards if the run id is on any of
    them, else every board they may see; a run id is one run within one owner's boards, so it
    is ambiguous (409, listing the boards) only when it is on boards of several other owners.
    """
    if "\x00" in run_id:
        # No run id is stored with a NUL character, and PostgreSQL refuses one in a query.
        raise NotFound(
            f"runs: run {run_id!r} is on no metric leaderboard you can see", field="runs"
        )
    if board is not None:
        result = (
            MetricResult.objects.filter(board=board, run_id=run_id)
            .order_by(*_NEWEST_STEP_FIRST)
            .first()
        )
        if result is None:
            raise NotFound(
                f"runs: run {run_id!r} has no result on metric leaderboard {board.pk}",
                field="runs",
            )
        return [result]
    found = MetricResult.objects.filter(run_id=run_id, board__in=metric_boards_visible(user=user))
    boards = {
        b.pk: b
        for b in MetricBoard.objects.filter(pk__in=found.values("board_id")).select_related("owner")
    }
    own = {pk: b for pk, b in boards.items() if b.owner_id == getattr(user, "pk", None)}
    candidates = own or boards
    if not candidates:
        raise NotFound(
            f"runs: run {run_id!r} is on no metric leaderboard you can see", field="runs"
        )
    if len({b.owner_id for b in candidates.values()}) > 1:
        listed = "; ".join(
            f"{b.pk} ({b.name!r} by {b.owner.username})"
            for b in sorted(candidates.values(), key=lambda b: b.pk)
        )
        raise Conflict(
            f"runs: run {run_id!r} is on metric leaderboards of different owners: {listed}. "
            "Say which with board=<id>",
            field="runs",
            code="ambiguous_run",
        )
    newest: dict[int, MetricResult] = {}
    for result in found.filter(board_id__in=candidates).order_by("board_id", *_NEWEST_STEP_FIRST):
        newest.setdefault(result.board_id, result)
    return list(newest.values())


Cells = list[dict[int, Any]]  # per column: board id -> value


def _rows_by_board(
    columns: Sequence[Sequence[tuple[int, Mapping[str, Any]]]], *, clash: Any
) -> list[tuple[str, int | None, Cells]]:
    """Line the columns' (board id, mapping) pairs up by key: (key, board or None, cells).

    A key is one row unless `clash` says that the boards one column holds for it cannot share
    it; then it is one row per board. Rows come in the order their keys first appear.
    """
    order: list[str] = []
    given: dict[str, list[dict[int, Any]]] = defaultdict(lambda: [{} for _ in columns])
    for index, pairs in enumerate(columns):
        for board_id, mapping in pairs:
            for key, value in mapping.items():
                if key not in given:
                    order.append(key)
                given[key][index][board_id] = value
    rows: list[tuple[str, int | None, Cells]] = []
    for key in order:
        cells = given[key]
        if not any(len(cell) > 1 and clash(list(cell.values())) for cell in cells):
            rows.append((key, None, cells))
            continue
        board_ids = list(dict.fromkeys(b for cell in cells for b in cell))
        for board_id in board_ids:
            rows.append(
                (key, board_id, [{board_id: c[board_id]} if board_id in c else {} for c in cells])
            )
    return rows


def _labels(
    rows: Sequence[tuple[str, int | None, Cells]], boards: Mapping[int, MetricBoard]
) -> list[str]:
    """Row labels: the key, and for a row of one board's values the board's name (and its id
    when two such boards share a name)."""
    names: dict[str, list[str]] = defaultdict(list)
    for key, board_id, _ in rows:
        if board_id is not None:
            names[key].append(boards[board_id].name)
    labels = []
    for key, board_id, _ in rows:
        if board_id is None:
            labels.append(key)
            continue
        board = boards[board_id]
        shared = names[key].count(board.name) > 1
        labels.append(f"{key} ({board.name} #{board.pk})" if shared else f"{key} ({board.name})")
    return labels


def runs_compare(
    *,
    user: Any,
    run_ids: Sequence[str] = (),
    result_ids: Sequence[int] = (),
    board_id: int | None = None,
) -> Comparison:
    """Compare 2-5 runs (by run id) or results (by id) side by side.

    On each board a run id stands for its result at the highest checkpoint step (the newest
    such result). With `board_id` run ids are looked up on that board only (404 if the caller
    may not see it). Without it, the caller's own boards are searched first, then every board
    they may see; a run id on several boards of one owner is one run whose column holds the
    union of its metrics (a metric name two of those boards give is shown once per board,
    labelled with the board). A run id on boards of several other owners is a 409 that lists
    them, never a guess.
    """
    total = len(run_ids) + len(result_ids)
    if total < 2 or total > MAX_COMPARE:
        raise Invalid(
            f"runs: compare 2 to {MAX_COMPARE} runs; {total} given", field="runs", code="count"
        )
    board = metric_board_get(board_id=board_id, user=user) if board_id is not None else None
    picked: list[list[MetricResult]] = [_resolve_run(user, run_id, board) for run_id in run_ids]
    visible = metric_boards_visible(user=user)
    for result_id in result_ids:
        result = MetricResult.objects.filter(pk=result_id, board__in=visible).first()
        if result is None:
            raise NotFound(f"results: result {result_id} does not exist", field="results")
        picked.append([result])
    ids = [r.pk for results in picked for r in results]
    if len(set(ids)) != len(ids):
        raise Invalid("runs: the same result is given twice", field="runs", code="duplicate")
    by_id = {
        r.pk: r
        for r in MetricResult.objects.filter(pk__in=ids).select_related("board", "board__owner")
    }
    picked = [[by_id[r.pk] for r in results] for results in picked]
    boards = {r.board_id: r.board for results in picked for r in results}
    values = result_values(result_ids=ids)
    definitions: dict[tuple[int, str], MetricDefinition] = {
        (m.board_id, m.name): m for m in MetricDefinition.objects.filter(board_id__in=boards)
    }
    declared = {key: d.pk for key, d in definitions.items()}

    def in_declaration_order(result: MetricResult) -> dict[str, float]:
        measured = values.get(result.pk, {})
        return dict(sorted(measured.items(), key=lambda kv: declared[(result.board_id, kv[0])]))

    # Two boards of one run that both give a metric name are two metrics, even with equal values.
    metric_rows = _rows_by_board(
        [[(r.board_id, in_declaration_order(r)) for r in results] for results in picked],
        clash=lambda _: True,
    )
    metric_labels = _labels(metric_rows, boards)
    column_values: list[dict[str, float]] = [{} for _ in picked]
    compared_metrics = []
    for label, (name, row_board, cells) in zip(metric_labels, metric_rows, strict=True):
        row_values = [next(iter(cell.values()), None) for cell in cells]
        for index, value in enumerate(row_values):
            if value is not None:
                column_values[index][label] = value
        directions = {definitions[(b, name)].higher_is_better for cell in cells for b in cell}
        best = [False] * len(picked)
        direction = "mixed"
        if len(directions) == 1:
            higher = directions.pop()
            direction = "higher" if higher else "lower"
            present = [v for v in row_values if v is not None]
            target = max(present) if higher else min(present)
            best = [v == target for v in row_values]
        compared_metrics.append(
            ComparedRow(
                name=label,
                values=row_values,
                differs=_differs(row_values),
                best=best,
                direction=direction,
                key=name,
                board=row_board,
            )
        )
    columns = [
        ComparedRun(run_id=results[0].run_id, results=results, values=column_values[index])
        for index, results in enumerate(picked)
    ]

    def lineage(get: Any) -> list[Any]:
        return [_joined([get(r) for r in column.results]) for column in columns]

    lineage_rows = {
        "board": lineage(lambda r: r.board.name),
        "model": lineage(lambda r: r.model_name),
        "model type": lineage(lambda r: r.model_type),
        "run": lineage(lambda r: r.run_id),
        "training run": lineage(lambda r: r.training_run_id),
        "checkpoint step": lineage(lambda r: r.checkpoint_step),
        "eval dataset": lineage(lambda r: dataset_label(r.eval_dataset, r.eval_dataset_version)),
        "train dataset": lineage(lambda r: dataset_label(r.train_dataset, r.train_dataset_version)),
        "tags": [
            ", ".join(dict.fromkeys(t for r in column.results for t in r.tags or []))
            for column in columns
        ],
        "logged": [max(r.created for r in column.results).isoformat() for column in columns],
    }
    field_rows = [
        ComparedRow(name=name, values=vals, differs=_differs(vals))
        for name, vals in lineage_rows.items()
    ]
    # The same config logged to each board of a run is one row; a key whose value differs
    # between a run's boards is one row per board.
    metadata_rows = _rows_by_board(
        [[(r.board_id, _flatten(r.metadata)) for r in results] for results in picked],
        clash=_differs,
    )
    compared_metadata = []
    for label, (key, row_board, cells) in zip(
        _labels(metadata_rows, boards), metadata_rows, strict=True
    ):
        vals = [next(iter(cell.values()), None) for cell in cells]
        compared_metadata.append(
            ComparedRow(name=label, values=vals, differs=_differs(vals), key=key, board=row_board)
        )
    return Comparison(
        columns=columns, fields=field_rows, metrics=compared_metrics, metadata=compared_metadata
    )
