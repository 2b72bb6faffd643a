"""Owner API for benchmarks and leaderboards: thin views over services and selectors."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import JSONParser, idempotent
from config.errors import Invalid
from config.integers import INTEGER_MAX, ascii_int
from config.validation import nul_check
from evaluation.api_uploads import UploadParser, json_part
from evaluation.media import media_inspect
from evaluation.models import Model
from leaderboards.models import Benchmark, Leaderboard, Prompt
from leaderboards.selectors import (
    benchmark_get,
    benchmarks_visible,
    leaderboard_get,
    leaderboard_prompts,
    leaderboards_visible,
)
from leaderboards.services import (
    LeaderboardSpec,
    PromptSpec,
    benchmark_create,
    leaderboard_create,
    leaderboard_create_with_benchmark,
)


class Pagination(LimitOffsetPagination):
    default_limit = 20
    max_limit = 100


# ---------------------------------------------------------------- input


class PromptIn(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False)
    identifier = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tags = serializers.ListField(child=serializers.CharField(), required=False)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "The prompt text"},
            {
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": {"type": "string"},
                    "identifier": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        ]
    }
)
class PromptField(serializers.Field):
    """A prompt given as a plain string or as {text, identifier, tags}."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            return {"text": data, "identifier": "", "tags": []}
        if isinstance(data, dict):
            nested = PromptIn(data=data)
            nested.is_valid(raise_exception=True)
            return {"identifier": "", "tags": [], **nested.validated_data}
        raise serializers.ValidationError("a prompt is a string or an object with 'text'")

    def to_representation(self, value: Any) -> Any:
        return value


class LeaderboardSettingsIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    instruction = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    show_prompt = serializers.BooleanField(required=False, default=True)
    show_prompt_asset = serializers.BooleanField(required=False, default=False)
    inverse_ranking = serializers.BooleanField(required=False, default=False)
    included_tags = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    excluded_tags = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    reveal_models = serializers.BooleanField(required=False, default=True)
    tie_model = serializers.ChoiceField(
        choices=Leaderboard.TieModel.choices, required=False, default=Leaderboard.TieModel.HALF
    )
    both_bad = serializers.ChoiceField(
        choices=Leaderboard.BothBad.choices, required=False, default=Leaderboard.BothBad.TIE
    )
    repeat_votes = serializers.ChoiceField(
        choices=Leaderboard.RepeatVotes.choices,
        required=False,
        default=Leaderboard.RepeatVotes.EACH,
    )
    min_votes = serializers.IntegerField(
        required=False,
        default=20,
        min_value=1,
        # The column is PostgreSQL's integer; past it the database, not the request, failed.
        max_value=INTEGER_MAX,
        error_messages={
            "min_value": "must be at least 1",
            "max_value": f"must be at most {INTEGER_MAX:,}",
        },
    )
    anchor_model = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="Name of a model whose score is fixed at 1000 (blank: the mean model).",
    )
    outputs_public = serializers.ChoiceField(
        choices=Leaderboard.OutputsPublic.choices,
        required=False,
        default=Leaderboard.OutputsPublic.ALWAYS,
        help_text=(
            "When the per-prompt and model pages show each model's outputs under its name: "
            "`always`; `closed`, once the leaderboard stops taking votes; or `never`. Voters "
            "see the same files blinded, so `always` lets a voter look up which model made "
            "what they are shown. The owner sees the outputs whatever the setting."
        ),
        error_messages={
            "invalid_choice": '"{input}" is not allowed; use one of '
            + ", ".join(Leaderboard.OutputsPublic.values)
        },
    )

    def spec(self) -> LeaderboardSpec:
        data = dict(self.validated_data)
        data["included_tags"] = tuple(data["included_tags"])
        data["excluded_tags"] = tuple(data["excluded_tags"])
        return LeaderboardSpec(**{k: v for k, v in data.items() if k in _SPEC_FIELDS})


_SPEC_FIELDS = set(LeaderboardSpec.__dataclass_fields__)


class LeaderboardWithPromptsIn(LeaderboardSettingsIn):
    prompts = serializers.ListField(child=PromptField(), allow_empty=False)
    is_public = serializers.BooleanField(required=False, default=True)


class BenchmarkIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    prompts = serializers.ListField(child=PromptField(), allow_empty=False)
    is_public = serializers.BooleanField(required=False, default=True)


def _prompt_specs(prompts: list[dict[str, Any]], assets: dict[int, Any]) -> list[PromptSpec]:
    for index in assets:
        if index >= len(prompts):
            raise Invalid(
                f"prompt_assets[{index}]: there are only {len(prompts)} prompts "
                f"(indices 0-{len(prompts) - 1})",
                field=f"prompt_assets[{index}]",
            )
    return [
        PromptSpec(
            text=p["text"],
            identifier=p.get("identifier", ""),
            tags=tuple(p.get("tags", ())),
            asset=assets.get(index),
        )
        for index, p in enumerate(prompts)
    ]


