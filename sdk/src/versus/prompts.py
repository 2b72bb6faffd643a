"""Prompts: what a benchmark asks every model, as users give them and as the server returns them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PromptInput = str | Mapping[str, Any]
"""A prompt's text, or ``{"text": ..., "identifier": ..., "tags": [...]}``."""


@dataclass(frozen=True)
class Prompt:
    """One registered prompt of a benchmark.

    Attributes
    ----------
    id : int
    position : int
        Its place in the benchmark, from 0.
    text : str
        What models answer, and what `evaluate_model` matches outputs by.
    identifier : str
        The owner's own id for it, or "".
    tags : list of str
    asset_kind : str
        ``"image"``, ``"audio"``, ... when the prompt has an asset, else "".
    asset_url : str or None
        Where the asset can be downloaded.
    """

    id: int
    position: int
    text: str
    identifier: str = ""
    tags: list[str] = field(default_factory=list)
    asset_kind: str = ""
    asset_url: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Prompt:
        """Build a `Prompt` from the server's JSON."""
        return cls(
            id=int(body["id"]),
            position=int(body.get("position", 0)),
            text=str(body["text"]),
            identifier=str(body.get("identifier") or ""),
            tags=list(body.get("tags") or []),
            asset_kind=str(body.get("asset_kind") or ""),
            asset_url=body.get("asset_url"),
        )


def prompt_text(prompt: PromptInput, *, index: int) -> str:
    """The text of a prompt given as a string or a dict."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Mapping) and isinstance(prompt.get("text"), str):
        return str(prompt["text"])
    raise TypeError(
        f"prompts[{index}]: expected a string or a dict with a 'text' string, got {prompt!r}"
    )


def prompt_documents(
    prompts: Sequence[PromptInput], tags: Sequence[Sequence[str] | None] | None = None
) -> list[dict[str, Any]]:
    """The JSON list of prompts to register, with ``tags`` (one list per prompt) merged in.

    Raises
    ------
    ValueError
        No prompts, a prompt given twice, or ``tags`` not aligned with ``prompts``.
    TypeError
        A prompt that is neither a string nor a dict with ``text``, or tags given as a string.
    """
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise TypeError("prompts: give a list of prompts")
    if not prompts:
        raise ValueError("prompts: at least one prompt is required")
    if tags is not None and len(tags) != len(prompts):
        raise ValueError(
            f"tags: {len(tags)} tag lists given for {len(prompts)} prompts; give one list per "
            "prompt (an empty list or None for a prompt without tags)"
        )
    documents: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, prompt in enumerate(prompts):
        text = prompt_text(prompt, index=index)
        if text in seen:
            raise ValueError(
                f"prompts[{index}]: {text[:80]!r} is also prompts[{seen[text]}]; "
                "give each prompt once"
            )
        seen[text] = index
        document: dict[str, Any] = {"text": text} if isinstance(prompt, str) else dict(prompt)
        if tags is not None and tags[index] is not None:
            prompt_tags = tags[index]
            if isinstance(prompt_tags, str):
                raise TypeError(
                    f"tags[{index}]: give a list of tags, not the string {prompt_tags!r}"
                )
            document["tags"] = [*document.get("tags", []), *(prompt_tags or [])]
        documents.append(document)
    return documents
