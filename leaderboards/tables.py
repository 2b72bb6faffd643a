"""The leaderboard page's tables as ready-to-print cells.

A 200-model table with filters and tags in every cell costs the template engine most of a
page's time; formatting the cells here once (with the same number formats as the template
filters) keeps the templates to plain lookups and the page fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.selectors import StandingsRow, StandingsView
from leaderboards.selectors import HeadToHead, SiblingBoard, rated_rows
from leaderboards.templatetags.versus_format import (
    MISSING,
    ci_minus,
    ci_plus,
    count,
    heat,
    percent,
    rank,
    score,
)


@dataclass(frozen=True)
class StandingsCells:
    """One line of the standings table, printed; scripts read the raw numbers from the page's
    JSON by model id."""

    model_id: int
    model: str
    href: str
    order: int
    rank: str
    rank_range: str
    score: str
    plus: str
    minus: str
    interval_title: str
    votes: str
    win_rate: str
    provisional: bool
    badge: str
    badge_title: str
    siblings: list[str]
    bar: dict[str, float] | None


def interval_bars(standings: StandingsView) -> dict[int, dict[str, float]]:
    """Where each model's interval sits on a common axis, in percent: the table's inline bars
    draw the interval plot without JavaScript."""
    rated = [r for r in rated_rows(standings) if r.ci_low is not None and r.ci_high is not None]
    if not rated:
        return {}
    low = min(r.ci_low for r in rated if r.ci_low is not None)
    high = max(r.ci_high for r in rated if r.ci_high is not None)
    span = (high - low) or 1.0
    bars = {}
    for r in rated:
        assert r.ci_low is not None
        assert r.ci_high is not None
        assert r.score is not None
        bars[r.model_id] = {
            "left": round(100 * (r.ci_low - low) / span, 2),
            "width": round(max(100 * (r.ci_high - r.ci_low) / span, 0.5), 2),
            "dot": round(100 * (r.score - low) / span, 2),
        }
    return bars


def standings_cells(
    *,
    rows: list[StandingsRow],
    standings: StandingsView,
    siblings: list[SiblingBoard],
    model_href: str,
    min_votes: int,
) -> list[StandingsCells]:
    """`rows` (in the order to show) as table lines; `model_href` has `{}` for the model id.

    `order` is each model's place in the published order, which the page's script sorts back to.
    """
    place = {row.model_id: k for k, row in enumerate(standings.rows)}
    bars = interval_bars(standings)
    cells = []
    for row in rows:
        rated = row.score is not None
        cells.append(
            StandingsCells(
                model_id=row.model_id,
                model=row.model,
                href=model_href.format(row.model_id),
                order=place[row.model_id],
                rank=rank(row.rank),
                rank_range=(
                    f"{row.rank_low}\u2013{row.rank_high}" if row.rank_low is not None else ""
                ),
                score=score(row.score),
                plus=ci_plus(row),
                minus=ci_minus(row),
                interval_title=(
                    f"95% interval {score(row.ci_low)} \u2013 {score(row.ci_high)}" if rated else ""
                ),
                votes=count(row.votes),
                win_rate=percent(row.win_rate),
                provisional=row.provisional,
                badge="provisional" if rated else "unrated",
                badge_title=(
                    f"Fewer than {min_votes} votes: the score can still move a lot"
                    if rated
                    else "No votes counted yet"
                ),
                siblings=[rank(s.ranks.get(row.model_id)) for s in siblings],
                bar=bars.get(row.model_id),
            )
        )
    return cells


@dataclass(frozen=True)
class MatrixCell:
    text: str
    votes: str
    title: str
    background: str
    diagonal: bool


def head_to_head_cells(h2h: HeadToHead) -> list[tuple[str, list[MatrixCell]]]:
    """The head-to-head as table lines: each row model's name and its cells against each column."""
    lines = []
    for i, row in enumerate(h2h.rows):
        cells = []
        for j, col in enumerate(h2h.rows):
            observed, votes, predicted = h2h.observed[i][j], h2h.votes[i][j], h2h.predicted[i][j]
            title = f"{row.model} vs {col.model}: "
            title += f"won {percent(observed)} of {votes} votes" if votes else "no votes"
            if predicted is not None:
                title += f"; predicted {percent(predicted)}"
            cells.append(
                MatrixCell(
                    text=percent(observed) if votes else MISSING,
                    votes=str(votes) if votes else "",
                    title=title if i != j else "",
                    background=heat(observed if votes else None),
                    diagonal=i == j,
                )
            )
        lines.append((row.model, cells))
    return lines
