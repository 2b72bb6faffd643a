"""REST API of metric leaderboards: thin views over the services and selectors.

Boards are read by anyone who may see them (public, or the owner's); every write is the owner's.
A private board of another owner is a 404, a public one a 403 on writes, anonymous writes a 401.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import idempotent
from config.errors import Invalid, NotFound
from config.validation import nul_check
from leaderboards.api import Pagination
from leaderboards.selectors import leaderboard_get
from metrics.models import MAX_CHECKPOINT_STEP, MetricBoard, MetricResult
from metrics.selectors import (
    CHECKPOINT_MODES,
    FILTER_FIELDS,
    NORMALIZE_MODES,
    RANKING_MODES,
    Agreement,
    Comparison,
    HumanScore,
    RankedRow,
    Ranking,
    board_metrics,
    board_ranking,
    id_parse,
    metric_board_get,
    metric_boards_visible,
    ranking_spec_parse,
    result_filters_parse,
    result_values,
    run_get,
    runs_compare,
)
from metrics.services import (
    MetricSpec,
    metric_board_create,
    metric_board_delete,
    metric_board_update,
    metric_declare,
    result_log,
)

# ---------------------------------------------------------------- input


class MetricSpecIn(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    higher_is_better = serializers.BooleanField(default=True)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )

    def spec(self) -> MetricSpec:
        return MetricSpec(**self.validated_data)


class BoardIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    is_public = serializers.BooleanField(required=False, default=False)
    metrics = MetricSpecIn(many=True)
    primary_metric = serializers.CharField(required=False, allow_blank=True, default="")
    preference_leaderboard = serializers.IntegerField(required=False, allow_null=True, default=None)
    if_exists = serializers.ChoiceField(
        choices=["error", "return"],
        default="error",
        help_text="'return': answer with your board of this name (200) instead of a 409.",
    )


class BoardPatchIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    is_public = serializers.BooleanField(required=False)
    primary_metric = serializers.CharField(required=False)
    preference_leaderboard = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Link (or, with null, unlink) the human-preference leaderboard whose scores "
        "are shown beside the metrics; it must be one you may see.",
    )


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "number"},
        "example": {"accuracy": 0.95, "latency_ms": 12.5},
    }
)
class MetricValuesField(serializers.Field):
    """Metric name -> finite number; the service checks names and values and names the culprit."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError('an object such as {"accuracy": 0.95}')
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class ResultIn(serializers.Serializer):
    model_name = serializers.CharField(max_length=200)
    run_id = serializers.CharField(max_length=200)
    metrics = MetricValuesField()
    directions = serializers.DictField(
        child=serializers.ChoiceField(choices=["higher", "lower"]),
        required=False,
        default=dict,
        help_text="Directions of metrics not declared on the board yet; they are declared.",
    )
    model_type = serializers.CharField(required=False, allow_blank=True, default="")
    training_run_id = serializers.CharField(required=False, allow_blank=True, default="")
    checkpoint_step = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=MAX_CHECKPOINT_STEP
    )
    eval_dataset = serializers.CharField(required=False, allow_blank=True, default="")
    eval_dataset_version = serializers.CharField(required=False, allow_blank=True, default="")
    train_dataset = serializers.CharField(required=False, allow_blank=True, default="")
    train_dataset_version = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    metadata = serializers.JSONField(required=False, default=dict)
    strict = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Refuse (409) a second, different result for the same run id and checkpoint.",
    )


# ---------------------------------------------------------------- output


class MetricOut(serializers.Serializer):
    name = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    description = serializers.CharField()


class BoardOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField()
    is_public = serializers.BooleanField()
    primary_metric = serializers.CharField()
    metrics = MetricOut(many=True)
    preference_leaderboard = serializers.IntegerField(allow_null=True)
    result_count = serializers.IntegerField()
    created = serializers.DateTimeField()
    url = serializers.URLField()


class ResultOut(serializers.Serializer):
    id = serializers.IntegerField()
    board = serializers.IntegerField()
    model_name = serializers.CharField()
    model_type = serializers.CharField()
    run_id = serializers.CharField()
    training_run_id = serializers.CharField()
    checkpoint_step = serializers.IntegerField(allow_null=True)
    eval_dataset = serializers.CharField()
    eval_dataset_version = serializers.CharField()
    train_dataset = serializers.CharField()
    train_dataset_version = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()
    metrics = serializers.DictField(child=serializers.FloatField())
    created = serializers.DateTimeField()
    url = serializers.URLField()


