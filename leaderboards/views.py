"""Public pages of leaderboards: index, standings, per-prompt results, model pages.

Views stay thin: find the leaderboard the visitor may see (404 otherwise, so a private board's
existence is not revealed), call selectors, render. Every table works without JavaScript; the
scripts only add plots, client-side sorting and live refresh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_GET

from config.errors import NotFound
from config.integers import ascii_int
from evaluation.selectors import StandingsRow, StandingsView, snapshot_latest, standings_get

# The media view's response helper: one place decides the headers media is served with.
from evaluation.views import _media_response as media_response
from leaderboards.models import Leaderboard
from leaderboards.selectors import (
    INDEX_SORTS,
    BoardPrompts,
    HeadToHead,
    OutputsPublication,
    SiblingBoard,
    Tally,
    board_prompts,
    head_to_head,
    leaderboard_get,
    leaderboards_listed,
    leaderboards_prompt_counts,
    model_history,
    model_outputs,
    model_report,
    output_for_page,
    outputs_publication,
    prompt_results,
    prompts_shown,
    rated_rows,
    sibling_boards,
)
from leaderboards.tables import head_to_head_rows_html, standings_rows_html

INDEX_PAGE_SIZE = 24
HEAD_TO_HEAD_SIZES = (10, 15, 20, 30, 50)
HEAD_TO_HEAD_DEFAULT = 15
H2H_TABLE_MAX = 20
PROMPTS_SHOWN = 30
LIVE_REFRESH_SECONDS = 15
MODEL_OUTPUTS_PAGE_SIZE = 24
MODEL_HISTORY_ROWS = 10
# Per-prompt pages hold about this many outputs, so a 200-model board shows one prompt a page.
GALLERY_OUTPUTS_PER_PAGE = 120

# Sortable columns of the standings table: query value -> (label, key, descending first).
STANDINGS_SORTS: dict[str, tuple[str, Any, bool]] = {
    "rank": ("Rank", None, False),
    "model": ("Model", lambda r: r.model.lower(), False),
    "score": ("Score", lambda r: r.score, True),
    "interval": ("95% interval", lambda r: (r.ci_high or 0) - (r.ci_low or 0), False),
    "votes": ("Votes", lambda r: r.votes, True),
    "win_rate": ("Win rate", lambda r: r.win_rate, True),
}
# The "Rank on <other question>" columns sort as `on-<that leaderboard's id>`, best rank first.
SIBLING_SORT = "on-{}"


def _board(request: HttpRequest, leaderboard_id: int) -> Leaderboard:
    try:
        return leaderboard_get(leaderboard_id=leaderboard_id, user=request.user)
    except NotFound:
        raise Http404("no such leaderboard") from None


def _is_owner(request: HttpRequest, leaderboard: Leaderboard) -> bool:
    user = request.user
    return bool(
        user.is_staff or (user.is_authenticated and user.pk == leaderboard.benchmark.owner_id)
    )


def _shows_prompts(request: HttpRequest, leaderboard: Leaderboard) -> bool:
    """Prompt texts are public when the leaderboard shows them to voters; owners always see them."""
    return leaderboard.show_prompt or _is_owner(request, leaderboard)


def _outputs_shown(
    request: HttpRequest, leaderboard: Leaderboard
) -> tuple[bool, OutputsPublication]:
    """Whether this visitor sees the outputs under model names, and the board's public rule.

    Owners and staff always see them; the rule is returned too so their pages can say what
    everyone else sees.
    """
    publication = outputs_publication(leaderboard=leaderboard)
    return publication.public or _is_owner(request, leaderboard), publication


def _tags(request: HttpRequest, prompts: BoardPrompts) -> tuple[list[str], list[tuple[str, int]]]:
    """The visitor's tag filter, keeping only tags the board's prompts carry, and all tags."""
    available = prompts.tag_counts()
    known = {tag for tag, _ in available}
    wanted = [t for t in dict.fromkeys(request.GET.getlist("tag")) if t in known]
    return wanted, available


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current query string with `changes` applied (None removes a key)."""
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        elif isinstance(value, list):
            params.setlist(key, value)
        else:
            params[key] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every leaderboard the visitor may see, searchable by name, sorted by update or votes."""
    # PostgreSQL refuses NUL in any text; like other bad values here, it is dropped.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    sort = request.GET.get("sort", "updated")
    if sort not in INDEX_SORTS:
        sort = "updated"
    listed = leaderboards_listed(user=request.user, query=query, sort=sort)
    page = Paginator(listed, INDEX_PAGE_SIZE).get_page(request.GET.get("page"))
    boards = list(page.object_list)
    counts = leaderboards_prompt_counts(leaderboards=boards)
    for board in boards:
        board.prompt_count = counts[board.pk]
    return render(
        request,
        "leaderboards/index.html",
        {
            "leaderboards": boards,
            "page": page,
            "query": query,
            "sort": sort,
            "sorts": [
                (key, label, _query(request, sort=key, page=None))
                for key, label in INDEX_SORTS.items()
            ],
            "prev_url": _query(request, page=page.previous_page_number())
            if page.has_previous()
            else None,
            "next_url": _query(request, page=page.next_page_number()) if page.has_next() else None,
        },
    )


def _sort_state(request: HttpRequest, siblings: list[SiblingBoard]) -> tuple[str, bool]:
    """The standings' sort column and direction; unknown values fall back to the ranking."""
    sort = request.GET.get("sort", "rank")
    if sort not in STANDINGS_SORTS and sort not in {
        SIBLING_SORT.format(s.leaderboard.pk) for s in siblings
    }:
        sort = "rank"
    first_desc = STANDINGS_SORTS[sort][2] if sort in STANDINGS_SORTS else False
    return sort, request.GET.get("dir", "desc" if first_desc else "asc") == "desc"


