"""Reading pairwise battles from files: LMArena's clean-battle JSON and left/right/winner CSV.

Every row is checked and every problem is reported with the line it starts on, so a file can
be fixed in one pass; nothing here touches the database.

JSON (LMArena's ``clean_battle_*.json``): a list of objects (or one object per line) with
``model_a``, ``model_b``, ``winner`` in ``model_a`` / ``model_b`` / ``tie`` /
``"tie (bothbad)"``, and optionally ``tstamp`` (Unix seconds) and ``prompt``. Other keys
(``judge``, ``anony``, ``language``...) are ignored.

CSV: a header row with ``left``, ``right``, ``winner`` (``left`` / ``right`` / ``tie``, and
``both_bad``), and optionally ``prompt`` and ``tstamp`` (Unix seconds or ISO 8601). Other
columns are ignored.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_NAME = 200  # Model.name
MAX_PROMPT = 10_000

JSON_WINNERS = {"model_a": "left", "model_b": "right", "tie": "tie", "tie (bothbad)": "both_bad"}
CSV_WINNERS = {"left": "left", "right": "right", "tie": "tie", "both_bad": "both_bad"}
CSV_REQUIRED = ("left", "right", "winner")

_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class Battle:
    """One valid row: the model shown left and right, the choice, and where it came from."""

    line: int
    left: str
    right: str
    choice: str
    created: datetime | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Problem:
    """A row that cannot be imported, and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class BattleFileError(Exception):
    """The file as a whole cannot be read (not JSON or CSV, no header...)."""


def _time(value: Any, *, iso: bool) -> datetime:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    text = str(value).strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        if not iso:
            raise
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _battle(
    line: int,
    left: Any,
    right: Any,
    winner: Any,
    winners: dict[str, str],
    *,
    names: tuple[str, str, str],
    tstamp: Any = None,
    prompt: Any = None,
    iso: bool = False,
) -> Battle | Problem:
    left_name, right_name, winner_name = names
    for label, value in ((left_name, left), (right_name, right)):
        if not isinstance(value, str) or not value.strip():
            return Problem(line, f"{label} must be a model name, got {value!r}")
        if len(value.strip()) > MAX_NAME:
            return Problem(line, f"{label} is longer than {MAX_NAME} characters")
    left, right = left.strip(), right.strip()
    if left == right:
        return Problem(
            line, f"{left_name} and {right_name} are the same model {left!r}; a vote compares two"
        )
    choice = winners.get(winner) if isinstance(winner, str) else None
    if choice is None:
        allowed = ", ".join(repr(w) for w in winners)
        return Problem(line, f"{winner_name} must be one of {allowed}, got {winner!r}")
    created = None
    if tstamp not in (None, ""):
        try:
            created = _time(tstamp, iso=iso)
        except (ValueError, OverflowError, OSError):
            return Problem(line, f"tstamp must be Unix seconds, got {tstamp!r}")
    if prompt is not None and not isinstance(prompt, str | int):
        return Problem(line, f"prompt must be a text, got {prompt!r}")
    prompt_text = str(prompt).strip() if prompt not in (None, "") else None
    if prompt_text is not None and len(prompt_text) > MAX_PROMPT:
        return Problem(line, f"prompt is longer than {MAX_PROMPT} characters")
    return Battle(line, left, right, choice, created, prompt_text)


def _json_values(text: str) -> Iterator[tuple[int, Any]]:
    """Each element of a JSON list (or each JSON Lines value) with the line it starts on."""
    decoder = json.JSONDecoder()
    position = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    line, counted_to = 1, 0

    def line_at(offset: int) -> int:
        nonlocal line, counted_to
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        return line

    def decode(at: int) -> tuple[Any, int]:
        try:
            return decoder.raw_decode(text, at)
        except json.JSONDecodeError as error:
            raise BattleFileError(f"line {error.lineno}: not valid JSON ({error.msg})") from None

    if text.startswith("[", position):
        position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
        if text.startswith("]", position):
            return
        while True:
            value, end = decode(position)
            yield line_at(position), value
            position = _SPACE.match(text, end).end()  # type: ignore[union-attr]
            if text.startswith(",", position):
                position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
            elif text.startswith("]", position):
                return
            else:
                raise BattleFileError(f"line {line_at(position)}: expected ',' or ']'")
    while position < len(text):
        value, end = decode(position)
        yield line_at(position), value
        position = _SPACE.match(text, end).end()  # type: ignore[union-attr]


def _read_json(text: str, tick: Callable[[], None]) -> Iterator[Battle | Problem]:
    for line, row in _json_values(text):
        tick()
        if not isinstance(row, dict):
            yield Problem(line, f"expected an object with model_a, model_b, winner, got {row!r}")
            continue
        missing = [key for key in ("model_a", "model_b", "winner") if key not in row]
        if missing:
            yield Problem(line, f"missing {', '.join(missing)}")
            continue
        yield _battle(
            line,
            row["model_a"],
            row["model_b"],
            row["winner"],
            JSON_WINNERS,
            names=("model_a", "model_b", "winner"),
            tstamp=row.get("tstamp"),
            prompt=row.get("prompt"),
        )


def _read_csv(text: str, tick: Callable[[], None]) -> Iterator[Battle | Problem]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise BattleFileError(
            f"line 1: the header lacks {', '.join(missing)}; "
            f"CSV needs columns {', '.join(CSV_REQUIRED)}, found: {', '.join(header) or '(none)'}"
        )
    reader.fieldnames = header
    start = reader.line_num + 1
    for row in reader:
        tick()
        line, start = start, reader.line_num + 1
        if None in row:
            yield Problem(
                line, f"{len(header) + len(row[None])} fields, the header has {len(header)}"
            )
            continue
        yield _battle(
            line,
            row["left"],
            row["right"],
            (row["winner"] or "").strip(),
            CSV_WINNERS,
            names=("left", "right", "winner"),
            tstamp=row.get("tstamp"),
            prompt=row.get("prompt"),
            iso=True,
        )


def battle_format(path: Path, text: str) -> str:
    """``"json"`` or ``"csv"``, from the extension, else from the first character."""
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl"):
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def read_battles(
    path: Path, *, tick: Callable[[], None] = lambda: None
) -> tuple[list[Battle], list[Problem]]:
    """Every valid battle of the file and every problem, by line; `tick` is called per row.

    Raises
    ------
    BattleFileError
        When the file cannot be read as a whole: not UTF-8, not JSON, no usable CSV header.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise BattleFileError(f"{path} is not UTF-8 text ({error.reason})") from None
    reader = _read_json if battle_format(path, text) == "json" else _read_csv
    battles: list[Battle] = []
    problems: list[Problem] = []
    for item in reader(text, tick):
        (battles if isinstance(item, Battle) else problems).append(item)  # type: ignore[arg-type]
    return battles, problems