class HumanOut(serializers.Serializer):
    score = serializers.FloatField()
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)
    votes = serializers.IntegerField()
    provisional = serializers.BooleanField()


class RankedRowOut(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField(help_text="The metric, the average rank, or the weighted score.")
    checkpoints = serializers.IntegerField(
        help_text="Results of this training run that competed (best-checkpoint mode)."
    )
    result = ResultOut()
    human = HumanOut(allow_null=True)


class AgreementOut(serializers.Serializer):
    models = serializers.IntegerField(help_text="Models with both a metric and a human rank.")
    spearman = serializers.FloatField(allow_null=True)
    spearman_p = serializers.FloatField(allow_null=True)
    kendall = serializers.FloatField(allow_null=True)
    kendall_p = serializers.FloatField(allow_null=True)


class RankingOut(serializers.Serializer):
    board = serializers.IntegerField()
    mode = serializers.CharField()
    metric = serializers.CharField(allow_blank=True)
    metrics = serializers.ListField(child=serializers.CharField())
    weights = serializers.DictField(child=serializers.FloatField())
    normalize = serializers.CharField()
    tie_break = serializers.CharField(allow_blank=True)
    checkpoints = serializers.CharField()
    description = serializers.CharField()
    score_label = serializers.CharField()
    considered = serializers.IntegerField(
        help_text="Current results (the newest of each evaluation) that passed the filters."
    )
    unranked = serializers.IntegerField(help_text="Of those, results lacking a ranked metric.")
    count = serializers.IntegerField(help_text="Ranked rows before `limit`.")
    rows = RankedRowOut(many=True)
    preference_leaderboard = serializers.IntegerField(allow_null=True)
    agreement = AgreementOut(allow_null=True)


class ChampionOut(serializers.Serializer):
    board = serializers.IntegerField()
    description = serializers.CharField()
    considered = serializers.IntegerField()
    champion = RankedRowOut(allow_null=True)


class ComparedRowOut(serializers.Serializer):
    name = serializers.CharField(help_text="The label: the key, with the board when it is split.")
    values = serializers.ListField(child=serializers.JSONField(allow_null=True))
    differs = serializers.BooleanField()
    best = serializers.ListField(child=serializers.BooleanField(), required=False)
    direction = serializers.CharField(required=False)
    key = serializers.CharField(help_text="The metric name or metadata key.")
    board = serializers.IntegerField(
        allow_null=True,
        help_text="Set when a run's boards both give this key: the row holds this board's values.",
    )


class ComparedResultOut(serializers.Serializer):
    id = serializers.IntegerField()
    board = serializers.IntegerField()
    board_name = serializers.CharField()
    url = serializers.URLField()


class ComparedRunOut(ResultOut):
    boards = serializers.ListField(child=serializers.IntegerField())
    results = ComparedResultOut(many=True, help_text="One result per board the run is on.")


class ComparisonOut(serializers.Serializer):
    columns = ComparedRunOut(
        many=True,
        help_text="One per run: the fields of its first result, `metrics` keyed by the metric "
        "rows' labels (the union over its boards), and every result it stands for.",
    )
    fields = ComparedRowOut(many=True)
    metrics = ComparedRowOut(many=True)
    metadata = ComparedRowOut(many=True)


class RunOut(serializers.Serializer):
    board = serializers.IntegerField()
    run_id = serializers.CharField()
    results = ResultOut(many=True)
    superseded = serializers.ListField(child=serializers.IntegerField())
    training_runs = serializers.ListField(child=serializers.CharField())
    checkpoints = ResultOut(many=True)
    best_steps = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField())
    )


# ---------------------------------------------------------------- JSON builders


_TIME = serializers.DateTimeField()


def _absolute(request: Request, path: str) -> str:
    return request.build_absolute_uri(path)


def board_json(request: Request, board: MetricBoard) -> dict[str, Any]:
    """A board as the API shows it."""
    return {
        "id": board.pk,
        "name": board.name,
        "description": board.description,
        "owner": board.owner.username,
        "is_public": board.is_public,
        "primary_metric": board.primary_metric,
        "metrics": [
            {"name": m.name, "higher_is_better": m.higher_is_better, "description": m.description}
            for m in board_metrics(board=board).values()
        ],
        "preference_leaderboard": board.preference_leaderboard_id,
        "result_count": board.results.count(),
        "created": _TIME.to_representation(board.created),
        "url": _absolute(request, reverse("metrics:board", args=[board.pk])),
    }


