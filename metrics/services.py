"""Writes of metric leaderboards: boards, their metrics, and logged results. One transaction each.

A result is never changed after it is logged. Logging the same run again (same run id,
checkpoint step and evaluation dataset) adds a new result with its own time, which rankings then
read instead of the older one; in strict mode the second, different result is refused with 409
and an identical one returns the result already stored.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, Forbidden, Invalid
from config.validation import metadata_check, nul_check
from leaderboards.models import Leaderboard

# The one rule for tags across Versus: non-empty strings, at most 50 of 64 characters each.
from leaderboards.services import _clean_tags as clean_tags
from metrics.models import (
    FLOAT_MAX,
    MAX_CHECKPOINT_STEP,
    MetricBoard,
    MetricDefinition,
    MetricResult,
    MetricValue,
)

METRIC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+/\-]{0,63}$")
METRIC_NAME_RULE = (
    "1-64 characters: letters, digits and _ . @ + / - (starting with a letter or digit)"
)
MAX_METRICS_PER_BOARD = 100
MAX_METRICS_PER_RESULT = 100
DIRECTIONS = {"higher": True, "lower": False}


@dataclass(frozen=True)
class MetricSpec:
    """A metric to declare on a board: its name, direction and an optional description."""

    name: str
    higher_is_better: bool = True
    description: str = ""


# ---------------------------------------------------------------- validation


def metric_name_check(name: Any, *, field: str) -> str:
    """A valid metric name, or a 400 naming the field and the rule."""
    if not isinstance(name, str) or not METRIC_NAME.match(name):
        raise Invalid(
            f"{field}: {name!r} is not a valid metric name; use {METRIC_NAME_RULE}", field=field
        )
    return name


def _shown(value: Any) -> str:
    """`value` for an error message: a huge whole number by its size, not its 300 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return f"a {len(str(abs(value)))}-digit number"
    return repr(value)


def metric_value_check(value: Any, *, field: str) -> float:
    """A finite float, or a 400 saying what was wrong with `value`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(
            f"{field}: {value!r} is not a number; metric values are finite numbers",
            field=field,
            code="not_a_number",
        )
    try:
        number = float(value)
    except OverflowError:  # a whole number beyond the largest double, such as 10**400
        number = math.inf
    if not math.isfinite(number):
        raise Invalid(
            f"{field}: {_shown(value)} is not a finite number; NaN, infinities and numbers beyond "
            f"±{FLOAT_MAX:.6g} cannot be ranked",
            field=field,
            code="not_finite",
        )
    return number


# Characters no name or identifier may hold: control characters (NUL, tabs, line breaks),
# line and paragraph separators, and lone surrogates (which no database can encode). A line break
# in a run id also broke the address of its run page, and with it every page listing the run.
_NOT_ONE_LINE = {"Cc", "Cs", "Zl", "Zp"}
# Descriptions are free text: line breaks and tabs are fine there.
_NOT_TEXT = {"Cs"}
ONE_LINE_RULE = "printable characters on one line (no tabs, line breaks or control characters)"


def _text(
    value: Any, *, field: str, max_length: int, required: bool = False, multiline: bool = False
) -> str:
    """`value` stripped, or a 400 naming `field` when it is not a string, too long, empty when
    `required`, or holds a character it may not: one line of printable characters for names and
    identifiers, any text but NUL and lone surrogates when `multiline`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field}: must be a string, got {type(value).__name__}", field=field)
    value = value.strip()
    if required and not value:
        raise Invalid(f"{field}: must not be empty", field=field)
    if len(value) > max_length:
        raise Invalid(
            f"{field}: {len(value)} characters; at most {max_length} allowed", field=field
        )
    nul_check(value, field=field)
    refused = _NOT_TEXT if multiline else _NOT_ONE_LINE
    for position, char in enumerate(value):
        if unicodedata.category(char) in refused:
            rule = "text without lone surrogates" if multiline else ONE_LINE_RULE
            raise Invalid(
                f"{field}: {value[:40]!r} holds {char!r} at position {position}; use {rule}",
                field=field,
                code="bad_character",
            )
    return value


