"""What Django answers when no view could: a page that does not exist or is not for this user,
a form without its CSRF token, and an error.

The API gets JSON in the shape of every other API error (`detail`, `code`), pages get the
site's layout. A database that cannot be reached (stopped, restarting, out of connections)
is a 503 with Retry-After, not a 500: nothing was written, and the same request will work
once it is back; the voting page sends a vote again by itself.

The pages are rendered without the request, so that no context processor reads the session
or the user from the database that may be the reason for the error.
"""

from __future__ import annotations

import sys
from typing import Any

from django import db
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

RETRY_AFTER_SECONDS = 5

UNAVAILABLE = (
    "the database is unavailable for a moment; nothing was recorded, "
    f"try again in {RETRY_AFTER_SECONDS} seconds"
)
"""The answer to a request that could not reach the database."""


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _answer(
    request: HttpRequest, *, status: int, code: str, detail: str, title: str
) -> HttpResponse:
    if _is_api(request):
        response: HttpResponse = JsonResponse({"detail": detail, "code": code}, status=status)
    else:
        retry_after = RETRY_AFTER_SECONDS if status == 503 else None
        message = detail[0].upper() + detail[1:] + "."
        page = render_to_string(
            "errors/error.html",
            {"title": title, "message": message, "retry_after": retry_after},
        )
        response = HttpResponse(page, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_unreachable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database could not do the work for now: Django's
    `OperationalError` (unreachable, restarting, out of connections; also a deadlock or a
    statement timeout) or `InterfaceError` (a connection that closed). Each is worth trying
    again, unlike a statement the database refused (IntegrityError, DataError)."""
    return isinstance(exc, db.OperationalError | db.InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: 503 when the database was unreachable, else 500 (logged by Django)."""
    if database_unreachable(sys.exc_info()[1]):
        return _answer(
            request,
            status=503,
            code="unavailable",
            detail=UNAVAILABLE,
            title="Back in a moment",
        )
    return _answer(
        request,
        status=500,
        code="server_error",
        detail="something went wrong on our side; it has been logged",
        title="Something went wrong",
    )


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """`handler404`: for addresses no route matches (the API's views answer their own)."""
    return _answer(
        request,
        status=404,
        code="not_found",
        detail=f"nothing at {request.path}",
        title="Not found",
    )


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """`handler403`: a page this user may not see (the API's views answer their own)."""
    return _answer(
        request,
        status=403,
        code="permission_denied",
        detail="you are not allowed to see this page; log in with an account that is",
        title="Not allowed",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """`CSRF_FAILURE_VIEW`: a form sent without a valid CSRF token (the voting page's forms,
    when JavaScript is off). Usually a page opened long ago or cookies turned off, so say so;
    Django's reason (logged by Django) names the check that failed. The API's views answer
    their own CSRF failures."""
    return _answer(
        request,
        status=403,
        code="csrf_failed",
        detail="this form was sent without a valid security token (the page may be too old, "
        "or cookies are off); reload the page and try again",
        title="Please reload the page",
    )
