"""``python -m benchmarks.pages``: build the big board (once) and print the page times."""

from benchmarks.pages.run import main

main()
