"""Voting load benchmark: N concurrent simulated voters over HTTP against gunicorn, PostgreSQL
and Redis (next matchup, then vote), beside a bare Django view that does one insert, in one run.
Run ``python -m benchmarks.voting_load`` from the repository root; see ``run.py``.
"""

BARE_TABLE = "bench_bare_vote"
"""The bare view's table, created by the benchmark (no migration: it is not part of Versus)."""

DIRECT_KEY = "bench:voting_load:direct"
"""Redis counter of matchups chosen in the web process because the queue had none to give."""
