"""Writes of the matchmaking app: voters, issuing matchups, recording votes, reports, refills.

The path of one pair: the Celery matchmaker (`matchups_refill`) chooses a batch from the
database and swaps it into the leaderboard's Redis queue; `matchup_issue` pops a candidate the
voter has not seen (or, without a usable queue, chooses one directly) and writes a Matchup bound
to the voter with an expiry; `vote_record` accepts one vote for it and hands the rating refresh
to Celery after commit.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import Exists, QuerySet
from django.utils import timezone

from config.errors import Conflict, Gone, Invalid, NotFound
from config.validation import nul_check
from evaluation.models import Model, Output, OutputReport, Vote
from leaderboards.models import Benchmark, Leaderboard
from matchmaking import queue, statements
from matchmaking.models import GoldMatchup, Matchup, Voter
from matchmaking.queue import Candidate
from matchmaking.selection import select_pair, select_pairs
from matchmaking.selectors import BoardState, board_state_get, voter_history

logger = logging.getLogger(__name__)

TRUST_PRIOR = 3
"""A voter's trust is (gold answers right + TRUST_PRIOR) / (gold answers + TRUST_PRIOR)."""

POP_COUNT = 8
"""Candidates popped at once: enough that a voter who judged a few still finds one."""

DIRECT_MAX_PROMPTS = 64
"""Prompts the web process reads for a direct choice (a random subset on larger boards)."""

LAST_SEEN_EVERY = timedelta(minutes=5)
MAX_REPORT_REASON = 500


def matchup_ttl() -> timedelta:
    """How long an issued matchup takes a vote."""
    return timedelta(seconds=settings.VERSUS_MATCHUP_TTL_SECONDS)


# --- Voters -------------------------------------------------------------------------------


def voter_get_or_create(
    *,
    user: Any | None = None,
    session_key: str | None = None,
    network: str | Callable[[], str] = "",
    now: datetime | None = None,
) -> Voter:
    """The voter behind a logged-in user, else behind an anonymous browser session; a new
    one records `network` (`identity.network_key`; a callable is called only then).

    Two first requests of one browser may race here; the unique columns make one of them read
    the other's row instead of creating a second voter.
    """
    now = now or timezone.now()
    if user is not None and getattr(user, "is_authenticated", False):
        lookup: dict[str, Any] = {"user": user}
    elif session_key:
        lookup = {"session_key": session_key}
    else:
        raise Invalid("a voter needs a browser session or a logged-in user", code="no_session")
    voter, created = Voter.objects.get_or_create(
        **lookup, defaults={"created": now, "last_seen": now, "network": network}
    )
    if not created and now - voter.last_seen > LAST_SEEN_EVERY:
        # At most one write per voter and interval, not one per request.
        voter_seen(voter_id=voter.pk, now=now)
        voter.last_seen = now
    return voter


def voter_create(*, network: str = "", now: datetime | None = None) -> Voter:
    """A new anonymous voter, known to its browser by a signed cookie (see `identity`), from
    `network` (`identity.network_key`; empty when unknown).

    Its `session_key` is a random key that never leaves the server: it only marks the voter
    as an anonymous one.
    """
    now = now or timezone.now()
    return Voter.objects.create(
        session_key=secrets.token_urlsafe(30), network=network, created=now, last_seen=now
    )


def voter_ref(voter_id: int) -> Voter:
    """The voter `voter_id` without reading its row: only the id is loaded, any other field
    is read from the database when accessed (Django's deferred fields)."""
    return Voter.from_db(DEFAULT_DB_ALIAS, ["id"], [voter_id])


def voter_seen(*, voter_id: int, now: datetime | None = None) -> None:
    """Note that a voter came back (their `last_seen`)."""
    Voter.objects.filter(pk=voter_id).update(last_seen=now or timezone.now())


# --- Issuing matchups ---------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """What `matchup_issue` answers: a matchup, or why there is none."""

    matchup: Matchup | None
    reason: str = ""
    """``""`` with a matchup; ``"nothing_to_compare"`` when no prompt has two models' outputs;
    ``"all_seen"`` when this voter has been shown every pair on every prompt."""


class VoterUnknown(NotFound):
    """The voter a request names no longer exists (an operator deleted it)."""


