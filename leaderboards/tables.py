"""The leaderboard page's tables as ready markup.

A 200-model table with filters and tags in every cell costs Django's template engine most of a
page's time (about 40 ms); the same markup built here costs about 2 ms. The number formats are
the template filters' own (`versus_format`), so every page prints numbers the same way; numbers
need no escaping and every text (model names) is escaped.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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

_STANDINGS_ROW = (
    '<tr data-model-id="{model_id}" data-order="{order}"{row_class}>'
    '<td class="num col-rank"><span class="rank" data-field="rank">{rank}</span>{rank_range}</td>'
    '<th scope="row" class="col-model"><a href="{href}">{model}</a>{badge}</th>'
    '<td class="num col-score"><strong data-field="score">{score}</strong></td>'
    '<td class="num col-interval" data-field="interval" title="{interval_title}">{interval}</td>'
    '<td class="num col-votes" data-field="votes">{votes}</td>'
    '<td class="num col-win_rate" data-field="win_rate">{win_rate}</td>'
    "{siblings}"
    '<td class="col-bar">{bar}</td>'
    "</tr>"
)


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


def standings_rows_html(
    *,
    rows: list[StandingsRow],
    standings: StandingsView,
    siblings: list[SiblingBoard],
    model_href: str,
    min_votes: int,
) -> list[SafeString]:
    """`rows` (in the order to show) as `<tr>` lines; `model_href` has `{}` for the model id.

    `data-order` is each model's place in the published order, which the page's script sorts
    back to; the script reads the raw numbers from the page's JSON by `data-model-id`.
    """
    place = {row.model_id: k for k, row in enumerate(standings.rows)}
    bars = interval_bars(standings)
    rated_badge = (
        ' <span class="badge warn" data-field="provisional" title="Fewer than '
        f'{int(min_votes)} votes: the score can still move a lot">provisional</span>'
    )
    unrated_badge = (
        ' <span class="badge warn" data-field="provisional" title="No votes counted yet">'
        "unrated</span>"
    )
    lines = []
    for row in rows:
        rated = row.score is not None
        bar = bars.get(row.model_id)
        cells = {
            "model_id": row.model_id,
            "order": place[row.model_id],
            "row_class": ' class="provisional"' if row.provisional else "",
            "rank": rank(row.rank),
            "rank_range": (
                '<small class="rank-range" title="Rank interval from the bootstrap">'
                f"{row.rank_low}\u2013{row.rank_high}</small>"
                if row.rank_low is not None
                else ""
            ),
            "href": escape(model_href.format(row.model_id)),
            # The model name is the only text an owner chose: the one value that needs escaping.
            "model": escape(row.model),
            "badge": (rated_badge if rated else unrated_badge) if row.provisional else "",
            "score": score(row.score),
            "interval_title": (
                f"95% interval {score(row.ci_low)} \u2013 {score(row.ci_high)}" if rated else ""
            ),
            "interval": (
                f'<span class="plus">+{ci_plus(row)}</span> '
                f'<span class="minus">\u2212{ci_minus(row)}</span>'
                if rated
                else MISSING
            ),
            "votes": count(row.votes),
            "win_rate": percent(row.win_rate),
            # data-rank is what the page's script sorts the column by (empty: unranked there).
            "siblings": "".join(
                f'<td class="num col-sibling" data-sibling="{s.leaderboard.pk}" '
                f'data-rank="{s.ranks.get(row.model_id) or ""}">'
                f"{rank(s.ranks.get(row.model_id))}</td>"
                for s in siblings
            ),
            "bar": (
                f'<div class="ci-bar" aria-hidden="true"><span style="left:{bar["left"]}%;'
                f'width:{bar["width"]}%"></span><i style="left:{bar["dot"]}%"></i></div>'
                if bar
                else ""
            ),
        }
        # Safe: numbers, our own markup, and the escaped name and link.
        lines.append(mark_safe(_STANDINGS_ROW.format(**cells)))
    return lines


def head_to_head_rows_html(h2h: HeadToHead) -> list[SafeString]:
    """The head-to-head as `<tr>` lines: the row model's name, then its cell against each column
    model (observed win rate and votes, coloured; the prediction in the tooltip)."""
    names = [escape(row.model) for row in h2h.rows]
    lines = []
    for i, name in enumerate(names):
        cells = []
        for j, other in enumerate(names):
            if i == j:
                cells.append('<td class="num"><span class="muted">\u00b7</span></td>')
                continue
            observed, votes, predicted = h2h.observed[i][j], h2h.votes[i][j], h2h.predicted[i][j]
            title = f"{name} vs {other}: "
            title += f"won {percent(observed)} of {votes} votes" if votes else "no votes"
            if predicted is not None:
                title += f"; predicted {percent(predicted)}"
            text = f"{percent(observed)}<small>{votes}</small>" if votes else MISSING
            cells.append(
                f'<td class="num" style="background:{heat(observed if votes else None)}" '
                f'title="{title}">{text}</td>'
            )
        lines.append(mark_safe(f'<tr><th scope="row">{name}</th>{"".join(cells)}</tr>'))
    return lines
