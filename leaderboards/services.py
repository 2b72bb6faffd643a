"""Writes for benchmarks, prompts and leaderboards. Each function is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict, Invalid
from config.validation import nul_check
from evaluation.media import InspectedMedia, media_removed_on_error, media_store
from leaderboards.models import Benchmark, Leaderboard, Prompt

MAX_PROMPTS = 10_000
MAX_TAGS = 50
MAX_TAG_LENGTH = 64


@dataclass(frozen=True)
class PromptSpec:
    """A prompt to register: its text, optional identifier and tags, and an inspected asset."""

    text: str
    identifier: str = ""
    tags: tuple[str, ...] = ()
    asset: InspectedMedia | None = None


@dataclass(frozen=True)
class LeaderboardSpec:
    """The question a leaderboard asks and how its votes are counted."""

    name: str
    instruction: str
    show_prompt: bool = True
    show_prompt_asset: bool = False
    inverse_ranking: bool = False
    included_tags: tuple[str, ...] = ()
    excluded_tags: tuple[str, ...] = ()
    reveal_models: bool = True
    tie_model: str = Leaderboard.TieModel.HALF
    both_bad: str = Leaderboard.BothBad.TIE
    repeat_votes: str = Leaderboard.RepeatVotes.EACH
    min_votes: int = 20
    anchor_model: str = ""
    outputs_public: str = Leaderboard.OutputsPublic.ALWAYS
    description: str = ""


def _clean_tags(tags: Sequence[str], *, field: str) -> list[str]:
    cleaned: list[str] = []
    if len(tags) > MAX_TAGS:
        raise Invalid(f"{field}: {len(tags)} tags given; at most {MAX_TAGS} allowed", field=field)
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            raise Invalid(f"{field}: tags must be non-empty strings, got {tag!r}", field=field)
        # Stored in a JSON column: PostgreSQL's jsonb refuses "\u0000", so NUL is refused here
        # for every caller, not only those that came through a serializer's CharField.
        tag = nul_check(tag.strip(), field=field)
        if len(tag) > MAX_TAG_LENGTH:
            raise Invalid(
                f"{field}: tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters",
                field=field,
            )
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _validate_prompts(prompts: Sequence[PromptSpec]) -> None:
    if not prompts:
        raise Invalid("prompts: at least one prompt is required", field="prompts")
    if len(prompts) > MAX_PROMPTS:
        raise Invalid(
            f"prompts: {len(prompts)} given; at most {MAX_PROMPTS} per benchmark", field="prompts"
        )
    seen_text: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    for index, prompt in enumerate(prompts):
        where = f"prompts[{index}]"
        if not prompt.text.strip():
            raise Invalid(f"{where}: prompt text is empty", field=where)
        nul_check(prompt.text, field=where)
        nul_check(prompt.identifier, field=where)
        if prompt.text in seen_text:
            first = seen_text[prompt.text]
            raise Invalid(
                f"{where}: the prompt {prompt.text[:60]!r} is also prompts[{first}]"
                "; prompts must be unique within a benchmark",
                field=where,
            )
        seen_text[prompt.text] = index
        if prompt.identifier:
            if prompt.identifier in seen_id:
                raise Invalid(
                    f"{where}: identifier {prompt.identifier!r} is also used by "
                    f"prompts[{seen_id[prompt.identifier]}]",
                    field=where,
                )
            seen_id[prompt.identifier] = index
        _clean_tags(list(prompt.tags), field=f"{where}.tags")


def benchmark_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    prompts: Sequence[PromptSpec],
    is_public: bool = True,
    description: str = "",
    now: datetime | None = None,
) -> Benchmark:
    """Register a benchmark and its prompts (with their assets) in one go, or nothing at all."""
    name = name.strip()
    if not name:
        raise Invalid("name: a benchmark needs a name", field="name")
    _validate_prompts(prompts)
    now = now or timezone.now()
    # Asset files go with the rows: removed if this, or a caller's enclosing block, fails.
    with media_removed_on_error(), transaction.atomic():
        benchmark = Benchmark.objects.create(
            name=name, owner=owner, is_public=is_public, description=description, created=now
        )
        rows = []
        for position, spec in enumerate(prompts):
            row = Prompt(
                benchmark=benchmark,
                text=spec.text,
                identifier=spec.identifier,
                position=position,
                tags=_clean_tags(list(spec.tags), field=f"prompts[{position}].tags"),
            )
            if spec.asset is not None:
                row.asset.name = media_store(spec.asset)
                row.asset_kind = spec.asset.kind
                row.asset_content_type = spec.asset.content_type
            rows.append(row)
        Prompt.objects.bulk_create(rows)
    return benchmark


def _check_spec(spec: LeaderboardSpec, prompt_tags: list[list[str]]) -> tuple[list[str], list[str]]:
    """Validate a leaderboard spec against its benchmark's prompt tags; return the clean tags."""
    if not spec.name.strip():
        raise Invalid("name: a leaderboard needs a name", field="name")
    if not spec.instruction.strip():
        raise Invalid(
            'instruction: say what voters should judge, e.g. "Which image do you prefer?"',
            field="instruction",
        )
    if spec.min_votes < 1:
        raise Invalid("min_votes: must be at least 1", field="min_votes")
    if spec.outputs_public not in Leaderboard.OutputsPublic.values:
        raise Invalid(
            f"outputs_public: {spec.outputs_public!r} is not allowed; use one of "
            f"{', '.join(Leaderboard.OutputsPublic.values)}",
            field="outputs_public",
        )
    included = _clean_tags(list(spec.included_tags), field="included_tags")
    excluded = _clean_tags(list(spec.excluded_tags), field="excluded_tags")
    probe = Leaderboard(included_tags=included, excluded_tags=excluded)
    if (included or excluded) and not any(probe.allows_tags(tags) for tags in prompt_tags):
        known = sorted({t for tags in prompt_tags for t in tags})
        raise Invalid(
            "included_tags/excluded_tags leave no prompt of this benchmark; "
            f"its tags are: {', '.join(known) or '(none)'}",
            field="included_tags",
        )
    return included, excluded


