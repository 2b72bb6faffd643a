"""``python -m benchmarks.screening [--trials N] [--quick]``: print the tables."""

from benchmarks.screening.run import main

main()
