"""Operator tools: the demo, API tokens, the admin, production settings checks."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
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


SECRET = "x" * 20 + "-a-long-random-production-secret-key-0123456789"


def run_django(
    code: str | list[str], env: dict[str, str], *, env_file: Path | str = os.devnull
) -> subprocess.CompletedProcess[str]:
    """Run `manage.py <code>` (a list) or Python `code` (a str) as a fresh process would start.

    Only the given variables are set (plus PATH and HOME), and `env_file` stands in for `.env`,
    so neither the caller's environment nor a developer's `.env` leaks in.
    """
    clean = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    clean.update(VERSUS_ENV_FILE=str(env_file), **env)
    if isinstance(code, list):
        command = [sys.executable, "manage.py", *code]
    else:
        clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
        command = [sys.executable, "-c", code]
    return subprocess.run(
        command, cwd=ROOT, env=clean, capture_output=True, text=True, check=False, timeout=120
    )


SHOW_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name, None) for name in (
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "REDIS_URL",
    "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS", "VERSUS_RATE_VOTER", "VERSUS_MATCHUP_TTL_SECONDS",
    "VERSUS_MAX_ANIMATION_PIXELS", "MEDIA_ROOT", "STATIC_ROOT",
)} | {"STATICFILES_BACKEND": s.STORAGES["staticfiles"]["BACKEND"],
    "DATABASE_OPTIONS": s.DATABASES["default"].get("OPTIONS", {})}, default=str))
"""


def settings_of(env: dict[str, str], *, env_file: Path | str = os.devnull) -> dict[str, Any]:
    done = run_django(SHOW_SETTINGS, env, env_file=env_file)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_the_documented_production_variables():
    # .env.example as an operator copies it, with a real key set in the environment (which wins).
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {"SECRET_KEY": SECRET},
        env_file=ROOT / ".env.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_env_example_reads_as_written_with_comments_on_their_own_lines():
    values = settings_of({"SECRET_KEY": SECRET}, env_file=ROOT / ".env.example")
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == SECRET
    assert values["ALLOWED_HOSTS"] == ["versus.example.org"]
    assert values["REDIS_URL"] == "redis://redis:6379/0"
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["VERSUS_RATE_VOTER"] == "60/min"
    assert values["VERSUS_MATCHUP_TTL_SECONDS"] == 1800
    assert values["VERSUS_MAX_ANIMATION_PIXELS"] == 64_000_000
    assert values["MEDIA_ROOT"] == "/data/media"
    assert values["DATABASE_OPTIONS"]["server_side_binding"] is True


def test_a_hash_sign_in_a_value_is_part_of_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"# a comment line\nSECRET_KEY={SECRET}#tail\nDEBUG=0\n")
    assert settings_of({}, env_file=env_file)["SECRET_KEY"] == SECRET + "#tail"


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_django(["check"], {"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_it_refuses_to_start_with_the_placeholder_key_of_env_example():
    result = run_django(["check"], {}, env_file=ROOT / ".env.example")
    assert result.returncode != 0
    assert "SECRET_KEY is still the placeholder of .env.example" in result.stderr


def test_the_embedded_default_starts_without_a_secret_key():
    values = settings_of({"DEBUG": "1"})
    assert values["SECRET_KEY"]
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False


def test_https_hardening_is_on_when_debug_is_off_and_plain_http_is_an_opt_out():
    on = settings_of({"DEBUG": "0", "SECRET_KEY": SECRET})
    assert (on["SECURE_SSL_REDIRECT"], on["SESSION_COOKIE_SECURE"]) == (True, True)
    assert on["SECURE_HSTS_SECONDS"] == 31536000
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    off = settings_of({"DEBUG": "0", "SECRET_KEY": SECRET, "VERSUS_HTTPS": "0"})
    assert (off["SECURE_SSL_REDIRECT"], off["SESSION_COOKIE_SECURE"]) == (False, False)
    assert off["SECURE_PROXY_SSL_HEADER"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("X-Forwarded-Ssl: on", ["HTTP_X_FORWARDED_SSL", "on"]), ("", None)],
)
def test_the_proxy_ssl_header_is_configurable(value, expected):
    env = {"DEBUG": "0", "SECRET_KEY": SECRET, "SECURE_PROXY_SSL_HEADER": value}
    assert settings_of(env)["SECURE_PROXY_SSL_HEADER"] == expected


def test_a_malformed_proxy_ssl_header_stops_start_up_with_its_name():
    env = {"DEBUG": "0", "SECRET_KEY": SECRET, "SECURE_PROXY_SSL_HEADER": "https"}
    result = run_django(["check"], env)
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER='https': use 'Header-Name: value'" in result.stderr


def dockerfile_build_env() -> tuple[dict[str, str], dict[str, str]]:
    """The Dockerfile's ENV (set for the build and every container), and the variables its
    collectstatic step adds for itself."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    image: dict[str, str] = {}
    step: dict[str, str] | None = None
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["ENV"]:
            image.update(word.split("=", 1) for word in words[1:])
        elif words[:1] == ["RUN"] and "collectstatic" in words:
            step = dict(word.split("=", 1) for word in words[1 : words.index("python")])
    assert step is not None, "the Dockerfile collects static files"
    return image, step


def compose_app_env(secret: str) -> dict[str, str]:
    """The environment docker-compose.yml gives the web, worker and beat containers."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    given = {"SECRET_KEY": secret}

    def interpolate(value: object) -> str:
        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(3) or ""
            return given.get(name, default if match.group(2) == ":-" else "")

        return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, str(value))

    environment = spec["services"]["web"]["environment"]
    return {name: interpolate(value) for name, value in environment.items()}


def test_compose_refuses_to_start_without_a_secret_key():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert spec["services"]["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


@pytest.mark.django_db
def test_the_image_serves_pages_with_the_static_files_it_built(tmp_path, settings, client, owner):
    image, step = dockerfile_build_env()
    built = run_django(
        ["collectstatic", "--noinput"], {**image, **step, "STATIC_ROOT": str(tmp_path)}
    )
    assert built.returncode == 0, built.stderr
    served = settings_of({**image, **compose_app_env(SECRET), "STATIC_ROOT": str(tmp_path)})
    assert "Manifest" in served["STATICFILES_BACKEND"]

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": served["STATICFILES_BACKEND"]},
    }
    leaderboard = make_leaderboard(owner)
    model = make_models(leaderboard, 2)[0]
    pages = [
        "/",
        f"/leaderboards/{leaderboard.pk}/",
        f"/leaderboards/{leaderboard.pk}/vote/",
        f"/leaderboards/{leaderboard.pk}/prompts/",
        f"/leaderboards/{leaderboard.pk}/models/{model.pk}/",
        "/metrics/",
        "/admin/login/",
        "/api/docs/",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        # Hashed names, as only the manifest storage writes them.
        assert re.search(rb'/static/[^"]+\.[0-9a-f]{12}\.(css|js)"', response.content), page


def test_prepared_statements_stay_off_unless_asked_for():
    url = {"DATABASE_URL": "postgres://versus@db:5432/versus", "DEBUG": "1"}
    assert "server_side_binding" not in settings_of(url)["DATABASE_OPTIONS"]
    on = settings_of({**url, "DB_PREPARED_STATEMENTS": "1"})["DATABASE_OPTIONS"]
    assert on == {"server_side_binding": True, "prepare_threshold": 5}
