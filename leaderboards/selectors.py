"""Reads of benchmarks and leaderboards, with the visibility rules in one place."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from config.errors import Forbidden, NotFound
from leaderboards.models import Benchmark, Leaderboard, Prompt


def _visible_q(user: Any, prefix: str = "") -> Q:
    if getattr(user, "is_staff", False):
        return Q()
    q = Q(**{f"{prefix}is_public": True})
    if getattr(user, "is_authenticated", False):
        q |= Q(**{f"{prefix}owner": user})
    return q


def benchmarks_visible(*, user: Any) -> QuerySet[Benchmark]:
    """Benchmarks `user` may see: public ones, their own, or all for staff."""
    return Benchmark.objects.filter(_visible_q(user)).select_related("owner")


def leaderboards_visible(*, user: Any) -> QuerySet[Leaderboard]:
    """Leaderboards `user` may see, by their benchmark's visibility."""
    return Leaderboard.objects.filter(_visible_q(user, "benchmark__")).select_related(
        "benchmark", "benchmark__owner"
    )


def benchmark_get(*, benchmark_id: int, user: Any, for_write: bool = False) -> Benchmark:
    """One benchmark; 404 when `user` may not see it, 403 when they may see but not change it."""
    benchmark = benchmarks_visible(user=user).filter(pk=benchmark_id).first()
    if benchmark is None:
        raise NotFound(f"benchmark {benchmark_id} does not exist")
    if for_write and not (user.is_staff or benchmark.owner_id == user.pk):
        raise Forbidden(f"benchmark {benchmark_id} belongs to another owner")
    return benchmark


def leaderboard_get(*, leaderboard_id: int, user: Any, for_write: bool = False) -> Leaderboard:
    """One leaderboard; 404 when `user` may not see it, 403 when they may see but not change it."""
    leaderboard = leaderboards_visible(user=user).filter(pk=leaderboard_id).first()
    if leaderboard is None:
        raise NotFound(f"leaderboard {leaderboard_id} does not exist")
    if for_write and not (user.is_staff or leaderboard.benchmark.owner_id == user.pk):
        raise Forbidden(f"leaderboard {leaderboard_id} belongs to another owner")
    return leaderboard


def leaderboard_prompts(*, leaderboard: Leaderboard) -> list[Prompt]:
    """The benchmark's prompts that this leaderboard's included/excluded tags allow."""
    prompts = leaderboard.benchmark.prompts.all()
    return [p for p in prompts if leaderboard.allows_tags(p.tags)]


def leaderboard_prompt_ids(*, leaderboard: Leaderboard, tags: list[str] | None = None) -> list[int]:
    """Ids of the leaderboard's prompts, narrowed to prompts carrying any of `tags` if given."""
    prompts = leaderboard_prompts(leaderboard=leaderboard)
    if tags:
        wanted = set(tags)
        prompts = [p for p in prompts if wanted & set(p.tags)]
    return [p.pk for p in prompts]
