"""Benchmarks that print ``name: value`` figures (``make bench``); never timed assertions in tests."""
