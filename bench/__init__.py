"""Benchmarks: scripts that print figures (``python -m bench.dispatch``, ``python -m bench.scale``).

Not tests: they take minutes and their numbers depend on the machine. docs/BENCHMARKS.md gives
the commands and the latest figures.
"""