def _sorted_rows(
    rows: list[StandingsRow], sort: str, descending: bool, siblings: list[SiblingBoard]
) -> list[StandingsRow]:
    if sort == "rank":
        ordered = list(rows)  # display order already: by part, rank, score
        return ordered[::-1] if descending else ordered
    if sort in STANDINGS_SORTS:
        key = STANDINGS_SORTS[sort][1]
    else:
        ranks = next(s.ranks for s in siblings if SIBLING_SORT.format(s.leaderboard.pk) == sort)

        def key(row: StandingsRow) -> int | None:
            return ranks.get(row.model_id)

    rated = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    return sorted(rated, key=key, reverse=descending) + missing


def _sort_headers(
    request: HttpRequest, sort: str, descending: bool, siblings: list[SiblingBoard]
) -> list[dict[str, Any]]:
    columns = [
        (key, label, first_desc, "", f"col-{key}" + ("" if key == "model" else " num"))
        for key, (label, _, first_desc) in STANDINGS_SORTS.items()
    ]
    columns += [
        (
            SIBLING_SORT.format(s.leaderboard.pk),
            f"Rank on {Truncator(s.leaderboard.name).chars(40)}",
            False,
            f"Rank on {s.leaderboard.name}: \u201c{s.leaderboard.instruction}\u201d",
            "num col-sibling",
        )
        for s in siblings
    ]
    headers = []
    for key, label, first_desc, title, classes in columns:
        active = key == sort
        next_desc = (not descending) if active else first_desc
        headers.append(
            {
                "key": key,
                "label": label,
                "title": title,
                "classes": classes,
                "url": _query(request, sort=key, dir="desc" if next_desc else "asc") + "#standings",
                "aria": ("descending" if descending else "ascending") if active else "none",
                "first": "desc" if first_desc else "asc",
            }
        )
    return headers


def _h2h_size(request: HttpRequest) -> int:
    size = ascii_int(request.GET.get("h2h"))
    return size if size in HEAD_TO_HEAD_SIZES else HEAD_TO_HEAD_DEFAULT


def _description(leaderboard: Leaderboard, standings: StandingsView) -> str:
    rated = rated_rows(standings)
    text = (
        f"{leaderboard.name}: {len(standings.rows)} models ranked by "
        f"{standings.vote_count:,} human votes"
    )
    if rated:
        leader = rated[0]
        text += f"; leader {leader.model} ({leader.score:.0f})"
    return f"{text}. \u201c{leaderboard.instruction}\u201d"[:300]


def _published(row: StandingsRow) -> dict[str, Any]:
    fields = asdict(row)
    fields.pop("live_score", None)
    return fields


