"""Screening votes by network: a network whose voters vote one model up is flagged and its votes
leave the ratings; honest networks are left alone; an operator's clearing sticks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.test import Client

from config.errors import NotFound
from evaluation.models import Model, SuspectNetwork, Vote
from evaluation.services.ratings import ratings_recompute
from evaluation.services.screening import networks_screen, suspect_networks_review
from evaluation.tasks import networks_screen_all
from leaderboards.models import Leaderboard
from matchmaking.identity import network_key
from matchmaking.models import Voter
from matchmaking.services import voter_create
from tests.factories import make_leaderboard, make_models, votes_in_pair_counts

pytestmark = pytest.mark.django_db

STRENGTH = np.linspace(-1.2, 1.2, 6)


@pytest.fixture
def six(owner: Any) -> tuple[Leaderboard, list[Model]]:
    board = make_leaderboard(owner)
    return board, make_models(board, 6)


def honest_votes(
    board: Leaderboard, models: list[Model], rng: np.random.Generator, *, networks: int, each: int
) -> list[Vote]:
    """`each` votes from one voter of each of `networks` networks, as the strengths say."""
    votes = []
    for k in range(networks):
        voter = voter_create(network=f"honest{k:02d}")
        for _ in range(each):
            a, b = rng.choice(len(models), 2, replace=False)
            p = 1 / (1 + np.exp(-(STRENGTH[a] - STRENGTH[b])))
            choice = "left" if rng.random() < p else "right"
            votes.append(_vote(board, models[a], models[b], choice, voter))
    return Vote.objects.bulk_create(votes)


def campaign_votes(
    board: Leaderboard, models: list[Model], *, voters: int, each: int, network: str = "campaign"
) -> list[Vote]:
    """Voters of one network who pick the weakest model every time it is shown."""
    votes = []
    for v in range(voters):
        voter = voter_create(network=network)
        for k in range(each):
            other = models[1 + (v + k) % (len(models) - 1)]
            if k % 2:
                votes.append(_vote(board, models[0], other, "left", voter))
            else:
                votes.append(_vote(board, other, models[0], "right", voter))
    return Vote.objects.bulk_create(votes)


def _vote(board: Leaderboard, left: Model, right: Model, choice: str, voter: Voter) -> Vote:
    return Vote(
        leaderboard=board,
        left_model=left,
        right_model=right,
        choice=choice,
        voter=voter,
        view_ms=2000,
    )


def reasons(votes: list[Vote]) -> set[str]:
    return set(Vote.objects.filter(pk__in=[v.pk for v in votes]).values_list("excluded", flat=True))


def test_it_flags_a_network_that_votes_the_weakest_model_up_and_leaves_its_votes_out(
    six: Any, django_capture_on_commit_callbacks: Any
) -> None:
    board, models = six
    honest = honest_votes(board, models, np.random.default_rng(1), networks=30, each=20)
    campaign = campaign_votes(board, models, voters=5, each=8)
    ratings_recompute(leaderboard_id=board.pk)
    assert votes_in_pair_counts(board) == 640

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        screened = networks_screen(leaderboard_id=board.pk)
    assert screened.flagged == ["campaign"]
    assert screened.relabelled == 40
    assert len(callbacks) == 1  # the ratings refresh, run at once (eager Celery)
    suspect = SuspectNetwork.objects.get()
    assert (suspect.network, suspect.model_id, suspect.status) == (
        "campaign",
        models[0].pk,
        SuspectNetwork.Status.FLAGGED,
    )
    assert (suspect.voters, suspect.votes, suspect.observed) == (5, 40, 1.0)
    assert suspect.expected < 0.35
    assert suspect.p_bound < 1e-6
    assert reasons(campaign) == {Vote.Excluded.NETWORK}
    assert reasons(honest) == {Vote.Excluded.COUNTED}
    assert votes_in_pair_counts(board) == 600


def test_operators_logs_get_a_warning_per_network_newly_flagged(six: Any, caplog: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(12), networks=30, each=20)
    campaign_votes(board, models, voters=5, each=8)
    with caplog.at_level("WARNING", logger="evaluation.services.screening"):
        networks_screen(leaderboard_id=board.pk)
        networks_screen(leaderboard_id=board.pk)  # still flagged: no second warning
    (record,) = caplog.records
    message = record.getMessage()
    assert f"leaderboard {board.pk}: network campaign flagged for model {models[0].pk}" in message
    assert "(5 voters, 40 votes scored 1.00 where the others predict" in message


def test_it_flags_no_honest_network(six: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(2), networks=30, each=60)
    screened = networks_screen(leaderboard_id=board.pk)
    assert screened.tests > 100
    assert screened.flagged == []
    assert not SuspectNetwork.objects.exists()
    assert not Vote.objects.exclude(excluded="").exists()


def test_new_votes_of_a_flagged_network_are_never_counted(six: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(3), networks=30, each=20)
    campaign_votes(board, models, voters=5, each=8)
    networks_screen(leaderboard_id=board.pk)
    later = campaign_votes(board, models, voters=1, each=4)  # cast after the screening
    assert reasons(later) == {Vote.Excluded.COUNTED}

    ratings_recompute(leaderboard_id=board.pk)
    assert reasons(later) == {Vote.Excluded.NETWORK}
    assert votes_in_pair_counts(board) == 600


def test_an_operator_clears_a_network_and_its_votes_count_from_then_on(six: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(4), networks=30, each=20)
    campaign = campaign_votes(board, models, voters=5, each=8)
    networks_screen(leaderboard_id=board.pk)
    operator = get_user_model().objects.create_user("op", password="op-pass-123456")

    suspect = SuspectNetwork.objects.get()
    changed = suspect_networks_review(
        suspect_ids=[suspect.pk], cleared=True, reviewer=operator, note="the lab's shared address"
    )
    assert changed == 40
    assert reasons(campaign) == {Vote.Excluded.COUNTED}
    suspect.refresh_from_db()
    assert (suspect.status, suspect.reviewed_by, suspect.note) == (
        SuspectNetwork.Status.CLEARED,
        operator,
        "the lab's shared address",
    )

    # Later screenings still find it, update the evidence, and leave the verdict alone.
    campaign_votes(board, models, voters=1, each=8)
    assert networks_screen(leaderboard_id=board.pk).flagged == []
    suspect.refresh_from_db()
    assert (suspect.status, suspect.voters, suspect.votes) == (
        SuspectNetwork.Status.CLEARED,
        6,
        48,
    )
    assert not Vote.objects.exclude(excluded="").exists()

    assert suspect_networks_review(suspect_ids=[suspect.pk], cleared=False) == 48
    assert Vote.objects.filter(excluded=Vote.Excluded.NETWORK).count() == 48


def test_networks_reviewed_together_each_get_the_verdict(six: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(6), networks=30, each=20)
    first = campaign_votes(board, models, voters=5, each=8, network="first")
    second = campaign_votes(board, models, voters=5, each=8, network="second")
    assert networks_screen(leaderboard_id=board.pk).flagged == ["first", "second"]

    ids = list(SuspectNetwork.objects.values_list("pk", flat=True))
    assert suspect_networks_review(suspect_ids=ids, cleared=True) == 80
    assert reasons(first + second) == {Vote.Excluded.COUNTED}
    assert set(SuspectNetwork.objects.values_list("status", flat=True)) == {
        SuspectNetwork.Status.CLEARED
    }
    with pytest.raises(NotFound, match="suspect network 999 does not exist"):
        suspect_networks_review(suspect_ids=[ids[0], 999], cleared=False)
    assert reasons(first) == {Vote.Excluded.COUNTED}  # nothing changed


def test_a_vote_counted_again_keeps_its_voters_own_exclusion(six: Any, settings: Any) -> None:
    """Cleared, a network's votes get what they would have had when cast: a distrusted
    voter's stay out for low trust, a vote faster than the minimum view time for that."""
    settings.VERSUS_MIN_VIEW_MS = 800
    board, models = six
    honest_votes(board, models, np.random.default_rng(5), networks=30, each=20)
    campaign = campaign_votes(board, models, voters=5, each=8)
    networks_screen(leaderboard_id=board.pk)
    distrusted = campaign[0].voter
    Voter.objects.filter(pk=distrusted.pk).update(trust=0.1)
    hasty = campaign[-1]
    Vote.objects.filter(pk=hasty.pk).update(view_ms=10)

    suspect_networks_review(suspect_ids=[SuspectNetwork.objects.get().pk], cleared=True)
    by_reason = dict(
        Vote.objects.filter(pk__in=[v.pk for v in campaign])
        .values_list("excluded")
        .annotate(n=Count("id"))
        .order_by()
    )
    assert by_reason == {
        Vote.Excluded.LOW_TRUST: 8,
        Vote.Excluded.TOO_FAST: 1,
        Vote.Excluded.COUNTED: 31,
    }


