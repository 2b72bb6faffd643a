"""Page benchmark: server time of the public pages of a 200-model, million-vote leaderboard.
Run ``python -m benchmarks.pages`` from the repository root; see ``run.py``."""
