"""The per-leaderboard Redis queue of candidate matchups, and a breaker for a dead Redis.

Redis holds only candidates the Celery matchmaker computed from the database; losing them costs
a refill, never a vote. Every function here answers "no queue" instead of raising when Redis is
missing (embedded mode) or unreachable, and after a failure Redis is left alone for
`BREAKER_SECONDS` in this process, so a dead Redis costs voters one timeout per process and
interval instead of one per request.

A candidate is the string ``"prompt:left_output:right_output:model_low:model_high"``: the
model ids let the web process skip pairs a voter judged without a query per candidate.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from functools import cache as memoize
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

BREAKER_SECONDS = 5.0
"""How long this process leaves Redis alone after a connection error."""

QUEUE_TTL_SECONDS = 24 * 3600
"""A queue nobody reads expires; the next visitor gets a direct choice and a refill."""

_down_until = 0.0


@dataclass(frozen=True)
class Candidate:
    """One queued matchup: a prompt and two outputs, left and right already shuffled."""

    prompt_id: int
    left_output_id: int
    right_output_id: int
    model_low: int
    model_high: int

    @property
    def pair(self) -> tuple[int, int, int]:
        """(prompt, smaller model, larger model): what a voter must not be shown twice."""
        return (self.prompt_id, self.model_low, self.model_high)

    def encode(self) -> str:
        return (
            f"{self.prompt_id}:{self.left_output_id}:{self.right_output_id}:"
            f"{self.model_low}:{self.model_high}"
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> Candidate | None:
        """The candidate in `raw`, or None for anything malformed (skipped, never served)."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            prompt, left, right, low, high = (int(part) for part in text.split(":"))
        except ValueError:
            return None
        return cls(prompt, left, right, low, high)


def queue_key(leaderboard_id: int) -> str:
    return f"versus:mm:{leaderboard_id}:queue"


def _lock_key(leaderboard_id: int) -> str:
    return f"versus:mm:{leaderboard_id}:refill-lock"


def _pending_key(leaderboard_id: int) -> str:
    return f"versus:mm:{leaderboard_id}:refill-pending"


@memoize
def _client_for(url: str) -> Any:
    import redis

    # Short timeouts: a voter waits on this, and a direct choice is always possible.
    return redis.Redis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.5)


def redis_client() -> Any | None:
    """The queue's Redis client, or None in embedded mode or while the breaker is open."""
    url = getattr(settings, "VERSUS_QUEUE_REDIS_URL", "") or getattr(settings, "REDIS_URL", "")
    if not url or time.monotonic() < _down_until:
        return None
    return _client_for(url)


def redis_failed(what: str) -> None:
    """Note a Redis failure: log it and open the breaker for `BREAKER_SECONDS`."""
    global _down_until
    _down_until = time.monotonic() + BREAKER_SECONDS
    logger.warning("matchmaking queue: Redis unavailable (%s); choosing directly", what)


def breaker_open() -> bool:
    """Whether Redis failed in this process within the last `BREAKER_SECONDS`."""
    return time.monotonic() < _down_until


def breaker_reset() -> None:
    """Close the breaker (tests, and a worker that knows Redis is back)."""
    global _down_until
    _down_until = 0.0


def _errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError)


def queue_pop(leaderboard_id: int, *, count: int) -> tuple[list[Candidate], int] | None:
    """Pop up to `count` candidates from the head and say how many are left.

    None when there is no queue to read (embedded mode, Redis down); an empty list when the
    queue is empty.
    """
    client = redis_client()
    if client is None:
        return None
    try:
        # One round trip; no MULTI: the length only tells whether to ask for a refill.
        with client.pipeline(transaction=False) as pipe:
            pipe.lpop(queue_key(leaderboard_id), count)
            pipe.llen(queue_key(leaderboard_id))
            raw, left = pipe.execute()
    except _errors():
        redis_failed("pop")
        return None
    return _popped(raw, left)


def _popped(raw: list[Any] | None, left: Any) -> tuple[list[Candidate], int]:
    """LPOP's and LLEN's answers as `queue_pop` gives them (malformed items skipped)."""
    return [c for c in (Candidate.decode(item) for item in raw or []) if c is not None], int(left)


