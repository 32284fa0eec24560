"""Benchmarks against the real broker; each prints a table with the raw-aiokafka ceiling."""