def matchup_issue(
    *,
    leaderboard: Leaderboard,
    voter: Voter,
    now: datetime | None = None,
    rng: random.Random | None = None,
    roll: float | None = None,
) -> Issued:
    """Give `voter` a matchup of `leaderboard`: their open one, a gold check, or a new pair.

    `roll`, uniform in [0, 1), decides whether a gold check may come (`_gold_possible`);
    drawn from `rng` when not given.

    A new pair comes from the leaderboard's queue (skipping pairs this voter was shown on that
    prompt); when Redis is down or the queue is empty the pair is chosen here, directly, and a
    refill is requested. Never raises for a missing queue or broker; raises `VoterUnknown`
    when the voter row is gone.

    Serving from the queue costs one Redis round trip and two to the database: one for the
    voter's open matchups, the popped pairs they have seen and the popped outputs, one for
    the new matchup.
    """
    now = now or timezone.now()
    rng = rng or random.Random()
    if roll is None:
        roll = rng.random()
    popped: tuple[list[Candidate], int] | None = None
    if connection.vendor == "postgresql" and not _gold_possible(roll):
        offered, popped = _offered(leaderboard, voter=voter, now=now)
        if offered is not None:
            return offered
    # Popped before anything else so that one round trip can tell whether the voter has an
    # open matchup, whether they have seen the popped pairs, and what the pairs would show.
    if popped is None:
        popped = queue.queue_pop(leaderboard.pk, count=1)
    head = popped[0] if popped is not None else []
    history = voter_history(
        voter=voter,
        leaderboard=leaderboard,
        now=now,
        pairs=None if popped is None else [c.pair for c in head],
        outputs_of=_output_ids(head),
    )
    seen = history.seen
    if history.open_id is not None:
        # The open matchup again: a reload cannot be used to skip a pair.
        queue.queue_push_back(leaderboard.pk, head)
        return Issued(_matchup_shown(history.open_id))
    gold = _gold_issue(leaderboard=leaderboard, voter=voter, now=now, rng=rng, roll=roll)
    if gold is not None:
        queue.queue_push_back(leaderboard.pk, head)
        return Issued(gold)
    board: BoardState | None = None
    shown: dict[int, Output] = {}
    first: tuple[tuple[list[Candidate], int], dict[int, Output]] | None = None
    if popped is not None:
        first = popped, history.outputs
    for _ in range(3):
        candidate = _from_queue(
            leaderboard, voter=voter, now=now, seen=seen, shown=shown, first=first
        )
        first = None
        if candidate is None:
            if board is None:
                if not history.complete:
                    seen |= voter_history(voter=voter, leaderboard=leaderboard, now=now).seen
                board = board_state_get(
                    leaderboard=leaderboard, max_prompts=DIRECT_MAX_PROMPTS, rng=rng
                )
            candidate = _direct_choice(board, seen=seen, rng=rng)
            if candidate is None and not board.complete:
                # The voter has seen everything on a sample of the prompts: look at them all.
                board = board_state_get(leaderboard=leaderboard)
                candidate = _direct_choice(board, seen=seen, rng=rng)
            if candidate is None:
                return Issued(None, "all_seen" if board.has_pairs() else "nothing_to_compare")
        matchup = _matchup_create(leaderboard, voter, candidate, now=now)
        if matchup is not None:
            left, right = shown.get(matchup.left_id), shown.get(matchup.right_id)
            if left is None or right is None:
                # A direct choice: one query for what the voter is shown.
                return Issued(_matchup_shown(matchup.pk))
            matchup.left, matchup.right, matchup.prompt = left, right, left.prompt
            return Issued(matchup)
        # Taken by a concurrent request of this voter: try another pair.
        seen.add(candidate.pair)
    return Issued(None, "all_seen")


def _offered(
    leaderboard: Leaderboard, *, voter: Voter, now: datetime
) -> tuple[Issued | None, tuple[list[Candidate], int] | None]:
    """The common case of `matchup_issue` on PostgreSQL: the queue's head candidate issued in
    one statement (`statements.matchup_offer`), or the voter's open matchup again.

    One Redis round trip and one to the database, where the general way makes two to the
    database. Without an answer it takes the general way: with Redis down, or a stale
    candidate (dropped), or one the voter was shown before (put back for the next voter);
    or, with the empty pop returned so that it is not made twice, an empty queue.
    """
    popped = queue.queue_pop(leaderboard.pk, count=1)
    if popped is None:
        return None, None
    candidates, left = popped
    _refill_if_low(leaderboard.pk, left)
    if not candidates:
        return None, popped
    candidate = candidates[0]
    try:
        offer = statements.matchup_offer(
            leaderboard=leaderboard,
            voter_id=voter.pk,
            candidate=candidate,
            now=now,
            expires_at=now + matchup_ttl(),
        )
    except IntegrityError:
        queue.queue_push_back(leaderboard.pk, [candidate])
        if not Voter.objects.filter(pk=voter.pk).exists():
            raise VoterUnknown(f"voter {voter.pk} does not exist", code="voter_unknown") from None
        raise
    return _issued_from(offer, leaderboard_id=leaderboard.pk, candidate=candidate), None


def _issued_from(
    offer: statements.Offer, *, leaderboard_id: int, candidate: Candidate
) -> Issued | None:
    """What an offer of `candidate` gives the voter: the new matchup, or their open one
    again; None sends them the general way. A valid candidate not used goes back to the
    head of the queue for the next voter, or to its back if this voter was shown it before
    (`queue.queue_push_tail`); a stale one is dropped."""
    if offer.matchup is not None:
        return Issued(offer.matchup)
    if offer.seen:
        queue.queue_push_tail(leaderboard_id, [candidate])
    elif offer.valid:
        queue.queue_push_back(leaderboard_id, [candidate])
    if offer.open_id is not None:
        # The open matchup again: a reload cannot be used to skip a pair.
        return Issued(_matchup_shown(offer.open_id))
    return None


def _refill_if_low(leaderboard_id: int, left: int) -> None:
    """Ask for a refill when a pop left fewer than `VERSUS_QUEUE_LOW` candidates."""
    if left < settings.VERSUS_QUEUE_LOW:
        queue_refill_soon(leaderboard_id)


def _matchup_shown(matchup_id: int) -> Matchup:
    """A matchup with what the voter is shown (prompt and outputs), in one query."""
    return Matchup.objects.select_related("prompt", "left", "right").get(pk=matchup_id)


def _output_ids(candidates: list[Candidate]) -> set[int]:
    return {c.left_output_id for c in candidates} | {c.right_output_id for c in candidates}


