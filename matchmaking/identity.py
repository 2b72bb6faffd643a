"""Who is voting: the voter behind a request's logged-in user or anonymous browser session."""

from __future__ import annotations

from typing import Any

from matchmaking.models import Voter
from matchmaking.services import voter_get_or_create

SESSION_FLAG = "versus_voter"


def voter_of(request: Any) -> Voter:
    """The request's voter, creating the browser session (and its cookie) when there is none."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return voter_get_or_create(user=user)
    session = request.session
    if not session.get(SESSION_FLAG):
        # Marks the session modified, so the middleware sends the cookie with this response.
        session[SESSION_FLAG] = True
    if not session.session_key:
        session.save()
    return voter_get_or_create(session_key=session.session_key)
