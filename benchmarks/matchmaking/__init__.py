"""Matchmaking benchmark: how fast a way of choosing pairs ranks a board and takes in a newcomer.

Simulated voters with known Bradley-Terry strengths and 15% ties; uniform random pairs, LMArena's
hand-weighted sampling with a new-model boost (FastChat's ``get_battle_pair``, re-implemented)
and Versus's matchmaker (``matchmaking.selection.select_pairs``), side by side. Not a test: run
``python -m benchmarks.matchmaking [--quick]`` from the repository root and read the table.
"""