@dataclass(frozen=True)
class BoardNumbers:
    """The numbers of a leaderboard page: standings (maybe tag-filtered) and head-to-head.

    `published_snapshot_id` and `published_bootstrap` name the newest published snapshot and
    whether its rank intervals are in: the live refresh redraws when either changes.
    """

    tags: list[str]
    available_tags: list[tuple[str, int]]
    standings: StandingsView
    h2h: HeadToHead
    published_snapshot_id: int | None
    published_bootstrap: bool
    prompt_count: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "leaderboard_id": self.standings.leaderboard_id,
            "snapshot_id": self.published_snapshot_id,
            "has_bootstrap": self.published_bootstrap,
            "computed_at": (
                self.standings.computed_at.isoformat() if self.standings.computed_at else None
            ),
            "vote_count": self.standings.vote_count,
            "tags": self.tags,
            "tie_parameter": self.standings.tie_parameter,
            # The published numbers only: the API's live Elo estimate is not drawn here.
            "rows": [_published(row) for row in self.standings.rows],
            "h2h": self.h2h.as_dict(),
        }


def _board_numbers(
    request: HttpRequest, leaderboard: Leaderboard, prompts: BoardPrompts
) -> BoardNumbers:
    tags, available_tags = _tags(request, prompts)
    standings = standings_get(leaderboard=leaderboard, tags=tags or None)
    prompt_ids = prompts.ids_tagged(tags) if tags else None
    h2h = head_to_head(
        leaderboard=leaderboard,
        standings=standings,
        limit=_h2h_size(request),
        prompt_ids=prompt_ids,
    )
    published = (standings.snapshot_id, standings.has_bootstrap)
    if tags:
        # A tag filter's standings are a fit of their own; the page follows the published one.
        latest = snapshot_latest(leaderboard=leaderboard)
        published = (latest.pk, latest.has_bootstrap) if latest else (None, False)
    return BoardNumbers(
        tags=tags,
        available_tags=available_tags,
        standings=standings,
        h2h=h2h,
        published_snapshot_id=published[0],
        published_bootstrap=published[1],
        prompt_count=len(prompt_ids) if prompt_ids is not None else None,
    )


def _kept_state(request: HttpRequest, *names: str) -> list[tuple[str, str]]:
    """The query parameters `names` as (name, value) pairs, for a form's hidden inputs."""
    return [(name, value) for name in names for value in request.GET.getlist(name)]


def _standings_context(
    request: HttpRequest, leaderboard: Leaderboard, prompts: BoardPrompts
) -> dict[str, Any]:
    """What the standings table, its notices and the head-to-head table are drawn from: the
    page renders it whole, the live refresh re-renders the same parts (`leaderboard_data`)."""
    numbers = _board_numbers(request, leaderboard, prompts)
    standings = numbers.standings
    siblings = sibling_boards(leaderboard=leaderboard)
    sort, descending = _sort_state(request, siblings)
    return {
        "leaderboard": leaderboard,
        "board_url": reverse("page-leaderboard", args=[leaderboard.pk]),
        "numbers": numbers,
        "standings": standings,
        "rated": rated_rows(standings),
        "sort": sort,
        "descending": descending,
        "table": standings_rows_html(
            rows=_sorted_rows(standings.rows, sort, descending, siblings),
            standings=standings,
            siblings=siblings,
            model_href=reverse("page-model", args=[leaderboard.pk, 0]).replace("/0/", "/{}/"),
            min_votes=leaderboard.min_votes,
        ),
        "headers": _sort_headers(request, sort, descending, siblings),
        "h2h": numbers.h2h,
        # Larger matrices are for the heatmap only: a 50 x 50 table reads badly and renders
        # slowly.
        "h2h_table": (
            head_to_head_rows_html(numbers.h2h) if len(numbers.h2h.rows) <= H2H_TABLE_MAX else []
        ),
        "h2h_table_max": H2H_TABLE_MAX,
        "siblings": siblings,
        "tags": numbers.tags,
    }


