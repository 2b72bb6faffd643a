"""Owner API for models: submit one output per prompt, list a board's models."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import JSONParser, idempotent
from config.validation import json_depth_check
from evaluation.api_uploads import UploadParser, json_part
from evaluation.models import Model
from evaluation.services import model_submit
from leaderboards.models import Benchmark
from leaderboards.selectors import benchmark_get, leaderboard_get


class MetadataField(serializers.JSONField):
    """Free-form JSON: a JSON value, or a string holding one (how multipart sends it).

    Read by `json_part`, so a document nested deep enough to exhaust Python's stack in
    parsing or in any later encoding is a 400 naming the field.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            return json_part(data, field=self.field_name)
        return super().to_internal_value(json_depth_check(data, field=self.field_name))


class ModelSubmitIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    prompts = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False),
        allow_empty=False,
        help_text="The registered prompt each output answers, in the order of media/texts.",
    )
    media = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        help_text="One file per prompt (multipart), for data_type=media.",
    )
    texts = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False, allow_blank=True),
        required=False,
        help_text="One text per prompt, for data_type=text.",
    )
    data_type = serializers.ChoiceField(choices=["media", "text"], default="media")
    metadata = MetadataField(required=False, help_text="Free-form JSON object.")


class ModelOut(serializers.ModelSerializer):
    benchmark = serializers.IntegerField(source="benchmark_id")
    owner = serializers.CharField(source="owner.username")
    outputs = serializers.IntegerField(source="output_count", read_only=True)

    class Meta:
        model = Model
        fields = ["id", "name", "benchmark", "owner", "metadata", "is_active", "created", "outputs"]


def _submit(request: Request, benchmark: Benchmark) -> Response:
    data = ModelSubmitIn(data=request.data)
    data.is_valid(raise_exception=True)
    values = data.validated_data
    model = model_submit(
        benchmark=benchmark,
        owner=request.user,
        name=values["name"],
        prompts=values["prompts"],
        media=values.get("media", []),
        texts=values.get("texts", []),
        data_type=values["data_type"],
        metadata=values.get("metadata"),
    )
    model = _models(Model.objects.filter(pk=model.pk)).get()
    return Response(ModelOut(model).data, status=201)


def _models(qs: Any) -> Any:
    return qs.select_related("owner").annotate(output_count=Count("outputs"))


class BenchmarkModels(APIView):
    parser_classes = [UploadParser, JSONParser]

    @extend_schema(responses=ModelOut(many=True), summary="List a benchmark's models")
    def get(self, request: Request, benchmark_id: int) -> Response:
        benchmark = benchmark_get(benchmark_id=benchmark_id, user=request.user)
        return Response(ModelOut(_models(benchmark.models.all()), many=True).data)

    @extend_schema(
        request=ModelSubmitIn,
        responses={201: ModelOut},
        summary="Enter a model with one output per registered prompt",
    )
    def post(self, request: Request, benchmark_id: int) -> Response:
        def act() -> Response:
            benchmark = benchmark_get(benchmark_id=benchmark_id, user=request.user, for_write=True)
            return _submit(request, benchmark)

        return idempotent(request, act)


class LeaderboardModels(APIView):
    parser_classes = [UploadParser, JSONParser]

    @extend_schema(responses=ModelOut(many=True), summary="List a leaderboard's models")
    def get(self, request: Request, leaderboard_id: int) -> Response:
        leaderboard = leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        return Response(ModelOut(_models(leaderboard.benchmark.models.all()), many=True).data)

    @extend_schema(
        request=ModelSubmitIn,
        responses={201: ModelOut},
        summary="Enter a model on the leaderboard's benchmark (and so every question)",
    )
    def post(self, request: Request, leaderboard_id: int) -> Response:
        def act() -> Response:
            leaderboard = leaderboard_get(
                leaderboard_id=leaderboard_id, user=request.user, for_write=True
            )
            return _submit(request, leaderboard.benchmark)

        return idempotent(request, act)
