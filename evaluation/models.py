"""Models and their outputs, votes, pair counters and rating snapshots."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from leaderboards.models import Benchmark, Leaderboard, Prompt


class MediaKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    TEXT = "text", "Text"


class Model(models.Model):
    """A generative model entered on a benchmark (and so on every leaderboard of it)."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="versus_models"
    )
    metadata = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive models are no longer matched; their votes stay."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["benchmark_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "name"], name="model_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="model_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class Output(models.Model):
    """One model's answer to one prompt: a stored media file or a text."""

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="outputs")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="outputs")
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    # Saved only under media_random_name(); the name says nothing about the model.
    file = models.FileField(blank=True, max_length=300)
    text = models.TextField(blank=True)
    content_type = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the stored bytes.")
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, when known.")
    # The only handle voters ever see; random, so it cannot be guessed or enumerated.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["prompt_id", "model_id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "prompt"], name="output_unique_model_prompt"),
            models.CheckConstraint(
                condition=(Q(kind="text") & ~Q(text="")) | (~Q(kind="text") & ~Q(file="")),
                name="output_has_content",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MediaKind.values), name="output_kind_allowed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} / prompt {self.prompt_id}"


class VoteChoice(models.TextChoices):
    LEFT = "left", "Left is better"
    RIGHT = "right", "Right is better"
    TIE = "tie", "Tie"
    BOTH_BAD = "both_bad", "Both are bad"


class Vote(models.Model):
    """A voter's answer to a matchup, or an imported historical battle.

    Model and prompt ids are copied from the matchup so that the rater aggregates votes with one
    GROUP BY on this table alone.
    """

    Choice = VoteChoice

    class Excluded(models.TextChoices):
        COUNTED = "", "Counted"
        LOW_TRUST = "low_trust", "Voter below the trust threshold"
        TOO_FAST = "too_fast", "Faster than the minimum view time"
        GOLD = "gold", "Known-answer (gold) check"
        FLAGGED = "flagged", "Voter flagged by an operator"
        NETWORK = "network", "From a network whose votes favour one model"
        OPERATOR = "operator", "Excluded by an operator"

    matchup = models.OneToOneField(
        "matchmaking.Matchup", on_delete=models.PROTECT, null=True, blank=True, related_name="vote"
    )
    # Every vote insert updates every index of this table, and the rater's catch-up rewrites
    # each new vote once, so the foreign keys below carry no index of their own: the rater and
    # the pages read votes by leaderboard (the indexes in Meta begin with it), and nothing reads
    # them by model or prompt but the cascade of an operator deleting one, which may scan.
    leaderboard = models.ForeignKey(
        Leaderboard, on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    prompt = models.ForeignKey(
        Prompt,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="votes",
        db_index=False,
    )
    left_model = models.ForeignKey(
        Model, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    right_model = models.ForeignKey(
        Model, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    choice = models.CharField(max_length=10, choices=Choice.choices)
    voter = models.ForeignKey(
        "matchmaking.Voter", on_delete=models.SET_NULL, null=True, blank=True, related_name="votes"
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)
    view_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Milliseconds between serving the matchup and the vote."
    )
    excluded = models.CharField(
        max_length=20, choices=Excluded.choices, default=Excluded.COUNTED, blank=True
    )
    is_imported = models.BooleanField(default=False)
    # Whether the vote is in the pair counters now. The rater adds a vote when it is counted
    # and not excluded, and takes it out again if it is excluded later (and back in if the
    # exclusion is lifted), so the counters always equal the sum of the counted votes.
    counted = models.BooleanField(default=False, editable=False)
    # The rater's claim: the batch of the run that last flipped `counted`, so that each flip
    # is added to (or taken from) the counters exactly once even while new votes keep arriving.
    count_batch = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(left_model=F("right_model")), name="vote_two_different_models"
            ),
            # The rater counts each choice by its value; anything else would vanish from the fit.
            models.CheckConstraint(
                condition=Q(choice__in=VoteChoice.values), name="vote_choice_allowed"
            ),
        ]
        indexes = [
            models.Index(
                fields=["leaderboard"],
                condition=Q(counted=False, excluded=""),
                name="vote_to_count",
            ),
            models.Index(
                fields=["leaderboard"],
                condition=Q(counted=True) & ~Q(excluded=""),
                name="vote_to_uncount",
            ),
            # New votes have no batch and stay out of it until the rater counts them.
            models.Index(
                fields=["count_batch"],
                condition=Q(count_batch__isnull=False),
                name="vote_count_batch",
            ),
            models.Index(
                fields=["leaderboard", "excluded"],
                condition=~Q(excluded=""),
                name="vote_excluded",
            ),
            models.Index(fields=["leaderboard", "created"], name="vote_leaderboard_created"),
        ]

    def __str__(self) -> str:
        return f"{self.left_model_id} vs {self.right_model_id}: {self.choice}"


