"""Versus's settings plus the benchmark's bare view (benchmarks/voting_load/urls.py)."""

import os
import sys

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.voting_load.urls"
# The bare table as a model, for the bare-orm view (benchmarks/voting_load/models.py).
INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.voting_load"]  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if os.environ.get("VOTING_LOAD_GC_STATS") and sys.argv[0].endswith("gunicorn"):
    from benchmarks.voting_load import gcstats

    gcstats.install(os.environ["VOTING_LOAD_GC_STATS"])
