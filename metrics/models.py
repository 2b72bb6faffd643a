"""Metric leaderboards: automatic evaluation results (accuracy, F1, latency, ...) per run.

A `MetricBoard` declares its metrics, each with a direction. A `MetricResult` is one evaluation
of one model run (optionally a checkpoint of a training run) on one evaluation dataset, with its
lineage, tags and free-form metadata, and holds one `MetricValue` per metric it measured.
Results are never overwritten: logging the same run again adds a new result with its own time,
and rankings read the newest result of each (run, checkpoint, evaluation dataset).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.integers import BIGINT_MAX
from leaderboards.models import Leaderboard

# The largest finite double: a value outside [-MAX, MAX] is infinite, and NaN compares false
# with both bounds on PostgreSQL (NaN sorts above every number there), so the check below keeps
# every non-finite value out of the table whatever path wrote it.
FLOAT_MAX = sys.float_info.max
# The largest checkpoint step the column holds: PostgreSQL's bigint (SQLite's INTEGER alike).
MAX_CHECKPOINT_STEP = BIGINT_MAX


class MetricBoard(models.Model):
    """A leaderboard of automatic metrics, owned by one user."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="metric_boards"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_public = models.BooleanField(
        default=False, help_text="Public boards are listed and readable by everyone."
    )
    primary_metric = models.CharField(
        max_length=64, help_text="The metric rankings and the champion use unless told otherwise."
    )
    preference_leaderboard = models.ForeignKey(
        Leaderboard,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="metric_boards",
        help_text="Human-preference leaderboard whose ratings are shown next to the metrics.",
    )
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="metricboard_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="metricboard_name_not_empty"),
            models.CheckConstraint(
                condition=~Q(primary_metric=""), name="metricboard_primary_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_visible_to(self, user: object) -> bool:
        """Public boards are visible to all; private ones to their owner and staff."""
        return (
            self.is_public
            or getattr(user, "is_staff", False)
            or getattr(user, "pk", None) == self.owner_id
        )


class MetricDefinition(models.Model):
    """A metric a board tracks, and which way is better."""

    board = models.ForeignKey(MetricBoard, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=64)
    higher_is_better = models.BooleanField()
    description = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["board_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "name"], name="metricdefinition_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="metricdefinition_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'higher' if self.higher_is_better else 'lower'} is better)"

    @property
    def direction(self) -> str:
        return "higher" if self.higher_is_better else "lower"


class MetricResult(models.Model):
    """One evaluation of one model run (optionally one checkpoint) on one evaluation dataset."""

    board = models.ForeignKey(MetricBoard, on_delete=models.CASCADE, related_name="results")
    model_name = models.CharField(max_length=200)
    model_type = models.CharField(
        max_length=100, blank=True, help_text="Family or architecture, such as 'cnn'."
    )
    run_id = models.CharField(max_length=200)
    training_run_id = models.CharField(max_length=200, blank=True)
    checkpoint_step = models.PositiveBigIntegerField(null=True, blank=True)
    eval_dataset = models.CharField(max_length=200, blank=True)
    eval_dataset_version = models.CharField(max_length=100, blank=True)
    train_dataset = models.CharField(max_length=200, blank=True)
    train_dataset_version = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(model_name=""), name="metricresult_model_not_empty"
            ),
            models.CheckConstraint(condition=~Q(run_id=""), name="metricresult_run_not_empty"),
            models.CheckConstraint(
                condition=Q(eval_dataset_version="") | ~Q(eval_dataset=""),
                name="metricresult_eval_version_has_dataset",
            ),
            models.CheckConstraint(
                condition=Q(train_dataset_version="") | ~Q(train_dataset=""),
                name="metricresult_train_version_has_dataset",
            ),
        ]
        indexes = [
            models.Index(fields=["board", "run_id"], name="metricresult_run"),
            models.Index(fields=["board", "training_run_id"], name="metricresult_training_run"),
            models.Index(fields=["board", "-created"], name="metricresult_recent"),
        ]

    def __str__(self) -> str:
        step = f"@{self.checkpoint_step}" if self.checkpoint_step is not None else ""
        return f"{self.model_name} / {self.run_id}{step}"

    @property
    def lineage_key(self) -> tuple[str, int | None, str, str]:
        """What makes two results evaluations of the same thing: a newer one supersedes."""
        return (self.run_id, self.checkpoint_step, self.eval_dataset, self.eval_dataset_version)


class MetricValue(models.Model):
    """The value one result measured for one of its board's metrics."""

    result = models.ForeignKey(MetricResult, on_delete=models.CASCADE, related_name="values")
    metric = models.ForeignKey(MetricDefinition, on_delete=models.CASCADE, related_name="values")
    value = models.FloatField()

    class Meta:
        ordering = ["result_id", "metric_id"]
        constraints = [
            models.UniqueConstraint(fields=["result", "metric"], name="metricvalue_unique_metric"),
            models.CheckConstraint(
                condition=Q(value__gte=-FLOAT_MAX) & Q(value__lte=FLOAT_MAX),
                name="metricvalue_finite",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id}={self.value}"
