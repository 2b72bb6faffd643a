"""Typed exceptions for everything a Versus server can refuse, and for a network that fails.

Every server answer that is not a success becomes one of these, carrying the server's own message
(which names the field and the value at fault) together with the HTTP status, the machine-readable
``code`` and, when one field is to blame, ``field``. Catch `VersusError` to handle them all.

Mistakes the SDK can see before sending anything (a missing file, one output too few) are raised as
the built-in `ValueError`, `TypeError` or `FileNotFoundError` instead, and nothing is sent.
"""

from __future__ import annotations

import builtins
import email.utils
import time
from typing import Any


class VersusError(Exception):
    """A request that Versus did not carry out.

    Attributes
    ----------
    message : str
        The server's explanation, meant to be shown to a person.
    status_code : int or None
        The HTTP status, or None when no answer arrived.
    code : str or None
        A stable, machine-readable reason such as ``"unknown_prompt"`` or ``"exists"``.
    field : str or None
        The request field at fault, such as ``"prompts[1]"``, when one is.
    errors : dict or None
        Per-field messages, for validation errors that list several fields.
    """

    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        field: str | None = None,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code or self.default_code
        self.field = field
        self.errors = errors

    def __str__(self) -> str:
        if self.status_code is None:
            return self.message
        return f"{self.message} (HTTP {self.status_code}, code={self.code})"


class ValidationError(VersusError):
    """The server rejected the input (HTTP 400); ``field`` says which part."""

    default_code = "invalid"


class AuthenticationError(VersusError):
    """No valid API token was sent (HTTP 401): pass ``token=`` or set ``VERSUS_TOKEN``."""

    default_code = "not_authenticated"


class PermissionDenied(VersusError):
    """The token's owner may see this but not change it (HTTP 403)."""

    default_code = "permission_denied"


class NotFoundError(VersusError):
    """It does not exist, or is private to another owner (HTTP 404)."""

    default_code = "not_found"


class ConflictError(VersusError):
    """It clashes with something that exists, such as a model name already taken (HTTP 409)."""

    default_code = "conflict"


class PayloadTooLarge(VersusError):
    """A file or the whole request is over the server's size limit (HTTP 413)."""

    default_code = "too_large"


class RateLimited(VersusError):
    """Too many requests (HTTP 429), still so after the SDK's retries.

    Attributes
    ----------
    retry_after : float or None
        Seconds the server asked to wait before trying again, when it said.
    """

    default_code = "throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(VersusError):
    """The server failed (HTTP 5xx), still so after the SDK's retries."""

    default_code = "server_error"


class VersusConnectionError(VersusError, builtins.ConnectionError):
    """No answer arrived: the server is unreachable, the connection broke, or it timed out.

    Also a built-in `ConnectionError`, so code that already handles network failures catches it.
    """

    default_code = "connection_failed"


_BY_STATUS: dict[int, type[VersusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLarge,
    429: RateLimited,
}


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header: delay in seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_from_answer(
    status_code: int, body: Any, *, url: str, retry_after: float | None = None
) -> VersusError:
    """Build the typed exception for a failed answer.

    Parameters
    ----------
    status_code : int
        The HTTP status of the answer.
    body : Any
        The decoded JSON body, or the raw text when the body was not JSON.
    url : str
        The requested URL, quoted in the message when the server gave no explanation.
    retry_after : float, optional
        Seconds from the ``Retry-After`` header.

    Returns
    -------
    VersusError
        The subclass matching the status; `VersusError` itself for statuses without one.
    """
    message = ""
    code: str | None = None
    field: str | None = None
    errors: dict[str, Any] | None = None
    if isinstance(body, dict):
        message = str(body.get("detail") or "")
        code = body.get("code") if isinstance(body.get("code"), str) else None
        field = body.get("field") if isinstance(body.get("field"), str) else None
        errors = body.get("errors") if isinstance(body.get("errors"), dict) else None
        if not message and body:
            # A body without "detail" (a proxy, or DRF field errors): keep it readable.
            message = "; ".join(f"{key}: {value}" for key, value in body.items())
    elif isinstance(body, str) and body.strip() and len(body) < 300:
        message = body.strip()
    if not message:
        message = f"the server answered HTTP {status_code} to {url}"
    cls = _BY_STATUS.get(status_code, ServerError if status_code >= 500 else VersusError)
    if cls is RateLimited:
        return RateLimited(
            message,
            retry_after=retry_after,
            status_code=status_code,
            code=code,
            field=field,
            errors=errors,
        )
    return cls(message, status_code=status_code, code=code, field=field, errors=errors)
