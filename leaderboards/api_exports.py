"""Public export of a leaderboard's raw votes: CSV (streamed) or paged JSON, voters anonymised."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import OptionsAsJSON
from config.integers import ascii_int
from leaderboards.selectors import (
    VOTE_EXPORT_COLUMNS,
    leaderboard_get,
    vote_export_rows,
    votes_exported,
)


class CsvRenderer(BaseRenderer):
    """Declares text/csv so `?format=csv` and `Accept: text/csv` select the CSV answer."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        # Only errors reach this renderer (the CSV itself is streamed): write them as one line.
        if isinstance(data, dict) and "detail" in data:
            return f"error\n{data['detail']}\n".encode()
        return b""


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: list[str], rows: Iterator[list[str]]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


class VotesCursor(CursorPagination):
    ordering = "id"
    page_size = 500
    max_page_size = 5000
    page_size_query_param = "limit"

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's cursor, with its position checked to be a vote id.

        DRF checks the cursor's offset and direction but hands the position to the database
        as sent, so `p=abc` inside a valid cursor failed there (500) instead of answering like
        any other bad cursor.
        """
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        if ascii_int(cursor.position) is None:
            raise NotFound(self.invalid_cursor_message)
        return cursor


_HELP = dict(VOTE_EXPORT_COLUMNS)
_INTEGER_COLUMNS = {"vote_id", "leaderboard_id", "left_model_id", "right_model_id"}
_NULLABLE_INTEGER_COLUMNS = {"prompt_id", "view_ms"}


class ExportedVoteOut(serializers.Serializer):
    """One exported vote; the same columns, in the same order, as the CSV."""

    vote_id = serializers.IntegerField(help_text=_HELP["vote_id"])
    created = serializers.DateTimeField(help_text=_HELP["created"])
    leaderboard_id = serializers.IntegerField(help_text=_HELP["leaderboard_id"])
    prompt_id = serializers.IntegerField(allow_null=True, help_text=_HELP["prompt_id"])
    prompt_identifier = serializers.CharField(help_text=_HELP["prompt_identifier"])
    left_model_id = serializers.IntegerField(help_text=_HELP["left_model_id"])
    left_model = serializers.CharField(help_text=_HELP["left_model"])
    right_model_id = serializers.IntegerField(help_text=_HELP["right_model_id"])
    right_model = serializers.CharField(help_text=_HELP["right_model"])
    choice = serializers.ChoiceField(
        choices=["left", "right", "tie", "both_bad"], help_text=_HELP["choice"]
    )
    voter = serializers.CharField(help_text=_HELP["voter"])
    view_ms = serializers.IntegerField(allow_null=True, help_text=_HELP["view_ms"])
    imported = serializers.BooleanField(help_text=_HELP["imported"])


class ExportedVotePageOut(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, null on the last.")
    previous = serializers.URLField(allow_null=True)
    results = ExportedVoteOut(many=True)


_COLUMNS_DOC = "\n".join(f"- `{name}`: {text}" for name, text in VOTE_EXPORT_COLUMNS)


def _typed(row: list[str]) -> dict[str, Any]:
    """A CSV row as JSON values (numbers as numbers, empty as null)."""
    out: dict[str, Any] = {}
    for (name, _), value in zip(VOTE_EXPORT_COLUMNS, row, strict=True):
        if name in {
            "vote_id",
            "leaderboard_id",
            "left_model_id",
            "right_model_id",
            "prompt_id",
            "view_ms",
        }:
            out[name] = int(value) if value else None
        elif name == "imported":
            out[name] = value == "true"
        else:
            out[name] = value
    return out


class LeaderboardVotesExport(OptionsAsJSON, APIView):
    """The raw votes behind a leaderboard's published standings."""

    renderer_classes = [JSONRenderer, CsvRenderer]
    pagination_class = VotesCursor

    @extend_schema(
        operation_id="leaderboard_votes_export",
        summary="Export a leaderboard's raw votes (CSV or paged JSON), voters anonymised",
        description=(
            "Every vote counted in the leaderboard's published standings, oldest first. "
            "Votes left out by the trust checks are not exported. `?format=csv` (or "
            "`Accept: text/csv`) streams the whole set as one CSV file; JSON comes in pages "
            "(follow `next`). The columns are stable, in this order, with the same names in "
            "CSV and JSON:\n\n" + _COLUMNS_DOC + "\n\nA private leaderboard answers 404 to "
            "anyone but its owner."
        ),
        parameters=[
            OpenApiParameter(
                "format", str, enum=["json", "csv"], description="csv for one streamed CSV file"
            ),
            OpenApiParameter("cursor", str, description="Page cursor from `next` (JSON only)"),
            OpenApiParameter(
                "limit", int, description="Votes per JSON page (default 500, max 5000)"
            ),
        ],
        responses={
            (200, "application/json"): ExportedVotePageOut,
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="CSV with a header line of the columns listed above.",
            ),
            404: OpenApiResponse(
                description="No such leaderboard, or a private one of another owner."
            ),
        },
    )
    def get(self, request: Request, leaderboard_id: int) -> Response | StreamingHttpResponse:
        leaderboard = leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
        votes = votes_exported(leaderboard=leaderboard)
        if request.accepted_renderer.format == "csv":
            header = [name for name, _ in VOTE_EXPORT_COLUMNS]
            response = StreamingHttpResponse(
                _csv_lines(header, vote_export_rows(leaderboard=leaderboard, votes=votes)),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = (
                f'attachment; filename="leaderboard-{leaderboard.pk}-votes.csv"'
            )
            return response
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(votes.only("id"), request, view=self)
        ids = [vote.pk for vote in page or []]
        rows = vote_export_rows(leaderboard=leaderboard, votes=votes.filter(pk__in=ids))
        return paginator.get_paginated_response([_typed(row) for row in rows])
