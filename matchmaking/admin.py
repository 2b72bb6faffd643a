"""Operator views of voters, matchups and known-answer (gold) matchups."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from matchmaking.models import GoldMatchup, Matchup, Voter


@admin.register(Voter)
class VoterAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "trust",
        "gold_seen",
        "gold_correct",
        "is_flagged",
        "created",
        "last_seen",
    ]
    list_filter = ["is_flagged"]
    search_fields = ["user__username", "session_key"]
    raw_id_fields = ["user"]
    actions = ["flag", "unflag"]

    @admin.action(description="Flag: store their votes but leave them out of ratings")
    def flag(self, request: HttpRequest, queryset: QuerySet[Voter]) -> None:
        queryset.update(is_flagged=True)

    @admin.action(description="Unflag")
    def unflag(self, request: HttpRequest, queryset: QuerySet[Voter]) -> None:
        queryset.update(is_flagged=False)


@admin.register(Matchup)
class MatchupAdmin(admin.ModelAdmin):
    list_display = ["id", "leaderboard", "prompt", "voter", "issued_at", "expires_at", "closed_at"]
    list_select_related = ["leaderboard", "prompt", "voter"]
    raw_id_fields = ["leaderboard", "prompt", "left", "right", "voter", "gold"]
    date_hierarchy = "issued_at"


@admin.register(GoldMatchup)
class GoldMatchupAdmin(admin.ModelAdmin):
    list_display = ["id", "leaderboard", "prompt", "expected", "note", "is_active", "created"]
    list_filter = ["is_active", "expected"]
    raw_id_fields = ["leaderboard", "prompt", "left", "right"]
