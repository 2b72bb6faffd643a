"""Ratings: keep the pair counters equal to the counted votes, fit, and publish a snapshot.

The counters (`PairCount`, one row per leaderboard, prompt and pair) are the only thing a fit
reads, so a recompute costs the same with a thousand votes or ten million once they are
counted. `Vote.counted` says whether a vote is in the counters; every run first brings the
counters up to date (adding new votes, taking out votes excluded since they were counted, and
putting back votes whose exclusion was lifted), then fits and stores a snapshot, all in one
transaction under the leaderboard's row lock.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from config.errors import Conflict, Invalid, NotFound
from evaluation.models import Model, PairCount, Rating, RatingSnapshot, Vote
from evaluation.rating import bootstrap_standings
from evaluation.selectors import (
    board_counts_get,
    board_models,
    excluded_votes,
    rating_options,
    snapshot_latest,
    standings_fit,
)
from leaderboards.models import Benchmark, Leaderboard, Prompt
from leaderboards.services import (
    LeaderboardSpec,
    PromptSpec,
    benchmark_create,
    leaderboard_create,
)

logger = logging.getLogger(__name__)

# Snapshots older than this are thinned to one per hour (history plots need no finer grain).
SNAPSHOT_FULL_HISTORY = timedelta(days=1)

BOOTSTRAP_ROUNDS = 100

Delta = dict[tuple[int | None, int, int], list[int]]


def _leaderboard_locked(leaderboard_id: int) -> Leaderboard:
    # NO KEY UPDATE: serialises rater runs of one leaderboard without blocking vote inserts,
    # which take only a KEY SHARE lock on the leaderboard row for their foreign key.
    leaderboard = (
        Leaderboard.objects.select_for_update(no_key=True, of=("self",))
        .select_related("benchmark")
        .filter(pk=leaderboard_id)
        .first()
    )
    if leaderboard is None:
        raise NotFound(f"leaderboard {leaderboard_id} does not exist")
    return leaderboard


def _claim(leaderboard_id: int, which: Q, *, counted: bool) -> tuple[uuid.UUID, int]:
    """Flip `counted` on the votes matching `which`; return the batch id marking them, and how many.

    The update marks exactly the rows it flips with a fresh batch id, so counts read back by
    that id are those rows and no others, whatever arrives meanwhile.
    """
    batch = uuid.uuid4()
    flipped = Vote.objects.filter(which, leaderboard_id=leaderboard_id).update(
        count_batch=batch, counted=counted
    )
    return batch, flipped


def _batch_param(batch: uuid.UUID) -> Any:
    """`batch` as the database stores `Vote.count_batch` (uuid on PostgreSQL, hex on SQLite)."""
    return Vote._meta.get_field("count_batch").get_db_prep_value(batch, connection)


def _deltas(votes: Any) -> Delta:
    """Per-(prompt, pair) counts of `votes`, grouped by the database."""
    deltas: Delta = defaultdict(lambda: [0, 0, 0, 0])
    grouped = (
        votes.values_list("prompt_id", "left_model_id", "right_model_id", "choice")
        .annotate(n=Count("id"))
        .order_by()
    )
    for prompt_id, left, right, choice, n in grouped:
        a, b = (left, right) if left < right else (right, left)
        delta = deltas[(prompt_id, a, b)]
        if choice == Vote.Choice.TIE:
            delta[2] += n
        elif choice == Vote.Choice.BOTH_BAD:
            delta[3] += n
        elif (choice == Vote.Choice.LEFT) == (left == a):
            delta[0] += n
        else:
            delta[1] += n
    return deltas


def _late_exclusions(leaderboard_id: int) -> None:
    """Exclude new votes whose voter was flagged or fell below the trust threshold while they
    voted, and new votes from a network flagged on the board.

    The vote path reads the voter's flag and trust without locking the voter row, and
    flagging relabels only the votes already stored; a vote committed alongside would stay
    counted. Checked here, before votes are counted, it cannot be. (Rare: the same voter voting
    while an operator flags them, or while their own gold answer lowers their trust.) The vote
    path does not look at networks at all: a flagged network's new votes are caught here,
    before they are ever counted.
    """
    from evaluation.services.screening import networks_flagged
    from matchmaking.services import trust_threshold

    new = Vote.objects.filter(leaderboard_id=leaderboard_id, counted=False, excluded="")
    new.filter(voter__is_flagged=True).update(excluded=Vote.Excluded.FLAGGED)
    new.filter(voter__trust__lt=trust_threshold()).update(excluded=Vote.Excluded.LOW_TRUST)
    flagged = networks_flagged(leaderboard_id=leaderboard_id).values("network")
    new.filter(voter__network__in=flagged).update(excluded=Vote.Excluded.NETWORK)


def _pair_counts_sync(leaderboard_id: int) -> int:
    """Bring the counters in line with the votes; the caller holds the leaderboard's lock."""
    _late_exclusions(leaderboard_id)
    batch, added = _claim(leaderboard_id, Q(counted=False, excluded=""), counted=True)
    if added:
        _counters_add(
            leaderboard_id=leaderboard_id, where="count_batch = %s", params=[_batch_param(batch)]
        )
    batch, removed = _claim(leaderboard_id, Q(counted=True) & ~Q(excluded=""), counted=False)
    if removed:
        _counters_subtract(
            leaderboard_id=leaderboard_id, deltas=_deltas(Vote.objects.filter(count_batch=batch))
        )
    return added + removed