def _direction(value: Any, *, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in DIRECTIONS:
        return DIRECTIONS[value]
    raise Invalid(f"{field}: {value!r}; use 'higher' or 'lower'", field=field)


def _check_preference(owner: AbstractBaseUser, leaderboard: Leaderboard | None) -> None:
    if leaderboard is not None and not leaderboard.is_visible_to(owner):
        raise Invalid(
            f"preference_leaderboard: leaderboard {leaderboard.pk} does not exist",
            field="preference_leaderboard",
        )


# ---------------------------------------------------------------- boards and metrics


def _declare(board: MetricBoard, spec: MetricSpec, *, field: str) -> MetricDefinition:
    """Add `spec` to `board`, or return it if declared with the same direction; 409 otherwise."""
    metric_name_check(spec.name, field=field)
    existing = board.metrics.filter(name=spec.name).first()
    if existing is not None:
        if existing.higher_is_better != spec.higher_is_better:
            raise Conflict(
                f"{field}: board {board.name!r} declares {spec.name!r} as "
                f"{existing.direction}-is-better; a metric keeps its direction",
                field=field,
                code="direction_conflict",
            )
        return existing
    if board.metrics.count() >= MAX_METRICS_PER_BOARD:
        raise Invalid(
            f"{field}: board {board.name!r} already has {MAX_METRICS_PER_BOARD} metrics, the most "
            "a board may have",
            field=field,
        )
    description = _text(
        spec.description, field=f"{field}.description", max_length=500, multiline=True
    )
    return MetricDefinition.objects.create(
        board=board, name=spec.name, higher_is_better=spec.higher_is_better, description=description
    )


def metric_board_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    metrics: Sequence[MetricSpec],
    primary_metric: str | None = None,
    description: str = "",
    is_public: bool = False,
    preference_leaderboard: Leaderboard | None = None,
    if_exists: str = "error",
    now: datetime | None = None,
) -> tuple[MetricBoard, bool]:
    """Create a metric board with its metrics; return it and whether it was created.

    With ``if_exists="return"`` an owner's board of the same name is returned instead of a 409,
    after declaring any of `metrics` it lacks (a metric declared with the other direction is a
    409): this is how the SDK's ``ModelLeaderboard`` finds or creates its board on first use.
    The other settings of an existing board are left as they are.
    """
    if if_exists not in {"error", "return"}:
        raise Invalid(f"if_exists: {if_exists!r}; use 'error' or 'return'", field="if_exists")
    name = _text(name, field="name", max_length=200, required=True)
    description = _text(description, field="description", max_length=10_000, multiline=True)
    if not metrics:
        raise Invalid(
            "metrics: declare at least one metric, such as "
            '[{"name": "accuracy", "higher_is_better": true}]',
            field="metrics",
        )
    names = [spec.name for spec in metrics]
    for index, spec in enumerate(metrics):
        metric_name_check(spec.name, field=f"metrics[{index}].name")
        if names.index(spec.name) != index:
            raise Invalid(
                f"metrics[{index}].name: {spec.name!r} is also metrics[{names.index(spec.name)}]",
                field=f"metrics[{index}].name",
            )
    primary = primary_metric or metrics[0].name
    if primary not in names:
        raise Invalid(
            f"primary_metric: {primary!r} is not among the declared metrics ({', '.join(names)})",
            field="primary_metric",
        )
    _check_preference(owner, preference_leaderboard)
    with transaction.atomic():
        board = MetricBoard.objects.filter(owner=owner, name=name).first()
        if board is None:
            try:
                with transaction.atomic():
                    board = MetricBoard.objects.create(
                        owner=owner,
                        name=name,
                        description=description,
                        is_public=is_public,
                        primary_metric=primary,
                        preference_leaderboard=preference_leaderboard,
                        created=now or timezone.now(),
                    )
                    for index, spec in enumerate(metrics):
                        _declare(board, spec, field=f"metrics[{index}]")
                return board, True
            except IntegrityError:
                # Two first uses of one name raced (the SDK's find-or-create); take the winner's.
                board = MetricBoard.objects.filter(owner=owner, name=name).first()
                if board is None:
                    raise
        if if_exists == "error":
            raise Conflict(
                f"name: you already have a metric leaderboard named {name!r} (id {board.pk})",
                field="name",
                code="exists",
            )
        MetricBoard.objects.select_for_update().filter(pk=board.pk).first()
        for index, spec in enumerate(metrics):
            _declare(board, spec, field=f"metrics[{index}]")
    return board, False


_UNSET: Any = object()


