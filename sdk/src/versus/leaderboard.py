"""Leaderboards: one question asked about a benchmark's outputs, and the calls that manage them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack

from versus._files import MediaSource
from versus._http import Transport
from versus.model import DataType, Model, model_submit, parse_time
from versus.prompts import PromptInput, prompt_documents

if TYPE_CHECKING:
    from versus.benchmark import Benchmark


class LeaderboardOptions(TypedDict, total=False):
    """Less common leaderboard settings; any left out take the server's defaults.

    Attributes
    ----------
    description : str
        Longer text shown on the leaderboard's page.
    reveal_models : bool
        Show voters the two models' names after they vote (default True).
    tie_model : {"half", "davidson"}
        How ties enter the ranking: half a win each way, or Davidson's model (default "half").
    both_bad : {"tie", "drop"}
        Whether "both are bad" counts as a tie or is left out (default "tie").
    repeat_votes : {"each", "majority"}
        Count every vote, or one majority vote per voter, pair and prompt (default "each").
    min_votes : int
        Votes a model needs before it is ranked (default 20).
    anchor_model : str
        Name of a model whose score is fixed at 1000, the others measured against it (default
        none: the mean model is at 1000). It takes effect once that model has a counted vote.
    outputs_public : {"always", "closed", "never"}
        When the leaderboard's public pages (per-prompt gallery, model pages) show each model's
        outputs under its name: "always" (default), "closed" once the leaderboard stops taking
        votes, or "never" (win rates only). Voters see the same files blinded, so with
        "always" a voter can look up which model made what they are shown. You, the owner,
        always see them. Outputs stay hidden too while another leaderboard of the same
        benchmark with "closed" or "never" takes votes on them.
    """

    description: str
    reveal_models: bool
    tie_model: Literal["half", "davidson"]
    both_bad: Literal["tie", "drop"]
    repeat_votes: Literal["each", "majority"]
    min_votes: int
    anchor_model: str
    outputs_public: Literal["always", "closed", "never"]


_OPTION_NAMES = frozenset(LeaderboardOptions.__annotations__)


def _checked_options(options: LeaderboardOptions) -> LeaderboardOptions:
    """Refuse setting names the server does not know, for callers without a type checker."""
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"unexpected leaderboard setting(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(_OPTION_NAMES))}"
        )
    return options


def leaderboard_settings(
    *,
    name: str,
    instruction: str,
    show_prompt: bool,
    show_prompt_asset: bool,
    inverse_ranking: bool,
    included_tags: Sequence[str] | None,
    excluded_tags: Sequence[str] | None,
    options: LeaderboardOptions,
) -> dict[str, Any]:
    """The JSON body that sets up a leaderboard, shared by both ways of creating one."""
    for label, tags in (("included_tags", included_tags), ("excluded_tags", excluded_tags)):
        if isinstance(tags, str):
            raise TypeError(f"{label}: give a list of tags, not the string {tags!r}")
    return {
        "name": name,
        "instruction": instruction,
        "show_prompt": show_prompt,
        "show_prompt_asset": show_prompt_asset,
        "inverse_ranking": inverse_ranking,
        "included_tags": list(included_tags or []),
        "excluded_tags": list(excluded_tags or []),
        **_checked_options(options),
    }


def _tags_param(tags: Sequence[str] | None) -> dict[str, str | int] | None:
    if tags is None:
        return None
    if isinstance(tags, str):
        raise TypeError(f"tags: give a list of tags, not the string {tags!r}")
    cleaned = [tag.strip() for tag in tags if tag.strip()]
    if not cleaned:
        raise ValueError("tags: give at least one tag, or None for every prompt")
    if any("," in tag for tag in cleaned):
        raise ValueError("tags: a tag cannot contain a comma")
    return {"tags": ",".join(cleaned)}


@dataclass(frozen=True)
class StandingsRow:
    """One model's line in the standings.

    Attributes
    ----------
    rank : int or None
        1 + the number of models whose 95% interval lies wholly above this one's, so models
        with overlapping intervals share a rank. None for a model without counted votes.
    model : str
    model_id : int
    score : float or None
        Elo-like score, 1000 + 400 * theta / ln(10), the mean model at 1000.
    ci_low, ci_high : float or None
        The 95% interval of the score.
    rank_low, rank_high : int or None
        The 95% bootstrap interval of the rank (None until the background bootstrap ran).
    votes, wins, losses, ties, both_bad : int
        Counted votes and their outcomes.
    win_rate : float or None
        (wins + ties / 2) / counted votes.
    provisional : bool
        Fewer votes than the leaderboard's ``min_votes``, or a model that won (lost) every vote
        against the rest: its score then only says "above (below) them".
    component : int or None
        Part of the comparison graph (0 for the largest); scores compare within a part.
    live_score : float or None
        A live estimate between fits: ``score`` moved by an online Elo pass over the votes that
        arrived since it was fitted (equal to ``score`` when there are none). Never the
        published score; the next fit replaces it.
    """

    rank: int | None
    model: str
    model_id: int
    score: float | None
    ci_low: float | None
    ci_high: float | None
    rank_low: int | None
    rank_high: int | None
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    win_rate: float | None
    provisional: bool
    component: int | None
    live_score: float | None = None


@dataclass(frozen=True)
class Standings:
    """A leaderboard's standings; iterate over it (or read ``rows``) for the models, best first.

    Attributes
    ----------
    rows : list of StandingsRow
        Best first, by part of the comparison graph; models without votes last.
    computed_at : datetime or None
        When the standings were fitted (None before the first fit).
    vote_count, excluded_count : int
        Counted votes, and stored votes left out of the fit (flagged voters, gold checks...).
    stored : bool
        True for the published snapshot; False for standings fitted on request (``tags``).
    tags : list of str or None
    tie_model : str
    tie_parameter : float or None
        Davidson's fitted tie parameter (None for ties as half).
    connected : bool
        False when some models were never compared, even indirectly, with the others.
    has_bootstrap : bool
        Whether ``rank_low``/``rank_high`` are filled.
    anchor_model : str or None
        The model whose score is fixed at 1000 in this fit (None: the mean model is).
    live_votes : int
        Votes that arrived since the fit and moved the rows' ``live_score``.
    """

    rows: list[StandingsRow]
    computed_at: datetime | None
    vote_count: int
    excluded_count: int
    stored: bool
    tags: list[str] | None
    tie_model: str
    tie_parameter: float | None
    connected: bool
    has_bootstrap: bool
    leaderboard_id: int
    anchor_model: str | None = None
    live_votes: int = 0

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Standings:
        """Build `Standings` from the server's JSON."""
        names = {f.name for f in fields(StandingsRow)}
        return cls(
            rows=[
                StandingsRow(**{k: v for k, v in row.items() if k in names})
                for row in body.get("rows", [])
            ],
            computed_at=parse_time(body.get("computed_at")),
            vote_count=int(body.get("vote_count", 0)),
            excluded_count=int(body.get("excluded_count", 0)),
            stored=bool(body.get("stored", False)),
            tags=body.get("tags"),
            tie_model=str(body.get("tie_model", "half")),
            tie_parameter=body.get("tie_parameter"),
            connected=bool(body.get("connected", True)),
            has_bootstrap=bool(body.get("has_bootstrap", False)),
            leaderboard_id=int(body.get("leaderboard", 0)),
            anchor_model=body.get("anchor_model"),
            live_votes=int(body.get("live_votes", 0)),
        )

    def __iter__(self) -> Iterator[StandingsRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, model: str) -> StandingsRow:
        """The row of the model named ``model``."""
        for row in self.rows:
            if row.model == model:
                return row
        raise KeyError(f"no model named {model!r} in these standings")