def _from_queue(
    leaderboard: Leaderboard,
    *,
    voter: Voter,
    now: datetime,
    seen: set[tuple[int, int, int]],
    shown: dict[int, Output],
    first: tuple[tuple[list[Candidate], int], dict[int, Output]] | None = None,
) -> Candidate | None:
    """The first queued candidate this voter has not seen; the others popped go back.

    `first` is a pop already made, whose pairs are already in `seen`, with its outputs as
    `statements.outputs_shown` read them; later, wider pops read both in one round trip. The
    outputs read on the way are added to `shown`, so the matchup needs no second read.
    """
    count = 1
    while count <= POP_COUNT:
        if first is not None:
            popped, outputs = first
            first = None
        else:
            popped = queue.queue_pop(leaderboard.pk, count=count)
            if popped is None:
                return None  # no Redis: the caller chooses directly
            outputs = {}
            if popped[0]:
                history = voter_history(
                    voter=voter,
                    leaderboard=leaderboard,
                    now=now,
                    pairs=[c.pair for c in popped[0]],
                    outputs_of=_output_ids(popped[0]),
                )
                seen |= history.seen
                outputs = history.outputs
        candidates, left = popped
        _refill_if_low(leaderboard.pk, left)
        if not candidates:
            return None
        valid = _still_valid(leaderboard, candidates, outputs)
        chosen: Candidate | None = None
        unused: list[Candidate] = []
        shown_before: list[Candidate] = []
        for candidate in candidates:
            if candidate not in valid:
                continue  # stale (model deactivated, prompt untagged): drop it
            if candidate.pair in seen:
                shown_before.append(candidate)
            elif chosen is None:
                chosen = candidate
            else:
                unused.append(candidate)
        queue.queue_push_back(leaderboard.pk, unused)
        queue.queue_push_tail(leaderboard.pk, shown_before)
        shown.update(outputs)
        if chosen is not None or not left:
            return chosen
        count = POP_COUNT if count == 1 else POP_COUNT + 1  # one wider look, then give up
    return None


def _still_valid(
    leaderboard: Leaderboard, candidates: list[Candidate], outputs: dict[int, Output]
) -> set[Candidate]:
    """Candidates whose outputs still belong to active models of this board on allowed
    prompts, told from `outputs`: what `statements.outputs_shown` read of their outputs."""
    valid = set()
    for c in candidates:
        left, right = outputs.get(c.left_output_id), outputs.get(c.right_output_id)
        if left is None or right is None:
            continue
        if (
            left.prompt_id == right.prompt_id == c.prompt_id
            and {left.model_id, right.model_id} == {c.model_low, c.model_high}
            and c.model_low < c.model_high
            and leaderboard.allows_tags(list(left.prompt.tags or []))
        ):
            valid.add(c)
    return valid


def _candidates_from_picks(board: BoardState, picks: np.ndarray) -> list[Candidate]:
    out = []
    for prompt, left, right in picks:
        left_model, right_model = board.model_ids[int(left)], board.model_ids[int(right)]
        out.append(
            Candidate(
                prompt_id=board.prompt_ids[int(prompt)],
                left_output_id=int(board.output_ids[prompt, left]),
                right_output_id=int(board.output_ids[prompt, right]),
                model_low=min(left_model, right_model),
                model_high=max(left_model, right_model),
            )
        )
    return out


def _direct_choice(
    board: BoardState, *, seen: set[tuple[int, int, int]], rng: random.Random
) -> Candidate | None:
    """One pair chosen now, in the web process, by the same rule as the queue's batches."""
    if not board.prompt_ids or len(board.model_ids) < 2:
        return None
    row = {pk: k for k, pk in enumerate(board.prompt_ids)}
    col = {pk: k for k, pk in enumerate(board.model_ids)}
    exclude = [
        (row[p], col[low], col[high])
        for p, low, high in seen
        if p in row and low in col and high in col
    ]
    pick = select_pair(
        has_output=board.has_output,
        theta=board.theta,
        cov=board.cov,
        component=board.component,
        model_votes=board.model_votes,
        prompt_use=board.prompt_use,
        exclude=exclude,
        rng=np.random.default_rng(rng.getrandbits(64)),
    )
    if pick is None:
        return None
    return _candidates_from_picks(board, np.array([pick], dtype=np.int64))[0]


def _matchup_create(
    leaderboard: Leaderboard,
    voter: Voter,
    candidate: Candidate,
    *,
    now: datetime,
    gold: GoldMatchup | None = None,
) -> Matchup | None:
    """Write the matchup; None when the voter was already shown this pair on this prompt."""
    matchup = Matchup(
        leaderboard=leaderboard,
        prompt_id=candidate.prompt_id,
        left_id=candidate.left_output_id,
        right_id=candidate.right_output_id,
        model_low=candidate.model_low,
        model_high=candidate.model_high,
        voter=voter,
        gold=gold,
        issued_at=now,
        expires_at=now + matchup_ttl(),
    )
    try:
        # A pair shown before is skipped by the insert itself (ON CONFLICT DO NOTHING), so
        # this raises only for a voter row that is gone (an operator deleted it), and only in
        # autocommit: inside a caller's transaction the foreign key is checked at its commit.
        written = statements.matchup_insert(matchup)
    except IntegrityError:
        if not Voter.objects.filter(pk=voter.pk).exists():
            raise VoterUnknown(f"voter {voter.pk} does not exist", code="voter_unknown") from None
        raise
    # Not written: shown before (a concurrent request of this voter took the pair).
    return matchup if written else None


