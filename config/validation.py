"""Checks on free-form input shared by several apps: JSON documents owners attach to things, and
text that PostgreSQL cannot hold."""

from __future__ import annotations

import json
from typing import Any

from config.errors import Invalid

MAX_METADATA_BYTES = 64 * 1024

#: Arrays and objects nest at most this deep in a JSON document an owner attaches (metadata, a
#: multipart JSON part). Python's json recurses once a level, in parsing and in every later
#: encoding (checks, the database, the response), so a deeper document could exhaust the stack
#: anywhere after it was accepted.
MAX_JSON_DEPTH = 64

JSON_TOO_DEEP = "arrays and objects nested too deeply to read; nest them fewer than 100 deep"


def nul_check(text: str, *, field: str) -> str:
    """`text`, or a 400 naming `field` when it holds a NUL character.

    PostgreSQL refuses NUL in any text and ``\\u0000`` in jsonb (psycopg raises before sending
    the query), so text bound for a query or a row is checked here, not left to fail as a 500.
    SQLite would store it, which is why only tests on PostgreSQL see the difference.
    """
    if "\x00" in text:
        raise Invalid(
            f"{field}: contains a NUL character (\\x00), which cannot be stored or searched for; "
            "remove it",
            field=field,
            code="nul_character",
        )
    return text


def json_depth_check(value: Any, *, field: str) -> Any:
    """`value`, when its arrays and objects nest at most `MAX_JSON_DEPTH` deep; else a 400."""
    if _nesting(value) > MAX_JSON_DEPTH:
        raise json_too_deep(field)
    return value


def json_too_deep(field: str) -> Invalid:
    """The 400 for a JSON document in `field` nested deeper than `MAX_JSON_DEPTH`."""
    return Invalid(
        f"{field}: arrays and objects nest too deep; at most {MAX_JSON_DEPTH} levels allowed",
        field=field,
        code="too_deep",
    )


def _nesting(value: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value, found without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list | tuple):
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
            pending.extend((child, depth + 1) for child in item)
    return deepest


def _holds_nul(value: Any) -> bool:
    """Whether a string anywhere in a parsed JSON value, object keys included, holds NUL."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def metadata_check(
    metadata: Any, *, field: str = "metadata", max_bytes: int = MAX_METADATA_BYTES
) -> dict[str, Any]:
    """A free-form JSON object that every database we run on can store, or a clear 400.

    PostgreSQL's JSON refuses NaN, infinities and NUL characters, so they are refused here with
    the field's name rather than failing later as a database error. Nesting is capped at
    `MAX_JSON_DEPTH`, so that no later encoding or reading of the stored document can exhaust
    Python's stack.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise Invalid(f"{field}: must be a JSON object (a dict)", field=field)
    json_depth_check(metadata, field=field)
    if _holds_nul(metadata):
        raise Invalid(
            f"{field}: a string or key in it contains a NUL character (\\u0000), which cannot be "
            "stored; remove it",
            field=field,
            code="nul_character",
        )
    try:
        encoded = json.dumps(metadata, allow_nan=False)
    except ValueError:
        raise Invalid(
            f"{field}: contains NaN or an infinity, which JSON cannot store; use null or a string",
            field=field,
        ) from None
    except TypeError as exc:
        raise Invalid(f"{field}: not JSON-serialisable ({exc})", field=field) from None
    if len(encoded) > max_bytes:
        raise Invalid(
            f"{field}: {len(encoded)} bytes of JSON; at most {max_bytes} allowed", field=field
        )
    return metadata
