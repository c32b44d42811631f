"""Benchmarks, run as modules from the repository root (`make bench-...`), so they share tests/helpers."""