@dataclass
class Ride:
    """A pop of one candidate from a board's queue, sent with another command (the rate
    limits' script, see `throttles`) to save its own round trip: the sender pops from `key`
    and hands the answers to `take`; `give_back` returns an unused candidate to the head."""

    leaderboard_id: int
    popped: tuple[list[Candidate], int] | None = None
    """As `queue_pop` answers, once taken; None until then (or if the command failed)."""

    @property
    def key(self) -> str:
        """The queue to pop from."""
        return queue_key(self.leaderboard_id)

    def take(self, answers: list[Any]) -> None:
        """Read the pop's two answers: LPOP's (up to one candidate) and LLEN's."""
        self.popped = _popped(*answers)

    def taken(self) -> tuple[list[Candidate], int] | None:
        """What was popped, now the caller's to use or push back (`give_back` has nothing
        left to return)."""
        popped = self.popped
        if popped is not None:
            self.popped = ([], popped[1])
        return popped

    def give_back(self) -> None:
        """Return what was popped and not used (a request refused after the pop)."""
        popped = self.taken()
        if popped is not None:
            queue_push_back(self.leaderboard_id, popped[0])


def queue_push_back(leaderboard_id: int, candidates: list[Candidate]) -> None:
    """Return unused candidates to the head, in their order, for the next voter."""
    _push(leaderboard_id, candidates, at_head=True)


def queue_push_tail(leaderboard_id: int, candidates: list[Candidate]) -> None:
    """Send candidates a voter was shown before to the back of the queue, in their order,
    for a later voter: back at the head, the same voter would pop them again first on every
    request (alone on a board, until a refill)."""
    _push(leaderboard_id, candidates, at_head=False)


def _push(leaderboard_id: int, candidates: list[Candidate], *, at_head: bool) -> None:
    client = redis_client()
    if client is None or not candidates:
        return
    try:
        if at_head:
            # LPUSH prepends one at a time, so push in reverse to keep the original order.
            client.lpush(queue_key(leaderboard_id), *[c.encode() for c in reversed(candidates)])
        else:
            client.rpush(queue_key(leaderboard_id), *[c.encode() for c in candidates])
    except _errors():
        redis_failed("push back" if at_head else "push to the back")


def queue_length(leaderboard_id: int) -> int | None:
    """Candidates waiting, or None without a reachable Redis."""
    client = redis_client()
    if client is None:
        return None
    try:
        return int(client.llen(queue_key(leaderboard_id)))
    except _errors():
        redis_failed("length")
        return None


def queue_swap(leaderboard_id: int, candidates: list[Candidate]) -> bool:
    """Replace the queue with `candidates` in one step; False when Redis is unavailable.

    The batch is written to a fresh key and renamed over the queue inside MULTI/EXEC, so a
    voter pops from the old batch or the new one, never from a half-written list.
    """
    client = redis_client()
    if client is None:
        return False
    key = queue_key(leaderboard_id)
    try:
        with client.pipeline(transaction=True) as pipe:
            if candidates:
                staging = f"{key}:next:{uuid.uuid4().hex}"
                pipe.rpush(staging, *[c.encode() for c in candidates])
                pipe.expire(staging, QUEUE_TTL_SECONDS)
                pipe.rename(staging, key)
            else:
                pipe.delete(key)
            pipe.execute()
    except _errors():
        redis_failed("swap")
        return False
    return True


def refill_claim(leaderboard_id: int, *, seconds: int) -> bool:
    """Mark a refill as queued; False when one already is (or Redis is unavailable)."""
    client = redis_client()
    if client is None:
        return False
    try:
        return bool(client.set(_pending_key(leaderboard_id), 1, nx=True, ex=seconds))
    except _errors():
        redis_failed("refill mark")
        return False


def refill_unclaim(leaderboard_id: int) -> None:
    """Clear the queued-refill mark, so the next low queue asks again."""
    client = redis_client()
    if client is None:
        return
    try:
        client.delete(_pending_key(leaderboard_id))
    except _errors():
        redis_failed("refill unmark")


class RefillLock:
    """The leaderboard's refill lock: ``SET NX EX`` with a token, released only by its holder.

    Without Redis there is no queue to protect, so the lock is "held" and the refill is a no-op.
    """

    def __init__(self, leaderboard_id: int, *, seconds: int = 60) -> None:
        self.key = _lock_key(leaderboard_id)
        self.seconds = seconds
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire(self) -> bool:
        client = redis_client()
        if client is None:
            return False
        try:
            self.held = bool(client.set(self.key, self.token, nx=True, ex=self.seconds))
        except _errors():
            redis_failed("lock")
            self.held = False
        return self.held

    def release(self) -> None:
        if not self.held:
            return
        client = redis_client()
        if client is None:
            return
        import redis

        try:
            # Compare-and-delete under WATCH: an expired holder must not free a successor's lock.
            with client.pipeline(transaction=True) as pipe:
                pipe.watch(self.key)
                if pipe.get(self.key) == self.token.encode():
                    pipe.multi()
                    pipe.delete(self.key)
                    pipe.execute()
                else:
                    pipe.unwatch()
        except redis.WatchError:
            pass  # someone took the expired lock meanwhile; it is theirs now
        except _errors():
            redis_failed("unlock")
        self.held = False
