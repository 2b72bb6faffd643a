"""Operator views of metric leaderboards, their metrics and logged results."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from metrics.models import MetricBoard, MetricDefinition, MetricResult, MetricValue


class MetricDefinitionInline(admin.TabularInline):
    model = MetricDefinition
    extra = 0
    fields = ["name", "higher_is_better", "description", "created"]
    readonly_fields = ["created"]


@admin.register(MetricBoard)
class MetricBoardAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "primary_metric",
        "is_public",
        "preference_leaderboard",
        "created",
        "page",
    ]
    list_filter = ["is_public"]
    search_fields = ["name", "owner__username", "description"]
    list_select_related = ["owner", "preference_leaderboard"]
    raw_id_fields = ["owner", "preference_leaderboard"]
    inlines = [MetricDefinitionInline]

    @admin.display(description="page")
    def page(self, obj: MetricBoard) -> str:
        return format_html('<a href="/metrics/{}/">view</a>', obj.pk)


class MetricValueInline(admin.TabularInline):
    model = MetricValue
    extra = 0
    fields = ["metric", "value"]
    raw_id_fields = ["metric"]


@admin.register(MetricResult)
class MetricResultAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "board",
        "model_name",
        "run_id",
        "training_run_id",
        "checkpoint_step",
        "eval_dataset",
        "values_shown",
        "created",
    ]
    list_filter = ["model_type", "eval_dataset", "train_dataset"]
    search_fields = ["model_name", "run_id", "training_run_id", "board__name"]
    list_select_related = ["board"]
    raw_id_fields = ["board", "logged_by"]
    date_hierarchy = "created"
    inlines = [MetricValueInline]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).prefetch_related("values__metric")

    @admin.display(description="metrics")
    def values_shown(self, obj: MetricResult) -> str:
        return format_html_join(
            ", ", "{}={}", ((v.metric.name, f"{v.value:.4g}") for v in obj.values.all())
        ) or format_html("—")
