"""Who votes: an anonymous browser by its signed voter cookie, a logged-in user by account."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.utils import timezone
from rest_framework.test import APIClient

from matchmaking.identity import VOTER_COOKIE
from matchmaking.models import Matchup, Voter
from tests.matchmaking.conftest import browser_client, next_matchup, open_page, vote

pytestmark = pytest.mark.django_db


def cookie_for(voter_id: int, *, issued: float) -> str:
    """A voter cookie as the server signs it, issued at `issued` (seconds since the epoch)."""
    return signing.Signer(salt="versus.matchmaking.voter").sign(f"{voter_id}.{int(issued)}")


def test_it_gives_a_new_browser_one_voter_and_a_signed_cookie(
    board: Any, voter_api: APIClient
) -> None:
    response = open_page(voter_api, board)
    voter = Voter.objects.get()
    assert voter.user is None
    assert voter.session_key  # a random key, never sent to the browser
    assert voter.session_key not in response.cookies[VOTER_COOKIE].value
    assert Matchup.objects.get().voter == voter


def test_it_knows_a_returning_browser_by_its_cookie(board: Any, voter_api: APIClient) -> None:
    first = next_matchup(voter_api, board).json()["id"]
    vote(voter_api, first)
    second = next_matchup(voter_api, board)
    assert Voter.objects.count() == 1
    assert Matchup.objects.get(pk=second.json()["id"]).voter == Voter.objects.get()
    # An unchanged cookie is not sent again.
    assert VOTER_COOKIE not in second.cookies


def test_it_gives_a_forged_cookie_a_new_voter(board: Any, voter_api: APIClient) -> None:
    open_page(voter_api, board)
    victim = Voter.objects.get()
    forger = browser_client()
    forger.cookies[VOTER_COOKIE] = f"{victim.pk}.{int(time.time())}:not-a-signature"
    body = next_matchup(forger, board).json()
    assert Matchup.objects.get(pk=body["id"]).voter != victim
    assert Voter.objects.count() == 2


def test_it_refuses_a_vote_with_a_cookie_of_another_voter_signed_for_something_else(
    board: Any, voter_api: APIClient
) -> None:
    matchup = next_matchup(voter_api, board).json()["id"]
    victim = Matchup.objects.get(pk=matchup).voter
    forger = browser_client()
    open_page(forger, board)
    # Signed with the same key but another salt: a value Django signs elsewhere.
    forger.cookies[VOTER_COOKIE] = signing.Signer().sign(f"{victim.pk}.{int(time.time())}")
    assert vote(forger, matchup).status_code == 404


@pytest.mark.django_db(transaction=True)  # the server's autocommit: the foreign key is checked
def test_it_gives_a_browser_whose_voter_was_deleted_a_new_one(
    board: Any, voter_api: APIClient
) -> None:
    open_page(voter_api, board)
    Voter.objects.all().delete()
    response = next_matchup(voter_api, board)
    assert response.status_code == 200
    voter = Matchup.objects.get(pk=response.json()["id"]).voter
    assert VOTER_COOKIE in response.cookies
    assert vote(voter_api, response.json()["id"]).status_code == 201
    assert Voter.objects.get() == voter


def test_it_starts_over_after_the_cookie_has_expired(
    board: Any, voter_api: APIClient, settings: Any
) -> None:
    open_page(voter_api, board)
    old = Voter.objects.get()
    voter_api.cookies[VOTER_COOKIE] = cookie_for(
        old.pk, issued=time.time() - settings.SESSION_COOKIE_AGE - 60
    )
    body = next_matchup(voter_api, board).json()
    assert Matchup.objects.get(pk=body["id"]).voter != old


def test_it_notes_a_returning_voter_at_most_once_per_interval(
    board: Any, voter_api: APIClient
) -> None:
    open_page(voter_api, board)
    voter = Voter.objects.get()
    long_ago = timezone.now() - timedelta(days=3)
    Voter.objects.filter(pk=voter.pk).update(last_seen=long_ago)
    voter_api.cookies[VOTER_COOKIE] = cookie_for(voter.pk, issued=time.time() - 3600)
    refreshed = next_matchup(voter_api, board)
    assert Voter.objects.get().last_seen > long_ago
    assert VOTER_COOKIE in refreshed.cookies  # re-issued: it lives a year past this visit
    Voter.objects.filter(pk=voter.pk).update(last_seen=long_ago)
    again = next_matchup(voter_api, board)
    assert Voter.objects.get().last_seen == long_ago
    assert VOTER_COOKIE not in again.cookies


def test_it_binds_a_logged_in_user_to_their_voter_whatever_the_cookie(
    board: Any, owner: Any
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    open_page(client, board)
    anonymous = Voter.objects.get()
    client.force_login(owner)
    body = next_matchup(client, board).json()
    voter = Matchup.objects.get(pk=body["id"]).voter
    assert voter.user == owner
    assert voter != anonymous
    assert vote(client, body["id"]).status_code == 201
