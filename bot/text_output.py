"""Terminal rendering of use-case results: plain tables, colour only on a TTY."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.core.clock_text import age
from bot.promotion.versions import VersionsReport

_COLOURS = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1"}


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, colour: str) -> str:
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m" if self.enabled else text


def table(rows: Sequence[Sequence[str]], style: Style | None = None) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        out.append(style(line, "bold") if style and n == 0 else line)
    return "\n".join(out)


def _applied(state: str, applied_tag: str | None, desired: str | None) -> str:
    # Git's tag is in the VERSION column; the applied one is shown only when it differs.
    return f"{state} ({applied_tag})" if applied_tag and applied_tag != desired else state


def versions(report: VersionsReport, style: Style, now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = [["SERVICE", "ENV", "VERSION", "SHA", "AGE", "AUTOMATION", "APPLIED", "NEWER BUILD", "LAST CHANGE"]]
    for svc in report.services:
        for env, v in svc.environments.items():
            auto = {"held": "⏸ held", "active": "active", "none": "-"}[v.automation]
            newer = f"⬆ {v.latest_available}" if v.newer_available and v.latest_available else ""
            last = f"{v.last_change.kind} by {v.last_change.by.rsplit(' <', 1)[0]}" if v.last_change else ""
            rows.append(
                [
                    svc.name,
                    env,
                    v.version or (v.tag or "-"),
                    v.sha or "-",
                    age(v.built_at, now),
                    auto,
                    _applied(v.applied_state.value, v.applied.tag if v.applied else None, v.tag),
                    newer,
                    last,
                ]
            )
    lines = [f"revision {report.revision[:12]}", table(rows, style)]
    lines += [style(f"problem: {p}", "yellow") for p in report.problems]
    return "\n".join(lines)
