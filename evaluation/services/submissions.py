"""Writes for models and their outputs. Each function is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, Invalid
from config.validation import metadata_check
from evaluation.media import (
    InspectedMedia,
    media_inspect,
    media_removed_on_error,
    media_store,
    text_inspect,
)
from evaluation.models import Model, Output
from leaderboards.models import Benchmark

MAX_MODEL_NAME = 200


def _check_prompts(benchmark: Benchmark, prompts: Sequence[str]) -> list[int]:
    """Map each submitted prompt text to its registered prompt id, or say exactly what is wrong."""
    if not prompts:
        raise Invalid("prompts: at least one prompt is required", field="prompts")
    registered = dict(benchmark.prompts.values_list("text", "id"))
    seen: dict[str, int] = {}
    ids: list[int] = []
    for index, text in enumerate(prompts):
        where = f"prompts[{index}]"
        if text in seen:
            raise Invalid(
                f"{where}: the prompt {text[:80]!r} is also prompts[{seen[text]}]; "
                "give each prompt once",
                field=where,
                code="duplicate_prompt",
            )
        seen[text] = index
        if text not in registered:
            raise Invalid(
                f"{where}: {text[:80]!r} is not a registered prompt of benchmark "
                f"{benchmark.name!r}; the benchmark has {len(registered)} prompts",
                field=where,
                code="unknown_prompt",
            )
        ids.append(registered[text])
    missing = [text for text in registered if text not in seen]
    if missing:
        shown = ", ".join(repr(t[:60]) for t in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise Invalid(
            f"prompts: a model answers every registered prompt; missing {shown}{more}",
            field="prompts",
            code="missing_prompts",
        )
    return ids


def model_submit(
    *,
    benchmark: Benchmark,
    owner: AbstractBaseUser,
    name: str,
    prompts: Sequence[str],
    media: Sequence[IO[bytes]] = (),
    texts: Sequence[str] = (),
    data_type: str = "media",
    metadata: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Model:
    """Enter a model on a benchmark with one output per registered prompt.

    Everything is checked before anything is written; a failure leaves no model, no output row
    and no stored file behind. `media` are file objects with a `.name`; `texts` are strings.
    """
    name = (name or "").strip()
    if not name:
        raise Invalid("name: a model needs a name", field="name")
    if len(name) > MAX_MODEL_NAME:
        raise Invalid(f"name: at most {MAX_MODEL_NAME} characters", field="name")
    metadata = metadata_check(metadata)
    if data_type not in {"media", "text"}:
        raise Invalid(
            f"data_type: {data_type!r} is not allowed; use 'media' or 'text'", field="data_type"
        )
    items: Sequence[Any] = media if data_type == "media" else texts
    field = "media" if data_type == "media" else "texts"
    if len(items) != len(prompts):
        raise Invalid(
            f"{field}: {len(items)} given for {len(prompts)} prompts; give exactly one per prompt",
            field=field,
            code="length_mismatch",
        )
    prompt_ids = _check_prompts(benchmark, prompts)
    if Model.objects.filter(benchmark=benchmark, name=name).exists():
        raise Conflict(
            f"name: benchmark {benchmark.name!r} already has a model named {name!r}",
            field="name",
            code="exists",
        )

    now = now or timezone.now()
    try:
        with media_removed_on_error():
            model = _model_store(
                benchmark=benchmark,
                owner=owner,
                name=name,
                prompt_ids=prompt_ids,
                items=items,
                field=field,
                data_type=data_type,
                metadata=metadata,
                now=now,
            )
    except IntegrityError:
        # A concurrent submission of the same name won the race (the database's unique
        # constraint decided); its files are its own, ours were removed on the way out.
        raise Conflict(
            f"name: benchmark {benchmark.name!r} already has a model named {name!r}",
            field="name",
            code="exists",
        ) from None
    return model


def _model_store(
    *,
    benchmark: Benchmark,
    owner: AbstractBaseUser,
    name: str,
    prompt_ids: list[int],
    items: Sequence[Any],
    field: str,
    data_type: str,
    metadata: dict[str, Any],
    now: datetime,
) -> Model:
    """Inspect and store every output, then write the model and its outputs in one transaction."""
    # Inspect and store one file at a time, so memory holds one upload, not the submission.
    outputs: list[Output] = []
    kind = ""
    for index, (prompt_id, item) in enumerate(zip(prompt_ids, items, strict=True)):
        where = f"{field}[{index}]"
        inspected: InspectedMedia = (
            media_inspect(item, filename=getattr(item, "name", "") or "", field=where)
            if data_type == "media"
            else text_inspect(item, field=where)
        )
        if kind and inspected.kind != kind:
            raise Invalid(
                f"{where}: all outputs of a model must be of one kind; "
                f"{field}[0] is {kind}, this one is {inspected.kind}",
                field=where,
                code="mixed_kinds",
            )
        kind = inspected.kind
        output = Output(
            prompt_id=prompt_id,
            kind=inspected.kind,
            content_type=inspected.content_type,
            content_hash=inspected.sha256,
            size_bytes=len(inspected.data),
            width=inspected.width,
            height=inspected.height,
            duration=inspected.duration,
            created=now,
        )
        if inspected.kind == "text":
            output.text = inspected.data.decode("utf-8")
        else:
            output.file.name = media_store(inspected)
        outputs.append(output)

    with transaction.atomic():
        # The benchmark row lock serialises submissions, so the kind check and the name
        # check cannot race with a concurrent submission.
        locked = Benchmark.objects.select_for_update().get(pk=benchmark.pk)
        if locked.media_kind and locked.media_kind != kind:
            raise Invalid(
                f"{field}: benchmark {locked.name!r} holds {locked.media_kind} outputs; "
                f"this submission is {kind}",
                field=field,
                code="wrong_kind",
            )
        if not locked.media_kind:
            locked.media_kind = kind
            locked.save(update_fields=["media_kind"])
        model = Model.objects.create(
            benchmark=locked, name=name, owner=owner, metadata=metadata, created=now
        )
        for output in outputs:
            output.model = model
        Output.objects.bulk_create(outputs)
        # A new model means new pairs: refill the leaderboards' matchmaking queues now.
        from matchmaking.services import benchmark_changed

        transaction.on_commit(lambda: benchmark_changed(benchmark_id=locked.pk))
    return model
