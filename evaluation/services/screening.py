"""Screening votes by network: find the networks whose voters favour one model, and shadow-
exclude their votes on that board until an operator clears them.

A campaign to lift a model (a model's owner and colleagues, a script rotating browser cookies
behind one address) shows as the voters of one network picking that model far more often than
everyone else's votes predict (`evaluation.rating.favouritism`). `networks_screen` runs that
test on one board's votes grouped by `Voter.network`, records each network found
(`SuspectNetwork`, visible to operators with its evidence) and gives its voters' votes on the
board the exclusion `Vote.Excluded.NETWORK`: stored, not counted. A network that no longer
stands out (the test sees more of everyone's votes now) lapses and its votes count again, as
they do when an operator clears it (`suspect_networks_review`). Votes cast while a network is
flagged are excluded by the rater before they are ever counted (`ratings._late_exclusions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from config.errors import NotFound
from evaluation.models import SuspectNetwork, Vote
from evaluation.rating.favouritism import Favouring, favouring_groups
from evaluation.selectors import OUTCOME_OF
from evaluation.services.ratings import votes_relabel
from leaderboards.models import Leaderboard

logger = logging.getLogger(__name__)

_SCREENED = [Vote.Excluded.COUNTED, Vote.Excluded.NETWORK]
"""The votes a screening reads: those counted and those excluded for their network only.
Votes excluded for their own sake (gold checks, too fast, a flagged or distrusted voter, an
operator) are no evidence either way."""


@dataclass(frozen=True)
class Screened:
    """What one screening of a board found and changed."""

    tests: int
    """(network, model) pairs with enough votes to test (the Bonferroni divisor)."""
    flagged: list[str]
    """The networks flagged now (found now, or found before and not cleared)."""
    relabelled: int
    """Votes whose exclusion changed."""


def _screened_votes(leaderboard_id: int) -> QuerySet[Vote]:
    """The board's votes a screening reads. Those of no known network (imported, or from a
    voter who came before networks were recorded) are tested in no group, but count in every
    group's prediction."""
    return Vote.objects.filter(leaderboard_id=leaderboard_id, excluded__in=_SCREENED)


def networks_flagged(*, leaderboard_id: int) -> QuerySet[SuspectNetwork]:
    """The networks whose votes on the board are excluded now."""
    return SuspectNetwork.objects.filter(
        leaderboard_id=leaderboard_id, status=SuspectNetwork.Status.FLAGGED
    )


def _network_votes_relabel(leaderboard_id: int) -> int:
    """Give the board's votes the exclusion their network's status calls for: NETWORK for the
    counted votes of flagged networks; for NETWORK votes of networks no longer flagged, what
    their voter's flag, trust and view time call for (as when they were cast). Queues a
    ratings refresh after commit when anything changed."""
    from matchmaking.services import vote_exclusion_moves

    flagged = networks_flagged(leaderboard_id=leaderboard_id).values("network")
    votes = Vote.objects.filter(leaderboard_id=leaderboard_id)
    back = votes.filter(excluded=Vote.Excluded.NETWORK).exclude(voter__network__in=flagged)
    out = votes.filter(excluded=Vote.Excluded.COUNTED, voter__network__in=flagged)
    changed, _ = votes_relabel([(out, Vote.Excluded.NETWORK), *vote_exclusion_moves(back)])
    if changed:
        from evaluation.tasks import ratings_refresh_soon

        transaction.on_commit(lambda: ratings_refresh_soon(leaderboard_id))
    return changed


