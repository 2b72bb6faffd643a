"""Versus's settings plus the benchmark's bare view (benchmarks/voting_load/urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.voting_load.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