def test_a_network_that_no_longer_stands_out_lapses(six: Any, settings: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(6), networks=30, each=20)
    campaign = campaign_votes(board, models, voters=5, each=8)
    networks_screen(leaderboard_id=board.pk)

    settings.VERSUS_SCREEN_MIN_EXCESS = 0.99  # an operator raises the bar
    screened = networks_screen(leaderboard_id=board.pk)
    assert screened.flagged == []
    assert screened.relabelled == 40
    assert SuspectNetwork.objects.get().status == SuspectNetwork.Status.LAPSED
    assert reasons(campaign) == {Vote.Excluded.COUNTED}

    settings.VERSUS_SCREEN_MIN_EXCESS = 0.25
    assert networks_screen(leaderboard_id=board.pk).flagged == ["campaign"]
    assert reasons(campaign) == {Vote.Excluded.NETWORK}


def test_votes_without_a_network_or_excluded_for_their_own_sake_are_not_evidence(
    six: Any,
) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(7), networks=30, each=20)
    unknown = campaign_votes(board, models, voters=5, each=8, network="")
    gold = campaign_votes(board, models, voters=5, each=8, network="golden")
    Vote.objects.filter(pk__in=[v.pk for v in gold]).update(excluded=Vote.Excluded.GOLD)
    assert networks_screen(leaderboard_id=board.pk).flagged == []
    assert reasons(unknown) == {Vote.Excluded.COUNTED}
    assert reasons(gold) == {Vote.Excluded.GOLD}


