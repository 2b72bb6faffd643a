"""Who is voting: the voter behind a request's logged-in user or anonymous browser.

An anonymous browser is known by a signed cookie that carries its voter's id (`VOTER_COOKIE`).
Reading it costs no database or Redis round trip, so a voting request needs no session at all,
and it works the same while Redis is down. The cookie is signed with ``SECRET_KEY`` (it cannot
be forged to vote as someone else), HttpOnly, and follows the session cookie's Secure and
SameSite settings. It is re-issued, and the voter's ``last_seen`` written, at most once per
`LAST_SEEN_EVERY`, so it lives `SESSION_COOKIE_AGE` past a voter's last visit.

Logged-in users vote as the voter bound to their account, whatever the cookie says.

A new voter records the network it came from (`network_key`): a keyed hash of its address's
/24 (IPv4) or /48 (IPv6), never the address, so that votes can be screened for a campaign of
one network for one model (`evaluation.services.screening`).

A second cookie (`BOARD_COOKIE`, plain) names the board of the last matchup a browser was
issued. It is a hint and nothing more: a vote that asks for the next matchup takes a candidate
from that board's queue before the vote says which board it is on, so that the vote and the
next matchup go to the database in one statement. A wrong or forged hint costs only that
shortcut (the candidate goes back to its queue).
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac
from rest_framework.throttling import BaseThrottle

from config.integers import ascii_int
from leaderboards.models import Leaderboard
from matchmaking.models import Voter
from matchmaking.services import (
    LAST_SEEN_EVERY,
    Issued,
    VoterUnknown,
    matchup_issue,
    voter_create,
    voter_get_or_create,
    voter_ref,
    voter_seen,
)

VOTER_COOKIE = "versus_voter"
BOARD_COOKIE = "versus_board"
_SALT = "versus.matchmaking.voter"
_CACHED = "_versus_voter"
_PENDING = "_versus_voter_cookie"
_COOKIE_READ = "_versus_voter_cookie_read"
_BOARD = "_versus_board"


def _http(request: Any) -> Any:
    """The Django request behind a DRF one (attributes set on it outlive the wrapper)."""
    return getattr(request, "_request", request)


NETWORK_PREFIX = {4: 24, 6: 48}
"""The prefix length that makes a network of an IPv4 or IPv6 address: what one household,
office or small provider block typically holds."""


def network_key(address: str) -> str:
    """A 16-hex-digit key of the network `address` is in (`NETWORK_PREFIX`), keyed with
    ``SECRET_KEY`` so that it names no address; empty for anything that is not an address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    network = ipaddress.ip_network(f"{ip}/{NETWORK_PREFIX[ip.version]}", strict=False)
    return salted_hmac("versus.matchmaking.network", str(network)).hexdigest()[:16]


def request_network(request: Any) -> str:
    """`network_key` of the client's address: REMOTE_ADDR, or X-Forwarded-For behind
    ``NUM_PROXIES`` trusted proxies (as the rate limits read it)."""
    return network_key(BaseThrottle().get_ident(_http(request)) or "")


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def _cookie_value(voter_id: int, now: float) -> str:
    return _signer().sign(f"{voter_id}.{int(now)}")


def cookie_voter_id(request: Any) -> tuple[int, float] | None:
    """The voter id and issue time in the request's voter cookie, or None (absent, forged,
    malformed or older than `SESSION_COOKIE_AGE`). The signature is checked once per request
    (the rate limits and the view both ask)."""
    http = _http(request)
    if not hasattr(http, _COOKIE_READ):
        setattr(http, _COOKIE_READ, _cookie_read(http.COOKIES.get(VOTER_COOKIE)))
    return getattr(http, _COOKIE_READ)


def _cookie_read(raw: str | None) -> tuple[int, float] | None:
    if not raw:
        return None
    try:
        voter_id, issued = _signer().unsign(raw).split(".")
        parsed = int(voter_id), float(issued)
    except (signing.BadSignature, ValueError):
        return None
    if time.time() - parsed[1] > settings.SESSION_COOKIE_AGE:
        return None
    return parsed


def voter_of(request: Any, *, renew: bool = False) -> Voter:
    """The request's voter, created (with its cookie) when the browser has none.

    For a returning anonymous browser this reads no row: the voter comes back with only its
    id loaded, and any other field is read from the database if someone asks for it.
    `renew` replaces a cookie whose voter no longer exists (an operator deleted it).
    """
    http = _http(request)
    cached = getattr(http, _CACHED, None)
    if cached is not None and not renew:
        return cached
    user = getattr(request, "user", None)
    now = time.time()
    if user is not None and user.is_authenticated:
        # The network's key is worked out only for a new voter, not on every request.
        voter = voter_get_or_create(user=user, network=lambda: request_network(http))
    else:
        known = None if renew else cookie_voter_id(http)
        if known is None:
            voter = voter_create(network=request_network(http))
            setattr(http, _PENDING, _cookie_value(voter.pk, now))
        else:
            voter_id, issued = known
            voter = voter_ref(voter_id)
            if now - issued > LAST_SEEN_EVERY.total_seconds():
                voter_seen(voter_id=voter_id)
                setattr(http, _PENDING, _cookie_value(voter_id, now))
    setattr(http, _CACHED, voter)
    return voter


def board_hint(request: Any) -> int | None:
    """The board named by the request's `BOARD_COOKIE`, or None (absent or malformed)."""
    return ascii_int(_http(request).COOKIES.get(BOARD_COOKIE))


def board_issued(request: Any, leaderboard_id: int) -> None:
    """Record that this request issued a matchup of `leaderboard_id` (see `voter_cookie_set`)."""
    setattr(_http(request), _BOARD, leaderboard_id)


def voter_cookie_set(request: Any, response: Any) -> Any:
    """Attach a new or refreshed voter cookie to `response`, if this request made one, and the
    board hint when this request issued a matchup of another board than the hint names."""
    http = _http(request)
    cookies = {VOTER_COOKIE: getattr(http, _PENDING, None)}
    board = getattr(http, _BOARD, None)
    if board is not None and board != board_hint(http):
        cookies[BOARD_COOKIE] = str(board)
    for name, value in cookies.items():
        if value is None:
            continue
        response.set_cookie(
            name,
            value,
            max_age=settings.SESSION_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
    return response


def matchup_issue_to(
    request: Any, leaderboard: Leaderboard, *, roll: float | None = None
) -> Issued:
    """`matchup_issue` for the request's voter; a browser whose voter was deleted gets a new
    voter (and cookie) instead of an error, as a browser with no cookie would. `roll` is the
    request's gold draw when it was made already (`services.vote_record_and_offer`)."""
    try:
        issued = matchup_issue(leaderboard=leaderboard, voter=voter_of(request), roll=roll)
    except VoterUnknown:
        issued = matchup_issue(
            leaderboard=leaderboard, voter=voter_of(request, renew=True), roll=roll
        )
    if issued.matchup is not None:
        board_issued(request, leaderboard.pk)
    return issued
