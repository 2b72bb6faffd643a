"""Operator tools: the demo, API tokens, the admin, production settings checks."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from knox.models import AuthToken

from evaluation.demo_images import DEMO_HISTORY_STEPS
from evaluation.models import Model, Output, RatingSnapshot, Vote
from leaderboards.models import Benchmark, Leaderboard
from tests.factories import make_leaderboard, make_models

ROOT = Path(__file__).resolve().parent.parent


def demo_state() -> tuple[int, ...]:
    return (
        Benchmark.objects.count(),
        Leaderboard.objects.count(),
        Model.objects.count(),
        Output.objects.count(),
        Vote.objects.count(),
        RatingSnapshot.objects.count(),
    )


@pytest.mark.django_db
def test_seed_demo_creates_models_with_distinct_images_and_is_idempotent():
    call_command("seed_demo", "--votes", "120", stdout=StringIO())
    benchmarks, leaderboards, models, outputs, votes, snapshots = demo_state()
    assert benchmarks == 1
    assert leaderboards >= 2
    assert models >= 4
    hashes = set(Output.objects.values_list("content_hash", flat=True))
    assert len(hashes) == outputs, "every demo image differs"
    assert votes == 120 * leaderboards
    assert not Vote.objects.filter(is_imported=False).exists(), "simulated votes are marked"
    call_command("seed_demo", stdout=StringIO())
    assert demo_state() == (benchmarks, leaderboards, models, outputs, votes, snapshots)


@pytest.mark.django_db
def test_seed_demo_publishes_a_history_that_ranks_the_clean_style_above_the_noisy_one():
    call_command("seed_demo", stdout=StringIO())
    leaderboard = Leaderboard.objects.order_by("id").first()
    snapshots = RatingSnapshot.objects.filter(leaderboard=leaderboard).order_by("created")
    assert snapshots.count() == DEMO_HISTORY_STEPS
    assert [s.vote_count for s in snapshots] == sorted(s.vote_count for s in snapshots)
    scores = {r.model.name: r.score for r in snapshots.last().ratings.select_related("model")}
    assert scores["Aurora-XL"] > scores["NoiseDiffusion-0.1"]


@pytest.mark.django_db
def test_versus_token_creates_the_user_and_prints_a_working_token(client):
    out = StringIO()
    call_command("versus_token", "alice", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    user = get_user_model().objects.get(username="alice")
    assert AuthToken.objects.filter(user=user).count() == 1
    assert token not in str(AuthToken.objects.values_list("digest", flat=True)[0])
    response = client.post(
        "/api/v1/leaderboards/",
        {"name": "t", "instruction": "Which?", "prompts": ["p"]},
        content_type="application/json",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_every_admin_page_renders(admin_client, owner):
    leaderboard = make_leaderboard(owner)
    make_models(leaderboard, 2)
    for model in admin.site._registry:
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/"
        assert admin_client.get(url).status_code == 200, url
        obj = model.objects.first()
        if obj is not None:
            change = f"{url}{obj.pk}/change/"
            assert admin_client.get(change).status_code == 200, change


def test_check_deploy_is_clean_with_production_variables():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-0123456789",
        "ALLOWED_HOSTS": "versus.example.org",
        "VERSUS_HTTPS": "1",
        "DATABASE_URL": "sqlite:////tmp/versus-check.sqlite3",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