_COUNTER_COLUMNS = ("a_wins", "b_wins", "ties", "both_bad")


def _counters_add(*, leaderboard_id: int, where: str, params: Sequence[Any]) -> None:
    """Add the leaderboard's votes that match the SQL condition `where` to its counters.

    One `INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE` per kind of counter (with a
    prompt, without one; PostgreSQL and SQLite both have it): the database counts the votes
    per prompt, pair and outcome and adds the counts in place, so neither the votes nor the
    counters pass through Python. The caller holds the leaderboard's lock.
    """
    table = connection.ops.quote_name(PairCount._meta.db_table)
    votes = connection.ops.quote_name(Vote._meta.db_table)
    columns = "leaderboard_id, prompt_id, model_a_id, model_b_id, " + ", ".join(_COUNTER_COLUMNS)
    add = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _COUNTER_COLUMNS)
    targets = {
        "IS NOT NULL": "(leaderboard_id, prompt_id, model_a_id, model_b_id) "
        "WHERE prompt_id IS NOT NULL",
        "IS NULL": "(leaderboard_id, model_a_id, model_b_id) WHERE prompt_id IS NULL",
    }
    forward = "left_model_id < right_model_id"
    model_a = f"CASE WHEN {forward} THEN left_model_id ELSE right_model_id END"
    model_b = f"CASE WHEN {forward} THEN right_model_id ELSE left_model_id END"

    def count(condition: str) -> str:
        return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"

    # The left side wins as model_a when it has the smaller id, as model_b otherwise.
    outcomes = ", ".join(
        [
            count(f"(choice = %s AND {forward}) OR (choice = %s AND NOT {forward})"),
            count(f"(choice = %s AND {forward}) OR (choice = %s AND NOT {forward})"),
            count("choice = %s"),
            count("choice = %s"),
        ]
    )
    choices = [Vote.Choice.LEFT, Vote.Choice.RIGHT, Vote.Choice.RIGHT, Vote.Choice.LEFT]
    choices += [Vote.Choice.TIE, Vote.Choice.BOTH_BAD]
    with connection.cursor() as cursor:
        for prompt, target in targets.items():
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "
                f"SELECT leaderboard_id, prompt_id, {model_a}, {model_b}, {outcomes} "
                f"FROM {votes} WHERE leaderboard_id = %s AND prompt_id {prompt} AND ({where}) "
                f"GROUP BY leaderboard_id, prompt_id, {model_a}, {model_b} "
                f"ON CONFLICT {target} DO UPDATE SET {add}",
                [*map(str, choices), leaderboard_id, *params],
            )