@require_GET
def leaderboard_detail(request: HttpRequest, leaderboard_id: int) -> HttpResponse:
    """The standings with intervals, plots, head-to-head, sibling questions and prompts."""
    leaderboard = _board(request, leaderboard_id)
    prompts = board_prompts(leaderboard=leaderboard)
    context = _standings_context(request, leaderboard, prompts)
    numbers: BoardNumbers = context["numbers"]
    shows_prompts = _shows_prompts(request, leaderboard)
    return render(
        request,
        "leaderboards/leaderboard.html",
        {
            **context,
            "h2h_sizes": HEAD_TO_HEAD_SIZES,
            "h2h_size": _h2h_size(request),
            # Each form keeps what the other controls chose (JavaScript keeps sort and dir up
            # to date when it sorts in the page).
            "tag_filter_keeps": _kept_state(request, "sort", "dir", "h2h"),
            "h2h_form_keeps": _kept_state(request, "tag", "sort", "dir"),
            "available_tags": numbers.available_tags,
            "clear_url": _query(request, tag=None) + "#standings" if numbers.tags else None,
            "prompts": (
                prompts_shown(prompt_ids=prompts.ids[:PROMPTS_SHOWN]) if shows_prompts else []
            ),
            "prompt_total": len(prompts.ids) if shows_prompts else 0,
            "description": _description(leaderboard, numbers.standings),
            "page_data": {
                **numbers.as_json(),
                "data_url": reverse("page-leaderboard-data", args=[leaderboard.pk]),
                # Polled only to notice a new snapshot: no live estimate needed.
                "standings_url": reverse("leaderboard-standings", args=[leaderboard.pk])
                + "?live=false",
                "model_url": reverse("page-model", args=[leaderboard.pk, 0]),
                "refresh_seconds": LIVE_REFRESH_SECONDS,
            },
        },
    )


@require_GET
def leaderboard_data(request: HttpRequest, leaderboard_id: int) -> JsonResponse:
    """The numbers the leaderboard page draws (standings, head-to-head), for its live refresh.

    The page polls the standings API to learn that a new snapshot is out, then reads this once.
    Takes the page's own `tag`, `h2h`, `sort` and `dir` parameters; with `html=1` it adds the
    standings table, its notices and the head-to-head table as the page renders them, so the
    page swaps them in (new models, rank intervals, ranks on the other questions) without a
    reload.
    """
    leaderboard = _board(request, leaderboard_id)
    html = request.GET.get("html", "0")
    if html not in ("0", "1"):
        return JsonResponse(
            {"detail": f"html: must be 1 (add the page's HTML parts) or 0, not {html[:20]!r}"},
            status=400,
        )
    prompts = board_prompts(leaderboard=leaderboard)
    if html == "0":
        return JsonResponse(_board_numbers(request, leaderboard, prompts).as_json())
    context = _standings_context(request, leaderboard, prompts)
    data = context["numbers"].as_json()
    data["html"] = {
        part: render_to_string(f"leaderboards/_{part}.html", context, request).strip()
        for part in ("standings_table", "standings_notices", "h2h_table")
    }
    return JsonResponse(data)