def _run_url(request: Request, result: MetricResult) -> str:
    return _absolute(request, reverse("metrics:run", args=[result.board_id, result.run_id]))


def result_json(request: Request, result: MetricResult, values: dict[str, float]) -> dict[str, Any]:
    """A result with its metric values, as the API shows it."""
    return {
        "id": result.pk,
        "board": result.board_id,
        "model_name": result.model_name,
        "model_type": result.model_type,
        "run_id": result.run_id,
        "training_run_id": result.training_run_id,
        "checkpoint_step": result.checkpoint_step,
        "eval_dataset": result.eval_dataset,
        "eval_dataset_version": result.eval_dataset_version,
        "train_dataset": result.train_dataset,
        "train_dataset_version": result.train_dataset_version,
        "tags": list(result.tags or []),
        "metadata": result.metadata or {},
        "metrics": values,
        "created": _TIME.to_representation(result.created),
        "url": _run_url(request, result),
    }


def _human_json(human: HumanScore | None) -> dict[str, Any] | None:
    return None if human is None else dict(human.__dict__)


def _row_json(request: Request, row: RankedRow) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "score": row.score,
        "checkpoints": row.checkpoints,
        "result": result_json(request, row.result, row.values),
        "human": _human_json(row.human),
    }


def _agreement_json(agreement: Agreement | None) -> dict[str, Any] | None:
    return None if agreement is None else dict(agreement.__dict__)


def ranking_json(request: Request, ranking: Ranking, limit: int) -> dict[str, Any]:
    """A ranking as the API shows it, its rows cut to `limit`."""
    spec = ranking.spec
    return {
        "board": ranking.board.pk,
        "mode": spec.mode,
        "metric": spec.metric if spec.mode == "metric" else "",
        "metrics": list(spec.ranked_metrics),
        "weights": dict(zip(spec.metrics, spec.weights, strict=True)) if spec.weights else {},
        "normalize": spec.normalize,
        "tie_break": spec.tie_break,
        "checkpoints": spec.checkpoints,
        "description": spec.describe(),
        "score_label": spec.score_label,
        "considered": ranking.considered,
        "unranked": ranking.unranked,
        "count": len(ranking.rows),
        "rows": [_row_json(request, row) for row in ranking.rows[:limit]],
        "preference_leaderboard": ranking.board.preference_leaderboard_id
        if ranking.human is not None
        else None,
        "agreement": _agreement_json(ranking.agreement),
    }


def comparison_json(request: Request, comparison: Comparison) -> dict[str, Any]:
    """A comparison as the API shows it."""
    columns = []
    for column in comparison.columns:
        body = result_json(request, column.first, column.values)
        body["boards"] = [r.board_id for r in column.results]
        body["results"] = [
            {
                "id": r.pk,
                "board": r.board_id,
                "board_name": r.board.name,
                "url": _run_url(request, r),
            }
            for r in column.results
        ]
        columns.append(body)
    return {
        "columns": columns,
        "fields": [r.__dict__ for r in comparison.fields],
        "metrics": [r.__dict__ for r in comparison.metrics],
        "metadata": [r.__dict__ for r in comparison.metadata],
    }


# ---------------------------------------------------------------- parameters

RANKING_PARAMS = [
    OpenApiParameter("mode", str, enum=list(RANKING_MODES), description="Default: metric."),
    OpenApiParameter("metric", str, description="Mode metric: the metric (default: primary)."),
    OpenApiParameter(
        "metrics", str, description="Mode average_rank: comma-separated metrics (default: all)."
    ),
    OpenApiParameter(
        "weights",
        str,
        description="Mode weighted: metric:weight pairs, such as accuracy:2,f1:1 "
        "(default: equal weights on all metrics).",
    ),
    OpenApiParameter("normalize", str, enum=list(NORMALIZE_MODES), description="Default: minmax."),
    OpenApiParameter("tie_break", str, description="Secondary metric that breaks ties."),
    OpenApiParameter("checkpoints", str, enum=list(CHECKPOINT_MODES), description="Default: best."),
]
FILTER_PARAMS = [
    OpenApiParameter("tag", str, many=True, description="Only results with all these tags."),
    OpenApiParameter(
        "since",
        OpenApiTypes.DATETIME,
        description="Only runs whose current result was logged at or after (date or time).",
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATETIME,
        description="The board as it stood then: each run's result current before this time "
        "(a date: its end).",
    ),
    OpenApiParameter("q", str, description="Part of a model name or run id."),
    *[
        OpenApiParameter(name, str, description=f"Exact {name.replace('_', ' ')}.")
        for name in FILTER_FIELDS
    ],
]
LIMIT_PARAM = OpenApiParameter(
    "limit", int, description="Rows to return (default 100, at most 1000)."
)


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "100")
    try:
        limit = int(raw)
    except ValueError:
        raise Invalid(f"limit: {raw!r} is not a whole number", field="limit") from None
    if not 1 <= limit <= 1000:
        raise Invalid(f"limit: {limit}; use 1 to 1000", field="limit")
    return limit


