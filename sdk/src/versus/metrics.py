"""Metric leaderboards: log automatic scores per run and checkpoint, rank them, pick the champion.

A metric leaderboard lives on the Versus server, not in a local file, so every machine that logs
with the same token sees the same board:

>>> from versus import ModelLeaderboard, compare_runs
>>> board = ModelLeaderboard(metric="accuracy", higher_is_better=True)  # doctest: +SKIP
>>> board.add_score(model_name="resnet50", run_id="run_123", score=0.95,
...                 metadata={"epochs": 10})  # doctest: +SKIP
>>> best = board.get_best_run()  # doctest: +SKIP
>>> board.display(n=10)  # doctest: +SKIP
>>> print(compare_runs(["run_1", "run_2"]))  # doctest: +SKIP

Naming: ``ModelLeaderboard(metric="accuracy")`` stands for *your* board named ``"accuracy"``
(boards are named per owner, so other owners' boards of that name are never touched). Pass
``name=`` to put several metrics on one board: ``ModelLeaderboard(metric="f1", name="vision")``
and ``ModelLeaderboard(metric="accuracy", name="vision")`` share the board ``"vision"``, each
ranking by its own metric. The board is created, or its metric declared, on the first call that
talks to the server; a metric keeps the direction it was first declared with (a different
``higher_is_better`` later is a `ConflictError`).

The connection comes from ``VERSUS_URL`` and ``VERSUS_TOKEN`` unless ``client=`` is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import quote, urlencode

from versus.client import VersusClient
from versus.model import parse_time

RankingMode = Literal["metric", "average_rank", "weighted"]
Direction = Literal["higher", "lower"]


class RankingQuery(TypedDict, total=False):
    """How to rank and which results take part; every key is optional.

    Attributes
    ----------
    mode : {"metric", "average_rank", "weighted"}
        One metric (default), the average rank over ``metrics``, or a weighted combination
        (``weights``) of metrics, each min-max normalised to 0-1 unless ``normalize="none"``.
    metric : str
        The metric of mode ``"metric"``; defaults to the leaderboard's own metric.
    metrics : list of str
        The metrics of mode ``"average_rank"`` (default: all of the board's).
    weights : dict of str to float
        Metric name to weight, for mode ``"weighted"``.
    normalize : {"minmax", "none"}
    tie_break : str
        A secondary metric that orders runs with equal scores.
    checkpoints : {"best", "all"}
        Keep only the best checkpoint of each training run (default), or every checkpoint.
    tags : list of str
        Only results carrying all these tags.
    since, until : datetime, date or str
        ``until`` reads the board as it stood then (each run's result current at that time;
        exclusive, a date means its end); ``since`` keeps runs whose current result was logged
        at or after it.

    Filters apply to each run's current (newest) result: a run logged again without a tag drops
    out of that tag's ranking rather than being ranked on its older score.
    model, model_type, eval_dataset, eval_dataset_version, train_dataset,
    train_dataset_version, training_run : str
        Exact matches.
    search : str
        Part of a model name or run id.
    """

    mode: RankingMode
    metric: str
    metrics: Sequence[str]
    weights: Mapping[str, float]
    normalize: Literal["minmax", "none"]
    tie_break: str
    checkpoints: Literal["best", "all"]
    tags: Sequence[str]
    since: datetime | date | str
    until: datetime | date | str
    model: str
    model_type: str
    eval_dataset: str
    eval_dataset_version: str
    train_dataset: str
    train_dataset_version: str
    training_run: str
    search: str


_QUERY_KEYS = frozenset(RankingQuery.__annotations__)
_PLAIN_KEYS = (
    "mode",
    "metric",
    "normalize",
    "tie_break",
    "checkpoints",
    "model",
    "model_type",
    "eval_dataset",
    "eval_dataset_version",
    "train_dataset",
    "train_dataset_version",
    "training_run",
)


def _query_pairs(query: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters for a `RankingQuery`; unknown keys are a `TypeError` naming them."""
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise TypeError(
            f"unexpected ranking option(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(_QUERY_KEYS))}"
        )
    pairs: list[tuple[str, str]] = []
    for key in _PLAIN_KEYS:
        if query.get(key) not in (None, ""):
            pairs.append((key, str(query[key])))
    if query.get("metrics"):
        metrics = query["metrics"]
        if isinstance(metrics, str):
            raise TypeError(f"metrics: give a list of metric names, not the string {metrics!r}")
        pairs.append(("metrics", ",".join(metrics)))
    if query.get("weights"):
        weights = query["weights"]
        parts = []
        for name, weight in weights.items():
            _finite(weight, field=f"weights[{name!r}]")
            parts.append(f"{name}:{float(weight)!r}")
        pairs.append(("weights", ",".join(parts)))
    tags = query.get("tags") or []
    if isinstance(tags, str):
        raise TypeError(f"tags: give a list of tags, not the string {tags!r}")
    pairs.extend(("tag", str(tag)) for tag in tags)
    for key in ("since", "until"):
        moment = query.get(key)
        if moment:
            pairs.append((key, moment.isoformat() if isinstance(moment, date) else str(moment)))
    if query.get("search"):
        pairs.append(("q", str(query["search"])))
    return pairs


def _leaderboard_id(leaderboard: Any) -> int | None:
    """The id of a preference leaderboard given as an id or an object with ``.id``."""
    if leaderboard is None:
        return None
    raw = getattr(leaderboard, "id", leaderboard)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(
            f"preference_leaderboard: give a leaderboard or its id (an int), not {leaderboard!r}"
        )
    return raw


def _finite(value: Any, *, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{field}: {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(
            f"{field}: {value!r} is not a finite number; NaN and infinities cannot be ranked"
        )
    return number


@dataclass(frozen=True)
class HumanScore:
    """A model's human-preference score on the preference leaderboard linked to the board.

    Attributes
    ----------
    score : float
        Elo-like Bradley-Terry score (the mean model sits at 1000).
    ci_low, ci_high : float or None
        Its 95% interval.
    rank : int or None
    votes : int
    provisional : bool
        True while the model has too few votes.
    """

    score: float
    ci_low: float | None
    ci_high: float | None
    rank: int | None
    votes: int
    provisional: bool

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> HumanScore | None:
        """Build from the server's JSON; None stays None."""
        if not body:
            return None
        return cls(
            score=float(body["score"]),
            ci_low=body.get("ci_low"),
            ci_high=body.get("ci_high"),
            rank=body.get("rank"),
            votes=int(body.get("votes", 0)),
            provisional=bool(body.get("provisional", False)),
        )


@dataclass(frozen=True)
class RunScore:
    """One logged result, as a ranking or `add_score` returns it.

    Attributes
    ----------
    run_id : str
    model_name : str
    score : float or None
        The value that ranked it: the ranked metric's value, or the average rank / weighted score
        in those modes. From `add_score`, the value of the leaderboard's metric.
    metadata : dict
        The free-form JSON logged with it (config, hyperparameters).
    timestamp : datetime or None
        When the server recorded it.
    rank : int or None
        Its rank in the ranking that returned it (equal scores share a rank).
    metrics : dict of str to float
        Every metric value of the result.
    training_run_id, model_type, eval_dataset, eval_dataset_version, train_dataset,
    train_dataset_version : str
    checkpoint_step : int or None
    tags : list of str
    human : HumanScore or None
        The model's human-preference score, when the board links a preference leaderboard
        that rates a model of this name.
    checkpoints : int
        How many checkpoints of its training run competed for this row (best-checkpoint mode).
    result_id, board_id : int
    boards : list of int
        The boards the result comes from: its own, or in a comparison every board of the run.
    url : str
        The run's page.
    """

    run_id: str
    model_name: str
    score: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    timestamp: datetime | None = None
    rank: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    training_run_id: str = ""
    checkpoint_step: int | None = None
    model_type: str = ""
    eval_dataset: str = ""
    eval_dataset_version: str = ""
    train_dataset: str = ""
    train_dataset_version: str = ""
    tags: list[str] = field(default_factory=list)
    human: HumanScore | None = None
    checkpoints: int = 1
    result_id: int = 0
    board_id: int = 0
    boards: list[int] = field(default_factory=list)
    url: str = ""

    @classmethod
    def from_result(
        cls,
        result: Mapping[str, Any],
        *,
        score: float | None,
        rank: int | None = None,
        human: Mapping[str, Any] | None = None,
        checkpoints: int = 1,
    ) -> RunScore:
        """Build from the server's JSON for a result."""
        return cls(
            run_id=str(result["run_id"]),
            model_name=str(result["model_name"]),
            score=score,
            metadata=dict(result.get("metadata") or {}),
            timestamp=parse_time(result.get("created")),
            rank=rank,
            metrics={k: float(v) for k, v in (result.get("metrics") or {}).items()},
            training_run_id=str(result.get("training_run_id", "")),
            checkpoint_step=result.get("checkpoint_step"),
            model_type=str(result.get("model_type", "")),
            eval_dataset=str(result.get("eval_dataset", "")),
            eval_dataset_version=str(result.get("eval_dataset_version", "")),
            train_dataset=str(result.get("train_dataset", "")),
            train_dataset_version=str(result.get("train_dataset_version", "")),
            tags=list(result.get("tags") or []),
            human=HumanScore.from_json(human),
            checkpoints=checkpoints,
            result_id=int(result.get("id", 0)),
            board_id=int(result.get("board", 0)),
            boards=[int(b) for b in result.get("boards") or [result.get("board", 0)] if b],
            url=str(result.get("url", "")),
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunScore:
        """Build from one row of the server's ranking JSON."""
        return cls.from_result(
            row["result"],
            score=row.get("score"),
            rank=row.get("rank"),
            human=row.get("human"),
            checkpoints=int(row.get("checkpoints", 1)),
        )


@dataclass(frozen=True)
class Agreement:
    """Rank correlation between the metric ranking and the human-preference ranking.

    Attributes
    ----------
    models : int
        Models with both a metric rank and a human score.
    spearman, kendall : float or None
        Spearman's rho and Kendall's tau (+1: same order, -1: reversed); None with fewer than
        three models.
    spearman_p, kendall_p : float or None
        Their p-values.
    """

    models: int
    spearman: float | None = None
    spearman_p: float | None = None
    kendall: float | None = None
    kendall_p: float | None = None


@dataclass(frozen=True)
class MetricRanking:
    """A ranking of a metric leaderboard, best first.

    Attributes
    ----------
    rows : list of RunScore
    description : str
        What decided the order, in words.
    score_label : str
        What `RunScore.score` holds (the metric, ``average rank`` or ``weighted score``).
    considered, unranked, count : int
        Current results that passed the filters, those of them lacking a ranked metric, and
        ranked rows before the ``n`` cut.
    agreement : Agreement or None
        Present when the board links a preference leaderboard you may see.
    """

    rows: list[RunScore]
    description: str
    score_label: str
    considered: int
    unranked: int
    count: int
    agreement: Agreement | None = None


@dataclass(frozen=True)
class ComparedRow:
    """One line of a comparison: a name and one value per run.

    Attributes
    ----------
    name : str
        The label: the metric name or config key, followed by the board's name in brackets
        when two boards of one run give that name (``"accuracy (vision)"``).
    values : list
        One value per run, in the order the runs were given (None where a run has none).
    differs : bool
        Whether the runs' values differ.
    best : list of bool
        For metrics: which runs hold the best value.
    direction : str
        For metrics: ``higher``, ``lower``, or ``mixed`` when boards disagree.
    key : str
        The metric name or config key without the board.
    board : int or None
        The board whose values the row holds, when the name is shown once per board.
    """

    name: str
    values: list[Any]
    differs: bool
    best: list[bool] = field(default_factory=list)
    direction: str = ""
    key: str = ""
    board: int | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ComparedRow:
        """Build from the server's JSON."""
        board = body.get("board")
        return cls(
            name=str(body["name"]),
            values=list(body.get("values", [])),
            differs=bool(body.get("differs", False)),
            best=list(body.get("best") or []),
            direction=str(body.get("direction") or ""),
            key=str(body.get("key") or body["name"]),
            board=int(board) if board is not None else None,
        )


def _text_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(w) if k in numeric else cell.ljust(w)
            for k, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    number = float(value)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: their metrics, lineage and config (metadata), differences marked.

    ``print(comparison)`` shows a table: rows whose values differ start with ``*`` and the best
    value of each metric is in brackets.

    Attributes
    ----------
    runs : list of RunScore
        The compared runs, in the order given. A run logged to several of your boards is one
        run: its ``metrics`` hold the union of its boards' metrics (keyed by the rows' labels)
        and ``boards`` their ids; its other fields are those of its first board's result.
    metrics : list of ComparedRow
    lineage : list of ComparedRow
        Board, model, run, training run, checkpoint step, datasets, tags, time.
    config : list of ComparedRow
        Metadata, nested keys flattened with dots (``optimizer.lr``).
    """

    runs: list[RunScore]
    metrics: list[ComparedRow]
    lineage: list[ComparedRow]
    config: list[ComparedRow]

    @property
    def differences(self) -> list[str]:
        """Names of the metrics, lineage fields and config keys whose values differ."""
        return [row.name for row in (*self.metrics, *self.lineage, *self.config) if row.differs]

    def table(self) -> str:
        """The comparison as a plain-text table."""
        headers = ["", *(run.run_id for run in self.runs)]
        rows: list[list[str]] = []
        numeric = set(range(1, len(headers)))
        for title, group in (
            ("metrics", self.metrics),
            ("lineage", self.lineage),
            ("config", self.config),
        ):
            if not group:
                continue
            rows.append([f"[{title}]", *([""] * len(self.runs))])
            for row in group:
                cells = []
                for k, value in enumerate(row.values):
                    moment = parse_time(value) if row.name == "logged" else None
                    text = _number(value) if value not in ("", None) else "-"
                    if moment is not None:
                        text = moment.strftime("%Y-%m-%d %H:%M:%S")
                    if row.best and row.best[k] and row.differs:
                        text = f"[{text}]"
                    cells.append(text)
                rows.append([("* " if row.differs else "  ") + row.name, *cells])
        legend = "* values differ   [x] best value of a metric"
        return _text_table(headers, rows, numeric) + "\n" + legend

    def __str__(self) -> str:
        return self.table()

    def display(self) -> None:
        """Print the comparison table."""
        print(self.table())


def _comparison_from_json(body: Mapping[str, Any]) -> RunComparison:
    metric_names = [row["name"] for row in body.get("metrics", [])]
    runs = []
    for column in body.get("columns", []):
        values = column.get("metrics") or {}
        first = next((values[n] for n in metric_names if n in values), None)
        runs.append(RunScore.from_result(column, score=first))
    return RunComparison(
        runs=runs,
        metrics=[ComparedRow.from_json(r) for r in body.get("metrics", [])],
        lineage=[ComparedRow.from_json(r) for r in body.get("fields", [])],
        config=[ComparedRow.from_json(r) for r in body.get("metadata", [])],
    )


def _compare(
    client: VersusClient,
    run_ids: Sequence[str],
    board_id: int | None,
    result_ids: Sequence[int] = (),
) -> RunComparison:
    if isinstance(run_ids, str):
        raise TypeError(f"run_ids: give a list of run ids, not the string {run_ids!r}")
    pairs = [("run", str(r)) for r in run_ids] + [("result", str(int(r))) for r in result_ids]
    if board_id is not None:
        pairs.append(("board", str(int(board_id))))
    body = client._transport.get(f"metric-leaderboards/compare/?{urlencode(pairs)}")
    return _comparison_from_json(body)


class ModelLeaderboard:
    """A metric leaderboard on the Versus server, ranked by one metric.

    Parameters
    ----------
    metric : str
        The metric this object logs with ``score=`` and ranks by, such as ``"accuracy"``.
    higher_is_better : bool, default True
        The metric's direction (``False`` for latency, loss, error rate).
    name : str, optional
        The board's name among your boards; defaults to the metric's name. Several metrics can
        share one board by giving the same name.
    description : str, optional
        Shown on the board's page when the board is created.
    public : bool, default False
        Whether a board created by this call is readable by everyone.
    preference_leaderboard : int or Leaderboard, optional
        A human-preference leaderboard (or its id) whose scores are shown beside the metrics.
        Linked on first use, to a new board or to your existing board of this name (replacing
        the leaderboard it linked before); see also `link_preference_leaderboard`.
    client : VersusClient, optional
        The connection; by default one made from ``VERSUS_URL`` and ``VERSUS_TOKEN``.

    Examples
    --------
    >>> board = ModelLeaderboard(metric="accuracy", higher_is_better=True)  # doctest: +SKIP
    >>> board.add_score(model_name="resnet50", run_id="run_123", score=0.95)  # doctest: +SKIP
    >>> board.get_best_run().run_id  # doctest: +SKIP
    'run_123'
    """

    def __init__(
        self,
        metric: str,
        higher_is_better: bool = True,
        *,
        name: str | None = None,
        description: str = "",
        public: bool = False,
        preference_leaderboard: int | Any | None = None,
        client: VersusClient | None = None,
    ) -> None:
        if not isinstance(metric, str) or not metric.strip():
            raise ValueError("metric: give the metric's name, such as 'accuracy'")
        self.metric = metric.strip()
        self.higher_is_better = bool(higher_is_better)
        self.name = (name or self.metric).strip()
        self.description = description
        self.public = public
        self.preference_leaderboard = _leaderboard_id(preference_leaderboard)
        self._own_client = client is None
        self._client = client if client is not None else VersusClient()
        self._id: int | None = None
        self.url = ""

    def __repr__(self) -> str:
        direction = "higher" if self.higher_is_better else "lower"
        where = f"id={self._id}" if self._id is not None else "not created yet"
        return (
            f"ModelLeaderboard(metric={self.metric!r}, {direction} is better, "
            f"name={self.name!r}, {where})"
        )

    # -- the board on the server

    @property
    def id(self) -> int:
        """The board's id on the server (creating the board on first use)."""
        return self._ensure()

    def _ensure(self) -> int:
        if self._id is None:
            body: dict[str, Any] = {
                "name": self.name,
                "metrics": [{"name": self.metric, "higher_is_better": self.higher_is_better}],
                "primary_metric": self.metric,
                "is_public": self.public,
                "description": self.description,
                "if_exists": "return",
            }
            if self.preference_leaderboard is not None:
                body["preference_leaderboard"] = self.preference_leaderboard
            board = self._client._transport.post("metric-leaderboards/", json=body)
            self._id = int(board["id"])
            self.url = str(board.get("url", ""))
            wanted = self.preference_leaderboard
            if wanted is not None and board.get("preference_leaderboard") != wanted:
                # An existing board keeps its settings on find-or-create; the link asked for
                # here is applied explicitly.
                self._link(wanted)
        return self._id

    def _link(self, leaderboard_id: int | None) -> None:
        self._client._transport.request(
            "PATCH",
            f"metric-leaderboards/{self._id}/",
            json={"preference_leaderboard": leaderboard_id},
        )
        self.preference_leaderboard = leaderboard_id

    def link_preference_leaderboard(self, leaderboard: int | Any | None) -> None:
        """Show a human-preference leaderboard's scores beside the metrics (None: unlink).

        Works on a board that already exists; the rankings then carry each model's human score
        and the rank agreement.

        Parameters
        ----------
        leaderboard : int, Leaderboard or None
            The leaderboard or its id; it must be one you may see.

        Raises
        ------
        ValidationError
            The leaderboard does not exist or you may not see it (field
            ``preference_leaderboard``).
        """
        wanted = _leaderboard_id(leaderboard)
        self._ensure()
        self._link(wanted)

    def _path(self, tail: str = "") -> str:
        return f"metric-leaderboards/{self._ensure()}/{tail}"

    def declare_metric(
        self, name: str, higher_is_better: bool = True, *, description: str = ""
    ) -> None:
        """Declare another metric on the board, so results can carry it without ``directions``."""
        self._client._transport.post(
            self._path("metrics/"),
            json={"name": name, "higher_is_better": higher_is_better, "description": description},
        )

    # -- logging

    def add_score(
        self,
        model_name: str,
        run_id: str,
        score: float | None = None,
        *,
        metrics: Mapping[str, float] | None = None,
        directions: Mapping[str, Direction] | None = None,
        metadata: Mapping[str, Any] | None = None,
        training_run_id: str | None = None,
        checkpoint_step: int | None = None,
        eval_dataset: str | None = None,
        eval_dataset_version: str | None = None,
        train_dataset: str | None = None,
        train_dataset_version: str | None = None,
        tags: Sequence[str] | None = None,
        model_type: str | None = None,
        strict: bool = False,
    ) -> RunScore:
        """Log one evaluation result of a run; returns it as stored.

        Parameters
        ----------
        model_name, run_id : str
        score : float, optional
            The value of this leaderboard's metric.
        metrics : dict of str to float, optional
            More metric values (or all of them). Metrics the board does not know yet need a
            direction in ``directions``, such as ``{"latency_ms": "lower"}``.
        metadata : dict, optional
            Config, hyperparameters, anything JSON.
        training_run_id : str, optional
            The training run this evaluation belongs to; with ``checkpoint_step`` it lets a
            ranking keep the best checkpoint of each training run.
        checkpoint_step : int, optional
        eval_dataset, eval_dataset_version, train_dataset, train_dataset_version : str, optional
        tags : list of str, optional
        model_type : str, optional
            Family or architecture, for filtering (``"cnn"``, ``"transformer"``).
        strict : bool, default False
            Logging the same run id (and checkpoint step and evaluation dataset) again normally
            adds a new result that rankings then use. With ``strict=True`` a second, different
            result raises `ConflictError` instead, and an identical one returns the stored one.

        Raises
        ------
        ValueError
            A value that is not a finite number, or no value at all (nothing is sent).
        ValidationError, ConflictError
            The server's refusal, naming the field.
        """
        values: dict[str, float] = {}
        if score is not None:
            values[self.metric] = _finite(score, field="score")
        for name, value in (metrics or {}).items():
            if name in values:
                raise ValueError(
                    f"metrics: {name!r} is given both as score= and in metrics=; give it once"
                )
            values[name] = _finite(value, field=f"metrics[{name!r}]")
        if not values:
            raise ValueError(f"give score= (the {self.metric!r} value) or metrics=")
        body: dict[str, Any] = {
            "model_name": model_name,
            "run_id": run_id,
            "metrics": values,
            "directions": dict(directions or {}),
            "metadata": dict(metadata or {}),
            "strict": strict,
        }
        optional = {
            "training_run_id": training_run_id,
            "checkpoint_step": checkpoint_step,
            "eval_dataset": eval_dataset,
            "eval_dataset_version": eval_dataset_version,
            "train_dataset": train_dataset,
            "train_dataset_version": train_dataset_version,
            "model_type": model_type,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if tags is not None:
            if isinstance(tags, str):
                raise TypeError(f"tags: give a list of tags, not the string {tags!r}")
            body["tags"] = list(tags)
        result = self._client._transport.post(self._path("results/"), json=body)
        return RunScore.from_result(result, score=result["metrics"].get(self.metric))

    # -- reading

    def _with_metric(self, query: Mapping[str, Any]) -> dict[str, Any]:
        full = dict(query)
        if full.get("mode", "metric") == "metric":
            full.setdefault("metric", self.metric)
        return full

    def ranking(self, n: int = 100, **query: Unpack[RankingQuery]) -> MetricRanking:
        """The ranking, best first: at most ``n`` rows, with the human agreement if any.

        See `RankingQuery` for the modes, tie-break, checkpoint handling and filters. Unknown
        metric names are a `ValidationError` that lists the board's metrics.
        """
        if n < 1 or n > 1000:
            raise ValueError(f"n: {n}; ask for 1 to 1000 rows")
        pairs = [*_query_pairs(self._with_metric(query)), ("limit", str(n))]
        body = self._client._transport.get(self._path(f"ranking/?{urlencode(pairs)}"))
        agreement = body.get("agreement")
        return MetricRanking(
            rows=[RunScore.from_row(row) for row in body.get("rows", [])],
            description=str(body.get("description", "")),
            score_label=str(body.get("score_label", "")),
            considered=int(body.get("considered", 0)),
            unranked=int(body.get("unranked", 0)),
            count=int(body.get("count", 0)),
            agreement=Agreement(**agreement) if agreement else None,
        )

    def get_top(self, n: int = 5, **query: Unpack[RankingQuery]) -> list[RunScore]:
        """The ``n`` best runs, best first (each training run once, at its best checkpoint)."""
        return self.ranking(n, **query).rows

    def get_best_run(self, **query: Unpack[RankingQuery]) -> RunScore | None:
        """The champion: the current best run, optionally within filters; None if no run.

        One call to the server, for automatic promotion, such as
        ``board.get_best_run(tags=["prod-candidate"], eval_dataset="imagenet-val")``.
        """
        pairs = _query_pairs(self._with_metric(query))
        body = self._client._transport.get(self._path(f"champion/?{urlencode(pairs)}"))
        champion = body.get("champion")
        return RunScore.from_row(champion) if champion else None

    def results(self, *, run_id: str | None = None, limit: int | None = None) -> list[RunScore]:
        """Results logged on the board, newest first, including ones a newer log superseded.

        With ``run_id``, only that run's results. ``limit`` caps how many are returned.
        """
        if run_id is not None:
            body = self._client._transport.get(self._path(f"runs/{quote(run_id, safe='')}/"))
            items = body.get("results", [])
            items = items[:limit] if limit is not None else items
        else:
            items = self._client._transport.get_list(self._path("results/"), amount=limit)
        return [RunScore.from_result(r, score=r["metrics"].get(self.metric)) for r in items]

    def table(self, n: int = 10, **query: Unpack[RankingQuery]) -> str:
        """The top ``n`` runs as a plain-text table (what `display` prints)."""
        ranking = self.ranking(n, **query)
        direction = "higher" if self.higher_is_better else "lower"
        title = f"{self.name}: ranked {ranking.description} ({self.metric}: {direction} is better)"
        if not ranking.rows:
            return f"{title}\n(no runs yet)"
        others = sorted({k for row in ranking.rows for k in row.metrics} - {self.metric})
        headers = ["rank", "model", "run_id", ranking.score_label]
        if ranking.score_label != self.metric:
            headers.append(self.metric)
        headers += [*others, "step", "logged"]
        has_human = any(row.human for row in ranking.rows)
        if has_human:
            headers.insert(4, "human")
        rows = []
        for row in ranking.rows:
            cells = [str(row.rank), row.model_name, row.run_id, _number(row.score)]
            if ranking.score_label != self.metric:
                cells.append(_number(row.metrics.get(self.metric)))
            if has_human:
                cells.insert(4, f"{row.human.score:.0f}" if row.human else "-")
            cells += [_number(row.metrics.get(k)) for k in others]
            cells += [
                _number(row.checkpoint_step),
                row.timestamp.strftime("%Y-%m-%d %H:%M") if row.timestamp else "-",
            ]
            rows.append(cells)
        numeric = {0, *range(3, len(headers) - 1)}
        text = f"{title}\n{_text_table(headers, rows, numeric)}"
        if ranking.count > len(ranking.rows):
            text += f"\n... {ranking.count - len(ranking.rows)} more"
        if ranking.agreement and ranking.agreement.spearman is not None:
            a = ranking.agreement
            text += f"\nagreement with human ranking over {a.models} models: "
            text += f"Spearman {a.spearman:.2f}, Kendall {a.kendall:.2f}"
        return text

    def display(self, n: int = 10, **query: Unpack[RankingQuery]) -> None:
        """Print the top ``n`` runs as a table."""
        print(self.table(n, **query))

    def compare_runs(self, run_ids: Sequence[str]) -> RunComparison:
        """Compare 2-5 runs of this board side by side (see `compare_runs`)."""
        return _compare(self._client, run_ids, self._ensure())

    # -- lifetime

    def close(self) -> None:
        """Close the connection this object opened (not one passed as ``client=``)."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> ModelLeaderboard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def compare_runs(
    run_ids: Sequence[str],
    *,
    board: int | ModelLeaderboard | None = None,
    result_ids: Sequence[int] = (),
    client: VersusClient | None = None,
) -> RunComparison:
    """Compare 2-5 runs side by side: metrics, lineage and config, differences marked.

    On each board a run id stands for its result at the highest checkpoint step (the newest
    such result). Without ``board``, run ids are looked up on your own metric leaderboards
    first, then on every board you may see. A run logged to several of your boards (such as
    ``ModelLeaderboard("accuracy")`` and ``ModelLeaderboard("f1")``, two boards) is compared as
    one run with the metrics of all of them; a metric name two of its boards share is shown
    once per board, labelled ``"accuracy (board name)"``. ``board=`` (an id or a
    `ModelLeaderboard`) restricts the comparison to one board. A run id on no board of yours but
    on boards of several other owners is ambiguous: a `ConflictError` (code ``ambiguous_run``)
    that lists the boards, answered by ``board=``. Runs on boards you may not see are a
    `NotFoundError`.

    Parameters
    ----------
    run_ids : list of str
    board : int or ModelLeaderboard, optional
    result_ids : list of int, optional
        Exact results to add (such as one checkpoint of a run).
    client : VersusClient, optional
        By default a connection from ``VERSUS_URL`` and ``VERSUS_TOKEN``.

    Examples
    --------
    >>> diff = compare_runs(["run_1", "run_2"])  # doctest: +SKIP
    >>> print(diff)  # doctest: +SKIP
    >>> diff.differences  # doctest: +SKIP
    ['accuracy', 'run', 'epochs']
    """
    board_id = board.id if isinstance(board, ModelLeaderboard) else board
    if client is not None:
        return _compare(client, run_ids, board_id, result_ids)
    with VersusClient() as own:
        return _compare(own, run_ids, board_id, result_ids)
