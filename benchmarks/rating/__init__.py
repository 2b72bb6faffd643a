"""Rating benchmark: Versus's Bradley-Terry core side by side with peer libraries.

``python -m benchmarks.rating [--quick]`` prints the table; see ``benchmarks/README.md`` for
how to create the peers' virtualenv. Not a test: nothing here asserts on time.
"""
