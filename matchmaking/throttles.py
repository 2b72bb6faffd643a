"""Per-voter and per-IP rate limits of the voting endpoints (DRF throttles, 429 + Retry-After).

The rates come from settings (`VERSUS_RATE_VOTER`, `VERSUS_RATE_IP`, e.g. ``"60/min"``; empty
turns a limit off) and apply per endpoint, named by the view's `throttle_scope`. With Redis the
count is a fixed window (one pipelined round trip per check); without it (embedded mode) DRF's
own sliding window in the Django cache. When Redis is unreachable the limits let requests
through: a dead Redis must not stop votes, which are bound to issued matchups anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from matchmaking import queue

logger = logging.getLogger(__name__)


class _VotingThrottle(SimpleRateThrottle):
    setting = ""

    def __init__(self) -> None:
        # The scope comes from the view, so the rate is read in allow_request.
        pass

    def _ident(self, request: Any) -> str:
        raise NotImplementedError

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self._ident(request)}

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = getattr(settings, self.setting, "") or None
        if self.rate is None:
            return True
        self.scope = f"{getattr(view, 'throttle_scope', 'voting')}-{self.setting}"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        client = queue.redis_client()
        if client is not None:
            return self._counted_in_redis(client, request, view)
        if queue.breaker_open() and "redis" in settings.CACHES["default"]["BACKEND"].lower():
            return True
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down: let the request through
            logger.warning("rate limit cache unavailable", exc_info=True)
            return True

    def _counted_in_redis(self, client: Any, request: Any, view: Any) -> bool:
        """A fixed-window counter in one round trip (DRF's own throttle makes two per check)."""
        key = f"versus:{self.get_cache_key(request, view)}"
        try:
            with client.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=self.duration, nx=True)
                pipe.incr(key)
                pipe.ttl(key)
                _, count, ttl = pipe.execute()
        except Exception:  # Redis is down: let the request through
            queue.redis_failed("rate limit")
            return True
        self._retry_after = float(max(int(ttl), 1))
        return int(count) <= self.num_requests

    def wait(self) -> float | None:
        retry = getattr(self, "_retry_after", None)
        return retry if retry is not None else super().wait()


class VoterRateThrottle(_VotingThrottle):
    """Requests per voter (logged-in user, else browser session, else IP) and endpoint."""

    setting = "VERSUS_RATE_VOTER"

    def _ident(self, request: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user-{user.pk}"
        key = request.session.session_key
        return f"session-{key}" if key else f"ip-{self.get_ident(request)}"


class IpRateThrottle(_VotingThrottle):
    """Requests per client IP and endpoint (REMOTE_ADDR, or X-Forwarded-For behind
    `NUM_PROXIES` trusted proxies)."""

    setting = "VERSUS_RATE_IP"

    def _ident(self, request: Any) -> str:
        return f"ip-{self.get_ident(request)}"
