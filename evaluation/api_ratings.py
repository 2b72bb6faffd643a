"""Public read API of the rater: standings (JSON or CSV) and the head-to-head matrix.

Both read `evaluation.selectors`; private leaderboards answer 404 to everyone but their owner
(and staff), through `leaderboards.selectors.leaderboard_get`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ErrorsAsJSON, OptionsAsJSON
from config.errors import Invalid
from evaluation.selectors import standings_get, win_loss_matrix
from leaderboards.selectors import leaderboard_get

STANDINGS_CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    (
        "rank",
        "1 + the number of models whose interval lies wholly above this one's; empty if unrated",
    ),
    ("model", "model name"),
    ("model_id", "model id"),
    ("score", "Elo-like score, 1000 + 400 * theta / ln(10), the mean model at 1000"),
    ("ci_low", "lower bound of the 95% interval of the score"),
    ("ci_high", "upper bound of the 95% interval of the score"),
    ("rank_low", "best rank in the 95% bootstrap interval (empty until the bootstrap ran)"),
    ("rank_high", "worst rank in the 95% bootstrap interval"),
    ("votes", "counted votes the model took part in"),
    ("wins", "votes won (on an inverse board: the other output was picked as worse)"),
    ("losses", "votes lost"),
    ("ties", "tie votes"),
    ("both_bad", "'both bad' votes (a tie unless the board drops them)"),
    ("win_rate", "(wins + ties / 2) / counted votes"),
    (
        "provisional",
        "true while the model has fewer votes than the board's min_votes, or won (lost) every "
        "vote against the rest (its score then only says 'above (below) them')",
    ),
    ("component", "part of the comparison graph (0 = largest); scores compare within a part"),
)
"""Columns of the CSV export, in order, with what each holds. Stable: add, never rename."""

TAGS_PARAMETER = OpenApiParameter(
    "tags",
    OpenApiTypes.STR,
    description=(
        "Comma-separated prompt tags (or the parameter repeated): fit only the votes on the "
        "leaderboard's prompts carrying any of them. Computed for the request, never stored. "
        "An unknown tag is a 400 that lists the leaderboard's tags."
    ),
)


def live_param(request: Request) -> bool:
    """`?live=`: true (the default) or false."""
    value = request.query_params.get("live", "true").strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise Invalid(f"live: {value!r} is not allowed; use true or false", field="live")


def tags_param(request: Request) -> list[str] | None:
    """`?tags=a,b` or `?tags=a&tags=b` as a list without blanks or repeats; None when absent."""
    values = request.query_params.getlist("tags")
    tags: list[str] = []
    for value in values:
        for tag in value.split(","):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
    if values and not tags:
        raise Invalid("tags: give at least one tag, e.g. ?tags=photo,portrait", field="tags")
    return tags or None


class StandingsRowOut(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="Null for an unrated model.")
    model = serializers.CharField()
    model_id = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    rank_low = serializers.IntegerField(allow_null=True)
    rank_high = serializers.IntegerField(allow_null=True)
    votes = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    ties = serializers.IntegerField()
    both_bad = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    provisional = serializers.BooleanField(
        help_text=(
            "Fewer counted votes than the board's min_votes, or a model that won (lost) every "
            "vote against the rest, whose score only says 'above (below) them'."
        )
    )
    component = serializers.IntegerField(allow_null=True)
    live_score = serializers.FloatField(
        allow_null=True,
        help_text=(
            "Live estimate between fits: `score` moved by an online Elo pass over the votes "
            "not yet counted (equal to `score` when there are none). Never the published "
            "score; the next fit replaces it."
        ),
    )


class StandingsOut(serializers.Serializer):
    leaderboard = serializers.IntegerField(source="leaderboard_id")
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When these standings were fitted; null before the first fit."
    )
    stored = serializers.BooleanField(
        help_text="True for a published snapshot; false when fitted for this request (tags)."
    )
    snapshot = serializers.IntegerField(source="snapshot_id", allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), allow_null=True)
    vote_count = serializers.IntegerField(help_text="Counted votes in this fit.")
    excluded_count = serializers.IntegerField(help_text="Stored votes left out of the fit.")
    model_count = serializers.IntegerField()
    tie_model = serializers.CharField()
    tie_parameter = serializers.FloatField(
        allow_null=True, help_text="Davidson's fitted tie parameter (null for ties as half)."
    )
    connected = serializers.BooleanField(
        help_text="False when some models were never compared, even indirectly, with others."
    )
    component_count = serializers.IntegerField()
    has_bootstrap = serializers.BooleanField(help_text="Whether rank_low/rank_high are filled.")
    anchor_model = serializers.CharField(
        allow_null=True,
        help_text="Model whose score is fixed at 1000 in this fit; null: the mean model is.",
    )
    live_votes = serializers.IntegerField(
        help_text="Votes not yet counted in this fit that moved the rows' live_score."
    )
    rows = StandingsRowOut(many=True)


class WinLossOut(serializers.Serializer):
    leaderboard = serializers.IntegerField(source="leaderboard_id")
    tags = serializers.ListField(child=serializers.CharField(), allow_null=True)
    model_ids = serializers.ListField(child=serializers.IntegerField())
    models = serializers.ListField(child=serializers.CharField())
    wins = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="wins[r][c]: how often models[r] beat models[c].",
    )
    ties = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    both_bad = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    vote_count = serializers.IntegerField()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class StandingsCSVRenderer(BaseRenderer):
    """The standings rows as CSV with the columns of `STANDINGS_CSV_COLUMNS`."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict[str, Any] | None = None,
    ) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = [name for name, _ in STANDINGS_CSV_COLUMNS]
        writer.writerow(names)
        for row in data["rows"]:
            writer.writerow([_csv_value(row[name]) for name in names])
        return buffer.getvalue().encode()


