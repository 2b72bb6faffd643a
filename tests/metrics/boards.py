"""Builders for metric-leaderboard tests: boards with declared metrics and logged results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from metrics.models import MetricBoard, MetricResult
from metrics.services import MetricSpec, metric_board_create, result_log


def make_board(
    owner: Any,
    *,
    name: str = "Vision evals",
    metrics: dict[str, bool] | None = None,
    is_public: bool = True,
    **kwargs: Any,
) -> MetricBoard:
    """A board declaring `metrics` (name -> higher is better), accuracy up and latency down."""
    metrics = metrics if metrics is not None else {"accuracy": True, "latency_ms": False}
    board, _ = metric_board_create(
        owner=owner,
        name=name,
        metrics=[MetricSpec(name=n, higher_is_better=h) for n, h in metrics.items()],
        is_public=is_public,
        **kwargs,
    )
    return board


def log(
    board: MetricBoard,
    model: str,
    run: str,
    *,
    now: datetime | None = None,
    **fields: Any,
) -> MetricResult:
    """Log one result; metric values are keyword arguments named after the board's metrics."""
    names = set(board.metrics.values_list("name", flat=True))
    metrics = {k: fields.pop(k) for k in list(fields) if k in names}
    metrics.update(fields.pop("metrics", {}))
    result, _ = result_log(
        board=board,
        user=board.owner,
        model_name=model,
        run_id=run,
        metrics=metrics,
        now=now,
        **fields,
    )
    return result