def _counters_subtract(*, leaderboard_id: int, deltas: Delta) -> None:
    """Take per-(prompt, pair) counts of votes excluded after counting out of the counters.

    Keys are `(prompt_id or None, smaller model id, larger model id)`, values the counts of
    `[a_wins, b_wins, ties, both_bad]` to take out; their counters exist (the votes were
    counted). Exclusions come a few at a time, so one UPDATE per counter is enough.
    """
    for (prompt_id, model_a, model_b), delta in deltas.items():
        PairCount.objects.filter(
            leaderboard_id=leaderboard_id,
            prompt_id=prompt_id,
            model_a_id=model_a,
            model_b_id=model_b,
        ).update(
            a_wins=F("a_wins") - delta[0],
            b_wins=F("b_wins") - delta[1],
            ties=F("ties") - delta[2],
            both_bad=F("both_bad") - delta[3],
        )


def pair_counts_update(*, leaderboard_id: int) -> int:
    """Bring the leaderboard's pair counters in line with its votes; return the votes flipped.

    Adds votes not yet counted, takes out votes excluded after they were counted, and puts back
    votes whose exclusion was lifted. The claim and the additions happen in one transaction
    under the leaderboard's row lock, so each vote is added exactly once even when two runs
    race or a run dies half-way: a rerun finds nothing left, or redoes a rolled-back claim.
    """
    with transaction.atomic():
        _leaderboard_locked(leaderboard_id)
        return _pair_counts_sync(leaderboard_id)