@transaction.atomic
def metric_board_update(
    *,
    board: MetricBoard,
    name: str = _UNSET,
    description: str = _UNSET,
    is_public: bool = _UNSET,
    primary_metric: str = _UNSET,
    preference_leaderboard: Leaderboard | None = _UNSET,
) -> MetricBoard:
    """Change a board's settings; arguments left out keep their value."""
    if name is not _UNSET:
        board.name = _text(name, field="name", max_length=200, required=True)
        if MetricBoard.objects.filter(owner=board.owner_id, name=board.name).exclude(pk=board.pk):
            raise Conflict(
                f"name: you already have a metric leaderboard named {board.name!r}",
                field="name",
                code="exists",
            )
    if description is not _UNSET:
        board.description = _text(
            description, field="description", max_length=10_000, multiline=True
        )
    if is_public is not _UNSET:
        board.is_public = bool(is_public)
    if primary_metric is not _UNSET:
        known = list(board.metrics.values_list("name", flat=True))
        if primary_metric not in known:
            raise Invalid(
                f"primary_metric: {primary_metric!r} is not a metric of this board; "
                f"known metrics: {', '.join(known)}",
                field="primary_metric",
                code="unknown_metric",
            )
        board.primary_metric = primary_metric
    if preference_leaderboard is not _UNSET:
        _check_preference(board.owner, preference_leaderboard)
        board.preference_leaderboard = preference_leaderboard
    board.save()
    return board


@transaction.atomic
def metric_declare(*, board: MetricBoard, spec: MetricSpec) -> MetricDefinition:
    """Declare one more metric on `board` (idempotent; 409 if declared the other way)."""
    MetricBoard.objects.select_for_update().filter(pk=board.pk).first()
    return _declare(board, spec, field="name")


def metric_board_delete(*, board: MetricBoard, user: Any) -> None:
    """Delete a board with all its results; only its owner (or staff) may."""
    if not (getattr(user, "is_staff", False) or user.pk == board.owner_id):
        raise Forbidden(f"metric leaderboard {board.pk} belongs to another owner")
    board.delete()


# ---------------------------------------------------------------- results


def _same_values(result: MetricResult, values: Mapping[str, float]) -> bool:
    stored = dict(result.values.values_list("metric__name", "value"))
    return stored == dict(values)


