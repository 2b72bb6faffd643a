"""Models entered on a benchmark, and the submission routine benchmarks and leaderboards share."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from versus._files import MediaSource, upload_file
from versus._http import Transport, Upload

DataType = Literal["media", "text"]


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from the server as a `datetime`, or None when absent."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass
class Model:
    """A generative model entered on a benchmark, with one output per prompt.

    Attributes
    ----------
    id : int
    name : str
        Unique within its benchmark.
    benchmark_id : int
    owner : str
        Username of the owner who entered it.
    metadata : dict
        The free-form JSON object given when it was entered.
    output_count : int
        How many outputs it has (one per prompt of the benchmark).
    is_active : bool
        Whether it is still shown to voters.
    created : datetime or None
    """

    id: int
    name: str
    benchmark_id: int
    owner: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    output_count: int = 0
    is_active: bool = True
    created: datetime | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Model:
        """Build a `Model` from the server's JSON for one model."""
        return cls(
            id=int(body["id"]),
            name=str(body["name"]),
            benchmark_id=int(body["benchmark"]),
            owner=str(body.get("owner", "")),
            metadata=dict(body.get("metadata") or {}),
            output_count=int(body.get("outputs", 0)),
            is_active=bool(body.get("is_active", True)),
            created=parse_time(body.get("created")),
        )

    def __repr__(self) -> str:
        return (
            f"Model(id={self.id}, name={self.name!r}, benchmark_id={self.benchmark_id}, "
            f"outputs={self.output_count})"
        )


def _checked_prompts(prompts: Sequence[str]) -> list[str]:
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise TypeError("prompts: give a list of prompt texts, one per output")
    if not prompts:
        raise ValueError("prompts: at least one prompt is required")
    seen: dict[str, int] = {}
    for index, text in enumerate(prompts):
        if not isinstance(text, str):
            raise TypeError(
                f"prompts[{index}]: expected the prompt's text, got {type(text).__name__}"
            )
        if text in seen:
            raise ValueError(
                f"prompts[{index}]: {text[:80]!r} is also prompts[{seen[text]}]; "
                "give each prompt once"
            )
        seen[text] = index
    return list(prompts)


def model_submit(
    transport: Transport,
    path: str,
    *,
    name: str,
    media: Sequence[MediaSource],
    prompts: Sequence[str],
    data_type: DataType = "media",
    metadata: Mapping[str, Any] | None = None,
    progress: bool | None = None,
) -> Model:
    """Check a submission locally, then POST it to ``path`` (a benchmark's or leaderboard's models).

    Nothing is sent when the arguments are inconsistent. See `Benchmark.evaluate_model` for the
    meaning of the arguments.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name: a model needs a non-empty name")
    if data_type not in ("media", "text"):
        raise ValueError(f"data_type: {data_type!r} is not allowed; use 'media' or 'text'")
    if isinstance(media, str | bytes) or not isinstance(media, Sequence):
        raise TypeError("media: give a list with one output per prompt")
    texts = _checked_prompts(prompts)
    if len(media) != len(texts):
        raise ValueError(
            f"media: {len(media)} outputs given for {len(texts)} prompts; "
            "give exactly one output per prompt, in the same order"
        )
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError("metadata: must be a dict (a JSON object)")

    if data_type == "text":
        for index, item in enumerate(media):
            if not isinstance(item, str):
                raise TypeError(
                    f"media[{index}]: data_type='text' takes strings, got {type(item).__name__}"
                )
        body: dict[str, Any] = {
            "name": name,
            "prompts": texts,
            "texts": list(media),
            "data_type": "text",
        }
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return Model.from_json(transport.post(path, json=body))

    files = [
        upload_file(item, field="media", index=index, what=f"media[{index}]")
        for index, item in enumerate(media)
    ]
    form: dict[str, str | list[str]] = {"name": name, "prompts": texts, "data_type": "media"}
    if metadata is not None:
        form["metadata"] = json.dumps(dict(metadata))
    upload = Upload(form=form, files=files, label=f"Uploading {name}")
    return Model.from_json(transport.post(path, upload=upload, progress=progress))
