"""Per-voter and per-IP rate limits of the voting endpoints (a DRF throttle, 429 + Retry-After).

The rates come from settings (`VERSUS_RATE_VOTER`, `VERSUS_RATE_IP`, e.g. ``"60/min"``; empty
turns a limit off) and apply per endpoint, named by the view's `throttle_scope`. The voting
page, a plain Django view, counts in the same counters through `request_wait`: its GET (which
issues a matchup, and creates a voter for a browser without one) as ``next``, its form POSTs
as ``vote`` and ``report``, so a voter has one budget whether they vote by API, by script or
by form. With Redis
both limits are fixed-window counters checked together by one Lua script, one command and one
round trip (Redis 7 or newer, for EXPIRE NX; one server, not a cluster, whose shards would
each need all of a script's keys), which a view can give a queue pop to carry (`limit_rider`,
a `queue.Ride`); without it (embedded mode) each is DRF's own sliding window in the Django
cache. When Redis is
unreachable the limits let requests through: a dead Redis must not stop votes, which are bound
to issued matchups anyway.
"""

from __future__ import annotations

import logging
import math
from functools import cache as memoize
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from matchmaking import queue
from matchmaking.identity import cookie_voter_id

logger = logging.getLogger(__name__)


class _Limit(SimpleRateThrottle):
    """One limit of one endpoint: a rate from a setting, counted per `ident`."""

    def __init__(self, *, setting: str, scope: str, ident: str) -> None:
        self.rate = getattr(settings, setting, "") or None
        self.scope = f"{scope}-{setting}"
        self.ident = ident
        if self.rate is not None:
            self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


def voter_ident(request: Any, ip_ident: str) -> str:
    """Who a per-voter limit counts: the logged-in user, else the voter cookie, else the IP."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    known = cookie_voter_id(request)
    return f"voter-{known[0]}" if known else f"ip-{ip_ident}"


_LIMITS = """
local out = {}
for i, seconds in ipairs(ARGV) do
  out[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], seconds, 'NX')
end
local queue = KEYS[#ARGV + 1]
if queue then
  out[#ARGV + 1] = redis.call('LPOP', queue, 1) or {}
  out[#ARGV + 2] = redis.call('LLEN', queue)
end
return out
"""
"""Each limit's counter (KEYS[i], its window ARGV[i] seconds): INCR, then EXPIRE NX, so the
first request of a window starts its clock. A script runs whole on the server, so no lost
connection can come between the two; a counter without a clock (left by the pipeline this
replaced, which could lose its connection in between) gets one from the next request. A key
after the counters' is a queue to pop from (`queue.Ride`): up to one candidate from its head,
and how many are left."""


@memoize
def _limits_script(client: Any) -> Any:
    """`_LIMITS` as a script of `client` (run by its SHA1; redis-py loads it again when Redis
    answers NOSCRIPT, after a restart)."""
    return client.register_script(_LIMITS)


class VotingRateThrottle(BaseThrottle):
    """Requests per voter (`VERSUS_RATE_VOTER`) and per client IP (`VERSUS_RATE_IP`, read from
    REMOTE_ADDR, or X-Forwarded-For behind `NUM_PROXIES` trusted proxies) and endpoint."""

    def allow_request(self, request: Any, view: Any) -> bool:
        self._wait: float | None = None
        scope = getattr(view, "throttle_scope", "voting")
        ip = self.get_ident(request)
        limits = [
            limit
            for limit in (
                _Limit(setting="VERSUS_RATE_VOTER", scope=scope, ident=voter_ident(request, ip)),
                _Limit(setting="VERSUS_RATE_IP", scope=scope, ident=f"ip-{ip}"),
            )
            if limit.rate is not None
        ]
        if not limits:
            return True
        client = queue.redis_client()
        if client is not None:
            return self._counted_in_redis(client, limits, request, view)
        if queue.breaker_open() and "redis" in settings.CACHES["default"]["BACKEND"].lower():
            return True
        try:
            for limit in limits:
                if not limit.allow_request(request, view):
                    self._wait = limit.wait()
                    return False
        except Exception:  # the cache is down: let the request through
            logger.warning("rate limit cache unavailable", exc_info=True)
        return True

    def _counted_in_redis(self, client: Any, limits: list[_Limit], request: Any, view: Any) -> bool:
        """Fixed-window counters, all in one command (DRF's throttle makes two round trips per
        limit): `_LIMITS`. Only a refused request asks how long its window has left."""
        keys = [f"versus:{limit.get_cache_key(request, view)}" for limit in limits]
        durations = [limit.duration for limit in limits]
        # A view may send a queue pop along (`limit_rider`): one command for both.
        rider = getattr(view, "limit_rider", None)
        ride = rider(request) if rider is not None else None
        try:
            popping = [ride.key] if ride is not None else []
            answers = _limits_script(client)(keys=keys + popping, args=durations, client=client)
            counts = answers[: len(limits)]
            if ride is not None:
                ride.take(answers[len(limits) :])
            over = [
                key
                for key, limit, count in zip(keys, limits, counts, strict=True)
                if int(count) > limit.num_requests
            ]
            if over:
                if ride is not None:
                    ride.give_back()
                self._wait = float(max(max(int(client.ttl(key)), 1) for key in over))
        except Exception:  # Redis is down: let the request through
            queue.redis_failed("rate limit")
            return True
        return not over

    def wait(self) -> float | None:
        return self._wait


def request_wait(request: Any, *, scope: str) -> int | None:
    """The voting limits for a view outside DRF (the voting page): None when `request` may go
    on, else the whole seconds to wait (for Retry-After). Counts `request` against `scope`'s
    counters, the ones the API view with that `throttle_scope` uses."""
    throttle = VotingRateThrottle()
    if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