def _gallery_page_size(n_models: int) -> int:
    return max(1, min(10, GALLERY_OUTPUTS_PER_PAGE // max(n_models, 1)))


@require_GET
def prompt_gallery(request: HttpRequest, leaderboard_id: int) -> HttpResponse:
    """Per-prompt results: every model's output on each prompt with its win rate there."""
    leaderboard = _board(request, leaderboard_id)
    prompts = board_prompts(leaderboard=leaderboard)
    tags, available_tags = _tags(request, prompts)
    standings = standings_get(leaderboard=leaderboard)
    prompt_ids = prompts.ids_tagged(tags) if tags else prompts.ids
    # Like an unknown tag, a prompt that is not an id is ignored.
    single = ascii_int(request.GET.get("prompt"))
    if single is not None:
        prompt_ids = [pk for pk in prompt_ids if pk == single]
    page = Paginator(prompt_ids, _gallery_page_size(len(standings.rows))).get_page(
        request.GET.get("page")
    )
    show_outputs, publication = _outputs_shown(request, leaderboard)
    results = prompt_results(
        leaderboard=leaderboard,
        prompts=prompts_shown(prompt_ids=list(page.object_list)),
        standings=standings,
        with_outputs=show_outputs,
    )
    return render(
        request,
        "leaderboards/prompts.html",
        {
            "leaderboard": leaderboard,
            "board_url": reverse("page-leaderboard", args=[leaderboard.pk]),
            "standings": standings,
            "results": results,
            "show_outputs": show_outputs,
            "publication": publication,
            "page": page,
            "tags": tags,
            "available_tags": available_tags,
            "show_prompts": _shows_prompts(request, leaderboard),
            "show_assets": leaderboard.show_prompt_asset or _is_owner(request, leaderboard),
            "prompt_count": len(prompt_ids),
            "clear_url": (
                _query(request, tag=None, prompt=None, page=None)
                if tags or single is not None
                else None
            ),
            "prev_url": _query(request, page=page.previous_page_number())
            if page.has_previous()
            else None,
            "next_url": _query(request, page=page.next_page_number()) if page.has_next() else None,
        },
    )


@require_GET
def model_detail(request: HttpRequest, leaderboard_id: int, model_id: int) -> HttpResponse:
    """One model on one leaderboard: score history, record against each model, its outputs."""
    leaderboard = _board(request, leaderboard_id)
    standings = standings_get(leaderboard=leaderboard)
    if model_id not in {row.model_id for row in standings.rows}:
        raise Http404("no such model on this leaderboard")
    report = model_report(leaderboard=leaderboard, model_id=model_id, standings=standings)
    history = model_history(leaderboard=leaderboard, model_id=model_id)
    prompts = board_prompts(leaderboard=leaderboard)
    page = Paginator(prompts.ids, MODEL_OUTPUTS_PAGE_SIZE).get_page(request.GET.get("page"))
    page_prompts = prompts_shown(prompt_ids=list(page.object_list))
    show_outputs, publication = _outputs_shown(request, leaderboard)
    outputs = (
        model_outputs(model_id=model_id, prompt_ids=[p.pk for p in page_prompts])
        if show_outputs
        else {}
    )
    siblings = sibling_boards(leaderboard=leaderboard)
    row = report.row
    description = f"{row.model} on {leaderboard.name}: "
    if row.score is not None and row.ci_low is not None and row.ci_high is not None:
        description += (
            f"rank {row.rank}, score {row.score:.0f} "
            f"(95% interval {row.ci_low:.0f} to {row.ci_high:.0f}), {row.votes:,} votes."
        )
    else:
        description += "not rated yet."
    return render(
        request,
        "leaderboards/model.html",
        {
            "leaderboard": leaderboard,
            "board_url": reverse("page-leaderboard", args=[leaderboard.pk]),
            "standings": standings,
            "row": row,
            "record": report.record,
            "history": history,
            "recent_history": history[-MODEL_HISTORY_ROWS:][::-1],
            "outputs": [
                (p, outputs.get(p.pk), report.by_prompt.get(p.pk, Tally())) for p in page_prompts
            ],
            "show_outputs": show_outputs,
            "publication": publication,
            "page": page,
            "siblings": [(s, s.ranks.get(model_id), s.scores.get(model_id)) for s in siblings],
            "show_prompts": _shows_prompts(request, leaderboard),
            "description": description,
            "prev_url": _query(request, page=page.previous_page_number())
            if page.has_previous()
            else None,
            "next_url": _query(request, page=page.next_page_number()) if page.has_next() else None,
            "page_data": {
                "model": row.model,
                "history": [
                    {
                        "at": point.at.isoformat(),
                        "score": point.score,
                        "ci_low": point.ci_low,
                        "ci_high": point.ci_high,
                        "rank": point.rank,
                        "votes": point.votes,
                    }
                    for point in history
                ],
                "record": [
                    {
                        "opponent": rec.opponent.model,
                        "observed": rec.tally.win_rate,
                        "votes": rec.tally.votes,
                        "predicted": rec.predicted,
                    }
                    for rec in report.record
                    if rec.tally.votes or rec.predicted is not None
                ],
            },
        },
    )


@require_GET
def output_file(request: HttpRequest, leaderboard_id: int, output_id: int) -> HttpResponse:
    """An output's file for the public galleries.

    Galleries name the model next to each output, so they must not use the opaque
    /media/o/<public id> address the voting page uses: that would let a voter look the id up.
    While the board's outputs are not public, this answers 404 to all but the owner and staff,
    the same answer as for an output that does not exist.
    """
    leaderboard = _board(request, leaderboard_id)
    if not _outputs_shown(request, leaderboard)[0]:
        raise Http404("no such output")
    try:
        output = output_for_page(leaderboard=leaderboard, output_id=output_id)
    except NotFound:
        raise Http404("no such output") from None
    return media_response(request, output.file, output.content_type)
