"""Pages of metric leaderboards: the list, a board's ranking, a run, and a comparison.

Every page works without JavaScript: sorting is a link, filtering a GET form, so the whole state
of a view is in its URL and can be shared. Scripts only tidy the form's URL, enable the compare
button and draw the checkpoint plot. A private board of another owner is a 404.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.errors import Conflict, Invalid, NotFound
from metrics.models import MetricDefinition
from metrics.selectors import (
    CHECKPOINT_MODES,
    FILTER_FIELDS,
    MAX_COMPARE,
    NORMALIZE_MODES,
    RANKING_MODES,
    RankingSpec,
    ResultFilters,
    board_filter_choices,
    board_metrics,
    board_ranking,
    dataset_label,
    id_parse,
    metric_board_get,
    metric_boards_visible,
    ranking_rows_sorted,
    ranking_spec_parse,
    result_filters_parse,
    run_get,
    runs_compare,
)
from metrics.templatetags.metrics_format import column_decimals, fixed_text, metric_text

FILTER_LABELS = {
    "model_type": "Model type",
    "model": "Model",
    "eval_dataset": "Eval dataset",
    "eval_dataset_version": "Eval version",
    "train_dataset": "Train dataset",
    "train_dataset_version": "Train version",
    "training_run": "Training run",
}


DESCRIPTION_LENGTH = 300


def _clipped(text: str) -> str:
    """A meta description short enough for search results, cut at a word."""
    text = " ".join(text.split())
    if len(text) <= DESCRIPTION_LENGTH:
        return text
    return text[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0] + "\u2026"


def _listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _board_description(board: Any, ranking: Any) -> str:
    count = len(ranking.rows)
    text = (
        f"{board.name}: metric leaderboard of {count} run{'s' if count != 1 else ''} ranked "
        f"{ranking.spec.describe()}"
    )
    if champion := ranking.champion:
        text += (
            f"; champion {champion.result.model_name} ({champion.result.run_id}), "
            f"{ranking.spec.score_label} {metric_text(champion.score)}"
        )
    return _clipped(f"{text}. {board.description}")


def _run_description(board: Any, run: Any, values: dict[str, float]) -> str:
    latest = run.latest
    measured = ", ".join(
        f"{m.name} {metric_text(values[m.name])}" for m in run.metrics if m.name in values
    )
    text = f"Run {run.run_id} of {latest.model_name} on {board.name}: {measured}"
    lineage = []
    if latest.checkpoint_step is not None:
        step = f"step {latest.checkpoint_step}"
        lineage.append(
            f"{step} of training run {latest.training_run_id}" if latest.training_run_id else step
        )
    if latest.eval_dataset:
        lineage.append(
            f"evaluated on {dataset_label(latest.eval_dataset, latest.eval_dataset_version)}"
        )
    if latest.train_dataset:
        lineage.append(
            f"trained on {dataset_label(latest.train_dataset, latest.train_dataset_version)}"
        )
    if lineage:
        text += f"; {', '.join(lineage)}"
    return _clipped(f"{text}. Metrics, metadata, lineage and checkpoints of the run.")


def _compare_description(comparison: Any) -> str:
    runs = [f"{c.run_id} ({c.model_name})" for c in comparison.columns]
    text = f"{_listed(runs)} side by side: metrics, lineage and config"
    differing = [row.name for row in (*comparison.metrics, *comparison.metadata) if row.differs]
    if differing:
        text += f"; {_listed(differing)} differ{'s' if len(differing) == 1 else ''}"
    return _clipped(text + ".")


def _board_or_404(board_id: int, user: Any) -> Any:
    try:
        return metric_board_get(board_id=board_id, user=user)
    except NotFound as exc:
        raise Http404(exc.message) from None


@require_GET
def board_list(request: HttpRequest) -> HttpResponse:
    """The metric leaderboards the visitor may see, newest first, searchable by name."""
    # PostgreSQL refuses NUL in any text; as on the leaderboards' index page, it is dropped.
    query = request.GET.get("q", "").replace("\x00", "").strip()
    boards = (
        metric_boards_visible(user=request.user)
        .annotate(result_count=Count("results"))
        .prefetch_related(Prefetch("metrics", queryset=MetricDefinition.objects.order_by("id")))
        .order_by("-created", "-id")
    )
    if query:
        boards = boards.filter(name__icontains=query)
    return render(request, "metrics/index.html", {"boards": boards[:200], "query": query})


def _query_string(params: dict[str, Any]) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item not in ("", None):
                pairs.append((key, str(item)))
    return urlencode(pairs)


def _filter_params(filters: ResultFilters, request: HttpRequest) -> dict[str, Any]:
    params: dict[str, Any] = {name: getattr(filters, name) for name in FILTER_FIELDS}
    params["tag"] = list(filters.tags)
    params["q"] = filters.query
    # Dates as the visitor typed them, so the form shows them back unchanged.
    params["since"] = request.GET.get("since", "").strip() if filters.since else ""
    params["until"] = request.GET.get("until", "").strip() if filters.until else ""
    return params


@require_GET
def board_page(request: HttpRequest, board_id: int) -> HttpResponse:
    """A board's ranking with sortable metric columns, filters, the champion and, when a
    preference leaderboard is linked, the human score column and the rank agreement."""
    board = _board_or_404(board_id, request.user)
    metrics = board_metrics(board=board)
    error = ""
    status = 200
    try:
        spec = ranking_spec_parse(board=board, query=request.GET, metrics=metrics)
        filters = result_filters_parse(request.GET)
        ranking = board_ranking(board=board, spec=spec, filters=filters, viewer=request.user)
        rows, sort, order = ranking_rows_sorted(
            ranking=ranking, sort=request.GET.get("sort", ""), order=request.GET.get("order", "")
        )
    except Invalid as exc:
        error, status = exc.message, 400
        spec = RankingSpec(metric=board.primary_metric)
        filters = ResultFilters()
        ranking = board_ranking(board=board, spec=spec, filters=filters, viewer=request.user)
        rows, sort, order = ranking_rows_sorted(ranking=ranking)
    state = {**spec.as_query(board), **_filter_params(filters, request)}

    def sort_link(column: str, natural: str) -> dict[str, Any]:
        active = column == sort
        next_order = ("asc" if order == "desc" else "desc") if active else natural
        href = "?" + _query_string({**state, "sort": column, "order": next_order})
        return {"href": href, "active": active, "order": order if active else ""}

    metric_columns = [
        {
            "metric": m,
            "sort": sort_link(m.name, "desc" if m.higher_is_better else "asc"),
            "ranked": m.name in spec.ranked_metrics,
        }
        for m in metrics.values()
    ]
    decimals = {
        m.name: column_decimals([row.values[m.name] for row in rows if m.name in row.values])
        for m in metrics.values()
    }
    best: dict[str, float] = {}
    for m in metrics.values():
        present = [row.values[m.name] for row in rows if m.name in row.values]
        if present:
            best[m.name] = max(present) if m.higher_is_better else min(present)
    table = [
        {
            "row": row,
            "cells": [
                {
                    "text": fixed_text(row.values.get(m.name), decimals[m.name]),
                    "best": m.name in row.values and row.values[m.name] == best.get(m.name),
                }
                for m in metrics.values()
            ],
            "eval": dataset_label(row.result.eval_dataset, row.result.eval_dataset_version),
            "train": dataset_label(row.result.train_dataset, row.result.train_dataset_version),
        }
        for row in rows
    ]
    choices = board_filter_choices(board=board)
    context = {
        "board": board,
        "ranking": ranking,
        "spec": spec,
        "filters": filters,
        "filter_params": _filter_params(filters, request),
        "filter_fields": [
            {"name": name, "label": FILTER_LABELS[name], "choices": choices[name]}
            for name in FILTER_FIELDS
            if choices[name]
        ],
        "tag_choices": choices["tag"],
        "metrics": list(metrics.values()),
        "metric_columns": metric_columns,
        "table": table,
        "sort": sort,
        "order": order,
        "sorts": {
            column: sort_link(column, natural)
            for column, natural in (
                ("rank", "asc"),
                ("model", "asc"),
                ("run", "asc"),
                ("step", "desc"),
                ("logged", "desc"),
                ("human", "desc"),
            )
        },
        "modes": RANKING_MODES,
        "checkpoint_modes": CHECKPOINT_MODES,
        "normalize_modes": NORMALIZE_MODES,
        "weights_text": ",".join(
            f"{n}:{w:g}" for n, w in zip(spec.metrics, spec.weights, strict=False)
        ),
        "show_score": spec.mode != "metric",
        "clear_filters": "?"
        + _query_string(
            {
                **spec.as_query(board),
                "sort": request.GET.get("sort", ""),
                "order": request.GET.get("order", ""),
            }
        ),
        "error": error,
        "max_compare": MAX_COMPARE,
        "is_owner": request.user.is_authenticated and request.user.pk == board.owner_id,
        "description": _board_description(board, ranking),
    }
    return render(request, "metrics/board.html", context, status=status)


@require_GET
def run_page(request: HttpRequest, board_id: int, run_id: str) -> HttpResponse:
    """One run: its metrics and metadata, lineage, every result logged for it, and the
    checkpoints of its training run with a plot of each metric over the steps."""
    board = _board_or_404(board_id, request.user)
    try:
        run = run_get(board=board, run_id=run_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    latest = run.latest
    plot = {
        "metrics": [{"name": m.name, "higher_is_better": m.higher_is_better} for m in run.metrics],
        "points": [
            {
                "step": p.step,
                "run_id": p.result.run_id,
                "eval": p.eval_label or "(no eval dataset)",
                "values": p.values,
                "current": p.result.run_id == run.run_id,
            }
            for p in run.checkpoints
        ],
        "best_steps": run.best_steps,
        "primary": board.primary_metric,
    }
    decimals = {
        m.name: column_decimals(
            [p.values[m.name] for p in run.checkpoints if m.name in p.values]
            + [v[m.name] for v in run.values.values() if m.name in v]
        )
        for m in run.metrics
    }
    history = [
        {
            "result": r,
            "values": [
                fixed_text(run.values.get(r.pk, {}).get(m.name), decimals[m.name])
                for m in run.metrics
            ],
            "superseded": r.pk in run.superseded,
            "eval": dataset_label(r.eval_dataset, r.eval_dataset_version),
        }
        for r in run.results
    ]
    checkpoint_rows = [
        {
            "point": p,
            "values": [
                {
                    "value": fixed_text(p.values.get(m.name), decimals[m.name]),
                    "best": run.best_steps.get(m.name, {}).get(p.eval_label) == p.step,
                }
                for m in run.metrics
            ],
        }
        for p in run.checkpoints
    ]
    latest_values = run.values.get(latest.pk, {})
    context = {
        "board": board,
        "run": run,
        "latest": latest,
        "latest_metrics": [
            {"metric": m, "value": fixed_text(latest_values.get(m.name), decimals[m.name])}
            for m in run.metrics
            if m.name in latest_values
        ],
        "eval": dataset_label(latest.eval_dataset, latest.eval_dataset_version),
        "train": dataset_label(latest.train_dataset, latest.train_dataset_version),
        "history": history,
        "checkpoint_rows": checkpoint_rows,
        "metrics": run.metrics,
        "plot": plot,
        "metadata_items": sorted((latest.metadata or {}).items()),
        "description": _run_description(board, run, latest_values),
    }
    return render(request, "metrics/run.html", context)


@require_GET
def compare_page(request: HttpRequest) -> HttpResponse:
    """Two to five runs or results side by side, differences and best values marked."""
    error = ""
    board_raw = request.GET.get("board", "").strip()
    comparison = None
    status = 200
    try:
        comparison = runs_compare(
            user=request.user,
            run_ids=[r for r in request.GET.getlist("run") if r.strip()],
            result_ids=[
                id_parse(raw, field="result", noun="result")
                for raw in request.GET.getlist("result")
            ],
            board_id=id_parse(board_raw, field="board", noun="board") if board_raw else None,
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except (Invalid, Conflict) as exc:
        error = exc.message
    if error:
        status = 400
    metric_rows = []
    for row in comparison.metrics if comparison else []:
        first = row.values[0]
        cells = []
        for index, (value, best) in enumerate(
            zip(row.values, row.best or [False] * len(row.values), strict=True)
        ):
            delta = None
            delta_class = ""
            if index and value is not None and first is not None:
                delta = value - first
                better = delta > 0 if row.direction == "higher" else delta < 0
                worse = delta < 0 if row.direction == "higher" else delta > 0
                if row.direction in {"higher", "lower"}:
                    delta_class = "better" if better else "worse" if worse else ""
            cells.append({"value": value, "best": best, "delta": delta, "delta_class": delta_class})
        metric_rows.append({"row": row, "cells": cells})
    if comparison is not None:
        # People read times, not ISO strings; the API keeps ISO 8601.
        comparison = replace(
            comparison,
            fields=[
                replace(row, values=[_shown_time(v) for v in row.values])
                if row.name == "logged"
                else row
                for row in comparison.fields
            ],
        )
    return render(
        request,
        "metrics/compare.html",
        {
            "comparison": comparison,
            "metric_rows": metric_rows,
            "error": error,
            "max_compare": MAX_COMPARE,
            "title": (
                f"Compare {_listed([c.run_id for c in comparison.columns])}"
                if comparison
                else "Compare runs"
            ),
            "description": _compare_description(comparison) if comparison else "",
        },
        status=status,
    )


def _shown_time(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S UTC")
