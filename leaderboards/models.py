"""Benchmarks (registered prompts) and the leaderboards that ask questions of their outputs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Benchmark(models.Model):
    """A fixed set of prompts and the models that answered them, one output per prompt."""

    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="benchmarks"
    )
    description = models.TextField(blank=True)
    is_public = models.BooleanField(
        default=True, help_text="Public benchmarks are listed and their leaderboards published."
    )
    media_kind = models.CharField(
        max_length=10, blank=True, help_text="Kind of every output; set by the first model."
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    def is_visible_to(self, user: object) -> bool:
        """Public benchmarks are visible to all; private ones to their owner and staff."""
        return (
            self.is_public
            or getattr(user, "is_staff", False)
            or getattr(user, "pk", None) == self.owner_id
        )


class Prompt(models.Model):
    """One registered prompt of a benchmark, with optional identifier, tags and asset."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="prompts")
    text = models.TextField()
    identifier = models.CharField(
        max_length=200, blank=True, help_text="Optional stable id given by the owner."
    )
    position = models.PositiveIntegerField()
    tags = models.JSONField(default=list, blank=True)
    # Saved only under media_random_name(), never under a name the owner chose.
    asset = models.FileField(blank=True, max_length=300)
    asset_kind = models.CharField(max_length=10, blank=True)
    asset_content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["benchmark_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "position"], name="prompt_unique_position"
            ),
            models.UniqueConstraint(fields=["benchmark", "text"], name="prompt_unique_text"),
            models.UniqueConstraint(
                fields=["benchmark", "identifier"],
                condition=~Q(identifier=""),
                name="prompt_unique_identifier",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="prompt_text_not_empty"),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class Leaderboard(models.Model):
    """One question asked of a benchmark's outputs, with its own votes and ratings."""

    class TieModel(models.TextChoices):
        HALF = "half", "Ties count as half a win each way (LMArena)"
        DAVIDSON = "davidson", "Davidson's model (fitted tie parameter)"

    class BothBad(models.TextChoices):
        TIE = "tie", "Count as a tie"
        DROP = "drop", "Leave out of the fit"

    class RepeatVotes(models.TextChoices):
        EACH = "each", "Every vote counts once"
        MAJORITY = "majority", "Voters' majority per pair and prompt counts once"

    class OutputsPublic(models.TextChoices):
        """When the public pages show each model's outputs under its name.

        The voting page shows the same files blinded: while a board takes votes, a gallery that
        names the model beside each output lets a voter recognise a file and vote for or
        against its model on purpose.
        """

        ALWAYS = "always", "Always, also while the leaderboard takes votes"
        CLOSED = "closed", "Once the leaderboard stops taking votes"
        NEVER = "never", "Never: the pages show win rates only"

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="leaderboards")
    name = models.CharField(max_length=200)
    instruction = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    show_prompt = models.BooleanField(default=True)
    show_prompt_asset = models.BooleanField(default=False)
    inverse_ranking = models.BooleanField(
        default=False, help_text='The question asks for the worse output ("Which is worse?").'
    )
    included_tags = models.JSONField(
        default=list, blank=True, help_text="Only prompts with at least one of these tags."
    )
    excluded_tags = models.JSONField(
        default=list, blank=True, help_text="No prompt with any of these tags."
    )
    reveal_models = models.BooleanField(
        default=True, help_text="Show the model names to the voter after the vote."
    )
    tie_model = models.CharField(max_length=10, choices=TieModel.choices, default=TieModel.HALF)
    both_bad = models.CharField(max_length=10, choices=BothBad.choices, default=BothBad.TIE)
    repeat_votes = models.CharField(
        max_length=10, choices=RepeatVotes.choices, default=RepeatVotes.EACH
    )
    min_votes = models.PositiveIntegerField(
        default=20, help_text="Scores stay provisional until a model has this many votes."
    )
    anchor_model = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text=(
            "Name of a model whose score is fixed at 1000, the others measured against it. "
            "Blank, or while that model has no counted vote: the mean model is at 1000."
        ),
    )
    outputs_public = models.CharField(
        max_length=10,
        choices=OutputsPublic.choices,
        default=OutputsPublic.ALWAYS,
        help_text=(
            "When the per-prompt and model pages show each model's outputs under its name. "
            "The owner and staff always see them."
        ),
    )
    is_active = models.BooleanField(default=True, help_text="Inactive leaderboards take no votes.")
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "name"], name="leaderboard_unique_name"),
            models.CheckConstraint(
                condition=~Q(instruction=""), name="leaderboard_instruction_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.benchmark.is_public

    def is_visible_to(self, user: object) -> bool:
        return self.benchmark.is_visible_to(user)

    def allows_tags(self, tags: list[str]) -> bool:
        """Whether a prompt with `tags` belongs to this leaderboard's question."""
        if self.included_tags and not set(tags) & set(self.included_tags):
            return False
        return not set(tags) & set(self.excluded_tags)


class IdempotencyKey(models.Model):
    """The answer given to an owner's write: a retried request gets it instead of acting twice."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner_id}:{self.key}"