def _asset_index(key: str) -> int:
    """The prompt position a file part `prompt_assets[<index>]` names.

    The index is written one way only (ASCII digits, no leading zero), so no two parts can
    name the same prompt.
    """
    inner = key.removeprefix("prompt_assets[").removesuffix("]")
    index = ascii_int(inner)
    if key != f"prompt_assets[{inner}]" or index is None or inner != str(index):
        raise Invalid(
            f"{key}: unexpected file; name each asset file prompt_assets[<index>], where the "
            "index is its prompt's position counted from 0 in plain digits: prompt_assets[0], "
            "prompt_assets[1], ...",
            field=key,
        )
    return index


def _request_payload(request: Request) -> tuple[dict[str, Any], dict[int, Any]]:
    """JSON body, or multipart with a JSON `data` part and files `prompt_assets[<index>]`."""
    if request.content_type.startswith("multipart/"):
        raw = request.data.get("data")
        if raw is None:
            raise Invalid(
                "data: multipart requests carry the JSON document in a 'data' part", field="data"
            )
        payload = json_part(raw, field="data")
        assets: dict[int, Any] = {}
        for key in request.FILES:
            index = _asset_index(key)
            uploads = request.FILES.getlist(key)
            if len(uploads) > 1:
                raise Invalid(
                    f"{key}: {len(uploads)} files; send one file for each prompt", field=key
                )
            assets[index] = media_inspect(uploads[0], filename=uploads[0].name or "", field=key)
        return payload, assets
    if not isinstance(request.data, dict):
        raise Invalid("the request body must be a JSON object")
    return request.data, {}


# ---------------------------------------------------------------- output


class LeaderboardOut(serializers.ModelSerializer):
    benchmark = serializers.IntegerField(source="benchmark_id")
    benchmark_name = serializers.CharField(source="benchmark.name")
    owner = serializers.CharField(source="benchmark.owner.username")
    is_public = serializers.BooleanField(source="benchmark.is_public")
    media_kind = serializers.CharField(source="benchmark.media_kind")
    prompts = serializers.SerializerMethodField()
    models = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    vote_url = serializers.SerializerMethodField()

    class Meta:
        model = Leaderboard
        fields = [
            "id",
            "name",
            "instruction",
            "description",
            "show_prompt",
            "show_prompt_asset",
            "inverse_ranking",
            "included_tags",
            "excluded_tags",
            "reveal_models",
            "tie_model",
            "both_bad",
            "repeat_votes",
            "min_votes",
            "anchor_model",
            "outputs_public",
            "is_active",
            "is_public",
            "benchmark",
            "benchmark_name",
            "owner",
            "media_kind",
            "created",
            "prompts",
            "models",
            "url",
            "vote_url",
        ]

    def get_prompts(self, obj: Leaderboard) -> list[str]:
        return [p.text for p in leaderboard_prompts(leaderboard=obj)]

    def get_models(self, obj: Leaderboard) -> list[str]:
        return [m.name for m in obj.benchmark.models.all()]

    def get_url(self, obj: Leaderboard) -> str:
        return self.context["request"].build_absolute_uri(f"/leaderboards/{obj.pk}/")

    def get_vote_url(self, obj: Leaderboard) -> str:
        return self.context["request"].build_absolute_uri(f"/leaderboards/{obj.pk}/vote/")


class PromptOut(serializers.ModelSerializer):
    asset_url = serializers.SerializerMethodField()

    class Meta:
        model = Prompt
        fields = ["id", "position", "text", "identifier", "tags", "asset_kind", "asset_url"]

    def get_asset_url(self, obj: Prompt) -> str | None:
        if not obj.asset:
            return None
        return self.context["request"].build_absolute_uri(reverse("prompt-asset", args=[obj.pk]))


class LeaderboardBriefOut(serializers.ModelSerializer):
    class Meta:
        model = Leaderboard
        fields = [
            "id",
            "name",
            "instruction",
            "show_prompt",
            "inverse_ranking",
            "included_tags",
            "excluded_tags",
        ]


