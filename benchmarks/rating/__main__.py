"""``python -m benchmarks.rating [--quick]``: run the rating benchmark and print the table."""

from benchmarks.rating.run import main

main()
