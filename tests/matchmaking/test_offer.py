"""`statements.matchup_offer`: a queued pair issued in one statement on PostgreSQL.

It states in SQL what `services._still_valid` states in Python (outputs of active models of
the board's benchmark, of one prompt the board's tags allow, the pair's models in order) and
what `matchup_issue` does around it (the open matchup first, a pair seen before skipped), so
each case here is decided both ways and compared.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from evaluation.models import Model, Output
from matchmaking import statements
from matchmaking.models import Matchup, Voter
from matchmaking.queue import Candidate
from matchmaking.services import _still_valid, matchup_ttl
from tests.factories import make_leaderboard, make_models

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="matchup_offer is PostgreSQL's statement (data-modifying CTEs); "
        "set DATABASE_URL to a PostgreSQL database to run it",
    ),
]

TAGS = [["keep"], ["drop"], ["keep", "drop"], []]


def offer(board: Any, voter: Voter, candidate: Candidate) -> statements.Offer:
    now = timezone.now()
    return statements.matchup_offer(
        leaderboard=board,
        voter_id=voter.pk,
        candidate=candidate,
        now=now,
        expires_at=now + matchup_ttl(),
    )


def python_valid(board: Any, candidate: Candidate) -> bool:
    read = statements.outputs_shown(
        output_ids=[candidate.left_output_id, candidate.right_output_id],
        benchmark_id=board.benchmark_id,
    )
    (outputs,) = statements.read_together(read)
    return candidate in _still_valid(board, [candidate], outputs)


def candidates(board: Any, other_board: Any) -> list[tuple[str, Candidate]]:
    """A good pair on every prompt, and each way a queued pair can go stale or be wrong."""
    out: dict[tuple[int, int], Output] = {
        (o.prompt_id, o.model_id): o
        for o in Output.objects.filter(model__benchmark=board.benchmark)
    }
    models = sorted(Model.objects.filter(benchmark=board.benchmark).values_list("pk", flat=True))
    prompts = sorted({p for p, _ in out})
    a, b, c = models[:3]
    cases = []
    for prompt in prompts:
        cases.append(
            (
                f"good on prompt {prompt}",
                Candidate(prompt, out[prompt, b].pk, out[prompt, a].pk, a, b),
            )
        )
    p, q = prompts[:2]
    foreign = Output.objects.filter(model__benchmark=other_board.benchmark).first()
    cases += [
        ("models named wrong", Candidate(p, out[p, a].pk, out[p, b].pk, a, c)),
        ("models out of order", Candidate(p, out[p, a].pk, out[p, b].pk, b, a)),
        ("outputs of two prompts", Candidate(p, out[p, a].pk, out[q, b].pk, a, b)),
        ("prompt named wrong", Candidate(q, out[p, a].pk, out[p, b].pk, a, b)),
        ("one output of one model", Candidate(p, out[p, a].pk, out[p, a].pk, a, b)),
        ("an output of another benchmark", Candidate(p, out[p, a].pk, foreign.pk, a, b)),
        ("an output that is gone", Candidate(p, out[p, a].pk, 10**9, a, b)),
        ("an inactive model", Candidate(p, out[p, a].pk, out[p, models[3]].pk, a, models[3])),
    ]
    return cases


@pytest.mark.parametrize(("included", "excluded"), list(product([(), ("keep",)], [(), ("drop",)])))
def test_it_judges_a_queued_pair_as_the_python_rule_does(
    owner: Any, included: tuple[str, ...], excluded: tuple[str, ...]
) -> None:
    board = make_leaderboard(
        owner,
        name="tagged",
        prompts=["a", "b", "c", "d"],
        tags=TAGS,
        included_tags=included,
        excluded_tags=excluded,
    )
    models = make_models(board, 4)
    Model.objects.filter(pk=models[3].pk).update(is_active=False)
    other = make_leaderboard(owner, name="other")
    make_models(other, 2)
    verdicts = []
    for name, candidate in candidates(board, other):
        voter = Voter.objects.create(session_key=name)
        expected = python_valid(board, candidate)
        got = offer(board, voter, candidate)
        assert got.valid == expected, name
        assert (got.matchup is not None) == expected, name
        assert Matchup.objects.filter(voter=voter).count() == int(expected), name
        verdicts.append(expected)
    # Both verdicts occur in every grid cell, so the comparison can fail either way.
    assert True in verdicts
    assert False in verdicts


def test_it_writes_what_the_voter_is_shown(board: Any) -> None:
    voter = Voter.objects.create(session_key="shown")
    left, right = Output.objects.filter(prompt__benchmark=board.benchmark).order_by(
        "prompt_id", "model_id"
    )[:2]
    assert left.prompt_id == right.prompt_id
    low, high = sorted([left.model_id, right.model_id])
    got = offer(board, voter, Candidate(left.prompt_id, right.pk, left.pk, low, high))
    assert got.matchup is not None
    assert got.open_id is None
    stored = Matchup.objects.select_related("left", "right", "prompt").get(pk=got.matchup.pk)
    assert (stored.voter_id, stored.leaderboard_id, stored.gold_id) == (voter.pk, board.pk, None)
    assert (stored.left_id, stored.right_id, stored.model_low, stored.model_high) == (
        right.pk,
        left.pk,
        low,
        high,
    )
    assert stored.expires_at == got.matchup.expires_at
    for shown, read in [(got.matchup.left, stored.left), (got.matchup.right, stored.right)]:
        assert (shown.pk, shown.kind, shown.public_id, shown.text) == (
            read.pk,
            read.kind,
            read.public_id,
            read.text,
        )
    assert got.matchup.prompt.text == stored.prompt.text


def test_it_answers_the_open_matchup_and_writes_nothing(board: Any) -> None:
    voter = Voter.objects.create(session_key="open")
    outputs = list(Output.objects.filter(prompt__benchmark=board.benchmark).order_by("prompt_id"))
    by_prompt: dict[int, list[Output]] = {}
    for o in outputs:
        by_prompt.setdefault(o.prompt_id, []).append(o)
    (l1, r1, *_), (l2, r2, *_) = list(by_prompt.values())[:2]

    def pair(left: Output, right: Output) -> Candidate:
        low, high = sorted([left.model_id, right.model_id])
        return Candidate(left.prompt_id, left.pk, right.pk, low, high)

    first = offer(board, voter, pair(l1, r1)).matchup
    assert first is not None
    again = offer(board, voter, pair(l2, r2))
    assert (again.open_id, again.matchup, again.valid, again.seen) == (first.pk, None, True, False)
    Matchup.objects.filter(pk=first.pk).update(closed_at=timezone.now())
    # Closed: the same pair is refused by the unique constraint, a new one is written.
    seen = offer(board, voter, pair(r1, l1))
    assert (seen.open_id, seen.matchup, seen.valid, seen.seen) == (None, None, True, True)
    assert offer(board, voter, pair(l2, r2)).matchup is not None
    assert Matchup.objects.filter(voter=voter).count() == 2