@dataclass(frozen=True)
class WinLossMatrix:
    """Head-to-head counts: ``wins[r][c]`` is how often ``models[r]`` beat ``models[c]``.

    On an inverse leaderboard a "win" is being picked as worse less often; ``ties`` and
    ``both_bad`` are symmetric.
    """

    models: list[str]
    model_ids: list[int]
    wins: list[list[int]]
    ties: list[list[int]]
    both_bad: list[list[int]]
    vote_count: int
    tags: list[str] | None

    def record(self, model: str, opponent: str) -> tuple[int, int, int]:
        """``(wins, losses, ties)`` of ``model`` against ``opponent`` (both-bad as ties)."""
        try:
            r, c = self.models.index(model), self.models.index(opponent)
        except ValueError:
            raise KeyError(f"{model!r} or {opponent!r} is not on this leaderboard") from None
        return self.wins[r][c], self.wins[c][r], self.ties[r][c] + self.both_bad[r][c]


@dataclass(repr=False, eq=False)
class Leaderboard:
    """A leaderboard as the server last described it; `refresh` reads it again.

    Attributes
    ----------
    id : int
    name : str
    instruction : str
        The question voters answer, such as "Which image do you prefer?".
    prompts : list of str
        Texts of the prompts this leaderboard asks about (its benchmark's prompts, narrowed by
        ``included_tags`` and ``excluded_tags``).
    show_prompt, show_prompt_asset : bool
        Whether voters see the prompt's text and its asset (such as a source image).
    inverse_ranking : bool
        Whether the preferred output is the worse one ("Which image has more artifacts?").
    included_tags, excluded_tags : list of str
    models : list of str
        Names of the models entered on the benchmark.
    benchmark_id : int
    url, vote_url : str
        The public page and the voting page.
    outputs_public : {"always", "closed", "never"}
        When the public pages show each model's outputs under its name (see
        `LeaderboardOptions`).
    """

    id: int
    name: str
    instruction: str
    prompts: list[str] = field(default_factory=list)
    show_prompt: bool = True
    show_prompt_asset: bool = False
    inverse_ranking: bool = False
    included_tags: list[str] = field(default_factory=list)
    excluded_tags: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    benchmark_id: int = 0
    benchmark_name: str = ""
    url: str = ""
    vote_url: str = ""
    description: str = ""
    owner: str = ""
    is_public: bool = True
    is_active: bool = True
    media_kind: str = ""
    reveal_models: bool = True
    tie_model: str = "half"
    both_bad: str = "tie"
    repeat_votes: str = "each"
    min_votes: int = 20
    anchor_model: str = ""
    outputs_public: str = "always"
    created: datetime | None = None
    _transport: Transport | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], transport: Transport | None = None) -> Leaderboard:
        """Build a `Leaderboard` from the server's JSON; unknown keys are ignored."""
        known = {f.name for f in fields(cls)} - {"_transport", "benchmark_id", "created"}
        values = {key: value for key, value in body.items() if key in known}
        return cls(
            **values,
            benchmark_id=int(body.get("benchmark", 0)),
            created=parse_time(body.get("created")),
            _transport=transport,
        )

    def __repr__(self) -> str:
        return (
            f"Leaderboard(id={self.id}, name={self.name!r}, instruction={self.instruction!r}, "
            f"prompts={len(self.prompts)}, models={self.models!r})"
        )

    @property
    def _path(self) -> str:
        return f"leaderboards/{self.id}/"

    def _client(self) -> Transport:
        if self._transport is None:
            raise RuntimeError(
                "this Leaderboard is not connected to a server; get it from a VersusClient"
            )
        return self._transport

    def refresh(self) -> Leaderboard:
        """Read the leaderboard again from the server, updating this object in place.

        Returns
        -------
        Leaderboard
            This same object, so ``lb.refresh().models`` works.
        """
        fresh = Leaderboard.from_json(self._client().get(self._path), self._transport)
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        return self

    def evaluate_model(
        self,
        name: str,
        media: Sequence[MediaSource],
        prompts: Sequence[str],
        *,
        data_type: DataType = "media",
        metadata: Mapping[str, Any] | None = None,
        progress: bool | None = None,
    ) -> Model:
        """Enter a model with one output per prompt on this leaderboard's benchmark.

        The model joins every leaderboard of the benchmark, this one included. Arguments are as
        for `Benchmark.evaluate_model`; `models` is updated locally on success.

        Returns
        -------
        Model
            The model as the server registered it.
        """
        model = model_submit(
            self._client(),
            f"{self._path}models/",
            name=name,
            media=media,
            prompts=prompts,
            data_type=data_type,
            metadata=metadata,
            progress=progress,
        )
        if model.name not in self.models:
            self.models.append(model.name)
        return model

    def get_models(self) -> list[Model]:
        """The models entered on this leaderboard's benchmark, with their metadata."""
        body = self._client().get(f"{self._path}models/")
        return [Model.from_json(item) for item in body]

    def get_standings(self, tags: Sequence[str] | None = None) -> Standings:
        """The leaderboard's standings: scores with 95% intervals, ranks and vote tallies.

        Parameters
        ----------
        tags : list of str, optional
            Fit only the votes on prompts carrying any of these tags (computed on request,
            not stored). Every prompt when None.

        Returns
        -------
        Standings
            The latest published fit (refreshed a few seconds after votes arrive), with its
            time and vote count; iterate over it for the rows, best first. Each row's
            ``live_score`` follows the votes that arrived since.

        Raises
        ------
        ValidationError
            A tag no prompt of this leaderboard carries (the message lists the tags).
        NotFoundError
            No such leaderboard, or it is private to another owner.
        """
        body = self._client().get(f"{self._path}standings/", params=_tags_param(tags))
        return Standings.from_json(body)

    def get_win_loss_matrix(self, tags: Sequence[str] | None = None) -> WinLossMatrix:
        """Head-to-head counts between every two models (see `WinLossMatrix`).

        Parameters
        ----------
        tags : list of str, optional
            Count only the votes on prompts carrying any of these tags.
        """
        body = self._client().get(f"{self._path}win-loss/", params=_tags_param(tags))
        return WinLossMatrix(
            models=list(body["models"]),
            model_ids=list(body["model_ids"]),
            wins=body["wins"],
            ties=body["ties"],
            both_bad=body["both_bad"],
            vote_count=int(body["vote_count"]),
            tags=body.get("tags"),
        )

    def get_benchmark(self) -> Benchmark:
        """The benchmark this leaderboard belongs to, with its prompts and sibling leaderboards."""
        from versus.benchmark import Benchmark

        client = self._client()
        return Benchmark.from_json(client.get(f"benchmarks/{self.benchmark_id}/"), client)