def networks_screen(*, leaderboard_id: int, now: datetime | None = None) -> Screened:
    """Screen one board's votes by network and bring the exclusions in line with the finding.

    Each network found favouring a model is recorded (`SuspectNetwork`, its evidence updated
    on every screening) and flagged, unless an operator cleared it; a flagged network no
    longer found lapses. The thresholds are the settings ``VERSUS_SCREEN_MIN_VOTES``,
    ``VERSUS_SCREEN_MIN_EXCESS`` and ``VERSUS_SCREEN_ALPHA``.
    """
    now = now or timezone.now()
    board = Leaderboard.objects.filter(pk=leaderboard_id).first()
    if board is None:
        raise NotFound(f"leaderboard {leaderboard_id} does not exist", code="leaderboard_not_found")
    # One row per vote: grouping them in the database first returns almost as many rows (few
    # networks vote twice on one pair) and took three times as long on a million votes.
    rows = list(
        _screened_votes(leaderboard_id)
        .values_list("left_model_id", "right_model_id", "choice", "voter__network")
        .order_by()
    )
    model_ids = sorted({r[0] for r in rows} | {r[1] for r in rows})
    networks = sorted({r[3] for r in rows if r[3]})
    model_at = {pk: k for k, pk in enumerate(model_ids)}
    network_at = {key: k for k, key in enumerate(networks)}

    def column(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    found, tests = favouring_groups(
        column([model_at[r[0]] for r in rows]),
        column([model_at[r[1]] for r in rows]),
        column([OUTCOME_OF[r[2]] for r in rows]),
        column([network_at.get(r[3], -1) for r in rows]),
        n_models=len(model_ids),
        both_bad=board.both_bad,
        inverse=board.inverse_ranking,
        min_votes=settings.VERSUS_SCREEN_MIN_VOTES,
        min_excess=settings.VERSUS_SCREEN_MIN_EXCESS,
        alpha=settings.VERSUS_SCREEN_ALPHA,
    )
    strongest: dict[str, Favouring] = {}
    for finding in found:  # most significant first: a network's strongest finding is kept
        strongest.setdefault(networks[finding.group], finding)
    voters = dict(
        Vote.objects.filter(leaderboard_id=leaderboard_id, voter__network__in=list(strongest))
        .values_list("voter__network")
        .annotate(n=Count("voter_id", distinct=True))
        .order_by()
    )
    with transaction.atomic():
        for network, finding in strongest.items():
            evidence = {
                "model_id": model_ids[finding.model],
                "votes": finding.votes,
                "observed": finding.observed,
                "expected": finding.expected,
                "p_bound": finding.p_bound,
                "voters": voters.get(network, 0),
                "last_found": now,
            }
            suspect, created = SuspectNetwork.objects.select_for_update().get_or_create(
                leaderboard_id=leaderboard_id,
                network=network,
                defaults={**evidence, "first_found": now},
            )
            newly = created or suspect.status == SuspectNetwork.Status.LAPSED
            if not created:
                if newly:
                    evidence["status"] = SuspectNetwork.Status.FLAGGED
                SuspectNetwork.objects.filter(pk=suspect.pk).update(**evidence)
            if newly:
                # A warning per network newly flagged, for operators' log alerts.
                logger.warning(
                    "leaderboard %s: network %s flagged for model %s (%s voters, %s votes "
                    "scored %.2f where the others predict %.2f, p <= %.1e); its votes are left "
                    "out until an operator clears it",
                    leaderboard_id,
                    network,
                    evidence["model_id"],
                    evidence["voters"],
                    finding.votes,
                    finding.observed,
                    finding.expected,
                    finding.p_bound,
                )
        networks_flagged(leaderboard_id=leaderboard_id).exclude(network__in=list(strongest)).update(
            status=SuspectNetwork.Status.LAPSED
        )
        relabelled = _network_votes_relabel(leaderboard_id)
        flagged = sorted(
            networks_flagged(leaderboard_id=leaderboard_id).values_list("network", flat=True)
        )
    return Screened(tests=tests, flagged=flagged, relabelled=relabelled)


def suspect_networks_review(
    *,
    suspect_ids: list[int],
    cleared: bool,
    reviewer: Any | None = None,
    note: str | None = None,
) -> int:
    """An operator's verdict on suspect networks: cleared (their votes on their boards count
    again, and later screenings leave them alone) or flagged again. Each board's votes are
    relabelled once, however many of its networks are reviewed. Returns how many votes
    changed their exclusion."""
    with transaction.atomic():
        suspects = SuspectNetwork.objects.filter(pk__in=suspect_ids)
        found = dict(suspects.values_list("pk", "leaderboard_id"))
        missing = sorted(set(suspect_ids) - set(found))
        if missing:
            raise NotFound(
                f"suspect network {', '.join(map(str, missing))} does not exist", code="not_found"
            )
        verdict: dict[str, Any] = {
            "status": SuspectNetwork.Status.CLEARED if cleared else SuspectNetwork.Status.FLAGGED,
            "reviewed_by": reviewer if getattr(reviewer, "pk", None) else None,
        }
        if note is not None:
            verdict["note"] = note
        suspects.update(**verdict)  # row locks, as a screening's get_or_create takes them
        return sum(_network_votes_relabel(board) for board in sorted(set(found.values())))


def boards_to_screen(*, since: datetime) -> list[int]:
    """The leaderboards with votes from a known network cast since `since`."""
    voted = Vote.objects.filter(created__gte=since, is_imported=False).exclude(voter__network="")
    return sorted(
        Leaderboard.objects.filter(pk__in=voted.values("leaderboard_id")).values_list(
            "pk", flat=True
        )
    )
