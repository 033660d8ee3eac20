"""Reporting for test_setter_fixtures.py: how many of Flux's setter fixture files came out byte-identical, and
how many vectors ran per section, so a section that silently stopped loading shows up in the run's output.

Registered as a plugin from conftest.py (another suite has its own summary hook there)."""

from __future__ import annotations

from collections import Counter

import pytest

_MODULE = "test_setter_fixtures.py"
# Test functions that each check one of Flux's own fixture files (11 in setter_cases.json).
_FLUX_FILE_TESTS = {"flux_update_with_setters", "flux_apply_policies", "flux_controller_fixture"}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "") != "call" or _MODULE not in nodeid:
                continue
            section = nodeid.split("::")[-1].split("[")[0].removeprefix("test_")
            ran[section] += 1
            failed[section] += outcome == "failed"
    if not ran:
        return
    terminalreporter.section("setter_cases.json vectors run")
    for section, count in sorted(ran.items()):
        note = f" ({failed[section]} failed)" if failed[section] else ""
        terminalreporter.write_line(f"{section:<45} {count:>4}{note}")
    files = sum(ran[s] for s in _FLUX_FILE_TESTS)
    bad = sum(failed[s] for s in _FLUX_FILE_TESTS)
    terminalreporter.write_line(f"Flux fixture files byte-identical: {files - bad} of {files} run")