class PairCount(models.Model):
    """Counted votes of one leaderboard for one pair of models on one prompt.

    `model_a` has the smaller id. The rater adds newly counted votes here, so a recompute reads
    at most (pairs x prompts) rows however many votes there are.
    """

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="+")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, null=True, blank=True)
    model_a = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="+")
    model_b = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="+")
    a_wins = models.PositiveIntegerField(default=0)
    b_wins = models.PositiveIntegerField(default=0)
    ties = models.PositiveIntegerField(default=0)
    both_bad = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "prompt", "model_a", "model_b"],
                condition=Q(prompt__isnull=False),
                name="paircount_unique_with_prompt",
            ),
            models.UniqueConstraint(
                fields=["leaderboard", "model_a", "model_b"],
                condition=Q(prompt__isnull=True),
                name="paircount_unique_without_prompt",
            ),
            models.CheckConstraint(condition=Q(model_a__lt=F("model_b")), name="paircount_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.model_a_id}-{self.model_b_id}@{self.prompt_id}"


class RatingSnapshot(models.Model):
    """The published standings of a leaderboard at one moment; rows are in `ratings`.

    Written in one transaction with its rows, so a reader sees a whole snapshot or none.
    """

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="snapshots")
    created = models.DateTimeField(default=timezone.now)
    vote_count = models.PositiveIntegerField(help_text="Votes counted in this fit.")
    excluded_count = models.PositiveIntegerField(default=0, help_text="Votes left out of it.")
    model_count = models.PositiveIntegerField()
    tie_model = models.CharField(max_length=10)
    tie_parameter = models.FloatField(null=True, blank=True)
    connected = models.BooleanField(default=True)
    component_count = models.PositiveIntegerField(default=1)
    has_bootstrap = models.BooleanField(default=False)
    elapsed_ms = models.FloatField(default=0.0)
    options = models.JSONField(
        default=dict, blank=True, help_text="The leaderboard's rating settings this fit used."
    )

    class Meta:
        ordering = ["-created", "-id"]
        get_latest_by = ["created", "id"]
        indexes = [models.Index(fields=["leaderboard", "-created"], name="snapshot_latest")]

    def __str__(self) -> str:
        return f"{self.leaderboard_id} @ {self.created:%Y-%m-%d %H:%M:%S}"


class Rating(models.Model):
    """One model's published numbers in one snapshot."""

    snapshot = models.ForeignKey(RatingSnapshot, on_delete=models.CASCADE, related_name="ratings")
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="ratings")
    rank = models.PositiveIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    rank_low = models.PositiveIntegerField(null=True, blank=True)
    rank_high = models.PositiveIntegerField(null=True, blank=True)
    votes = models.PositiveIntegerField(default=0)
    wins = models.FloatField(default=0)
    losses = models.FloatField(default=0)
    ties = models.FloatField(default=0)
    both_bad = models.FloatField(default=0)
    win_rate = models.FloatField(null=True, blank=True)
    provisional = models.BooleanField(default=True)
    component = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Part of the comparison graph (0 = largest); null if unrated.",
    )

    class Meta:
        ordering = ["snapshot_id", "rank", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "model"], name="rating_unique_model")
        ]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.score}"


class OutputReport(models.Model):
    """A voter's report that an output is broken, offensive or otherwise wrong."""

    output = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="reports")
    voter = models.ForeignKey(
        "matchmaking.Voter", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["resolved", "-created"]

    def __str__(self) -> str:
        return f"report on output {self.output_id}"


class SuspectNetwork(models.Model):
    """A network whose voters favoured one model of a leaderboard far beyond what everyone
    else's votes predict (`evaluation.rating.favouritism`). While it is flagged, its voters'
    votes on the board are stored but excluded (`Vote.Excluded.NETWORK`); an operator who
    finds it honest (a lab's shared address, a class voting together) clears it and they
    count again."""

    class Status(models.TextChoices):
        FLAGGED = "flagged", "Flagged: its votes on the board are excluded"
        CLEARED = "cleared", "Cleared by an operator: its votes count"
        LAPSED = "lapsed", "No longer stands out: its votes count"

    leaderboard = models.ForeignKey(
        Leaderboard, on_delete=models.CASCADE, related_name="suspect_networks"
    )
    network = models.CharField(
        max_length=16, help_text="The voters' network key (`Voter.network`)."
    )
    model = models.ForeignKey(
        Model, on_delete=models.CASCADE, related_name="+", help_text="The model it favoured."
    )
    votes = models.PositiveIntegerField(help_text="Its votes on that model when last screened.")
    observed = models.FloatField(help_text="The model's score in those votes (a win 1, a tie 0.5).")
    expected = models.FloatField(help_text="Its expected score from everyone else's votes.")
    p_bound = models.FloatField(
        help_text="Bound on the chance that honest voters stand out this much "
        "(Hoeffding or Bernstein)."
    )
    voters = models.PositiveIntegerField(help_text="Voters of the network on the board.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FLAGGED)
    first_found = models.DateTimeField(default=timezone.now)
    last_found = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-last_found"]
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "network"], name="suspect_network_once_per_board"
            ),
        ]

    def __str__(self) -> str:
        return f"network {self.network} on leaderboard {self.leaderboard_id}"
