"""Media serving: outputs and prompt assets, through a permission check, never as HTML."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from evaluation.models import Output
from leaderboards.models import Prompt


def _media_response(request: HttpRequest, field_file, content_type: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404("media file is missing") from None
    response = FileResponse(handle, content_type=content_type)
    # The stored name is random, but a voter has no use for it: send none.
    if "Content-Disposition" in response:
        del response["Content-Disposition"]
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@require_GET
def output_media(request: HttpRequest, public_id: str) -> HttpResponse:
    """An output's stored file, by its random public id; 404 unless its board is visible."""
    output = get_object_or_404(
        Output.objects.select_related("model__benchmark").exclude(file=""), public_id=public_id
    )
    if not output.model.benchmark.is_visible_to(request.user):
        raise Http404("no such media")
    return _media_response(request, output.file, output.content_type)


@require_GET
def prompt_asset(request: HttpRequest, prompt_id: int) -> HttpResponse:
    """A prompt's asset (e.g. the source image of an editing task)."""
    prompt = get_object_or_404(
        Prompt.objects.select_related("benchmark").exclude(asset=""), pk=prompt_id
    )
    if not prompt.benchmark.is_visible_to(request.user):
        raise Http404("no such media")
    return _media_response(request, prompt.asset, prompt.asset_content_type)
