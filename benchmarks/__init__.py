"""Benchmarks: ``make bench`` (``python -m benchmarks``) regenerates RESULTS.md."""
