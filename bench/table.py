"""The one result row and table printer every benchmark shares."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    measure: str
    ours: float  # seconds (or the unit named in `unit`)
    reference: float
    reference_name: str
    goal: float  # the ratio ours/reference must be at most this
    unit: str = "s"

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio <= self.goal


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `repeat` calls: the median resists one noisy neighbour on a 2-core box."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(a: Callable[[], object], b: Callable[[], object], repeat: int = 7) -> tuple[float, float]:
    """Median times of `a` and `b`, run turn about so a busy neighbour slows both alike (2 shared cores)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, times[0]), (b, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def format_table(rows: list[Row]) -> str:
    head = f"| {'measure':<58} | {'ours':>10} | {'reference':>30} | {'ratio':>6} | {'goal':>6} | result |"
    sep = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    lines = [head, sep]
    for r in rows:
        ref = f"{r.reference:.4g}{r.unit} {r.reference_name}"
        lines.append(
            f"| {r.measure:<58} | {r.ours:>9.4g}{r.unit} | {ref:>30} | {r.ratio:>6.2f} | "
            f"{'≤' + format(r.goal, 'g'):>6} | {'pass' if r.passed else 'MISS':<6} |"
        )
    return "\n".join(lines)