def _ranking(request: Request, board: MetricBoard) -> Ranking:
    metrics = board_metrics(board=board)
    spec = ranking_spec_parse(board=board, query=request.query_params, metrics=metrics)
    filters = result_filters_parse(request.query_params)
    return board_ranking(board=board, spec=spec, filters=filters, viewer=request.user)


def _preference(request: Request, leaderboard_id: int | None) -> Any:
    if leaderboard_id is None:
        return None
    try:
        return leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
    except NotFound as exc:
        raise Invalid(
            f"preference_leaderboard: leaderboard {leaderboard_id} does not exist",
            field="preference_leaderboard",
        ) from exc


# ---------------------------------------------------------------- views


class MetricBoardListCreate(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, description="Case-insensitive part of the name"),
            OpenApiParameter("mine", bool, description="Only your own boards."),
        ],
        responses=BoardOut(many=True),
        summary="List metric leaderboards you can see",
    )
    def get(self, request: Request) -> Response:
        qs = metric_boards_visible(user=request.user).order_by("-created", "-id")
        if name := request.query_params.get("name", "").strip():
            qs = qs.filter(name__icontains=nul_check(name, field="name"))
        if request.query_params.get("mine", "").lower() in {"1", "true", "yes"}:
            qs = qs.filter(owner_id=request.user.pk) if request.user.is_authenticated else qs.none()
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([board_json(request, b) for b in page])

    @extend_schema(
        request=BoardIn,
        responses={201: BoardOut, 200: BoardOut},
        summary="Create a metric leaderboard (or, with if_exists=return, find yours by name)",
    )
    def post(self, request: Request) -> Response:
        def act() -> Response:
            data = BoardIn(data=request.data)
            data.is_valid(raise_exception=True)
            v = data.validated_data
            board, created = metric_board_create(
                owner=request.user,
                name=v["name"],
                description=v["description"],
                is_public=v["is_public"],
                metrics=[MetricSpec(**m) for m in v["metrics"]],
                primary_metric=v["primary_metric"] or None,
                preference_leaderboard=_preference(request, v["preference_leaderboard"]),
                if_exists=v["if_exists"],
            )
            board = metric_board_get(board_id=board.pk, user=request.user)
            return Response(board_json(request, board), status=201 if created else 200)

        return idempotent(request, act)


class MetricBoardDetail(APIView):
    @extend_schema(responses=BoardOut, summary="Read a metric leaderboard")
    def get(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user)
        return Response(board_json(request, board))

    @extend_schema(
        request=BoardPatchIn,
        responses=BoardOut,
        summary="Change a board's settings, such as its linked preference leaderboard (owner)",
    )
    def patch(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user, for_write=True)
        data = BoardPatchIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "preference_leaderboard" in changes:
            changes["preference_leaderboard"] = _preference(
                request, changes["preference_leaderboard"]
            )
        metric_board_update(board=board, **changes)
        board = metric_board_get(board_id=board_id, user=request.user)
        return Response(board_json(request, board))

    @extend_schema(responses={204: None}, summary="Delete a board and all its results")
    def delete(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user, for_write=True)
        metric_board_delete(board=board, user=request.user)
        return Response(status=204)


class MetricDeclare(APIView):
    @extend_schema(
        request=MetricSpecIn,
        responses={201: BoardOut},
        summary="Declare a metric (name and direction) on a board",
    )
    def post(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user, for_write=True)
        data = MetricSpecIn(data=request.data)
        data.is_valid(raise_exception=True)
        metric_declare(board=board, spec=data.spec())
        return Response(board_json(request, board), status=201)


