"""``python -m benchmarks.matchmaking [--quick]``: run the benchmark and print the table."""

from benchmarks.matchmaking.runner import main

main()