CSV_DESCRIPTION = "CSV columns, in order:\n\n" + "\n".join(
    f"- `{name}`: {meaning}" for name, meaning in STANDINGS_CSV_COLUMNS
)


class LeaderboardStandings(OptionsAsJSON, ErrorsAsJSON, APIView):
    renderer_classes = [JSONRenderer, StandingsCSVRenderer]

    @extend_schema(
        summary="A leaderboard's standings: scores, 95% intervals, ranks and vote tallies",
        description=(
            "The latest published snapshot (refitted a few seconds after votes arrive), with "
            "its time and vote count; rows best first, grouped by part of the comparison "
            "graph, unrated models last. `?tags=` fits the votes on prompts with those tags "
            "for this request. Each row's `live_score` is a live estimate from the votes "
            "that arrived since (never the published score). `?format=csv` returns the rows "
            "as CSV.\n\n" + CSV_DESCRIPTION
        ),
        parameters=[
            TAGS_PARAMETER,
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["json", "csv"], description="Default json."
            ),
            OpenApiParameter(
                "live",
                OpenApiTypes.BOOL,
                description="Default true. false leaves `live_score` null and skips reading "
                "the votes since the fit (for a client that only watches for new snapshots).",
            ),
        ],
        responses={
            (200, "application/json"): StandingsOut,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=CSV_DESCRIPTION),
        },
    )
    def get(self, request: Request, leaderboard_id: int) -> Response:
        leaderboard = leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        view = standings_get(
            leaderboard=leaderboard, tags=tags_param(request), live=live_param(request)
        )
        response = Response(StandingsOut(view).data)
        if getattr(request.accepted_renderer, "format", "") == "csv":
            response["Content-Disposition"] = (
                f'attachment; filename="leaderboard-{leaderboard.pk}-standings.csv"'
            )
        return response


class LeaderboardWinLoss(APIView):
    @extend_schema(
        summary="Head-to-head counts between every two models of a leaderboard",
        description=(
            "`wins[r][c]` is how often `models[r]` beat `models[c]` in the leaderboard's sense "
            "(on an inverse board, being picked as worse less often); `ties` and `both_bad` "
            "are symmetric. On a majority board these are the collapsed votes the fit reads."
        ),
        parameters=[TAGS_PARAMETER],
        responses=WinLossOut,
    )
    def get(self, request: Request, leaderboard_id: int) -> Response:
        leaderboard = leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        matrix = win_loss_matrix(leaderboard=leaderboard, tags=tags_param(request))
        return Response(WinLossOut(asdict(matrix)).data)