class BenchmarkOut(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    prompts = PromptOut(many=True)
    leaderboards = LeaderboardBriefOut(many=True)
    models = serializers.SerializerMethodField()

    class Meta:
        model = Benchmark
        fields = [
            "id",
            "name",
            "description",
            "is_public",
            "owner",
            "media_kind",
            "created",
            "prompts",
            "leaderboards",
            "models",
        ]

    def get_models(self, obj: Benchmark) -> list[str]:
        return [m.name for m in obj.models.all()]


def _with_related_leaderboards(qs: Any) -> Any:
    return qs.prefetch_related(
        "benchmark__prompts",
        Prefetch("benchmark__models", queryset=Model.objects.only("id", "name", "benchmark_id")),
    )


def _with_related_benchmarks(qs: Any) -> Any:
    return qs.prefetch_related(
        "prompts",
        "leaderboards",
        Prefetch("models", queryset=Model.objects.only("id", "name", "benchmark_id")),
    )


def _search_page(view: APIView, request: Request, qs: Any, out: type[Any]) -> Response:
    """One page of `qs`, narrowed by `?name=` (case-insensitive part of the name)."""
    if name := request.query_params.get("name", "").strip():
        qs = qs.filter(name__icontains=nul_check(name, field="name"))
    paginator = Pagination()
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(out(page, many=True, context={"request": request}).data)


NAME_PARAM = OpenApiParameter("name", str, description="Case-insensitive part of the name")


# ---------------------------------------------------------------- views


class BenchmarkListCreate(APIView):
    parser_classes = [JSONParser, UploadParser]

    @extend_schema(
        parameters=[NAME_PARAM],
        responses=BenchmarkOut(many=True),
        summary="List and search benchmarks",
    )
    def get(self, request: Request) -> Response:
        qs = _with_related_benchmarks(benchmarks_visible(user=request.user))
        return _search_page(self, request, qs, BenchmarkOut)

    @extend_schema(
        request=BenchmarkIn,
        responses={201: BenchmarkOut},
        summary="Register a benchmark (prompts, tags, optional prompt assets)",
    )
    def post(self, request: Request) -> Response:
        def act() -> Response:
            payload, assets = _request_payload(request)
            data = BenchmarkIn(data=payload)
            data.is_valid(raise_exception=True)
            benchmark = benchmark_create(
                owner=request.user,
                name=data.validated_data["name"],
                description=data.validated_data["description"],
                is_public=data.validated_data["is_public"],
                prompts=_prompt_specs(data.validated_data["prompts"], assets),
            )
            obj = _with_related_benchmarks(Benchmark.objects.filter(pk=benchmark.pk)).get()
            return Response(BenchmarkOut(obj, context={"request": request}).data, status=201)

        return idempotent(request, act)


class BenchmarkDetail(APIView):
    @extend_schema(responses=BenchmarkOut, summary="Read one benchmark")
    def get(self, request: Request, benchmark_id: int) -> Response:
        benchmark = benchmark_get(benchmark_id=benchmark_id, user=request.user)
        obj = _with_related_benchmarks(Benchmark.objects.filter(pk=benchmark.pk)).get()
        return Response(BenchmarkOut(obj, context={"request": request}).data)


class BenchmarkLeaderboardCreate(APIView):
    @extend_schema(
        request=LeaderboardSettingsIn,
        responses={201: LeaderboardOut},
        summary="Add a leaderboard (a question) to a benchmark",
    )
    def post(self, request: Request, benchmark_id: int) -> Response:
        def act() -> Response:
            benchmark = benchmark_get(benchmark_id=benchmark_id, user=request.user, for_write=True)
            data = LeaderboardSettingsIn(data=request.data)
            data.is_valid(raise_exception=True)
            leaderboard = leaderboard_create(benchmark=benchmark, spec=data.spec())
            return _leaderboard_response(request, leaderboard.pk, status=201)

        return idempotent(request, act)


def _leaderboard_response(request: Request, leaderboard_id: int, status: int = 200) -> Response:
    obj = _with_related_leaderboards(
        Leaderboard.objects.select_related("benchmark", "benchmark__owner").filter(
            pk=leaderboard_id
        )
    ).get()
    return Response(LeaderboardOut(obj, context={"request": request}).data, status=status)


class LeaderboardListCreate(APIView):
    @extend_schema(
        parameters=[NAME_PARAM],
        responses=LeaderboardOut(many=True),
        summary="List and search leaderboards",
    )
    def get(self, request: Request) -> Response:
        qs = _with_related_leaderboards(leaderboards_visible(user=request.user))
        return _search_page(self, request, qs, LeaderboardOut)

    @extend_schema(
        request=LeaderboardWithPromptsIn,
        responses={201: LeaderboardOut},
        summary="Create a leaderboard with its prompts (a new benchmark) in one call",
    )
    def post(self, request: Request) -> Response:
        def act() -> Response:
            data = LeaderboardWithPromptsIn(data=request.data)
            data.is_valid(raise_exception=True)
            leaderboard = leaderboard_create_with_benchmark(
                owner=request.user,
                spec=data.spec(),
                prompts=_prompt_specs(data.validated_data["prompts"], {}),
                is_public=data.validated_data["is_public"],
            )
            return _leaderboard_response(request, leaderboard.pk, status=201)

        return idempotent(request, act)


class LeaderboardDetail(APIView):
    @extend_schema(responses=LeaderboardOut, summary="Read one leaderboard")
    def get(self, request: Request, leaderboard_id: int) -> Response:
        leaderboard = leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        return _leaderboard_response(request, leaderboard.pk)
