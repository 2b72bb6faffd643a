"""Domain errors that services raise and the API turns into clear HTTP answers.

Every error names what was wrong (`field`, when one field is to blame) and what is allowed, so a
user can fix the request without reading our code.
"""

from __future__ import annotations


class VersusError(Exception):
    """A request Versus will not carry out; nothing was changed."""

    status = 400
    default_code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code

    def as_dict(self) -> dict[str, str]:
        body = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body


class Invalid(VersusError):
    """The input breaks a rule (400)."""


class NotFound(VersusError):
    """It does not exist, or the caller may not know that it does (404)."""

    status = 404
    default_code = "not_found"


class Forbidden(VersusError):
    """The caller can see it but may not change it (403)."""

    status = 403
    default_code = "forbidden"


class Conflict(VersusError):
    """It would clash with something that exists (409)."""

    status = 409
    default_code = "conflict"


class Gone(VersusError):
    """It existed but can no longer be used, such as an expired matchup (410)."""

    status = 410
    default_code = "gone"


class TooLarge(VersusError):
    """A file or request is over its size limit (413)."""

    status = 413
    default_code = "too_large"


class Unavailable(VersusError):
    """A service Versus needs (the database) cannot do the work for now; try again (503)."""

    status = 503
    default_code = "unavailable"
