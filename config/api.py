"""API-wide pieces: the exception handler, the JSON parser, the idempotent-write helper and the
JSON answers (OPTIONS, errors) of views that also speak CSV."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from rest_framework import parsers, status
from rest_framework.exceptions import ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import Conflict, Invalid, VersusError
from config.validation import JSON_TOO_DEEP, nul_check
from evaluation.media import media_removed_on_error

logger = logging.getLogger(__name__)


def _in_json(request: Request) -> None:
    """Answer `request` in JSON, whatever format it asked for."""
    request.accepted_renderer = JSONRenderer()
    request.accepted_media_type = JSONRenderer.media_type


class OptionsAsJSON:
    """OPTIONS (DRF's description of the view) answers JSON whatever format was asked for.

    A view that also renders CSV (``?format=csv`` or ``Accept: text/csv``) has a renderer that
    knows only its own rows: handed the description, it failed (500) or wrote nothing.
    """

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _in_json(request)
        return super().options(request, *args, **kwargs)  # type: ignore[misc]


class ErrorsAsJSON:
    """Errors are JSON whatever format was asked for (a CSV of an error helps nobody)."""

    def handle_exception(self, exc: Exception) -> Response:
        _in_json(self.request)  # type: ignore[attr-defined]
        return super().handle_exception(exc)  # type: ignore[misc]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn domain errors (media errors among them) into JSON answers; leave the rest to DRF."""
    if isinstance(exc, VersusError):
        return Response(exc.as_dict(), status=exc.status)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        # Field errors: keep DRF's {field: [messages]} and add one readable sentence, each
        # message under the path of the value it is about (``prompts[0].tags[1]``).
        errors = response.data
        leaves = list(_error_leaves(errors, ""))
        parts = [f"{path}: {' '.join(messages)}" for path, messages in leaves]
        response.data = {"detail": "; ".join(parts), "code": "invalid", "errors": errors}
        if len(leaves) == 1:
            response.data["field"] = leaves[0][0]
        elif len(errors) == 1:
            response.data["field"] = next(iter(errors))
    return response


def _error_leaves(errors: Any, path: str) -> Iterator[tuple[str, list[str]]]:
    """The messages of DRF's nested field errors, each list under its value's path: a
    serializer's are by field name, a list's by index (a dict with int keys from a
    `ListField`, or a list of one dict per item from a serializer with ``many=True``)."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            step = f"[{key}]" if isinstance(key, int) else (f".{key}" if path else str(key))
            yield from _error_leaves(value, path + step)
    elif isinstance(errors, list) and any(isinstance(e, dict | list) for e in errors):
        for index, value in enumerate(errors):
            if value:  # a valid item of a list has an empty entry
                yield from _error_leaves(value, f"{path}[{index}]")
    elif isinstance(errors, list):
        yield path, [str(message) for message in errors]
    else:
        yield path, [str(errors)]


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deeply to read answered 400 as any other
    malformed body is. DRF's own turns only ValueError into its 400; Python's reader raises
    RecursionError for ``"[" * 100_000``, which was a 500 on every JSON endpoint."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - request body: {JSON_TOO_DEEP}") from None


IDEMPOTENCY_HEADER = "Idempotency-Key"


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.path.encode())
    for key in sorted(request.data.keys()) if hasattr(request.data, "keys") else []:
        values = (
            request.data.getlist(key) if hasattr(request.data, "getlist") else [request.data[key]]
        )
        for value in values:
            digest.update(key.encode())
            if isinstance(value, UploadedFile):
                digest.update(f"{value.name}:{value.size}".encode())
            else:
                digest.update(json.dumps(value, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def idempotent(request: Request, act: Callable[[], Response]) -> Response:
    """Run an owner's write once per `Idempotency-Key`.

    A retry with the same key and the same request gets the first answer again instead of acting
    twice (a lost response must never create a second model). The key is stored in the same
    transaction as the write, so a crash leaves neither.
    """
    from leaderboards.models import IdempotencyKey

    key = nul_check(request.headers.get(IDEMPOTENCY_HEADER, "").strip(), field=IDEMPOTENCY_HEADER)
    if not key:
        return act()
    if len(key) > 100:
        raise Invalid(
            f"{IDEMPOTENCY_HEADER} is {len(key)} characters long; at most 100 allowed",
            field=IDEMPOTENCY_HEADER,
        )
    fingerprint = _fingerprint(request)
    previous = IdempotencyKey.objects.filter(owner=request.user, key=key).first()
    if previous is None:
        try:
            # Files stored by the write are deleted if its transaction rolls back.
            with media_removed_on_error(), transaction.atomic():
                response = act()
                if status.is_success(response.status_code):
                    IdempotencyKey.objects.create(
                        owner=request.user,
                        key=key,
                        endpoint=request.path,
                        fingerprint=fingerprint,
                        status_code=response.status_code,
                        response=response.data,
                    )
                return response
        except (IntegrityError, VersusError):
            # Two requests with one key raced. The loser's write clashed with the winner's (the
            # key itself, or what the write made: a model's name answers 409), and the winner
            # has committed by now; the loser answers with the winner's result.
            previous = IdempotencyKey.objects.filter(owner=request.user, key=key).first()
            if previous is None:
                raise
    if previous.fingerprint != fingerprint or previous.endpoint != request.path:
        raise Conflict(
            f"{IDEMPOTENCY_HEADER} {key!r} was already used for a different request; "
            "send a new key for a new request",
            field=IDEMPOTENCY_HEADER,
            code="idempotency_key_reused",
        )
    return Response(
        previous.response, status=previous.status_code, headers={"Idempotent-Replayed": "true"}
    )
