"""Reads of the matchmaking app: a board's state as arrays, a voter's history."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import F, Sum
from numpy.typing import NDArray

from config.errors import NotFound
from evaluation.models import Model, Output, PairCount
from evaluation.rating import compute_standings
from evaluation.selectors import pair_counts_get
from leaderboards.models import Leaderboard
from leaderboards.selectors import leaderboard_prompts
from matchmaking import statements
from matchmaking.models import Voter


@dataclass
class BoardState:
    """What pair selection reads about a leaderboard, indexed as `select_pairs` wants.

    Row ``p`` is the prompt ``prompt_ids[p]`` (only prompts the leaderboard's tags allow),
    column ``m`` the model ``model_ids[m]`` (every model of the benchmark, in id order, the
    rater's order); ``output_ids[p, m]`` is that model's output for that prompt, 0 when there is
    none or the model is inactive.
    """

    prompt_ids: list[int]
    model_ids: list[int]
    output_ids: NDArray[np.int64]
    theta: NDArray[np.float64] | None
    cov: NDArray[np.float64] | None
    component: NDArray[np.int64] | None
    model_votes: NDArray[np.int64]
    prompt_use: NDArray[np.int64]
    complete: bool = True
    """False when `prompt_ids` is a random subset of the allowed prompts."""

    @property
    def has_output(self) -> NDArray[np.bool_]:
        return self.output_ids > 0

    def has_pairs(self) -> bool:
        """Whether some prompt has outputs of at least two models."""
        return bool((self.has_output.sum(axis=1) >= 2).any()) if self.prompt_ids else False


def board_state_get(
    *,
    leaderboard: Leaderboard,
    with_ratings: bool = True,
    max_prompts: int | None = None,
    rng: random.Random | None = None,
) -> BoardState:
    """The leaderboard's prompts, models, outputs, current ratings and prompt use.

    Ratings are fitted from the pair counters (cheap: pairs x prompts rows), so a matchmaker
    that runs between two published snapshots still sees the latest counted votes.
    `max_prompts` draws a random subset of the allowed prompts: the web process's direct choice
    reads a bounded number of output rows however large the benchmark is.
    """
    prompts = leaderboard_prompts(leaderboard=leaderboard)
    prompt_ids = [p.pk for p in prompts]
    complete = max_prompts is None or len(prompt_ids) <= max_prompts
    if not complete:
        prompt_ids = sorted((rng or random).sample(prompt_ids, max_prompts or 0))
    model_ids = list(
        Model.objects.filter(benchmark_id=leaderboard.benchmark_id)
        .order_by("id")
        .values_list("id", flat=True)
    )
    row = {pk: k for k, pk in enumerate(prompt_ids)}
    col = {pk: k for k, pk in enumerate(model_ids)}
    output_ids = np.zeros((len(prompt_ids), len(model_ids)), dtype=np.int64)
    outputs = Output.objects.filter(
        prompt_id__in=prompt_ids,
        model__benchmark_id=leaderboard.benchmark_id,
        model__is_active=True,
    ).values_list("id", "prompt_id", "model_id")
    for output_id, prompt_id, model_id in outputs:
        output_ids[row[prompt_id], col[model_id]] = output_id

    theta = cov = component = None
    model_votes = np.zeros(len(model_ids), dtype=np.int64)
    if with_ratings and model_ids:
        counts = pair_counts_get(leaderboard=leaderboard, model_ids=model_ids)
        if counts.i.size:
            standings = compute_standings(
                counts,
                tie_model=leaderboard.tie_model,  # type: ignore[arg-type]
                both_bad=leaderboard.both_bad,  # type: ignore[arg-type]
                min_votes=leaderboard.min_votes,
                inverse=leaderboard.inverse_ranking,
            )
            theta, cov, component = standings.theta, standings.cov, standings.component
            model_votes = np.rint(standings.votes).astype(np.int64)

    prompt_use = np.zeros(len(prompt_ids), dtype=np.int64)
    if prompt_ids:
        used = (
            PairCount.objects.filter(leaderboard=leaderboard, prompt_id__in=prompt_ids)
            .values("prompt_id")
            .annotate(n=Sum(F("a_wins") + F("b_wins") + F("ties") + F("both_bad")))
            .values_list("prompt_id", "n")
            .order_by()
        )
        for prompt_id, n in used:
            prompt_use[row[prompt_id]] = n or 0
    return BoardState(
        prompt_ids=prompt_ids,
        model_ids=model_ids,
        output_ids=output_ids,
        theta=theta,
        cov=cov,
        component=component,
        model_votes=model_votes,
        prompt_use=prompt_use,
        complete=complete,
    )


@dataclass(frozen=True)
class VoterHistory:
    """What `voter_history` read about a voter on one leaderboard."""

    seen: set[tuple[int, int, int]]
    """(prompt id, smaller model id, larger model id) of matchups issued to the voter here:
    all of them, or those among the pairs asked about."""
    open_id: int | None
    """Their newest matchup here that is neither closed nor expired."""
    complete: bool
    """Whether `seen` holds every pair they were shown here (no `pairs` were given)."""
    outputs: dict[int, Output] = field(default_factory=dict)
    """The outputs asked about that a voter may be shown (`statements.outputs_shown`), by id."""


def voter_history(
    *,
    voter: Voter,
    leaderboard: Leaderboard,
    now: datetime,
    pairs: list[tuple[int, int, int]] | None = None,
    outputs_of: Iterable[int] = (),
) -> VoterHistory:
    """What `voter` was shown on this board, in one query; with `outputs_of`, also those
    outputs as a voter is shown them, in the same round trip.

    Without `pairs` every matchup issued to them here is read (the direct choice needs them
    all); with `pairs` only their open matchups and those of the given (prompt, low, high)
    pairs, so serving from the queue reads a few rows however long the voter's history is.
    """
    reads: list[statements.Read[Any]] = [
        statements.voter_pairs_seen(
            voter_id=voter.pk, leaderboard_id=leaderboard.pk, now=now, pairs=pairs
        )
    ]
    outputs_of = list(outputs_of)
    if outputs_of:
        reads.append(
            statements.outputs_shown(output_ids=outputs_of, benchmark_id=leaderboard.benchmark_id)
        )
    (seen, open_id), *rest = statements.read_together(*reads)
    return VoterHistory(
        seen=seen, open_id=open_id, complete=pairs is None, outputs=rest[0] if rest else {}
    )


def voting_leaderboard_get(*, leaderboard_id: int, user: Any) -> Leaderboard:
    """The leaderboard a voter asks a matchup of, with its benchmark, in one statement; 404
    when `user` may not see it (as `leaderboards.selectors.leaderboard_get` answers)."""
    leaderboard = statements.leaderboard_read(leaderboard_id)
    if leaderboard is None or not leaderboard.is_visible_to(user):
        raise NotFound(f"leaderboard {leaderboard_id} does not exist")
    return leaderboard