class LeaderboardAPI:
    """Create, read and search leaderboards: ``client.leaderboard``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def create_new_leaderboard(
        self,
        name: str,
        instruction: str,
        prompts: Sequence[PromptInput],
        show_prompt: bool = False,
        *,
        tags: Sequence[Sequence[str] | None] | None = None,
        show_prompt_asset: bool = False,
        inverse_ranking: bool = False,
        included_tags: Sequence[str] | None = None,
        excluded_tags: Sequence[str] | None = None,
        is_public: bool = True,
        **options: Unpack[LeaderboardOptions],
    ) -> Leaderboard:
        """Create a leaderboard together with a new benchmark holding its prompts.

        Parameters
        ----------
        name : str
            The leaderboard's (and the new benchmark's) name.
        instruction : str
            The question voters answer, such as "Which image do you prefer?".
        prompts : list of str or dict
            Prompt texts, or dicts ``{"text": ..., "identifier": ..., "tags": [...]}``.
        show_prompt : bool, default False
            Show voters the prompt's text. The only setting that may be given by position, as
            in ``create_new_leaderboard(name, instruction, prompts, True)``.
        tags : list of list of str, optional
            Tags per prompt, aligned with ``prompts`` (None entries for none).
        show_prompt_asset : bool, default False
            Show voters the prompt's asset (create the benchmark with
            `BenchmarkAPI.create_new_benchmark` to upload assets).
        inverse_ranking : bool, default False
            The preferred output is the worse one.
        included_tags, excluded_tags : list of str, optional
            Ask only about prompts with any included tag and none of the excluded ones.
        is_public : bool, default True
            Whether others can see and vote on it.
        **options
            Any of `LeaderboardOptions` (``description``, ``reveal_models``, ``tie_model``,
            ``both_bad``, ``repeat_votes``, ``min_votes``, ``anchor_model``,
            ``outputs_public``). For example ``outputs_public="closed"`` keeps the outputs
            off the public pages until the leaderboard stops taking votes.

        Returns
        -------
        Leaderboard

        Raises
        ------
        ValidationError
            The server rejected a setting; ``field`` names it.
        AuthenticationError
            No valid token.
        """
        body = leaderboard_settings(
            name=name,
            instruction=instruction,
            show_prompt=show_prompt,
            show_prompt_asset=show_prompt_asset,
            inverse_ranking=inverse_ranking,
            included_tags=included_tags,
            excluded_tags=excluded_tags,
            options=options,
        )
        body["prompts"] = prompt_documents(prompts, tags)
        body["is_public"] = is_public
        return Leaderboard.from_json(
            self._transport.post("leaderboards/", json=body), self._transport
        )

    def get_leaderboard_by_id(self, leaderboard_id: int) -> Leaderboard:
        """Read one leaderboard.

        Raises
        ------
        NotFoundError
            No such leaderboard, or it is private to another owner.
        """
        return Leaderboard.from_json(
            self._transport.get(f"leaderboards/{int(leaderboard_id)}/"), self._transport
        )

    def find_leaderboards(
        self, name: str | None = None, amount: int | None = 10
    ) -> list[Leaderboard]:
        """Leaderboards visible to you whose name contains ``name`` (case-insensitive).

        Parameters
        ----------
        name : str, optional
            Part of the name; all leaderboards when None.
        amount : int or None, default 10
            At most this many, newest first; None for all of them.

        Returns
        -------
        list of Leaderboard
        """
        return [
            Leaderboard.from_json(item, self._transport)
            for item in self._transport.get_list("leaderboards/", name=name, amount=amount)
        ]
