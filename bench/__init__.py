"""Benchmarks: what the engine costs over bare Temporal, and how it grows. Run ``python -m bench --help``."""
