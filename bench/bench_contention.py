"""Contention stress (issue 17, item 15): the 50-promotion contention test (two `gitops-bot serve` processes, a
Flux-like committer pushing every 100 ms, tests/reliability/test_contention.py) repeated RUNS times while
busy loops keep both cores busy. Reference: the same scenario once on an unloaded machine, in the same run.

On demand only (`python -m bench contention`): it takes minutes. Every run is bounded by RUN_TIMEOUT and the
busy loops are stopped (by pid) whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.table import Row

ON_DEMAND = True
RUNS = int(os.environ.get("BENCH_CONTENTION_RUNS", "5"))
RUN_TIMEOUT = 300.0
BUSY_LOOPS = 2  # one per core of the reference machine
ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/reliability/test_contention.py"
_SUMMARY = re.compile(r"(\d+) promotions in (\d+) pushes beside (\d+) automation commits")


def _once() -> tuple[bool, float, str]:
    """(all 50 landed, seconds, the test's own summary line)."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", TEST],
                              cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - t0, f"timed out after {RUN_TIMEOUT:.0f}s"
    seconds = time.perf_counter() - t0
    m = _SUMMARY.search(proc.stdout)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    return proc.returncode == 0, seconds, m.group(0) if m else tail


def _busy() -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BUSY_LOOPS)]


def run() -> list[Row]:
    ok, reference, summary = _once()
    print(f"reference (unloaded): {'50/50 landed' if ok else 'FAILED'} in {reference:.1f}s: {summary}",
          file=sys.stderr, flush=True)  # fmt: skip
    rows = []
    for n in range(1, RUNS + 1):
        loops = _busy()
        try:
            ok, seconds, summary = _once()
        finally:
            for p in loops:
                p.kill()
            for p in loops:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=10)
        print(f"run {n}/{RUNS} with {BUSY_LOOPS} busy loops: {'50/50 landed' if ok else 'FAILED'} in {seconds:.1f}s: "
              f"{summary}", file=sys.stderr, flush=True)  # fmt: skip
        # A run that did not land all 50 counts as infinitely slow: the goal then fails, as it should.
        rows.append(Row(f"contention 50/50 under load, run {n}", seconds if ok else float("inf"), reference,
                        "same test unloaded", goal=4.0))  # fmt: skip
    return rows
