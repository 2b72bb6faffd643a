"""The SQL statements every vote and every next matchup runs, written out once.

Written with the ORM, each of these costs the web process 0.4 to 1.2 ms of CPU to build,
compile and turn into model instances: more than the database spends running it, and most of
a vote's cost (``python -m benchmarks.voting_load.trips`` counts it per request). Here each is
one plain statement that PostgreSQL and SQLite (3.35 or newer, for RETURNING) both accept, with
table names taken from the models, and rows turned into model instances through the same
converters the ORM applies. Only the common path lives here: errors (which matchup, why it
cannot take a vote) and gold checks stay in the ORM code of `services`.

At saturation a vote's cost is mostly round trips to the database, so on PostgreSQL a vote
is one statement (`vote_cast`, which SQLite cannot run: it has no data-modifying CTEs, and
there a statement costs no round trip anyway), and independent reads share one round trip
(`read_together`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db import models as m
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from config.integers import BIGINT_MAX
from evaluation.models import Model, Output, Vote
from leaderboards.models import Benchmark, Leaderboard, Prompt
from matchmaking.models import Matchup, Voter

M = TypeVar("M", bound=m.Model)
T = TypeVar("T")

MATCHUP = Matchup._meta.db_table
VOTE = Vote._meta.db_table
VOTER = Voter._meta.db_table
OUTPUT = Output._meta.db_table
MODEL = Model._meta.db_table
PROMPT = Prompt._meta.db_table
LEADERBOARD = Leaderboard._meta.db_table
BENCHMARK = Benchmark._meta.db_table

ROW_IDS = range(-BIGINT_MAX - 1, BIGINT_MAX + 1)
"""Every id a row can have: id columns are 64-bit integers (BigAutoField) on every database
Versus runs on. The statements here that look a row up by an id from a request find nothing
for any other id without asking the database, as the ORM does: the database or its driver
would refuse it instead (SQLite's raises OverflowError), a 500 for an id in a URL."""


@cache
def _reading(
    model: type[m.Model], names: tuple[str, ...], vendor: str
) -> tuple[list[str], list[tuple[int, Any, list[Any]]]]:
    """How to read columns `names` of `model`: their attnames, and for each column that has
    any, its position, column expression and the converters the ORM would apply."""
    attnames, converting = [], []
    for k, name in enumerate(names):
        field = model._meta.get_field(name)
        attnames.append(field.attname)
        col = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            converting.append((k, col, converters))
    return attnames, converting


def _values(model: type[m.Model], names: tuple[str, ...], row: Sequence[Any]) -> list[Any]:
    """The Python values of `row`, columns `names` of `model`, as the ORM would read them."""
    db = connections[DEFAULT_DB_ALIAS]
    return _converted(_reading(model, names, db.vendor)[1], row, len(names), db)


def _converted(
    converting: list[tuple[int, Any, list[Any]]], row: Sequence[Any], width: int, db: Any
) -> list[Any]:
    values = list(row)
    if len(values) != width:
        raise ValueError(f"{len(values)} values for {width} columns")
    for k, col, converters in converting:
        value = values[k]
        for convert in converters:
            value = convert(value, col, db)
        values[k] = value
    return values


def _instance(model: type[M], names: tuple[str, ...], row: Sequence[Any], db: Any = None) -> M:
    """A `model` instance from columns `names` of a row, which must come in the order of the
    model's fields (as `Model.from_db` takes them); fields not named are deferred. `db`: the
    connection the row came from (looked up when not given: a thread-local read).

    Built as `Model.from_db` builds it, less the field-by-field `__init__` and its two
    signals when nothing listens to them (`_built`).
    """
    db = db or connections[DEFAULT_DB_ALIAS]
    attnames, converting = _reading(model, names, db.vendor)
    return _built(model, attnames, _converted(converting, row, len(names), db), db.alias)


def _loaded(model: type[M], values: dict[str, Any], related: dict[str, m.Model], db: Any) -> M:
    """A saved `model` instance from the Python value of each of its concrete fields (by
    attname; every one must be there) and the related objects at hand (by field name), as
    the ORM would load it with those relations selected.

    What ``model(**values, **related)`` makes, without `Model.__init__`'s field-by-field
    defaults and descriptor calls (a vote with its next matchup builds two such instances
    on the hot path).
    """
    attnames = _attnames(model)
    instance = _built(model, attnames, [values[name] for name in attnames], db.alias)
    _relate(instance, related)
    return instance


def _relate(instance: m.Model, related: dict[str, m.Model]) -> None:
    """Cache the related objects at hand on `instance` (by field name), as `select_related`
    leaves them: reading them makes no query, and no descriptor sets their ids again."""
    for name, obj in related.items():
        instance._meta.get_field(name).set_cached_value(instance, obj)


@cache
def _attnames(model: type[m.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def _built(model: type[M], attnames: list[str], values: list[Any], alias: str) -> M:
    """`Model.from_db(alias, attnames, values)`, less `__init__` when no `pre_init` or
    `post_init` receiver listens for `model` (checked on every call)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(alias, attnames, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    instance._state = ModelState()
    instance._state.adding, instance._state.db = False, alias
    return instance


def _named_model(model_id: int, name: str, db: Any = None) -> Model:
    """A model with only its id and name loaded (for a board that reveals names)."""
    return _instance(Model, ("id", "name"), (model_id, name), db)


def _when(value: datetime) -> Any:
    """A datetime as this database's driver takes it (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _compact(sql: str) -> str:
    """`sql` on one line with single spaces (it must hold no ``--`` comment), and short
    enough for psycopg to remember how it converted its placeholders.

    psycopg turns ``%(name)s`` placeholders into PostgreSQL's ``$1`` on every execution,
    and caches the result only for statements up to
    `psycopg._queries.MAX_CACHED_STATEMENT_LENGTH` characters (4096), so that one-off ORM
    statements do not fill its cache. A vote that brings its next matchup is one statement
    longer than that (about 4,300 characters), which psycopg would parse again on every
    vote. For the few fixed statements here the limit is raised to fit them
    (``tests/matchmaking/test_statements.py`` checks that they fit).
    """
    sql = " ".join(sql.split())
    try:
        from psycopg import _queries
    except ImportError:  # not PostgreSQL, or a psycopg without that cache
        return sql
    limit = getattr(_queries, "MAX_CACHED_STATEMENT_LENGTH", None)
    size = len(sql.encode())
    if isinstance(limit, int) and limit < size:
        _queries.MAX_CACHED_STATEMENT_LENGTH = size
    return sql


def _insert(instance: m.Model, names: tuple[str, ...], *, skip_conflict: bool = False) -> bool:
    """INSERT `instance`'s fields `names`, their values prepared as the ORM prepares them, and
    mark it saved with its new id. With `skip_conflict`, a row a unique constraint refuses is
    skipped (ON CONFLICT DO NOTHING) and False returned."""
    fields = [instance._meta.get_field(name) for name in names]
    columns = ", ".join(field.column for field in fields)
    values = [
        field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields
    ]
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = " ON CONFLICT DO NOTHING" if skip_conflict else ""
    sql = (
        f"INSERT INTO {instance._meta.db_table} ({columns}) VALUES ({placeholders}){conflict} "
        "RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = int(row[0])
    instance._state.adding, instance._state.db = False, connection.alias
    return True


@cache
def _columns(
    alias: str, model: type[m.Model], *, deferred: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], str]:
    """Every concrete field of `model` by name but the `deferred` ones, and their columns
    under `alias`."""
    names = tuple(f.name for f in model._meta.concrete_fields if f.name not in deferred)
    return names, ", ".join(f"{alias}.{model._meta.get_field(n).column}" for n in names)


_VOTE_COLUMNS = (
    "matchup",
    "leaderboard",
    "prompt",
    "left_model",
    "right_model",
    "choice",
    "voter",
    "created",
    "view_ms",
    "excluded",
    "is_imported",
    "counted",
)
_MATCHUP_COLUMNS = (
    "leaderboard",
    "prompt",
    "left",
    "right",
    "model_low",
    "model_high",
    "voter",
    "gold",
    "issued_at",
    "expires_at",
)

# --- Voting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A plain matchup just closed for a vote, with what the vote row needs."""

    leaderboard_id: int
    prompt_id: int
    left_model: Model
    """Only `id` and `name` are loaded."""
    right_model: Model
    issued_at: datetime
    voter_trust: float
    voter_flagged: bool


_CLAIM = f"""
    UPDATE {MATCHUP} SET closed_at = %(now)s
    WHERE id = %(matchup)s AND voter_id = %(voter)s AND closed_at IS NULL
      AND expires_at > %(now)s AND gold_id IS NULL
      AND leaderboard_id IN (SELECT l.id FROM {LEADERBOARD} l WHERE l.is_active)
"""
"""What closes a matchup for a plain vote: the voter's, open, unexpired, no gold check, on an
active leaderboard. Both ways of voting here start with it."""


def matchup_claim(*, matchup_id: int, voter_id: int, now: datetime) -> Claim | None:
    """Close the matchup for a vote if it is this voter's, open, unexpired, no gold check, and
    on an active leaderboard; None otherwise (nothing changed: the caller finds out why).

    The UPDATE takes the row lock, so of two concurrent votes on one matchup the second finds
    it closed. Call inside the transaction that stores the vote.
    """
    if matchup_id not in ROW_IDS:
        return None
    sql = f"""{_CLAIM}
        RETURNING leaderboard_id, prompt_id, issued_at,
          (SELECT o.model_id FROM {OUTPUT} o WHERE o.id = {MATCHUP}.left_id),
          (SELECT md.name FROM {OUTPUT} o JOIN {MODEL} md ON md.id = o.model_id
            WHERE o.id = {MATCHUP}.left_id),
          (SELECT o.model_id FROM {OUTPUT} o WHERE o.id = {MATCHUP}.right_id),
          (SELECT md.name FROM {OUTPUT} o JOIN {MODEL} md ON md.id = o.model_id
            WHERE o.id = {MATCHUP}.right_id),
          (SELECT v.trust FROM {VOTER} v WHERE v.id = {MATCHUP}.voter_id),
          (SELECT v.is_flagged FROM {VOTER} v WHERE v.id = {MATCHUP}.voter_id)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": _when(now), "matchup": matchup_id, "voter": voter_id})
        row = cursor.fetchone()
    if row is None:
        return None
    board, prompt, issued_at, left, left_name, right, right_name, trust, flagged = row
    (issued_at,) = _values(Matchup, ("issued_at",), (issued_at,))
    (flagged,) = _values(Voter, ("is_flagged",), (flagged,))
    return Claim(
        leaderboard_id=board,
        prompt_id=prompt,
        left_model=_named_model(left, left_name),
        right_model=_named_model(right, right_name),
        issued_at=issued_at,
        voter_trust=trust,
        voter_flagged=flagged,
    )


@dataclass(frozen=True)
class Excluding:
    """What decides a plain vote's `excluded` (see `services._vote_excluded`)."""

    trust_threshold: float
    min_view_ms: int


def _vote_ctes() -> str:
    """The CTEs `claim`, `facts` and `cast_vote` that close the matchup and store the vote."""
    inserted = ", ".join(Vote._meta.get_field(name).column for name in _VOTE_COLUMNS)
    return f"""
        claim AS ({_CLAIM}
          RETURNING id, leaderboard_id, prompt_id, left_id, right_id, voter_id, issued_at
        ), facts AS (
          SELECT c.id, c.leaderboard_id, c.prompt_id, c.voter_id,
            lo.model_id AS left_model, ro.model_id AS right_model, v.trust, v.is_flagged,
            GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(now)s - c.issued_at)) * 1000))::integer
              AS view_ms
          FROM claim c
          JOIN {OUTPUT} lo ON lo.id = c.left_id
          JOIN {OUTPUT} ro ON ro.id = c.right_id
          JOIN {VOTER} v ON v.id = c.voter_id
        ), cast_vote AS (
          INSERT INTO {VOTE} ({inserted})
          SELECT f.id, f.leaderboard_id, f.prompt_id, f.left_model, f.right_model, %(choice)s,
            f.voter_id, %(now)s, f.view_ms,
            CASE WHEN f.is_flagged THEN %(flagged)s
                 WHEN f.trust < %(threshold)s THEN %(low_trust)s
                 WHEN f.view_ms < %(min_view_ms)s THEN %(too_fast)s
                 ELSE %(counted)s END,
            FALSE, FALSE
          FROM facts f
          RETURNING id, leaderboard_id, prompt_id, left_model_id, right_model_id, view_ms,
            excluded
        )"""


def _vote_columns() -> str:
    """What the vote's answer reads, from `cast_vote x` and the joins of `_VOTE_JOINS`."""
    return (
        "x.id, x.prompt_id, x.left_model_id, lm.name, x.right_model_id, rm.name, x.view_ms, "
        f"x.excluded, {_board_columns()}"
    )


_VOTE_JOINS = f"""
    FROM cast_vote x
    JOIN {MODEL} lm ON lm.id = x.left_model_id
    JOIN {MODEL} rm ON rm.id = x.right_model_id
    JOIN {LEADERBOARD} l ON l.id = x.leaderboard_id
    JOIN {BENCHMARK} b ON b.id = l.benchmark_id
"""


@cache
def _vote_cast_sql() -> str:
    """`vote_cast`'s statement, built once: named parameters, table names from the models."""
    return _compact(f"WITH {_vote_ctes()} SELECT {_vote_columns()} {_VOTE_JOINS}")


def _vote_params(
    *, matchup_id: int, voter: Voter, choice: str, now: datetime, excluding: Excluding
) -> dict[str, Any]:
    return {
        "now": _when(now),
        "matchup": matchup_id,
        "voter": voter.pk,
        "choice": choice,
        "threshold": excluding.trust_threshold,
        "min_view_ms": excluding.min_view_ms,
        "flagged": str(Vote.Excluded.FLAGGED),
        "low_trust": str(Vote.Excluded.LOW_TRUST),
        "too_fast": str(Vote.Excluded.TOO_FAST),
        "counted": str(Vote.Excluded.COUNTED),
    }


_VOTE_WIDTH = 8
"""Columns of `_vote_columns` before the board's."""


def _vote_from(
    row: Sequence[Any], *, matchup_id: int, voter: Voter, choice: str, now: datetime, db: Any
) -> Vote:
    """The stored vote, as `vote_cast` answers it, from a row of `_vote_columns` read on
    connection `db`."""
    vote_id, prompt_id, left, left_name, right, right_name, view_ms, excluded = row[:_VOTE_WIDTH]
    leaderboard = _board(row[_VOTE_WIDTH:], db)
    return _loaded(
        Vote,
        {
            "id": vote_id,
            "matchup_id": matchup_id,
            "leaderboard_id": leaderboard.pk,
            "prompt_id": prompt_id,
            "left_model_id": left,
            "right_model_id": right,
            "choice": choice,
            "voter_id": voter.pk,
            "created": now,
            "view_ms": view_ms,
            "excluded": excluded,
            # As `_vote_ctes` inserts them.
            "is_imported": False,
            "counted": False,
            "count_batch": None,
        },
        {
            "leaderboard": leaderboard,
            "left_model": _named_model(left, left_name, db),
            "right_model": _named_model(right, right_name, db),
            "voter": voter,
        },
        db,
    )


def vote_cast(
    *, matchup_id: int, voter: Voter, choice: str, now: datetime, excluding: Excluding
) -> Vote | None:
    """PostgreSQL only: claim the matchup as `matchup_claim` does and store the vote, in one
    statement; the vote comes back with its leaderboard (and benchmark) and its two models'
    names loaded. None when the matchup cannot be claimed (nothing changed).

    One statement is atomic on its own, so there is no transaction to open and commit: a vote
    is one round trip to the database instead of five. The row takes the reason it is left
    out of the ratings by the rule of `services._vote_excluded`, written here in SQL (a test
    compares the two), and its view time as `services._view_ms` counts it.
    """
    if matchup_id not in ROW_IDS:
        return None
    params = _vote_params(
        matchup_id=matchup_id, voter=voter, choice=choice, now=now, excluding=excluding
    )
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_vote_cast_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _vote_from(row, matchup_id=matchup_id, voter=voter, choice=choice, now=now, db=db)


def vote_insert(vote: Vote) -> None:
    """Store the vote on a claimed matchup and give it its id. The one-to-one column refuses a
    second vote on one matchup (IntegrityError)."""
    _insert(vote, _VOTE_COLUMNS)


_BOARD_DEFERRED = ("created",)
"""The fields of a leaderboard and its benchmark that `_board` leaves deferred: nothing on
the voting path reads when they were created, and a timestamp costs more to load than any
other column (Django's time zone loader is Python, set up again for every statement)."""


def _board_columns() -> str:
    """The columns of leaderboard ``l`` and its benchmark ``b`` that `_board` reads: all but
    `_BOARD_DEFERRED`.

    Named one by one, never ``l.*``: a prepared statement whose columns change (a migration
    adding one) fails with "cached plan must not change result type" until it is prepared
    again, that is on every vote of every running process."""
    return (
        f"{_columns('l', Leaderboard, deferred=_BOARD_DEFERRED)[1]}, "
        f"{_columns('b', Benchmark, deferred=_BOARD_DEFERRED)[1]}"
    )


def _board(row: Sequence[Any], db: Any = None) -> Leaderboard:
    """The leaderboard, its benchmark loaded, from the `_board_columns` of a row."""
    board_names = _columns("l", Leaderboard, deferred=_BOARD_DEFERRED)[0]
    bench_names = _columns("b", Benchmark, deferred=_BOARD_DEFERRED)[0]
    board = _instance(Leaderboard, board_names, row[: len(board_names)], db)
    benchmark = _instance(Benchmark, bench_names, row[len(board_names) :], db)
    _relate(board, {"benchmark": benchmark})
    return board


def leaderboard_read(leaderboard_id: int) -> Leaderboard | None:
    """The leaderboard with its benchmark loaded, in one statement; None when there is none."""
    if leaderboard_id not in ROW_IDS:
        return None
    sql = (
        f"SELECT {_board_columns()} FROM {LEADERBOARD} l "
        f"JOIN {BENCHMARK} b ON b.id = l.benchmark_id WHERE l.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [leaderboard_id])
        row = cursor.fetchone()
    return None if row is None else _board(row)


# --- Issuing matchups -----------------------------------------------------------------------


@dataclass(frozen=True)
class Read(Generic[T]):
    """One read-only statement and how to turn its rows into an answer; see `read_together`."""

    sql: str
    params: list[Any]
    parse: Callable[[list[tuple[Any, ...]]], T]


@cache
def _pipelines() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 or newer)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def read_together(*reads: Read[Any]) -> list[Any]:
    """Run independent reads, answering each one's parsed rows in order.

    On PostgreSQL they go in one round trip (psycopg's pipeline mode: every statement is sent,
    then one Sync, then the answers are read); elsewhere, or with a libpq older than 14, one
    after the other. Only for reads: statements pipelined together share one implicit
    transaction.
    """
    if connection.vendor != "postgresql" or len(reads) < 2 or not _pipelines():
        answers = []
        for one in reads:
            with connection.cursor() as cursor:
                cursor.execute(one.sql, one.params)
                answers.append(one.parse(cursor.fetchall()))
        return answers
    cursors = []
    try:
        connection.ensure_connection()
        with connection.wrap_database_errors, connection.connection.pipeline():
            for one in reads:
                cursor = connection.cursor()
                cursors.append(cursor)
                cursor.execute(one.sql, one.params)
        return [one.parse(cursor.fetchall()) for one, cursor in zip(reads, cursors, strict=True)]
    finally:
        for cursor in cursors:
            cursor.close()


def voter_pairs_seen(
    *,
    voter_id: int,
    leaderboard_id: int,
    now: datetime,
    pairs: Iterable[tuple[int, int, int]] | None,
) -> Read[tuple[set[tuple[int, int, int]], int | None]]:
    """Which pairs (prompt, low model, high model) the voter was shown on this board, and
    their newest open matchup there, in one statement.

    With `pairs`, only those are looked up (a few rows, however long the voter's history);
    with None, every matchup of theirs on the board is read.
    """
    condition, params = "", [_when(now), voter_id, leaderboard_id]
    if pairs is not None:
        pairs = list(pairs)
        wanted = ["(prompt_id = %s AND model_low = %s AND model_high = %s)"] * len(pairs)
        condition = " OR ".join(["(closed_at IS NULL AND expires_at > %s)", *wanted])
        condition = f"AND ({condition})"
        params.append(_when(now))
        for pair in pairs:
            params.extend(pair)
    sql = f"""
        SELECT id, prompt_id, model_low, model_high,
          CASE WHEN closed_at IS NULL AND expires_at > %s THEN 1 ELSE 0 END AS is_open
        FROM {MATCHUP}
        WHERE voter_id = %s AND leaderboard_id = %s {condition}
        ORDER BY issued_at DESC, id DESC
    """

    def parse(rows: list[tuple[Any, ...]]) -> tuple[set[tuple[int, int, int]], int | None]:
        seen: set[tuple[int, int, int]] = set()
        open_id: int | None = None
        for pk, prompt_id, low, high, is_open in rows:
            seen.add((prompt_id, low, high))
            if is_open and open_id is None:
                open_id = pk
        return seen, open_id

    return Read(sql, params, parse)


_OUTPUT_FIELDS = ("id", "model", "prompt", "kind", "text", "public_id")
_PROMPT_FIELDS = ("id", "text", "tags", "asset", "asset_kind")


def outputs_shown(*, output_ids: Iterable[int], benchmark_id: int) -> Read[dict[int, Output]]:
    """The outputs among `output_ids` of active models of the benchmark, each with what a voter
    is shown of it and its prompt, by id."""
    ids = sorted(set(output_ids)) or [0]  # no output has id 0: an empty answer
    out_cols = ", ".join(f"o.{Output._meta.get_field(n).column}" for n in _OUTPUT_FIELDS)
    prompt_cols = ", ".join(f"p.{Prompt._meta.get_field(n).column}" for n in _PROMPT_FIELDS)
    sql = f"""
        SELECT {out_cols}, {prompt_cols} FROM {OUTPUT} o
        JOIN {MODEL} md ON md.id = o.model_id
        JOIN {PROMPT} p ON p.id = o.prompt_id
        WHERE o.id IN ({", ".join(["%s"] * len(ids))}) AND md.is_active AND md.benchmark_id = %s
    """

    def parse(rows: list[tuple[Any, ...]]) -> dict[int, Output]:
        shown: dict[int, Output] = {}
        split = len(_OUTPUT_FIELDS)
        for row in rows:
            output = _instance(Output, _OUTPUT_FIELDS, row[:split])
            output.prompt = _instance(Prompt, _PROMPT_FIELDS, row[split:])
            shown[output.pk] = output
        return shown

    return Read(sql, [*ids, benchmark_id], parse)


def matchup_insert(matchup: Matchup) -> bool:
    """Write a matchup and give it its id; False, writing nothing, when the voter was already
    shown this pair on this prompt (the unique constraint, not an error). A missing voter
    raises IntegrityError."""
    return _insert(matchup, _MATCHUP_COLUMNS, skip_conflict=True)


@dataclass(frozen=True)
class Offer:
    """What `matchup_offer` found for one queued candidate."""

    open_id: int | None
    """The voter's newest open matchup on the board; when set, nothing was written."""
    matchup: Matchup | None
    """The new matchup, its outputs and prompt loaded as a voter is shown them."""
    valid: bool
    """Whether the candidate's outputs still belong to active models of the board's benchmark
    on one prompt the board's tags allow (`services._still_valid`'s rule)."""
    seen: bool = False
    """Valid, not held back, and still not written: the voter was shown this pair on this
    prompt before (the unique constraint skipped it)."""


def _tags(column: str) -> str:
    """A leaderboard's JSON list of tags as a text array (empty for anything but a list)."""
    return (
        f"ARRAY(SELECT jsonb_array_elements_text({column}) WHERE jsonb_typeof({column}) = 'array')"
    )


_OFFER_WIDTH = 2 + 2 * len(_OUTPUT_FIELDS) + len(_PROMPT_FIELDS)
"""Columns of `_offer_columns`: the open matchup, the new one, both outputs, the prompt."""


def _offer_ctes(*, gate: str, skip: str) -> str:
    """The CTEs `offer_board`, `open_one`, `shown` and `issued` that issue a queued candidate
    of board ``%(board)s`` to ``%(voter)s``: nothing when `gate` is false, or the voter has an
    open matchup there (other than `skip`), or the candidate is no longer valid; the unique
    constraint skips a pair the voter was shown. `shown` says whether it is valid, whatever
    the gate."""
    inserted = ", ".join(Matchup._meta.get_field(name).column for name in _MATCHUP_COLUMNS)
    selected = ", ".join(f"{table}.{column}" for table, column in _shown())
    # `shown`: each row looked up by its primary key alone (the CTEs before it), so that no
    # estimate can send the planner through all the models or outputs of a board.
    return f"""
        offer_board AS MATERIALIZED (
          SELECT l.id, l.benchmark_id, {_tags("l.included_tags")} AS included,
            {_tags("l.excluded_tags")} AS excluded
          FROM {LEADERBOARD} l WHERE l.id = %(board)s::bigint
        ), open_one AS (
          SELECT m.id FROM {MATCHUP} m
          WHERE m.voter_id = %(voter)s::bigint AND m.leaderboard_id = %(board)s::bigint
            AND m.closed_at IS NULL AND m.expires_at > %(now)s {skip}
          ORDER BY m.issued_at DESC, m.id DESC LIMIT 1
        ), lo AS MATERIALIZED (
          SELECT o.* FROM {OUTPUT} o WHERE o.id = %(left)s::bigint
        ), ro AS MATERIALIZED (
          SELECT o.* FROM {OUTPUT} o WHERE o.id = %(right)s::bigint
        ), p AS MATERIALIZED (
          SELECT q.* FROM {PROMPT} q WHERE q.id = %(prompt)s::bigint
        ), shown AS MATERIALIZED (
          SELECT {selected}
          FROM offer_board ob, lo, ro, p
          WHERE lo.prompt_id = p.id AND ro.prompt_id = p.id
            AND LEAST(lo.model_id, ro.model_id) = %(low)s::bigint
            AND GREATEST(lo.model_id, ro.model_id) = %(high)s::bigint
            AND lo.model_id <> ro.model_id
            AND 2 = (SELECT count(*) FROM {MODEL} md
                     WHERE md.id IN (lo.model_id, ro.model_id)
                       AND md.is_active AND md.benchmark_id = ob.benchmark_id)
            AND (cardinality(ob.included) = 0 OR jsonb_exists_any(p.tags, ob.included))
            AND NOT jsonb_exists_any(p.tags, ob.excluded)
        ), issued AS (
          INSERT INTO {MATCHUP} ({inserted})
          SELECT %(board)s, %(prompt)s, %(left)s, %(right)s, %(low)s, %(high)s, %(voter)s,
            NULL, %(now)s, %(expires)s
          FROM shown WHERE NOT EXISTS (SELECT 1 FROM open_one) AND {gate}
          ON CONFLICT DO NOTHING
          RETURNING id
        )"""


def _shown() -> list[tuple[str, str]]:
    """(table, column) of what a voter is shown, in `shown`'s order: both outputs, the
    prompt. (Its column names repeat: it is only ever read as ``s.*``.)"""
    out_cols = [Output._meta.get_field(n).column for n in _OUTPUT_FIELDS]
    prompt_cols = [Prompt._meta.get_field(n).column for n in _PROMPT_FIELDS]
    return (
        [("lo", c) for c in out_cols]
        + [("ro", c) for c in out_cols]
        + [("p", c) for c in prompt_cols]
    )


def _offer_columns() -> str:
    """What `_offer_from` reads: the open matchup, the new one, and `shown s`."""
    return "(SELECT id FROM open_one), (SELECT id FROM issued), s.*"


@cache
def _offer_sql() -> str:
    """`matchup_offer`'s statement, built once."""
    return _compact(
        f"""WITH {_offer_ctes(gate="TRUE", skip="")}
        SELECT {_offer_columns()} FROM (SELECT 1) AS one LEFT JOIN shown s ON TRUE"""
    )


def _offer_params(
    *, board_id: int, voter_id: int, candidate: Any, now: datetime, expires_at: datetime
) -> dict[str, Any]:
    return {
        "voter": voter_id,
        "board": board_id,
        "now": _when(now),
        "expires": _when(expires_at),
        "prompt": candidate.prompt_id,
        "left": candidate.left_output_id,
        "right": candidate.right_output_id,
        "low": candidate.model_low,
        "high": candidate.model_high,
    }


def _offer_from(
    row: Sequence[Any],
    *,
    leaderboard: Leaderboard,
    voter_id: int,
    candidate: Any,
    now: datetime,
    expires_at: datetime,
    db: Any,
    gated: bool = True,
) -> Offer:
    """The `Offer` in a row of `_offer_columns` read on connection `db`; `gated`: whether
    the statement's gate let the insert be tried (`_offer_ctes`)."""
    open_id, new_id = row[0], row[1]
    width = len(_OUTPUT_FIELDS)
    left_row, right_row = row[2 : 2 + width], row[2 + width : 2 + 2 * width]
    valid = left_row[0] is not None
    if new_id is None:
        seen = valid and open_id is None and gated
        return Offer(open_id=open_id, matchup=None, valid=valid, seen=seen)
    prompt = _instance(Prompt, _PROMPT_FIELDS, row[2 + 2 * width : _OFFER_WIDTH], db)
    left = _instance(Output, _OUTPUT_FIELDS, left_row, db)
    right = _instance(Output, _OUTPUT_FIELDS, right_row, db)
    _relate(left, {"prompt": prompt})
    _relate(right, {"prompt": prompt})
    matchup = _loaded(
        Matchup,
        {
            "id": int(new_id),
            "leaderboard_id": leaderboard.pk,
            "prompt_id": prompt.pk,
            "left_id": left.pk,
            "right_id": right.pk,
            "model_low": candidate.model_low,
            "model_high": candidate.model_high,
            "voter_id": voter_id,
            "gold_id": None,
            "issued_at": now,
            "expires_at": expires_at,
            "closed_at": None,
        },
        {"leaderboard": leaderboard, "prompt": prompt, "left": left, "right": right},
        db,
    )
    return Offer(open_id=None, matchup=matchup, valid=True)


def matchup_offer(
    *,
    leaderboard: Leaderboard,
    voter_id: int,
    candidate: Any,
    now: datetime,
    expires_at: datetime,
) -> Offer:
    """PostgreSQL only: issue a queued candidate to a voter in one statement.

    What `services.matchup_issue` does over two round trips (the voter's open matchup and the
    outputs read together, then the insert), in one: nothing is written when the voter has an
    open matchup on the board or the candidate is no longer valid, and the unique constraint
    skips a pair the voter was shown before (ON CONFLICT DO NOTHING). A voter row that is gone
    raises IntegrityError. One statement is atomic: no BEGIN or COMMIT.
    """
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(
            _offer_sql(),
            _offer_params(
                board_id=leaderboard.pk,
                voter_id=voter_id,
                candidate=candidate,
                now=now,
                expires_at=expires_at,
            ),
        )
        row = cursor.fetchone()
    return _offer_from(
        row,
        leaderboard=leaderboard,
        voter_id=voter_id,
        candidate=candidate,
        now=now,
        expires_at=expires_at,
        db=db,
    )


@cache
def _vote_and_offer_sql() -> str:
    """`vote_cast_and_offer`'s statement, built once."""
    # Only on the board voted on, and only a public one: whether a private board is still
    # visible to the voter is the caller's question, asked before any matchup is written.
    gate = f"""EXISTS (SELECT 1 FROM cast_vote c WHERE c.leaderboard_id = %(board)s::bigint)
        AND EXISTS (SELECT 1 FROM {LEADERBOARD} gl JOIN {BENCHMARK} pb ON pb.id = gl.benchmark_id
                    WHERE gl.id = %(board)s::bigint AND pb.is_public)"""
    return _compact(
        f"""WITH {_vote_ctes()}, {_offer_ctes(gate=gate, skip="AND m.id <> %(matchup)s")}
        SELECT {_offer_columns()}, {_vote_columns()} {_VOTE_JOINS} LEFT JOIN shown s ON TRUE"""
    )


def vote_cast_and_offer(
    *,
    matchup_id: int,
    voter: Voter,
    choice: str,
    now: datetime,
    excluding: Excluding,
    board_id: int,
    candidate: Any,
    expires_at: datetime,
) -> tuple[Vote, Offer | None] | None:
    """PostgreSQL only: `vote_cast`, and the voter's next matchup from a candidate of board
    `board_id`'s queue (`matchup_offer`), in one statement: one round trip and one commit.

    None when the matchup cannot be claimed (nothing changed). The offer is None when the
    vote was on another board, which then writes no matchup: the candidate was popped on a
    guess of the voter's board. On a private board nothing is written (the caller checks it
    is still visible to the voter first), the candidate only judged. The matchup being
    voted on does not count as open.
    """
    if matchup_id not in ROW_IDS:
        return None
    params = _vote_params(
        matchup_id=matchup_id, voter=voter, choice=choice, now=now, excluding=excluding
    )
    params.update(
        _offer_params(
            board_id=board_id,
            voter_id=voter.pk,
            candidate=candidate,
            now=now,
            expires_at=expires_at,
        )
    )
    db = connections[DEFAULT_DB_ALIAS]
    with db.cursor() as cursor:
        cursor.execute(_vote_and_offer_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    vote = _vote_from(
        row[_OFFER_WIDTH:], matchup_id=matchup_id, voter=voter, choice=choice, now=now, db=db
    )
    if vote.leaderboard_id != board_id:
        return vote, None
    offer = _offer_from(
        row,
        leaderboard=vote.leaderboard,
        voter_id=voter.pk,
        candidate=candidate,
        now=now,
        expires_at=expires_at,
        db=db,
        # The gate, for a vote on this board: a public one (see `_vote_and_offer_sql`).
        gated=vote.leaderboard.benchmark.is_public,
    )
    return vote, offer
