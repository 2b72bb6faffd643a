"""Integers from requests: the ranges our columns hold, and numbers spelled in query strings,
cookies and cursors."""

from __future__ import annotations

#: PostgreSQL's `integer`, the column of a (Positive)IntegerField, holds at most this.
INTEGER_MAX = 2**31 - 1
#: PostgreSQL's `bigint`, the column of every id (BigAutoField), holds at most this.
BIGINT_MAX = 2**63 - 1
_BIGINT_DIGITS = len(str(BIGINT_MAX))


def ascii_int(raw: str | None) -> int | None:
    """The whole number `raw` spells in ASCII digits, up to `BIGINT_MAX`; None for anything else.

    `str.isdigit()` is true for '²' and other characters that `int()` refuses, and `int()`
    takes ' 7', '+7', '7_0' and Arabic-Indic digits; the links we write use ASCII digits only.
    A number past bigint names no row and would overflow the database driver, so it counts as
    bad input too.
    """
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    significant = raw.lstrip("0") or "0"
    if len(significant) > _BIGINT_DIGITS:
        return None  # and int() refuses over 4,300 digits
    value = int(significant)
    return value if value <= BIGINT_MAX else None