NEWCOMER_GOLD_SHARE = 0.25
"""The chance of a gold check for a voter with fewer than two gold answers, when golds are on."""


def _gold_possible(roll: float) -> bool:
    """Whether a request that drew `roll` (uniform in [0, 1)) may get a gold check: below the
    gold share it may, and below `NEWCOMER_GOLD_SHARE` if the voter is a newcomer."""
    share = settings.VERSUS_GOLD_SHARE_PERCENT / 100.0
    return share > 0 and roll < max(share, NEWCOMER_GOLD_SHARE)


def _gold_issue(
    *, leaderboard: Leaderboard, voter: Voter, now: datetime, rng: random.Random, roll: float
) -> Matchup | None:
    """Now and then, a known-answer matchup the voter has not had; more often for newcomers.

    `roll` is the request's draw (`_gold_possible`)."""
    if not _gold_possible(roll):
        return None
    share = settings.VERSUS_GOLD_SHARE_PERCENT / 100.0
    had = Matchup.objects.filter(voter=voter, gold__isnull=False).values("gold_id")
    # A gold check is served under the same rules as any pair: both models still active on
    # this board's benchmark (a deactivated model is never shown again).
    golds = GoldMatchup.objects.filter(
        leaderboard=leaderboard,
        is_active=True,
        left__model__is_active=True,
        right__model__is_active=True,
        left__model__benchmark_id=leaderboard.benchmark_id,
        right__model__benchmark_id=leaderboard.benchmark_id,
    ).exclude(pk__in=had)
    if roll >= share:
        # Only a newcomer gets a check on this roll: measure their trust early. The test
        # rides in the golds query, so the voter row is not read on every request.
        golds = golds.filter(Exists(Voter.objects.filter(pk=voter.pk, gold_seen__lt=2)))
    golds = list(golds.select_related("left", "right", "prompt")[:20])
    rng.shuffle(golds)
    for gold in golds:
        left, right = gold.left, gold.right
        if not (left.prompt_id == right.prompt_id == gold.prompt_id) or (
            left.model_id == right.model_id
        ):
            continue
        # Prompt tags are JSON lists: checked here, as `_still_valid` checks queued pairs.
        if not leaderboard.allows_tags(list(gold.prompt.tags or [])):
            continue
        if rng.random() < 0.5:
            left, right = right, left
        candidate = Candidate(
            prompt_id=gold.prompt_id,
            left_output_id=left.pk,
            right_output_id=right.pk,
            model_low=min(left.model_id, right.model_id),
            model_high=max(left.model_id, right.model_id),
        )
        matchup = _matchup_create(leaderboard, voter, candidate, now=now, gold=gold)
        if matchup is not None:
            # What the voter is shown, already read with the gold: no query per side.
            matchup.left, matchup.right, matchup.prompt = left, right, gold.prompt
            return matchup
    return None


# --- Votes --------------------------------------------------------------------------------


def _gold_expected(matchup: Matchup, gold: GoldMatchup) -> str:
    """The gold answer in the matchup's own left/right, which may be swapped."""
    expected = gold.expected
    if matchup.left_id == gold.right_id:
        swap = {Vote.Choice.LEFT: Vote.Choice.RIGHT, Vote.Choice.RIGHT: Vote.Choice.LEFT}
        expected = swap.get(expected, expected)  # type: ignore[call-overload]
    return str(expected)


def trust_from(*, gold_seen: int, gold_correct: int) -> float:
    """A voter's trust from their gold answers: 1.0 with none, falling with wrong answers."""
    return (gold_correct + TRUST_PRIOR) / (gold_seen + TRUST_PRIOR)


VOTE_CHOICES = frozenset(Vote.Choice.values)
"""`Vote.Choice.values`, which builds a list on every read."""

# What `vote_record` reads with the locked matchup: every leaderboard and benchmark field, for
# the next matchup of that board. The outputs (model ids and names) and a gold matchup are read
# apart: PostgreSQL plans a join of eight tables in about 1.4 ms of CPU on every vote, against
# 0.6 ms for the four tables here plus the small outputs query.
_VOTE_FIELDS = (
    "id",
    "leaderboard_id",
    "prompt_id",
    "left_id",
    "right_id",
    "voter_id",
    "gold_id",
    "issued_at",
    "expires_at",
    "closed_at",
    "voter__id",
    "voter__trust",
    "voter__is_flagged",
    *(f"leaderboard__{f.name}" for f in Leaderboard._meta.concrete_fields),
    *(f"leaderboard__benchmark__{f.name}" for f in Benchmark._meta.concrete_fields),
)


def _vote_excluded(*, trust: float, flagged: bool, view_ms: int) -> str:
    """Why a vote (not a gold check) is left out of the ratings; "" when it counts.

    `statements.vote_cast` states the same rule in SQL."""
    if flagged:
        return str(Vote.Excluded.FLAGGED)
    if trust < trust_threshold():
        return str(Vote.Excluded.LOW_TRUST)
    if view_ms < min_view_ms():
        return str(Vote.Excluded.TOO_FAST)
    return str(Vote.Excluded.COUNTED)


