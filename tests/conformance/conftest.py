"""Conformance-suite reporting: say how many Flux vectors ran in each section, so a silently shrunken
parametrisation (a section that stopped loading) shows up in the run's output."""

from __future__ import annotations

from collections import Counter

import pytest

_POLICY_MODULE = "test_policy_vectors.py"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "") != "call" or _POLICY_MODULE not in nodeid:
                continue
            section = nodeid.split("::")[-1].split("[")[0].removeprefix("test_")
            ran[section] += 1
            if outcome == "failed":
                failed[section] += 1
    if not ran:
        return
    terminalreporter.section("policy_cases.json vectors run")
    for section, count in sorted(ran.items()):
        note = f" ({failed[section]} failed)" if failed[section] else ""
        terminalreporter.write_line(f"{section:<45} {count:>4}{note}")
    terminalreporter.write_line(f"{'total':<45} {sum(ran.values()):>4}")


def pytest_configure(config: pytest.Config) -> None:
    # The setter fixtures report through their own plugin module, so each suite's hook stays separate.
    from tests.conformance import conftest_setters

    if not config.pluginmanager.has_plugin("conformance-setters"):
        config.pluginmanager.register(conftest_setters, "conformance-setters")
