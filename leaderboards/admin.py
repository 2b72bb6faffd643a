"""Operator views of benchmarks, prompts, leaderboards, and owners' API tokens."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from knox.models import AuthToken

from leaderboards.models import Benchmark, IdempotencyKey, Leaderboard, Prompt


class PromptInline(admin.TabularInline):
    model = Prompt
    extra = 0
    fields = ["position", "text", "identifier", "tags", "asset", "asset_kind"]
    readonly_fields = ["asset", "asset_kind"]
    show_change_link = True


class LeaderboardInline(admin.TabularInline):
    model = Leaderboard
    extra = 0
    fields = [
        "name",
        "instruction",
        "show_prompt",
        "inverse_ranking",
        "outputs_public",
        "is_active",
    ]
    show_change_link = True


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "is_public", "media_kind", "created"]
    list_filter = ["is_public", "media_kind"]
    search_fields = ["name", "owner__username"]
    raw_id_fields = ["owner"]
    readonly_fields = ["media_kind"]
    date_hierarchy = "created"
    inlines = [LeaderboardInline, PromptInline]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["text", "benchmark", "position", "identifier", "tags", "asset_kind"]
    search_fields = ["text", "identifier", "benchmark__name"]
    list_select_related = ["benchmark"]
    raw_id_fields = ["benchmark"]
    readonly_fields = ["asset", "asset_kind", "asset_content_type"]


@admin.register(Leaderboard)
class LeaderboardAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "benchmark",
        "instruction",
        "tie_model",
        "outputs_public",
        "is_active",
        "created",
    ]
    list_filter = ["is_active", "outputs_public", "tie_model", "inverse_ranking", "show_prompt"]
    search_fields = ["name", "instruction", "benchmark__name"]
    list_select_related = ["benchmark"]
    raw_id_fields = ["benchmark"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "owner", "endpoint", "status_code", "created"]
    search_fields = ["key", "owner__username", "endpoint"]
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]


User = get_user_model()


@admin.action(description="Create an API token (shown once)")
def create_api_token(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> None:
    for user in queryset:
        _, token = AuthToken.objects.create(user=user, expiry=None)
        modeladmin.message_user(
            request,
            f"API token for {user.get_username()}: {token} (copy it now; it is stored hashed "
            "and cannot be shown again)",
            level=messages.WARNING,
        )


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class VersusUserAdmin(UserAdmin):
    actions = [create_api_token]