def leaderboard_create(
    *, benchmark: Benchmark, spec: LeaderboardSpec, now: datetime | None = None
) -> Leaderboard:
    """Add a question (a leaderboard) to a benchmark; 409 if the name is taken there."""
    prompt_tags = list(benchmark.prompts.values_list("tags", flat=True))
    included, excluded = _check_spec(spec, prompt_tags)
    name = spec.name.strip()
    leaderboard = Leaderboard(
        benchmark=benchmark,
        name=name,
        instruction=spec.instruction.strip(),
        description=spec.description,
        show_prompt=spec.show_prompt,
        show_prompt_asset=spec.show_prompt_asset,
        inverse_ranking=spec.inverse_ranking,
        included_tags=included,
        excluded_tags=excluded,
        reveal_models=spec.reveal_models,
        tie_model=spec.tie_model,
        both_bad=spec.both_bad,
        repeat_votes=spec.repeat_votes,
        min_votes=spec.min_votes,
        anchor_model=spec.anchor_model.strip(),
        outputs_public=spec.outputs_public,
        created=now or timezone.now(),
    )
    try:
        with transaction.atomic():
            leaderboard.save()
    except IntegrityError:
        raise Conflict(
            f"name: this benchmark already has a leaderboard named {name!r}",
            field="name",
            code="exists",
        ) from None
    return leaderboard


@transaction.atomic
def leaderboard_create_with_benchmark(
    *,
    owner: AbstractBaseUser,
    spec: LeaderboardSpec,
    prompts: Sequence[PromptSpec],
    is_public: bool = True,
    now: datetime | None = None,
) -> Leaderboard:
    """The seed-shaped call: a new benchmark of `prompts` with one leaderboard on it."""
    # Checked before anything is stored, so a bad spec leaves no benchmark and no asset file.
    _check_spec(spec, [list(p.tags) for p in prompts])
    benchmark = benchmark_create(
        owner=owner, name=spec.name, prompts=prompts, is_public=is_public, now=now
    )
    return leaderboard_create(benchmark=benchmark, spec=spec, now=now)
