"""The URL converter of run ids, which every page and API address of a run uses."""

from __future__ import annotations


class RunIdConverter:
    """A run id in an address: any non-empty text, slashes and line breaks included.

    Django's ``path`` converter stops at a line break, so a run id stored with one (run ids
    were not checked for them before) could not be reversed, and every page and API answer that
    linked to its run failed. Logging now refuses such ids; this keeps the ones already stored
    reachable.
    """

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