class ResultListCreate(APIView):
    @extend_schema(
        parameters=FILTER_PARAMS,
        responses=ResultOut(many=True),
        summary="List a board's results, newest first (superseded ones too)",
    )
    def get(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user)
        filters = result_filters_parse(request.query_params)
        qs = filters.apply(board.results.order_by("-created", "-id"))
        if filters.tags:
            # Tags live in a JSON list; the filter is applied on the ids of the matching rows.
            qs = qs.filter(pk__in=[r.pk for r in qs.only("id", "tags") if filters.keeps(r)])
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        values = result_values(result_ids=[r.pk for r in page])
        return paginator.get_paginated_response(
            [result_json(request, r, values.get(r.pk, {})) for r in page]
        )

    @extend_schema(
        request=ResultIn,
        responses={201: ResultOut, 200: ResultOut},
        summary="Log an evaluation result (201; 200 when strict mode finds it already stored)",
    )
    def post(self, request: Request, board_id: int) -> Response:
        def act() -> Response:
            board = metric_board_get(board_id=board_id, user=request.user, for_write=True)
            data = ResultIn(data=request.data)
            data.is_valid(raise_exception=True)
            result, created = result_log(board=board, user=request.user, **data.validated_data)
            values = result_values(result_ids=[result.pk]).get(result.pk, {})
            return Response(result_json(request, result, values), status=201 if created else 200)

        return idempotent(request, act)


class ResultDetail(APIView):
    @extend_schema(responses=ResultOut, summary="Read one result")
    def get(self, request: Request, board_id: int, result_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user)
        result = board.results.filter(pk=result_id).first()
        if result is None:
            raise NotFound(f"result {result_id} does not exist on metric leaderboard {board_id}")
        values = result_values(result_ids=[result.pk]).get(result.pk, {})
        return Response(result_json(request, result, values))


class BoardRanking(APIView):
    @extend_schema(
        parameters=[*RANKING_PARAMS, *FILTER_PARAMS, LIMIT_PARAM],
        responses=RankingOut,
        summary="Rank a board's runs (one metric, average rank, or weighted), with filters",
    )
    def get(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user)
        return Response(ranking_json(request, _ranking(request, board), _limit(request)))


class BoardChampion(APIView):
    @extend_schema(
        parameters=[*RANKING_PARAMS, *FILTER_PARAMS],
        responses=ChampionOut,
        summary="The current best run (for automatic promotion); champion is null if none",
    )
    def get(self, request: Request, board_id: int) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user)
        ranking = _ranking(request, board)
        champion = ranking.champion
        return Response(
            {
                "board": board.pk,
                "description": ranking.spec.describe(),
                "considered": ranking.considered,
                "champion": None if champion is None else _row_json(request, champion),
            }
        )


class RunDetail(APIView):
    @extend_schema(responses=RunOut, summary="A run: its results, lineage and checkpoints")
    def get(self, request: Request, board_id: int, run_id: str) -> Response:
        board = metric_board_get(board_id=board_id, user=request.user)
        run = run_get(board=board, run_id=run_id)
        return Response(
            {
                "board": board.pk,
                "run_id": run.run_id,
                "results": [result_json(request, r, run.values.get(r.pk, {})) for r in run.results],
                "superseded": sorted(run.superseded),
                "training_runs": run.training_runs,
                "checkpoints": [result_json(request, p.result, p.values) for p in run.checkpoints],
                "best_steps": run.best_steps,
            }
        )


class RunsCompare(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("run", str, many=True, description="Run ids (2-5 with results)."),
            OpenApiParameter("result", int, many=True, description="Result ids."),
            OpenApiParameter(
                "board",
                int,
                description="Look run ids up on this board only. Without it, your own boards "
                "come first, and a run id on several of one owner's boards is one run with the "
                "metrics of all of them; a run id on boards of several other owners is a 409 "
                "listing them.",
            ),
        ],
        responses=ComparisonOut,
        summary="Compare 2-5 runs side by side: metrics, lineage and config, differences marked",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        board_raw = params.get("board", "").strip()
        comparison = runs_compare(
            user=request.user,
            run_ids=[r for r in params.getlist("run") if r.strip()],
            result_ids=[
                id_parse(raw, field="result", noun="result") for raw in params.getlist("result")
            ],
            board_id=id_parse(board_raw, field="board", noun="board") if board_raw else None,
        )
        return Response(comparison_json(request, comparison))
