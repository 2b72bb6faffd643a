"""``python -m benchmarks.voting_load``: run the load benchmark and print the table."""

from benchmarks.voting_load.run import main

main()
