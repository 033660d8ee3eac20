"""Benchmarks. Each module exposes `run() -> list[Row]`; `python -m bench` runs them all and prints one table.

Every measure is timed side by side with a reference measured in the same run (plain git, skopeo,
a bare regex loop, Slack's 3 s budget), and reported as a ratio. Benchmarks never run as unit tests.
"""
