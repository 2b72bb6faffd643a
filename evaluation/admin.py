"""Operator views of models, outputs, votes, reports and rating snapshots."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from evaluation.models import (
    Model,
    Output,
    OutputReport,
    PairCount,
    Rating,
    RatingSnapshot,
    SuspectNetwork,
    Vote,
)
from evaluation.services.ratings import votes_exclude
from evaluation.services.screening import suspect_networks_review
from evaluation.tasks import ratings_refresh_soon


class OutputInline(admin.TabularInline):
    model = Output
    extra = 0
    fields = ["prompt", "kind", "content_type", "size_bytes", "width", "height", "preview"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    @admin.display(description="preview")
    def preview(self, obj: Output) -> str:
        return _preview(obj)


def _preview(obj: Output) -> str:
    if obj.kind == "text":
        return obj.text[:120]
    url = f"/media/o/{obj.public_id}"
    if obj.kind == "image":
        return format_html('<a href="{}"><img src="{}" style="max-height:64px"></a>', url, url)
    return format_html('<a href="{}">{}</a>', url, obj.kind)


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["name", "benchmark", "owner", "is_active", "created"]
    list_filter = ["is_active"]
    search_fields = ["name", "benchmark__name", "owner__username"]
    list_select_related = ["benchmark", "owner"]
    raw_id_fields = ["benchmark", "owner"]
    inlines = [OutputInline]
    actions = ["deactivate", "activate"]

    @admin.action(description="Stop matching the selected models (votes stay)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        queryset.update(is_active=False)

    @admin.action(description="Match the selected models again")
    def activate(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        queryset.update(is_active=True)


@admin.register(Output)
class OutputAdmin(admin.ModelAdmin):
    list_display = ["id", "model", "prompt", "kind", "content_type", "size_bytes", "preview"]
    list_filter = ["kind"]
    search_fields = ["model__name", "prompt__text", "content_hash"]
    list_select_related = ["model", "prompt"]
    raw_id_fields = ["model", "prompt"]
    readonly_fields = [
        "public_id",
        "content_hash",
        "size_bytes",
        "width",
        "height",
        "duration",
        "content_type",
        "file",
        "preview",
    ]

    @admin.display(description="preview")
    def preview(self, obj: Output) -> str:
        return _preview(obj)


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "leaderboard",
        "left_model",
        "right_model",
        "choice",
        "voter",
        "excluded",
        "is_imported",
        "view_ms",
        "created",
    ]
    list_filter = ["choice", "excluded", "is_imported"]
    search_fields = ["left_model__name", "right_model__name", "leaderboard__name"]
    list_select_related = ["leaderboard", "left_model", "right_model", "voter"]
    raw_id_fields = ["matchup", "leaderboard", "prompt", "left_model", "right_model", "voter"]
    date_hierarchy = "created"
    actions = ["exclude_votes", "include_votes"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Votes are never deleted, only excluded (and so kept for audit).
        return False

    def _refresh(self, request: HttpRequest, done: str, leaderboard_ids: list[int]) -> None:
        """Queue a ratings refresh of each board touched: the rater takes excluded votes out
        of its counters and counts included ones again by itself."""
        for leaderboard_id in leaderboard_ids:
            ratings_refresh_soon(leaderboard_id)
        self.message_user(
            request,
            f"{done} The standings of {len(leaderboard_ids)} leaderboard(s) follow within seconds.",
        )

    @admin.action(description="Exclude the selected votes from the published fit")
    def exclude_votes(self, request: HttpRequest, queryset: QuerySet[Vote]) -> None:
        changed, boards = votes_exclude(queryset, reason=Vote.Excluded.OPERATOR)
        self._refresh(request, f"Excluded {changed} vote(s).", boards)

    @admin.action(description="Count the selected votes again")
    def include_votes(self, request: HttpRequest, queryset: QuerySet[Vote]) -> None:
        # A flagged voter's votes follow the flag (matchmaking's voter_flag): counting one here
        # would undo it for that vote only, and unflagging the voter is the way back.
        # So do the votes of a flagged network (screening): clear the network instead.
        flagged = queryset.filter(voter__is_flagged=True).count()
        kept = queryset.exclude(voter__is_flagged=True)
        networked = kept.filter(excluded=Vote.Excluded.NETWORK).count()
        changed, boards = votes_exclude(
            kept.exclude(excluded=Vote.Excluded.NETWORK), reason=Vote.Excluded.COUNTED
        )
        skipped = ""
        if flagged:
            skipped += (
                f" {flagged} vote(s) of flagged voters stay excluded: unflag the voter instead."
            )
        if networked:
            skipped += (
                f" {networked} vote(s) of a flagged network stay excluded: clear the network "
                "under Suspect networks instead."
            )
        self._refresh(request, f"Counted {changed} vote(s) again.{skipped}", boards)


@admin.register(PairCount)
class PairCountAdmin(admin.ModelAdmin):
    list_display = [
        "leaderboard",
        "prompt",
        "model_a",
        "model_b",
        "a_wins",
        "b_wins",
        "ties",
        "both_bad",
    ]
    list_select_related = ["leaderboard", "model_a", "model_b"]
    raw_id_fields = ["leaderboard", "prompt", "model_a", "model_b"]


class RatingInline(admin.TabularInline):
    model = Rating
    extra = 0
    fields = ["rank", "model", "score", "ci_low", "ci_high", "votes", "win_rate", "provisional"]
    readonly_fields = fields
    can_delete = False


@admin.register(RatingSnapshot)
class RatingSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "leaderboard",
        "created",
        "vote_count",
        "excluded_count",
        "model_count",
        "tie_model",
        "connected",
        "has_bootstrap",
        "elapsed_ms",
    ]
    list_filter = ["tie_model", "connected"]
    list_select_related = ["leaderboard"]
    raw_id_fields = ["leaderboard"]
    inlines = [RatingInline]


@admin.register(OutputReport)
class OutputReportAdmin(admin.ModelAdmin):
    list_display = ["output", "reason", "voter", "created", "resolved"]
    list_filter = ["resolved"]
    raw_id_fields = ["output", "voter"]
    actions = ["resolve"]

    @admin.action(description="Mark as resolved")
    def resolve(self, request: HttpRequest, queryset: QuerySet[OutputReport]) -> None:
        queryset.update(resolved=True)


@admin.register(SuspectNetwork)
class SuspectNetworkAdmin(admin.ModelAdmin):
    """Networks whose voters favoured one model (screening): the evidence, and the verdict."""

    list_display = [
        "network",
        "leaderboard",
        "model",
        "status",
        "voters",
        "votes",
        "observed_share",
        "expected_share",
        "p_bound",
        "last_found",
    ]
    list_filter = ["status", "leaderboard"]
    list_select_related = ["leaderboard", "model"]
    search_fields = ["network", "model__name", "leaderboard__name"]
    # The evidence is the screening's, the status the actions'; only the note is the operator's.
    readonly_fields = [
        "leaderboard",
        "network",
        "model",
        "votes",
        "observed",
        "expected",
        "p_bound",
        "voters",
        "status",
        "first_found",
        "last_found",
        "reviewed_by",
    ]
    actions = ["clear", "flag"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # found by screening, not entered

    @admin.display(description="score observed")
    def observed_share(self, obj: SuspectNetwork) -> str:
        return f"{obj.observed:.0%}"

    @admin.display(description="expected")
    def expected_share(self, obj: SuspectNetwork) -> str:
        return f"{obj.expected:.0%}"

    @admin.action(description="Clear: the network is honest, count its votes on the board")
    def clear(self, request: HttpRequest, queryset: QuerySet[SuspectNetwork]) -> None:
        self._review(request, queryset, cleared=True)

    @admin.action(description="Flag: leave its votes on the board out of the ratings")
    def flag(self, request: HttpRequest, queryset: QuerySet[SuspectNetwork]) -> None:
        self._review(request, queryset, cleared=False)

    def _review(
        self, request: HttpRequest, queryset: QuerySet[SuspectNetwork], *, cleared: bool
    ) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = suspect_networks_review(suspect_ids=ids, cleared=cleared, reviewer=request.user)
        effect = "counted again in" if cleared else "left out of"
        self.message_user(
            request,
            f"{len(ids)} network(s) {'cleared' if cleared else 'flagged'}; {changed} of their "
            f"votes {effect} the ratings, which refresh in a few seconds.",
        )
