"""Operator views of voters, matchups and known-answer (gold) matchups."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from matchmaking.models import GoldMatchup, Matchup, Voter
from matchmaking.services import voter_flag


@admin.register(Voter)
class VoterAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "trust",
        "gold_seen",
        "gold_correct",
        "is_flagged",
        "network",
        "created",
        "last_seen",
    ]
    list_filter = ["is_flagged"]
    search_fields = ["user__username", "session_key", "network"]
    raw_id_fields = ["user"]
    # The flag and trust decide which of the voter's votes count: they change only through
    # the actions (and gold answers), which relabel the votes already cast as well.
    readonly_fields = ["trust", "gold_seen", "gold_correct", "is_flagged", "network"]
    actions = ["flag", "unflag"]

    @admin.action(description="Flag: leave all their votes, past and future, out of ratings")
    def flag(self, request: HttpRequest, queryset: QuerySet[Voter]) -> None:
        self._set_flag(request, queryset, flagged=True)

    @admin.action(description="Unflag: count again the votes left out for the flag")
    def unflag(self, request: HttpRequest, queryset: QuerySet[Voter]) -> None:
        self._set_flag(request, queryset, flagged=False)

    def _set_flag(self, request: HttpRequest, queryset: QuerySet[Voter], *, flagged: bool) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = sum(voter_flag(voter_id=pk, flagged=flagged) for pk in ids)
        what = "flagged" if flagged else "unflagged"
        effect = "left out of" if flagged else "counted again in"
        self.message_user(
            request,
            f"{len(ids)} voter(s) {what}; {changed} of their votes {effect} the ratings, "
            "which refresh in a few seconds.",
        )


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