def _leaderboards_lock(leaderboard_ids: Iterable[int]) -> list[int]:
    """Take the rater's row lock of each leaderboard, in id order; return the ids, sorted."""
    ids = sorted(set(leaderboard_ids))
    list(
        Leaderboard.objects.select_for_update(no_key=True)
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return ids


def votes_relabel(moves: Sequence[tuple[QuerySet[Vote], str]]) -> tuple[int, list[int]]:
    """Set `excluded` on votes, move by move: each `(votes, reason)` gives `votes` the reason
    (`""` counts them again), in order. Returns how many changed and the ids of the
    leaderboards the votes are on.

    How operators and voter flags or trust changes exclude stored votes (the rater's own late
    check, `_late_exclusions`, already holds the lock). A rater run flips `counted` on
    its leaderboard's votes in several statements of one transaction, holding the
    leaderboard's row lock. An exclusion written beside it could lock the same vote rows in
    another order, and PostgreSQL would abort one of the two as a deadlock. So this first takes
    that lock on every leaderboard of every move at once, in id order: an exclusion and a rater
    run of the same board take turns, and two exclusions that span several boards never wait
    on each other.

    Nothing else is written: the rater's next run takes excluded votes out of its counters and
    puts included ones back. Callers queue that run.
    """
    with transaction.atomic():
        boards = _leaderboards_lock(
            pk
            for votes, _ in moves
            for pk in votes.values_list("leaderboard_id", flat=True).distinct().order_by()
        )
        # Only the boards locked: a vote stored since they were read waits for the next
        # exclusion (or, for a flagged or distrusted voter, for the rater's own late check).
        changed = 0
        for votes, reason in moves:
            changed += votes.filter(leaderboard_id__in=boards).update(excluded=reason)
    return changed, boards


def votes_exclude(votes: QuerySet[Vote], *, reason: str) -> tuple[int, list[int]]:
    """`votes_relabel` with one move: give `votes` the exclusion `reason`."""
    return votes_relabel([(votes, reason)])


def _opt(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def ratings_recompute(*, leaderboard_id: int, now: datetime | None = None) -> RatingSnapshot:
    """Count new votes, fit the leaderboard, and publish a new snapshot, in one transaction.

    Readers see the whole new snapshot or none of it. Runs of one leaderboard are serialised by
    its row lock, so snapshots appear in the order their counts were taken: the newest snapshot
    always holds the most votes. Raises NotFound if the leaderboard is gone.
    """
    started = time.perf_counter()
    with transaction.atomic():
        leaderboard = _leaderboard_locked(leaderboard_id)
        _pair_counts_sync(leaderboard_id)
        models = board_models(leaderboard=leaderboard)
        board = board_counts_get(leaderboard=leaderboard, model_ids=[m.pk for m in models])
        st = standings_fit(leaderboard=leaderboard, models=models, counts=board.counts)
        snapshot = RatingSnapshot.objects.create(
            leaderboard=leaderboard,
            created=now or timezone.now(),
            vote_count=board.votes,
            excluded_count=excluded_votes(leaderboard=leaderboard),
            model_count=len(models),
            tie_model=leaderboard.tie_model,
            tie_parameter=_opt(st.tie_parameter),
            connected=bool(st.connected),
            component_count=int(st.n_components),
            options=rating_options(leaderboard=leaderboard),
        )
        Rating.objects.bulk_create(
            Rating(
                snapshot=snapshot,
                model_id=model.pk,
                rank=int(st.rank[k]) if st.rated[k] else None,
                score=_opt(st.score[k]) if st.rated[k] else None,
                ci_low=_opt(st.ci_low[k]) if st.rated[k] else None,
                ci_high=_opt(st.ci_high[k]) if st.rated[k] else None,
                votes=round(float(st.votes[k])),
                wins=float(st.wins[k]),
                losses=float(st.losses[k]),
                ties=float(st.ties[k]),
                both_bad=float(st.both_bad[k]),
                win_rate=_opt(st.win_rate[k]) if st.votes[k] else None,
                provisional=bool(st.provisional[k]),
                component=int(st.component[k]) if st.rated[k] else None,
            )
            for k, model in enumerate(models)
        )
        snapshot.elapsed_ms = (time.perf_counter() - started) * 1000
        snapshot.save(update_fields=["elapsed_ms"])
    logger.info(
        "leaderboard %s: published snapshot %s (%s votes, %s models) in %.0f ms",
        leaderboard_id,
        snapshot.pk,
        snapshot.vote_count,
        snapshot.model_count,
        snapshot.elapsed_ms,
    )
    return snapshot


def ratings_bootstrap(
    *, snapshot_id: int, rounds: int = BOOTSTRAP_ROUNDS, seed: int | None = None
) -> bool:
    """Add bootstrap rank intervals to a snapshot, if it is still its leaderboard's newest.

    The counters are read under the leaderboard's lock and must still hold exactly the
    snapshot's votes, so the intervals belong to the published fit. Returns False (and changes
    nothing) when a newer snapshot exists or is being made (its own bootstrap will run), when
    the snapshot has no votes, or when it is gone. The seed defaults to the snapshot's id, so a
    rerun gives the same intervals.
    """
    snapshot = RatingSnapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None or snapshot.vote_count == 0:
        return False
    with transaction.atomic():
        leaderboard = _leaderboard_locked(snapshot.leaderboard_id)
        latest = snapshot_latest(leaderboard=leaderboard)
        if latest is None or latest.pk != snapshot.pk:
            return False
        models = board_models(leaderboard=leaderboard)
        board = board_counts_get(leaderboard=leaderboard, model_ids=[m.pk for m in models])
        if board.votes != snapshot.vote_count or len(models) != snapshot.model_count:
            return False
        base = standings_fit(leaderboard=leaderboard, models=models, counts=board.counts)
    # The fit is slow on big boards; the lock is not needed for it and is released first.
    boot = bootstrap_standings(
        board.counts,
        rounds=rounds,
        rng=np.random.default_rng(seed if seed is not None else snapshot.pk),
        base=base,
    )
    index = {model.pk: k for k, model in enumerate(models)}
    with transaction.atomic():
        rows = list(Rating.objects.select_for_update().filter(snapshot=snapshot))
        for row in rows:
            k = index.get(row.model_id)
            if k is None or not base.rated[k]:
                continue
            row.rank_low = int(boot.rank_low[k])
            row.rank_high = int(boot.rank_high[k])
        Rating.objects.bulk_update(rows, ["rank_low", "rank_high"])
        RatingSnapshot.objects.filter(pk=snapshot.pk).update(has_bootstrap=True)
    return True


def ratings_rebuild(*, leaderboard_id: int, now: datetime | None = None) -> RatingSnapshot:
    """Recount every vote of a leaderboard from scratch and publish a fresh snapshot.

    For repairs and after bulk changes made outside the services; the incremental path already
    follows exclusions. One transaction: readers never see the counters half rebuilt.
    """
    with transaction.atomic():
        _leaderboard_locked(leaderboard_id)
        PairCount.objects.filter(leaderboard_id=leaderboard_id).delete()
        votes = Vote.objects.filter(leaderboard_id=leaderboard_id)
        # Only votes whose flag is wrong are written (rewriting a million rows would cost more
        # than everything else); the counts come from one GROUP BY in the database.
        votes.filter(counted=False, excluded="").update(counted=True)
        votes.filter(counted=True).exclude(excluded="").update(counted=False)
        _counters_add(leaderboard_id=leaderboard_id, where="excluded = %s", params=[""])
        return ratings_recompute(leaderboard_id=leaderboard_id, now=now)


def snapshots_thin(*, leaderboard_id: int, now: datetime | None = None) -> int:
    """Keep every snapshot of the last day and the newest of each hour before; return how many
    went. The leaderboard's latest snapshot is always kept."""
    cutoff = (now or timezone.now()) - SNAPSHOT_FULL_HISTORY
    old = list(
        RatingSnapshot.objects.filter(leaderboard_id=leaderboard_id, created__lt=cutoff)
        .order_by("created", "id")
        .values_list("id", "created")
    )
    keep_hours: set[tuple[int, int, int, int]] = set()
    drop: list[int] = []
    for snapshot_id, created in reversed(old):
        hour = (created.year, created.month, created.day, created.hour)
        if hour in keep_hours:
            drop.append(snapshot_id)
        else:
            keep_hours.add(hour)
    if drop:
        RatingSnapshot.objects.filter(id__in=drop).delete()
    return len(drop)


class BattleRow(Protocol):
    """One pairwise vote to import (see `evaluation.management.battles.Battle`)."""

    line: int
    left: str
    right: str
    choice: str
    created: datetime | None
    prompt: str | None


@dataclass(frozen=True)
class BattlesImported:
    """What `battles_import` did."""

    leaderboard: Leaderboard
    created_leaderboard: bool
    models_created: list[str]
    prompts_created: int
    votes: int


IMPORT_BATCH = 5000


def _import_target(
    *, leaderboard_name: str, owner_username: str | None
) -> tuple[Leaderboard | None, Any]:
    matches = list(
        Leaderboard.objects.filter(name=leaderboard_name).select_related("benchmark__owner")
    )
    if len(matches) > 1:
        ids = ", ".join(str(lb.pk) for lb in matches)
        raise Conflict(
            f"leaderboard: {len(matches)} leaderboards are named {leaderboard_name!r} "
            f"(ids {ids}); rename one first",
            field="leaderboard",
        )
    leaderboard = matches[0] if matches else None
    if leaderboard is None:
        if not owner_username:
            raise Invalid(
                f"owner: no leaderboard is named {leaderboard_name!r}; give the owner "
                "(--owner USERNAME) to create it",
                field="owner",
            )
        user, created = get_user_model().objects.get_or_create(username=owner_username)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return None, user
    owner = leaderboard.benchmark.owner
    if owner_username and owner.get_username() != owner_username:
        raise Conflict(
            f"owner: leaderboard {leaderboard_name!r} belongs to {owner.get_username()!r}, "
            f"not {owner_username!r}; leave the owner out or give {owner.get_username()!r}",
            field="owner",
        )
    return leaderboard, owner


def battles_import(
    *,
    leaderboard_name: str,
    battles: Sequence[BattleRow],
    owner_username: str | None = None,
    instruction: str = "Which response is better?",
    use_prompts: bool = True,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> BattlesImported:
    """Import pairwise votes into a leaderboard, creating it (public) and its models if needed.

    All or nothing, in one transaction. The votes are stored as imported and counted at once:
    they go into the pair counters in the same transaction (no recount of a million rows
    afterwards). Battles name a prompt by its identifier or text; on a new leaderboard those
    prompts are created, on an existing one an unknown prompt is an error naming the lines
    (pass `use_prompts=False` to import without prompts). `progress` is called with the
    number of votes stored after each batch.

    Raises
    ------
    Invalid
        Unknown prompts, or no owner given for a leaderboard that must be created.
    Conflict
        Several leaderboards share the name, or the owner given is not the board's owner.
    """
    now = now or timezone.now()
    if not battles:
        raise Invalid("file: no battle to import", field="file")
    with transaction.atomic():
        leaderboard, owner = _import_target(
            leaderboard_name=leaderboard_name, owner_username=owner_username
        )
        wanted = list(dict.fromkeys(b.prompt for b in battles if b.prompt and use_prompts))
        created_leaderboard = leaderboard is None
        prompts_created = 0
        if leaderboard is None:
            spec = LeaderboardSpec(
                name=leaderboard_name, instruction=instruction, show_prompt=False
            )
            if wanted:
                benchmark = benchmark_create(
                    owner=owner,
                    name=leaderboard_name,
                    prompts=[
                        PromptSpec(text=text, identifier=text if len(text) <= 200 else "")
                        for text in wanted
                    ],
                    description="Imported pairwise battles.",
                    now=now,
                )
                prompts_created = len(wanted)
            else:
                benchmark = Benchmark.objects.create(
                    name=leaderboard_name,
                    owner=owner,
                    is_public=True,
                    description="Imported pairwise battles.",
                    created=now,
                )
            leaderboard = leaderboard_create(benchmark=benchmark, spec=spec, now=now)
        leaderboard = _leaderboard_locked(leaderboard.pk)
        prompt_ids: dict[str, int] = {}
        for pk, text, identifier in Prompt.objects.filter(
            benchmark_id=leaderboard.benchmark_id
        ).values_list("pk", "text", "identifier"):
            prompt_ids[text] = pk
            if identifier:
                prompt_ids[identifier] = pk
        unknown = [b for b in battles if use_prompts and b.prompt and b.prompt not in prompt_ids]
        if unknown:
            lines = ", ".join(str(b.line) for b in unknown[:20])
            raise Invalid(
                f"prompt: {len(unknown)} rows name a prompt this leaderboard does not have "
                f"(lines {lines}{'...' if len(unknown) > 20 else ''}); import without prompts "
                "or register them first",
                field="prompt",
            )
        models = dict(
            Model.objects.filter(benchmark_id=leaderboard.benchmark_id).values_list("name", "pk")
        )
        names = list(dict.fromkeys(name for b in battles for name in (b.left, b.right)))
        new_names = [name for name in names if name not in models]
        Model.objects.bulk_create(
            Model(benchmark_id=leaderboard.benchmark_id, name=name, owner=owner, created=now)
            for name in new_names
        )
        models = dict(
            Model.objects.filter(benchmark_id=leaderboard.benchmark_id).values_list("name", "pk")
        )
        batch = uuid.uuid4()
        stored = 0
        for start in range(0, len(battles), IMPORT_BATCH):
            rows = []
            for b in battles[start : start + IMPORT_BATCH]:
                left, right = models[b.left], models[b.right]
                prompt_id = prompt_ids.get(b.prompt) if use_prompts and b.prompt else None
                rows.append(
                    Vote(
                        leaderboard_id=leaderboard.pk,
                        prompt_id=prompt_id,
                        left_model_id=left,
                        right_model_id=right,
                        choice=b.choice,
                        created=b.created or now,
                        is_imported=True,
                        counted=True,
                        count_batch=batch,
                    )
                )
            Vote.objects.bulk_create(rows, batch_size=IMPORT_BATCH)
            stored += len(rows)
            if progress is not None:
                progress(stored)
        _counters_add(
            leaderboard_id=leaderboard.pk, where="count_batch = %s", params=[_batch_param(batch)]
        )
    return BattlesImported(
        leaderboard=leaderboard,
        created_leaderboard=created_leaderboard,
        models_created=new_names,
        prompts_created=prompts_created,
        votes=stored,
    )
