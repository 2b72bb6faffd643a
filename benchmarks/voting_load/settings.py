"""Versus's settings plus the benchmark's bare view (benchmarks/voting_load/urls.py).

``VERSUS_BENCH_PREPARED=1`` (``--prepared``) is an experiment, not Versus's configuration:
psycopg's server-side parameter binding, so PostgreSQL prepares repeated statements and skips
planning them.
"""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.voting_load.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if os.environ.get("VERSUS_BENCH_PREPARED") == "1":
    DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=2)  # noqa: F405