def result_log(
    *,
    board: MetricBoard,
    user: AbstractBaseUser,
    model_name: str,
    run_id: str,
    metrics: Mapping[str, Any],
    directions: Mapping[str, Any] | None = None,
    model_type: str = "",
    training_run_id: str = "",
    checkpoint_step: int | None = None,
    eval_dataset: str = "",
    eval_dataset_version: str = "",
    train_dataset: str = "",
    train_dataset_version: str = "",
    tags: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    strict: bool = False,
    now: datetime | None = None,
) -> tuple[MetricResult, bool]:
    """Log one evaluation result; return it and whether a new result was stored.

    `metrics` maps metric names to finite numbers. A metric the board does not declare yet is
    declared on the way when `directions` gives its direction (``"higher"`` or ``"lower"``);
    otherwise the call is a 400 that lists the board's metrics. The same run id (with the same
    checkpoint step and evaluation dataset) logged again adds a new result; with `strict` a
    different second result is a 409 and an identical one returns the stored result.
    """
    model_name = _text(model_name, field="model_name", max_length=200, required=True)
    run_id = _text(run_id, field="run_id", max_length=200, required=True)
    fields = {
        "model_type": _text(model_type, field="model_type", max_length=100),
        "training_run_id": _text(training_run_id, field="training_run_id", max_length=200),
        "eval_dataset": _text(eval_dataset, field="eval_dataset", max_length=200),
        "eval_dataset_version": _text(
            eval_dataset_version, field="eval_dataset_version", max_length=100
        ),
        "train_dataset": _text(train_dataset, field="train_dataset", max_length=200),
        "train_dataset_version": _text(
            train_dataset_version, field="train_dataset_version", max_length=100
        ),
    }
    for dataset in ("eval_dataset", "train_dataset"):
        if fields[f"{dataset}_version"] and not fields[dataset]:
            raise Invalid(
                f"{dataset}_version: a version needs its dataset; give {dataset} too",
                field=f"{dataset}_version",
            )
    if checkpoint_step is not None and (
        isinstance(checkpoint_step, bool)
        or not isinstance(checkpoint_step, int)
        or not 0 <= checkpoint_step <= MAX_CHECKPOINT_STEP
    ):
        raise Invalid(
            f"checkpoint_step: {_shown(checkpoint_step)}; a step is a whole number from 0 to "
            f"{MAX_CHECKPOINT_STEP}",
            field="checkpoint_step",
        )
    if not isinstance(metrics, Mapping) or not metrics:
        raise Invalid(
            'metrics: give at least one metric value, such as {"accuracy": 0.95}', field="metrics"
        )
    if len(metrics) > MAX_METRICS_PER_RESULT:
        raise Invalid(
            f"metrics: {len(metrics)} values; at most {MAX_METRICS_PER_RESULT} per result",
            field="metrics",
        )
    values = {
        metric_name_check(name, field="metrics"): metric_value_check(value, field=f"metrics.{name}")
        for name, value in metrics.items()
    }
    directions = dict(directions or {})
    wanted_directions = {
        name: _direction(value, field=f"directions.{name}") for name, value in directions.items()
    }
    clean_tags_ = clean_tags(list(tags), field="tags")
    clean_metadata = metadata_check(metadata)

    with transaction.atomic():
        # Writers of one board queue here, so a strict log and the declaration of new metrics
        # see every result and metric committed before them.
        MetricBoard.objects.select_for_update().filter(pk=board.pk).first()
        declared = {m.name: m for m in board.metrics.all()}
        for name, higher in wanted_directions.items():
            if name in declared and declared[name].higher_is_better != higher:
                raise Conflict(
                    f"directions.{name}: board {board.name!r} declares {name!r} as "
                    f"{declared[name].direction}-is-better",
                    field=f"directions.{name}",
                    code="direction_conflict",
                )
        # A direction declares a metric this result measures, or restates one the board has
        # (a caller may pass the same directions with every result). Any other name is most
        # likely a typo of a metric's name, and ignoring it would hide that.
        strays = [name for name in wanted_directions if name not in values and name not in declared]
        if strays:
            raise Invalid(
                f"directions: {', '.join(map(repr, strays))} "
                f"{'is' if len(strays) == 1 else 'are'} neither among this result's metrics "
                f"({', '.join(values)}) nor declared on board {board.name!r}; give a direction "
                "for a metric you log in metrics",
                field="directions",
                code="unknown_metric",
            )
        unknown = [name for name in values if name not in declared]
        undirected = [name for name in unknown if name not in wanted_directions]
        if undirected:
            raise Invalid(
                f"metrics: {', '.join(map(repr, undirected))} "
                f"{'is' if len(undirected) == 1 else 'are'} not declared on board "
                f"{board.name!r}; known metrics: {', '.join(declared) or '(none)'}. Declare a new "
                'metric by giving its direction, such as directions={"'
                f'{undirected[0]}": "higher"}}',
                field="metrics",
                code="unknown_metric",
            )
        for name in unknown:
            declared[name] = _declare(
                board, MetricSpec(name=name, higher_is_better=wanted_directions[name]), field=name
            )
        if strict:
            previous = (
                MetricResult.objects.filter(
                    board=board,
                    run_id=run_id,
                    checkpoint_step=checkpoint_step,
                    eval_dataset=fields["eval_dataset"],
                    eval_dataset_version=fields["eval_dataset_version"],
                )
                .order_by("-created", "-id")
                .first()
            )
            if previous is not None:
                same = (
                    _same_values(previous, values)
                    and previous.model_name == model_name
                    and all(getattr(previous, key) == value for key, value in fields.items())
                    and previous.tags == clean_tags_
                    and previous.metadata == clean_metadata
                )
                if same:
                    return previous, False
                step = "" if checkpoint_step is None else f" at checkpoint step {checkpoint_step}"
                raise Conflict(
                    f"run_id: run {run_id!r}{step} is already logged on this board (result "
                    f"{previous.pk}, {previous.created.isoformat()}) with different values; strict "
                    "mode refuses to record a second result. Log without strict to add it as a "
                    "new result, or use a new run id",
                    field="run_id",
                    code="run_exists",
                )
        try:
            with transaction.atomic():
                result = MetricResult.objects.create(
                    board=board,
                    model_name=model_name,
                    run_id=run_id,
                    checkpoint_step=checkpoint_step,
                    tags=clean_tags_,
                    metadata=clean_metadata,
                    logged_by=user,
                    created=now or timezone.now(),
                    **fields,
                )
                MetricValue.objects.bulk_create(
                    MetricValue(result=result, metric=declared[name], value=value)
                    for name, value in values.items()
                )
        except IntegrityError as exc:  # pragma: no cover - the checks above come first
            raise Invalid(f"result: refused by the database ({exc})") from None
    return result, True
