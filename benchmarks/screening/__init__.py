"""Screening votes by network: ``python -m benchmarks.screening`` (see README.md)."""
