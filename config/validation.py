"""Checks on free-form input shared by several apps: JSON documents owners attach to things."""

from __future__ import annotations

import json
from typing import Any

from config.errors import Invalid

MAX_METADATA_BYTES = 64 * 1024

JSON_TOO_DEEP = "arrays and objects nested too deeply to read; nest them fewer than 100 deep"


def json_loads(text: str | bytes) -> Any:
    """`json.loads`, with a document nested too deeply for Python's recursion limit refused
    as any other malformed JSON is: ValueError (`JSON_TOO_DEEP`), not RecursionError.

    Callers that turn ValueError into a 400 then answer 400 for ``"[" * 100_000`` too.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(JSON_TOO_DEEP) from None


def metadata_check(
    metadata: Any, *, field: str = "metadata", max_bytes: int = MAX_METADATA_BYTES
) -> dict[str, Any]:
    """A free-form JSON object that every database we run on can store, or a clear 400.

    PostgreSQL's JSON refuses NaN, infinities and NUL characters, so they are refused here with
    the field's name rather than failing later as a database error.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise Invalid(f"{field}: must be a JSON object (a dict)", field=field)
    try:
        encoded = json.dumps(metadata, allow_nan=False)
    except ValueError:
        raise Invalid(
            f"{field}: contains NaN or an infinity, which JSON cannot store; use null or a string",
            field=field,
        ) from None
    except TypeError as exc:
        raise Invalid(f"{field}: not JSON-serialisable ({exc})", field=field) from None
    if "\\u0000" in encoded:
        raise Invalid(f"{field}: contains a NUL character", field=field)
    if len(encoded) > max_bytes:
        raise Invalid(
            f"{field}: {len(encoded)} bytes of JSON; at most {max_bytes} allowed", field=field
        )
    return metadata
