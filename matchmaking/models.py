"""Voters and the matchups issued to them."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from evaluation.models import Output, Vote
from leaderboards.models import Leaderboard, Prompt


class Voter(models.Model):
    """Someone who votes: an anonymous browser session or a logged-in user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="voter",
    )
    session_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    trust = models.FloatField(
        default=1.0, help_text="Follows gold answers; below the threshold votes are not counted."
    )
    gold_seen = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    is_flagged = models.BooleanField(
        default=False, help_text="Flagged by an operator: votes are stored but not counted."
    )
    network = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="A keyed hash of the network (IPv4 /24, IPv6 /48) the voter first came from; "
        "no address is stored. Votes are screened by network for campaigns for one model.",
    )
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(session_key__isnull=False),
                name="voter_has_identity",
            ),
        ]

    def __str__(self) -> str:
        return f"voter {self.pk}"


class GoldMatchup(models.Model):
    """A known-answer pair an operator registered; mixed into voters' matchups to measure trust."""

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="golds")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="+")
    left = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    expected = models.CharField(max_length=10, choices=Vote.Choice.choices)
    note = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(left=F("right")), name="gold_two_outputs"),
        ]

    def __str__(self) -> str:
        return f"gold {self.pk} ({self.expected})"

    def clean(self) -> None:
        """A gold pair is a real matchup: two models' outputs of this prompt, on this board."""
        from django.core.exceptions import ValidationError

        if not (self.left_id and self.right_id and self.prompt_id and self.leaderboard_id):
            return
        errors = {}
        for side in ("left", "right"):
            output = getattr(self, side)
            if output.prompt_id != self.prompt_id:
                errors[side] = f"this output answers prompt {output.prompt_id}, not this prompt"
            elif output.model.benchmark_id != self.leaderboard.benchmark_id:
                errors[side] = "this output belongs to another benchmark"
        if not errors and self.left.model_id == self.right.model_id:
            errors["right"] = "both outputs come from the same model"
        if errors:
            raise ValidationError(errors)


class Matchup(models.Model):
    """Two outputs of one prompt from two different models, issued to one voter."""

    # Every index here is written twice per vote (the matchup is inserted, then closed, and
    # closing moves it out of `matchup_open`, so the update cannot be HOT): the board and the
    # voter are found through the composite indexes they lead, a gold check through a partial
    # index that plain matchups stay out of.
    leaderboard = models.ForeignKey(
        Leaderboard, on_delete=models.CASCADE, related_name="matchups", db_index=False
    )
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="matchups")
    left = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Output, on_delete=models.CASCADE, related_name="+")
    # The pair of model ids, smaller first: lets the database refuse showing a voter a pair twice.
    model_low = models.BigIntegerField()
    model_high = models.BigIntegerField()
    voter = models.ForeignKey(
        Voter, on_delete=models.CASCADE, related_name="matchups", db_index=False
    )
    gold = models.ForeignKey(
        GoldMatchup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(left=F("right")), name="matchup_two_outputs"),
            models.CheckConstraint(
                condition=Q(model_low__lt=F("model_high")), name="matchup_two_models"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("issued_at")), name="matchup_expires_after_issue"
            ),
            models.UniqueConstraint(
                fields=["voter", "leaderboard", "prompt", "model_low", "model_high"],
                name="matchup_once_per_voter",
            ),
        ]
        indexes = [
            models.Index(fields=["leaderboard", "issued_at"], name="matchup_issued"),
            # A voter's open matchups, looked up on every request for the next one: without
            # it the lookup walks every matchup the voter was ever issued on the board.
            models.Index(
                fields=["voter", "leaderboard"],
                condition=Q(closed_at__isnull=True),
                name="matchup_open",
            ),
            models.Index(fields=["gold"], condition=Q(gold__isnull=False), name="matchup_gold"),
        ]

    def __str__(self) -> str:
        return f"matchup {self.pk}"

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and self.expires_at > now