def vote_exclusion_moves(votes: QuerySet[Vote]) -> list[tuple[QuerySet[Vote], str]]:
    """Moves for `votes_relabel` that give stored `votes` the exclusion they had when cast
    (`_vote_excluded`'s rule, read from their voters' rows): a flagged voter's FLAGGED, a
    distrusted voter's LOW_TRUST, a hasty vote TOO_FAST, the rest counted. `votes` must
    filter on the exclusion being lifted, so that each move takes only what the earlier left."""
    return [
        (votes.filter(voter__is_flagged=True), Vote.Excluded.FLAGGED),
        (votes.filter(voter__trust__lt=trust_threshold()), Vote.Excluded.LOW_TRUST),
        (votes.filter(view_ms__lt=min_view_ms()), Vote.Excluded.TOO_FAST),
        (votes, Vote.Excluded.COUNTED),
    ]


def _view_ms(issued_at: datetime, now: datetime) -> int:
    """Whole milliseconds from `issued_at` to `now`, counted exactly (no float rounding)."""
    return max(0, (now - issued_at) // timedelta(milliseconds=1))


def vote_record(*, matchup_id: int, voter: Voter, choice: str, now: datetime | None = None) -> Vote:
    """Record `voter`'s answer to a matchup issued to them: once, before it expires.

    Server time only. Votes from a flagged or low-trust voter, faster than the minimum view
    time, or on a gold check are stored with their reason in `excluded` and left out of the
    ratings. The ratings refresh is queued after commit and never fails the vote.

    The vote comes back with its leaderboard and benchmark loaded (for the next matchup) and
    its two models' names, so describing it costs no further query. The common case, an open
    matchup without a gold check, goes the short way (`_vote_cast`); anything else goes the
    checked way, which says why a vote is refused.
    """
    if choice not in VOTE_CHOICES:
        allowed = ", ".join(repr(v) for v in Vote.Choice.values)
        raise Invalid(f"choice: {choice!r} is not allowed; use one of {allowed}", field="choice")
    now = now or timezone.now()
    vote = _vote_cast(matchup_id=matchup_id, voter=voter, choice=choice, now=now)
    if vote is None:
        with transaction.atomic():
            vote = _vote_record_checked(matchup_id=matchup_id, voter=voter, choice=choice, now=now)
    return vote


@dataclass(frozen=True)
class Voted:
    """What `vote_record_and_offer` answers."""

    vote: Vote
    next: Issued | None
    """The voter's next matchup, issued with the vote; None when the caller must issue it
    (`matchup_issue`, with `roll`)."""
    roll: float
    """The request's gold draw, for `matchup_issue`."""


def offer_ride(*, board_hint: int | None, roll: float) -> queue.Ride | None:
    """The pop a vote asking for its next matchup can make ahead, in another round trip
    (`queue.Ride`), or None when `vote_record_and_offer` would not pop: no hint, not
    PostgreSQL, or a request whose gold draw `roll` may bring a gold check (the caller then
    hands the same `roll` to `vote_record_and_offer`: one draw per request)."""
    return queue.Ride(board_hint) if _offers_with_vote(board_hint, roll) else None


def _offers_with_vote(board_hint: int | None, roll: float) -> bool:
    """Whether a vote can bring its next matchup in its own statement: a board to pop from,
    PostgreSQL, and a gold draw that cannot bring a gold check."""
    return board_hint is not None and connection.vendor == "postgresql" and not _gold_possible(roll)


def vote_record_and_offer(
    *,
    matchup_id: int,
    voter: Voter,
    choice: str,
    board_hint: int | None,
    now: datetime | None = None,
    roll: float | None = None,
    ride: queue.Ride | None = None,
) -> Voted:
    """`vote_record`, and the voter's next matchup with it when that is the common case.

    On PostgreSQL, with Redis, when the request names the board it was last issued a matchup
    of (`board_hint`) and this request cannot bring a gold check, a candidate is popped from
    that board's queue first (or was, with the rate limits: `ride`, from `offer_ride`) and the
    vote and the next matchup are written by one statement
    (`statements.vote_cast_and_offer`): one round trip to the database and one commit for
    both. If the vote was on another board, or the candidate is stale, seen or not needed
    (the voter has another open matchup), the candidate goes back or is dropped as
    `matchup_issue` would, and the caller issues the next matchup the general way. The vote
    itself is stored exactly as `vote_record` stores it, refusals included. `roll` is the
    request's gold draw if it was made already (`offer_ride`).
    """
    # Popped ahead (`offer_ride`, from `board_hint` with this `roll`), or popped here.
    popped = ride.taken() if ride is not None else None
    if roll is None:
        roll = random.random()
    eligible = choice in VOTE_CHOICES and _offers_with_vote(board_hint, roll)
    if popped is None and eligible:
        popped = queue.queue_pop(board_hint, count=1)
    if not eligible or popped is None or not popped[0]:
        if popped is not None:  # popped from the hinted board's queue, not used
            queue.queue_push_back(board_hint, popped[0])
        return Voted(
            vote_record(matchup_id=matchup_id, voter=voter, choice=choice, now=now), None, roll
        )
    candidates, left = popped
    _refill_if_low(board_hint, left)
    candidate = candidates[0]
    now = now or timezone.now()
    try:
        cast = statements.vote_cast_and_offer(
            matchup_id=matchup_id,
            voter=voter,
            choice=choice,
            now=now,
            excluding=_excluding(),
            board_id=board_hint,
            candidate=candidate,
            expires_at=now + matchup_ttl(),
        )
    except Exception:
        queue.queue_push_back(board_hint, [candidate])
        raise
    vote, offer = cast if cast is not None else (None, None)
    if offer is None:  # nothing written, or the vote was on another board: not offered
        queue.queue_push_back(board_hint, [candidate])
    if vote is None:
        # Not a plain vote on an open matchup of this voter: the checked way says why.
        with transaction.atomic():
            vote = _vote_record_checked(matchup_id=matchup_id, voter=voter, choice=choice, now=now)
        return Voted(vote, None, roll)
    _ratings_refresh_after_commit(vote.leaderboard_id)
    issued = None
    if offer is not None:
        issued = _issued_from(offer, leaderboard_id=board_hint, candidate=candidate)
    return Voted(vote, issued, roll)


def _vote_cast(*, matchup_id: int, voter: Voter, choice: str, now: datetime) -> Vote | None:
    """The short way of `vote_record`: None, having changed nothing, unless the matchup is
    this voter's, open, unexpired, no gold check, and on an active leaderboard.

    On PostgreSQL it is one statement (`statements.vote_cast`). Elsewhere (SQLite, in the
    same process, where a statement costs no round trip) the matchup is claimed and the vote
    inserted in one transaction, and the leaderboard read after.
    """
    if connection.vendor == "postgresql":
        vote = statements.vote_cast(
            matchup_id=matchup_id,
            voter=voter,
            choice=choice,
            now=now,
            excluding=_excluding(),
        )
        if vote is not None:
            _ratings_refresh_after_commit(vote.leaderboard_id)
        return vote
    with transaction.atomic():
        claim = statements.matchup_claim(matchup_id=matchup_id, voter_id=voter.pk, now=now)
        if claim is None:
            return None
        view_ms = _view_ms(claim.issued_at, now)
        return _vote_store(
            matchup_id=matchup_id,
            claim=claim,
            leaderboard=statements.leaderboard_read(claim.leaderboard_id),
            voter=voter,
            choice=choice,
            now=now,
            view_ms=view_ms,
            excluded=_vote_excluded(
                trust=claim.voter_trust, flagged=claim.voter_flagged, view_ms=view_ms
            ),
        )


def _vote_store(
    *,
    matchup_id: int,
    claim: statements.Claim,
    leaderboard: Leaderboard | None,
    voter: Voter,
    choice: str,
    now: datetime,
    view_ms: int,
    excluded: str,
) -> Vote:
    """Insert the vote on a matchup this transaction closed; the vote as `vote_record`
    answers it. The checked way, and the short way off PostgreSQL, end here."""
    vote = Vote(
        matchup_id=matchup_id,
        leaderboard=leaderboard,
        prompt_id=claim.prompt_id,
        left_model=claim.left_model,
        right_model=claim.right_model,
        choice=choice,
        voter=voter,
        created=now,
        view_ms=view_ms,
        excluded=excluded,
    )
    try:
        # No savepoint: on a clash the whole transaction is rolled back as the error goes up.
        statements.vote_insert(vote)
    except IntegrityError:
        raise Conflict(
            f"matchup {matchup_id} already has your vote", code="already_voted"
        ) from None
    _ratings_refresh_after_commit(claim.leaderboard_id)
    return vote


def _ratings_refresh_after_commit(leaderboard_id: int) -> None:
    from evaluation.tasks import ratings_refresh_soon

    transaction.on_commit(lambda: ratings_refresh_soon(leaderboard_id))


def _vote_record_checked(*, matchup_id: int, voter: Voter, choice: str, now: datetime) -> Vote:
    """`vote_record` the long way: the matchup read under lock, every refusal explained, and
    gold checks scored. Runs inside `vote_record`'s transaction."""
    # The row lock serialises concurrent votes on one matchup: the first closes it, the others
    # then see it closed. The one-to-one column on Vote is the backstop. The voter's trust
    # and flag, the board (and its benchmark, for the next matchup) come in the same query,
    # read fresh; only the matchup row is locked.
    matchup = (
        Matchup.objects.select_for_update(of=("self",))
        .select_related("leaderboard__benchmark", "voter")
        .only(*_VOTE_FIELDS)
        .filter(pk=matchup_id, voter_id=voter.pk)
        .first()
    )
    if matchup is None:
        raise NotFound(f"matchup {matchup_id} was not issued to you", code="matchup_not_found")
    if matchup.closed_at is not None:
        if Vote.objects.filter(matchup_id=matchup.pk).exists():
            raise Conflict(
                f"matchup {matchup_id} already has your vote; ask for the next matchup",
                code="already_voted",
            )
        raise Gone(f"matchup {matchup_id} was closed without a vote", code="matchup_closed")
    if matchup.expires_at <= now:
        raise Gone(
            f"matchup {matchup_id} expired at {matchup.expires_at.isoformat()}; "
            "ask for the next matchup",
            code="matchup_expired",
        )
    leaderboard = matchup.leaderboard
    if not leaderboard.is_active:
        raise Gone(f"leaderboard {leaderboard.pk} takes no more votes", code="leaderboard_closed")

    # The two models, with their names for a board that reveals them after the vote.
    models = {
        output_id: Model.from_db(DEFAULT_DB_ALIAS, ["id", "name"], [model_id, name])
        for output_id, model_id, name in Output.objects.filter(
            pk__in=(matchup.left_id, matchup.right_id)
        )
        .values_list("pk", "model_id", "model__name")
        .order_by()
    }
    view_ms = _view_ms(matchup.issued_at, now)
    if matchup.gold_id is not None:
        locked = Voter.objects.select_for_update().get(pk=voter.pk)
        locked.gold_seen += 1
        if choice == _gold_expected(matchup, matchup.gold):
            locked.gold_correct += 1
        was_trusted = locked.trust >= trust_threshold()
        locked.trust = trust_from(gold_seen=locked.gold_seen, gold_correct=locked.gold_correct)
        locked.save(update_fields=["gold_seen", "gold_correct", "trust"])
        if was_trusted != (locked.trust >= trust_threshold()):
            # Across the threshold: the voter's earlier votes follow their trust now. Rare
            # (a gold answer that moves trust over the line), so done here, in the vote's
            # transaction, rather than left to a task that a dead broker would lose.
            voter_trust_apply(voter_id=voter.pk)
        for target in (voter, matchup.voter):
            target.gold_seen, target.gold_correct, target.trust = (
                locked.gold_seen,
                locked.gold_correct,
                locked.trust,
            )
        excluded = str(Vote.Excluded.GOLD)
    else:
        excluded = _vote_excluded(
            trust=matchup.voter.trust, flagged=matchup.voter.is_flagged, view_ms=view_ms
        )

    matchup.closed_at = now
    matchup.save(update_fields=["closed_at"])
    claim = statements.Claim(
        leaderboard_id=leaderboard.pk,
        prompt_id=matchup.prompt_id,
        left_model=models[matchup.left_id],
        right_model=models[matchup.right_id],
        issued_at=matchup.issued_at,
        voter_trust=matchup.voter.trust,
        voter_flagged=matchup.voter.is_flagged,
    )
    return _vote_store(
        matchup_id=matchup_id,
        claim=claim,
        leaderboard=leaderboard,
        voter=voter,
        choice=choice,
        now=now,
        view_ms=view_ms,
        excluded=excluded,
    )


@transaction.atomic
def output_report(
    *, matchup_id: int, voter: Voter, side: str, reason: str = "", now: datetime | None = None
) -> OutputReport:
    """Report one output of a matchup issued to `voter` as broken or wrong.

    An unvoted matchup is closed, so the voter moves on to another pair; a second report of the
    same output by the same voter returns the first.
    """
    if side not in {"left", "right"}:
        raise Invalid(f"side: {side!r} is not allowed; use 'left' or 'right'", field="side")
    # The voting page's plain form posts the reason unchecked (the API's serializer refuses NUL).
    reason = nul_check((reason or "").strip(), field="reason")
    if len(reason) > MAX_REPORT_REASON:
        raise Invalid(
            f"reason: {len(reason)} characters; at most {MAX_REPORT_REASON} allowed",
            field="reason",
        )
    now = now or timezone.now()
    matchup = Matchup.objects.select_for_update().filter(pk=matchup_id, voter_id=voter.pk).first()
    if matchup is None:
        raise NotFound(f"matchup {matchup_id} was not issued to you", code="matchup_not_found")
    output_id = matchup.left_id if side == "left" else matchup.right_id
    report = OutputReport.objects.filter(output_id=output_id, voter=voter).first()
    if report is None:
        report = OutputReport.objects.create(
            output_id=output_id, voter=voter, reason=reason, created=now
        )
    if matchup.closed_at is None:
        matchup.closed_at = now
        matchup.save(update_fields=["closed_at"])
    return report


def _excluding() -> statements.Excluding:
    """The settings `statements` decides a plain vote's `excluded` by."""
    return statements.Excluding(trust_threshold=trust_threshold(), min_view_ms=min_view_ms())


def trust_threshold() -> float:
    """The trust below which a voter's votes are left out of the ratings (0..1)."""
    return float(settings.VERSUS_TRUST_THRESHOLD_PERCENT) / 100.0


def min_view_ms() -> int:
    """Votes cast sooner than this after the matchup was served are left out of the ratings."""
    return int(settings.VERSUS_MIN_VIEW_MS)


def _voter_votes_relabel(voter: Voter, *, lift: str) -> int:
    """Give `voter`'s votes the exclusion their flag and trust call for now; return how many
    changed, and queue a ratings refresh of each board they changed on after commit.

    Flagged: counted and low-trust votes become FLAGGED. Else, under the trust threshold:
    counted votes and those excluded for `lift` become LOW_TRUST. Else votes excluded for
    `lift` count again, except those faster than the minimum view time (TOO_FAST, the reason
    they would have had when cast). Votes excluded for the vote's own sake (gold check, too
    fast, an operator's exclusion) are never touched. The caller holds the voter's row lock.
    """
    votes = Vote.objects.filter(voter_id=voter.pk)
    counted = Vote.Excluded.COUNTED
    moves: list[tuple[Any, str]]
    if voter.is_flagged:
        moves = [
            (votes.filter(excluded__in=[counted, Vote.Excluded.LOW_TRUST]), Vote.Excluded.FLAGGED)
        ]
    elif voter.trust < trust_threshold():
        lowered = {counted, lift} - {Vote.Excluded.LOW_TRUST}
        moves = [(votes.filter(excluded__in=lowered), Vote.Excluded.LOW_TRUST)]
    else:
        moves = vote_exclusion_moves(votes.filter(excluded=lift))
    from evaluation.services.ratings import votes_relabel
    from evaluation.tasks import ratings_refresh_soon

    # Setting `excluded` is all it takes: the rater takes a counted vote out of the pair
    # counters (or puts it back) on its next run, as for an operator's exclusion.
    changed, boards = votes_relabel(moves)

    for leaderboard_id in boards:
        transaction.on_commit(lambda pk=leaderboard_id: ratings_refresh_soon(pk))
    return changed


def _voter_locked(voter_id: int) -> Voter:
    voter = Voter.objects.select_for_update().filter(pk=voter_id).first()
    if voter is None:
        raise NotFound(f"voter {voter_id} does not exist", code="voter_not_found")
    return voter


@transaction.atomic
def voter_flag(*, voter_id: int, flagged: bool = True) -> int:
    """Flag a voter as abusive (or lift the flag); return how many of their votes changed.

    Flagging leaves every vote they cast out of the ratings, not only later ones: their
    counted votes are relabelled FLAGGED. Unflagging counts again the votes excluded for that
    reason only (unless the voter's trust or the vote's view time excludes them on its own);
    votes excluded for any other reason stay excluded. Safe to repeat: a second flag catches a
    vote that raced with the first.
    """
    voter = _voter_locked(voter_id)
    if voter.is_flagged != flagged:
        voter.is_flagged = flagged
        voter.save(update_fields=["is_flagged"])
    return _voter_votes_relabel(voter, lift=Vote.Excluded.FLAGGED)


@transaction.atomic
def voter_trust_apply(*, voter_id: int) -> int:
    """Bring a voter's past votes in line with their trust now; return how many changed.

    Trust moves only with gold answers (in `vote_record`). When it falls below the threshold
    the voter's counted votes are relabelled LOW_TRUST, as if every vote had been cast at that
    trust: the gold checks say their judgement is not to be relied on, and that holds for their
    earlier votes as much as for their later ones. When right answers bring it back over the
    threshold, the votes excluded for low trust count again. A flagged voter's votes stay
    FLAGGED whatever their trust.
    """
    return _voter_votes_relabel(_voter_locked(voter_id), lift=Vote.Excluded.LOW_TRUST)


# --- The queue ----------------------------------------------------------------------------


def matchups_refill(*, leaderboard_id: int, seed: int | None = None) -> int | None:
    """Choose a fresh batch of candidate pairs for a leaderboard and swap it into its queue.

    Runs under the leaderboard's refill lock; returns the batch size, or None when another
    refill holds the lock or there is no Redis to fill. An inactive or missing leaderboard gets
    an empty queue.
    """
    lock = queue.RefillLock(leaderboard_id)
    if not lock.acquire():
        return None
    try:
        leaderboard = (
            Leaderboard.objects.select_related("benchmark").filter(pk=leaderboard_id).first()
        )
        candidates: list[Candidate] = []
        if leaderboard is not None and leaderboard.is_active:
            board = board_state_get(leaderboard=leaderboard)
            picks = select_pairs(
                has_output=board.has_output,
                theta=board.theta,
                cov=board.cov,
                component=board.component,
                model_votes=board.model_votes,
                prompt_use=board.prompt_use,
                batch_size=settings.VERSUS_QUEUE_SIZE,
                rng=np.random.default_rng(seed),
            )
            candidates = _candidates_from_picks(board, picks)
        if not queue.queue_swap(leaderboard_id, candidates):
            return None
        return len(candidates)
    finally:
        lock.release()


def queue_refill_soon(leaderboard_id: int) -> None:
    """Ask the matchmaker for a refill unless one is already queued; never raises."""
    if not queue.refill_claim(leaderboard_id, seconds=30):
        return
    from matchmaking.tasks import matchups_refill_task

    try:
        matchups_refill_task.delay(leaderboard_id)
    except Exception:  # the broker may be down: the beat refill and direct choices cover it
        logger.warning("could not queue a matchup refill for %s", leaderboard_id, exc_info=True)
        queue.refill_unclaim(leaderboard_id)


def benchmark_changed(*, benchmark_id: int) -> None:
    """A model was added or changed on a benchmark: refill every leaderboard's queue now.

    Called from `transaction.on_commit` by model submission; never raises.
    """
    try:
        ids = list(
            Leaderboard.objects.filter(benchmark_id=benchmark_id, is_active=True).values_list(
                "pk", flat=True
            )
        )
        for leaderboard_id in ids:
            queue.refill_unclaim(leaderboard_id)  # a pending refill may predate the model
            queue_refill_soon(leaderboard_id)
    except Exception:
        logger.warning("could not refill queues of benchmark %s", benchmark_id, exc_info=True)


def leaderboards_due_refill(*, now: datetime | None = None) -> list[int]:
    """Active leaderboards to refill on the beat: voted on lately, or with a short queue.

    A board nobody voted on for `VERSUS_QUEUE_IDLE_SECONDS` keeps its queue until it runs low:
    its ratings have not moved, so a new batch would be the same.
    """
    now = now or timezone.now()
    idle = timedelta(seconds=settings.VERSUS_QUEUE_IDLE_SECONDS)
    ids = list(
        Leaderboard.objects.filter(is_active=True, benchmark__models__is_active=True)
        .distinct()
        .values_list("pk", flat=True)
    )
    busy = set(
        Matchup.objects.filter(leaderboard_id__in=ids, issued_at__gte=now - idle)
        .values_list("leaderboard_id", flat=True)
        .distinct()
    )
    low = settings.VERSUS_QUEUE_LOW
    return [pk for pk in ids if pk in busy or (queue.queue_length(pk) or 0) < low]
