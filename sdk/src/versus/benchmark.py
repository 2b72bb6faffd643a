"""Benchmarks: a fixed set of prompts that every model answers, asked about by leaderboards."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Unpack

from versus._files import MediaSource, UploadFile, upload_file
from versus._http import Transport, Upload
from versus.leaderboard import (
    Leaderboard,
    LeaderboardOptions,
    leaderboard_settings,
)
from versus.model import DataType, Model, model_submit, parse_time
from versus.prompts import Prompt, PromptInput, prompt_documents, prompt_text

PromptAssets = Mapping[str, MediaSource | None] | Sequence[MediaSource | None]
"""Assets by prompt text, or a list aligned with the prompts (None for a prompt without one)."""


@dataclass(repr=False, eq=False)
class Benchmark:
    """A benchmark as the server last described it; `refresh` reads it again.

    Attributes
    ----------
    id : int
    name : str
    description : str
    is_public : bool
    owner : str
    media_kind : str
        ``"image"``, ``"video"``, ``"audio"`` or ``"text"`` once a model is entered, else "".
    prompts : list of Prompt
        Every registered prompt, in order.
    models : list of str
        Names of the models entered.
    leaderboard_ids : list of int
        Ids of its leaderboards; `leaderboards` loads them.
    created : datetime or None
    """

    id: int
    name: str
    description: str = ""
    is_public: bool = True
    owner: str = ""
    media_kind: str = ""
    prompts: list[Prompt] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    leaderboard_ids: list[int] = field(default_factory=list)
    created: datetime | None = None
    _transport: Transport | None = field(default=None, repr=False)
    _leaderboards: list[Leaderboard] | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], transport: Transport | None = None) -> Benchmark:
        """Build a `Benchmark` from the server's JSON; unknown keys are ignored."""
        return cls(
            id=int(body["id"]),
            name=str(body["name"]),
            description=str(body.get("description") or ""),
            is_public=bool(body.get("is_public", True)),
            owner=str(body.get("owner") or ""),
            media_kind=str(body.get("media_kind") or ""),
            prompts=[Prompt.from_json(p) for p in body.get("prompts", [])],
            models=list(body.get("models", [])),
            leaderboard_ids=[int(lb["id"]) for lb in body.get("leaderboards", [])],
            created=parse_time(body.get("created")),
            _transport=transport,
        )

    def __repr__(self) -> str:
        return (
            f"Benchmark(id={self.id}, name={self.name!r}, prompts={len(self.prompts)}, "
            f"leaderboards={self.leaderboard_ids!r}, models={self.models!r})"
        )

    @property
    def _path(self) -> str:
        return f"benchmarks/{self.id}/"

    def _client(self) -> Transport:
        if self._transport is None:
            raise RuntimeError(
                "this Benchmark is not connected to a server; get it from a VersusClient"
            )
        return self._transport

    @property
    def prompt_texts(self) -> list[str]:
        """The prompts' texts in order: what `evaluate_model` takes as ``prompts``."""
        return [p.text for p in self.prompts]

    @property
    def leaderboards(self) -> list[Leaderboard]:
        """The benchmark's leaderboards, read from the server on first use (one request each)."""
        if self._leaderboards is None:
            client = self._client()
            self._leaderboards = [
                Leaderboard.from_json(client.get(f"leaderboards/{lb_id}/"), client)
                for lb_id in self.leaderboard_ids
            ]
        return list(self._leaderboards)

    def refresh(self) -> Benchmark:
        """Read the benchmark again from the server, updating this object in place.

        Returns
        -------
        Benchmark
            This same object.
        """
        fresh = Benchmark.from_json(self._client().get(self._path), self._transport)
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        return self

    def create_leaderboard(
        self,
        name: str,
        instruction: str,
        show_prompt: bool = False,
        show_prompt_asset: bool = False,
        inverse_ranking: bool = False,
        included_tags: Sequence[str] | None = None,
        excluded_tags: Sequence[str] | None = None,
        **options: Unpack[LeaderboardOptions],
    ) -> Leaderboard:
        """Add a leaderboard (another question about the same outputs) to this benchmark.

        Parameters
        ----------
        name : str
        instruction : str
            The question voters answer.
        show_prompt, show_prompt_asset : bool, default False
            Show voters the prompt's text, and its asset.
        inverse_ranking : bool, default False
            The preferred output is the worse one.
        included_tags, excluded_tags : list of str, optional
            Ask only about prompts with any included tag and none of the excluded ones.
        **options
            Any of `LeaderboardOptions`, such as ``outputs_public="closed"``: the public
            pages show the outputs under model names only once the leaderboard stops taking
            votes ("always" by default, or "never").

        Returns
        -------
        Leaderboard
            Already holding every model entered on the benchmark.
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
        client = self._client()
        leaderboard = Leaderboard.from_json(
            client.post(f"{self._path}leaderboards/", json=body), client
        )
        self.leaderboard_ids.append(leaderboard.id)
        if self._leaderboards is not None:
            self._leaderboards.append(leaderboard)
        return leaderboard

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
        """Enter a model with one output per prompt; it joins every leaderboard of the benchmark.

        Parameters
        ----------
        name : str
            Unique within the benchmark.
        media : list
            One output per prompt, in the order of ``prompts``. For ``data_type="media"``, file
            paths (str or os.PathLike) or bytes; bytes are named by their format, read from their
            leading bytes (PNG, JPEG, GIF, WebP, MP4, WebM, MP3, WAV, Ogg, FLAC), because the
            server checks that a file's extension matches its content. For ``data_type="text"``,
            the output strings.
        prompts : list of str
            The registered prompt texts the outputs answer; every prompt exactly once.
        data_type : {"media", "text"}, default "media"
        metadata : dict, optional
            Free-form JSON object stored with the model (settings, checkpoint, ...).
        progress : bool, optional
            Draw an upload progress bar on stderr; by default only when stderr is a terminal.

        Returns
        -------
        Model

        Raises
        ------
        ValueError, TypeError, FileNotFoundError
            Inconsistent arguments or a missing file; nothing was sent.
        ValidationError
            The server refused the submission, such as a prompt that is not registered; the
            message names it and ``field`` says which (``"prompts[1]"``).
        ConflictError
            The benchmark already has a model with this name.
        PayloadTooLarge
            A file is over the server's size limit.
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
        """The models entered on this benchmark, with their metadata."""
        return [Model.from_json(item) for item in self._client().get(f"{self._path}models/")]


