"""`python -m bench [name ...]`: run every benchmark (or the named ones) and print one table."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench
from bench.table import Row, format_table


def main(argv: list[str]) -> int:
    names = argv or sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        # Long runs (the contention stress) only when named.
        if m.name.startswith("bench_") and not getattr(importlib.import_module(f"bench.{m.name}"), "ON_DEMAND", False)
    )
    rows: list[Row] = []
    for name in names:
        mod = importlib.import_module(f"bench.{name if name.startswith('bench_') else 'bench_' + name}")
        print(f"running {mod.__name__} ...", file=sys.stderr, flush=True)
        rows.extend(mod.run())
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
