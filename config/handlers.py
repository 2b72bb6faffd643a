"""What Django answers when no view could: a page that does not exist or is not for this user,
a form without its CSRF token, and an error.

Each answer is a `config.errors` error: the API gets its JSON (`as_dict`, as every other API
error), pages get the site's layout. A database that cannot be reached (stopped, restarting,
out of connections) is a 503 with Retry-After, not a 500: nothing was written, and the same
request will work once it is back; the voting page sends a vote again by itself.

The pages are rendered without the request, so that no context processor reads the session
or the user from the database that may be the reason for the error.
"""

from __future__ import annotations

import sys
from typing import Any

from django import db
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from config.errors import Forbidden, NotFound, Unavailable, VersusError

RETRY_AFTER_SECONDS = 5

UNAVAILABLE = (
    "the database is unavailable for a moment; nothing was recorded, "
    f"try again in {RETRY_AFTER_SECONDS} seconds"
)
"""The answer to a request that could not reach the database."""


class _Broken(VersusError):
    """Anything else that went wrong: a bug, logged by Django (500)."""

    status = 500
    default_code = "server_error"


def _answer(request: HttpRequest, error: VersusError, *, title: str) -> HttpResponse:
    """`error` as JSON under /api/, else as a page headed `title`."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(error.as_dict(), status=error.status)
    else:
        message = error.message[0].upper() + error.message[1:] + "."
        retry_after = RETRY_AFTER_SECONDS if isinstance(error, Unavailable) else None
        page = render_to_string(
            "errors/error.html",
            {"title": title, "message": message, "retry_after": retry_after},
        )
        response = HttpResponse(page, status=error.status)
    if isinstance(error, Unavailable):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database could not do the work for now: Django's
    `OperationalError` (unreachable, restarting, out of connections; also a deadlock or a
    statement timeout) or `InterfaceError` (a connection that closed). Each is worth trying
    again, unlike a statement the database refused (IntegrityError, DataError)."""
    return isinstance(exc, db.OperationalError | db.InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: 503 when the database was unavailable, else 500 (logged by Django)."""
    if database_unavailable(sys.exc_info()[1]):
        return _answer(request, Unavailable(UNAVAILABLE), title="Back in a moment")
    broken = _Broken("something went wrong on our side; it has been logged")
    return _answer(request, broken, title="Something went wrong")


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """`handler404`: for addresses no route matches (the API's views answer their own)."""
    return _answer(request, NotFound(f"nothing at {request.path}"), title="Not found")


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    """`handler403`: a page this user may not see (the API's views answer their own)."""
    refused = Forbidden(
        "you are not allowed to see this page; log in with an account that is",
        code="permission_denied",
    )
    return _answer(request, refused, title="Not allowed")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """`CSRF_FAILURE_VIEW`: a form sent without a valid CSRF token (the voting page's forms,
    when JavaScript is off). Usually a page opened long ago or cookies turned off, so say so;
    Django's reason (logged by Django) names the check that failed. The API's views answer
    their own CSRF failures."""
    refused = Forbidden(
        "this form was sent without a valid security token (the page may be too old, "
        "or cookies are off); reload the page and try again",
        code="csrf_failed",
    )
    return _answer(request, refused, title="Please reload the page")