def _asset_files(prompts: Sequence[PromptInput], assets: PromptAssets) -> list[UploadFile]:
    texts = [prompt_text(p, index=i) for i, p in enumerate(prompts)]
    if isinstance(assets, Mapping):
        unknown = [key for key in assets if key not in texts]
        if unknown:
            raise ValueError(
                f"prompt_assets: {unknown[0]!r} is not one of the prompts; key assets by the "
                "prompt's exact text"
            )
        aligned: Sequence[MediaSource | None] = [assets.get(text) for text in texts]
    elif isinstance(assets, str | bytes) or not isinstance(assets, Sequence):
        raise TypeError(
            "prompt_assets: give a dict {prompt text: file} or a list aligned with prompts"
        )
    else:
        if len(assets) != len(texts):
            raise ValueError(
                f"prompt_assets: {len(assets)} given for {len(texts)} prompts; give one per "
                "prompt (None for a prompt without an asset), or a dict keyed by prompt text"
            )
        aligned = assets
    return [
        upload_file(
            source, field=f"prompt_assets[{index}]", index=index, what=f"prompt_assets[{index}]"
        )
        for index, source in enumerate(aligned)
        if source is not None
    ]


class BenchmarkAPI:
    """Create, read and search benchmarks: ``client.benchmark``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def create_new_benchmark(
        self,
        name: str,
        prompts: Sequence[PromptInput],
        tags: Sequence[Sequence[str] | None] | None = None,
        prompt_assets: PromptAssets | None = None,
        *,
        description: str = "",
        is_public: bool = True,
        progress: bool | None = None,
    ) -> Benchmark:
        """Register a benchmark: its prompts, their tags and optional assets.

        Parameters
        ----------
        name : str
        prompts : list of str or dict
            Prompt texts, or dicts ``{"text": ..., "identifier": ..., "tags": [...]}``.
        tags : list of list of str, optional
            Tags per prompt, aligned with ``prompts`` (None or [] for none). Leaderboards pick
            prompts by tag with ``included_tags`` / ``excluded_tags``.
        prompt_assets : dict or list, optional
            A file per prompt that voters may be shown with it (such as the source image of an
            edit): a dict ``{prompt text: path or bytes}``, or a list aligned with ``prompts``
            with None where a prompt has none. Bytes are named as in `Benchmark.evaluate_model`.
        description : str, default ""
        is_public : bool, default True
        progress : bool, optional
            Progress bar for the asset upload; by default only when stderr is a terminal.

        Returns
        -------
        Benchmark
            With no leaderboard yet: add them with `Benchmark.create_leaderboard`.
        """
        body: dict[str, Any] = {
            "name": name,
            "description": description,
            "is_public": is_public,
            "prompts": prompt_documents(prompts, tags),
        }
        files = [] if prompt_assets is None else _asset_files(prompts, prompt_assets)
        if files:
            upload = Upload(
                form={"data": json.dumps(body)}, files=files, label=f"Uploading assets of {name}"
            )
            answer = self._transport.post("benchmarks/", upload=upload, progress=progress)
        else:
            answer = self._transport.post("benchmarks/", json=body)
        return Benchmark.from_json(answer, self._transport)

    def get_benchmark_by_id(self, benchmark_id: int) -> Benchmark:
        """Read one benchmark.

        Raises
        ------
        NotFoundError
            No such benchmark, or it is private to another owner.
        """
        return Benchmark.from_json(
            self._transport.get(f"benchmarks/{int(benchmark_id)}/"), self._transport
        )

    def find_benchmarks(self, name: str | None = None, amount: int | None = 10) -> list[Benchmark]:
        """Benchmarks visible to you whose name contains ``name`` (case-insensitive).

        Parameters
        ----------
        name : str, optional
            Part of the name; all benchmarks when None.
        amount : int or None, default 10
            At most this many, newest first; None for all of them.

        Returns
        -------
        list of Benchmark
        """
        return [
            Benchmark.from_json(item, self._transport)
            for item in self._transport.get_list("benchmarks/", name=name, amount=amount)
        ]