def test_imported_votes_are_the_yardstick_of_a_board_with_one_network(six: Any) -> None:
    """Imported history is nobody's campaign, but it is what the model's strength is: a lone
    network voting the weakest model up is measured against it."""
    board, models = six
    imported = honest_votes(board, models, np.random.default_rng(11), networks=1, each=600)
    Vote.objects.filter(pk__in=[v.pk for v in imported]).update(voter=None, is_imported=True)
    campaign_votes(board, models, voters=2, each=20)
    assert networks_screen(leaderboard_id=board.pk).flagged == ["campaign"]
    assert reasons(imported) == {Vote.Excluded.COUNTED}


def test_the_beat_task_screens_the_boards_voted_on_lately(six: Any, owner: Any) -> None:
    board, models = six
    quiet = make_leaderboard(owner, name="Quiet")
    honest_votes(board, models, np.random.default_rng(8), networks=30, each=20)
    campaign_votes(board, models, voters=5, each=8)
    assert networks_screen_all() == 1  # the quiet board has no votes
    assert SuspectNetwork.objects.get().leaderboard == board
    assert not SuspectNetwork.objects.filter(leaderboard=quiet).exists()


# --- Where a voter's network comes from ---------------------------------------------------


def test_a_new_voter_records_a_key_of_its_network_and_never_its_address(six: Any) -> None:
    board, _ = six
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert client.get(f"/leaderboards/{board.pk}/vote/").status_code == 200
    voter = Voter.objects.get()
    assert voter.network == network_key("203.0.113.200")  # the same /24
    assert len(voter.network) == 16
    assert "203" not in voter.network
    for field in Voter._meta.concrete_fields:
        assert "203.0.113" not in str(getattr(voter, field.attname))


def test_network_keys_follow_the_prefix() -> None:
    assert network_key("203.0.113.7") == network_key("203.0.113.250")
    assert network_key("203.0.113.7") != network_key("203.0.114.7")
    assert network_key("2001:db8:1:aaaa::1") == network_key("2001:db8:1:bbbb::2")  # one /48
    assert network_key("2001:db8:1::1") != network_key("2001:db8:2::1")
    assert network_key("::ffff:203.0.113.9") == network_key("203.0.113.7")
    assert network_key("not an address") == ""
    assert network_key("") == ""


def test_behind_a_trusted_proxy_the_forwarded_address_names_the_network(
    six: Any, settings: Any
) -> None:
    from rest_framework.settings import api_settings

    board, _ = six
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    api_settings.reload()
    try:
        client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4")
        client.get(f"/leaderboards/{board.pk}/vote/")
    finally:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
        api_settings.reload()
    assert Voter.objects.get().network == network_key("198.51.100.99")


# --- Operators ------------------------------------------------------------------------------


def test_operators_see_the_evidence_and_clear_a_network_in_the_admin(six: Any) -> None:
    board, models = six
    honest_votes(board, models, np.random.default_rng(9), networks=30, each=20)
    campaign = campaign_votes(board, models, voters=5, each=8)
    networks_screen(leaderboard_id=board.pk)
    admin = get_user_model().objects.create_superuser("root", password="root-pass-123456")
    client = Client()
    client.force_login(admin)

    page = client.get("/admin/evaluation/suspectnetwork/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "campaign" in text
    assert "100%" in text  # the score observed
    assert (
        client.get(
            f"/admin/evaluation/suspectnetwork/{SuspectNetwork.objects.get().pk}/change/"
        ).status_code
        == 200
    )
    assert "network" in client.get("/admin/evaluation/vote/?excluded=network").content.decode()

    done = client.post(
        "/admin/evaluation/suspectnetwork/",
        {"action": "clear", "_selected_action": [SuspectNetwork.objects.get().pk]},
        follow=True,
    )
    assert "40 of their votes counted again" in done.content.decode()
    assert reasons(campaign) == {Vote.Excluded.COUNTED}
    assert SuspectNetwork.objects.get().reviewed_by == admin


def test_the_command_screens_now_and_says_what_it_found(six: Any) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    board, models = six
    honest_votes(board, models, np.random.default_rng(10), networks=30, each=20)
    campaign_votes(board, models, voters=5, each=8)
    out = StringIO()
    call_command("screen_networks", str(board.pk), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("1 network(s) flagged, 40 vote(s) relabelled")
    assert "network campaign: 5 voter(s), 40 votes on model-0, scored 100%" in lines[1]
    with pytest.raises(CommandError, match="no leaderboard with id 999"):
        call_command("screen_networks", "999")
    with pytest.raises(CommandError, match="give leaderboard ids or --all"):
        call_command("screen_networks")
