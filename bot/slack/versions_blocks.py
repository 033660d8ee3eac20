"""/versions as Block Kit: the table by service (paged, a Promote button wherever a build is ahead), one
environment's column, and which step of the pipeline a service could take next.

A page holds PAGE services (at most three blocks each, under Slack's 50 per message); Previous/Next buttons
replace the message with the neighbouring page, so every service and every Promote button is reachable.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence

from bot.core.clock_text import age
from bot.core.mrkdwn import escape
from bot.promotion.versions import EnvVersion, ServiceVersions, VersionsReport
from bot.slack import messages as say
from bot.slack.blocks import PROMOTE_FROM_VERSIONS, VERSIONS_PAGE, Block, button, context, section, sections

PAGE = 15
FIELDS = 10  # Slack's cap per section


def ahead(pipeline: Sequence[str], envs: Mapping[str, EnvVersion]) -> tuple[str, str] | None:
    """The last pipeline step whose source runs a newer build than its target (staging ahead of production)."""
    for src, dst in reversed(list(itertools.pairwise(pipeline))):
        a, b = envs.get(src), envs.get(dst)
        if (
            a
            and b
            and a.tag
            and a.built_at
            and (a.sha, a.version) != (b.sha, b.version)
            and (b.built_at or 0) < a.built_at
        ):
            return src, dst
    return None


def _marks(v: EnvVersion) -> str:
    return "".join(m for m, on in (("⏸", v.automation == "held"), ("⬆", v.newer_available)) if on)


def _cell(env: str, v: EnvVersion, now: float) -> str:
    if v.tag is None:
        return f"*{env}* —"
    # The full tag, as `/promote` takes it: copy it from here.
    cell = f"*{env}* `{v.tag}` · {age(v.built_at, now)} {_marks(v)}".rstrip()
    return f"{cell}\n{say.applied_note(v.applied_state, v.applied.tag if v.applied else None)}"


def _service(report: VersionsReport, svc: ServiceVersions, now: float) -> list[Block]:
    cells = [{"type": "mrkdwn", "text": _cell(e, v, now)} for e, v in svc.environments.items()]
    out: list[Block] = []
    for i in range(0, max(len(cells), 1), FIELDS):
        block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": f"*{svc.name}*"}}
        if cells[i : i + FIELDS]:
            block["fields"] = cells[i : i + FIELDS]
        out.append(block)
    step = ahead(report.pipeline, svc.environments)
    if step:
        src, dst = step
        value = json.dumps({"tag": svc.environments[src].tag or "", "env": dst, "service": svc.name})
        label = say.promote_button(str(svc.environments[src].version or svc.environments[src].tag), dst)
        out.append({"type": "actions", "elements": [button(label, PROMOTE_FROM_VERSIONS, value, "primary")]})
    return out


def versions(report: VersionsReport, now: float, page: int = 0) -> list[Block]:
    pages = max(1, -(-len(report.services) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = report.services[page * PAGE : (page + 1) * PAGE]
    out: list[Block] = [section(say.versions_header(report.revision))]
    for svc in shown:
        out += _service(report, svc, now)
    out += _problems(report)
    if pages > 1:
        first = page * PAGE + 1
        out.append(context(say.versions_page(first, first + len(shown) - 1, len(report.services))))
        nav = []
        if page > 0:
            nav.append(button(say.PREVIOUS_PAGE, f"{VERSIONS_PAGE}:prev", json.dumps({"page": page - 1})))
        if page < pages - 1:
            nav.append(button(say.NEXT_PAGE, f"{VERSIONS_PAGE}:next", json.dumps({"page": page + 1})))
        out.append({"type": "actions", "block_id": "versions_nav", "elements": nav})
    return out


def env_column(report: VersionsReport, env: str, now: float) -> list[Block]:
    """`/versions production`: every service's full running tag in one environment, as many sections as it takes."""
    lines = []
    for svc in report.services:
        v = svc.environments.get(env)
        if v is None:
            continue
        line = say.env_line(svc.name, v.tag, age(v.built_at, now) if v.tag else "", _marks(v))
        lines.append(f"{line} · {say.applied_note(v.applied_state, v.applied.tag if v.applied else None)}")
    body = sections(lines) if lines else [section(say.nothing_in_env(env))]
    return [section(say.env_header(env, report.revision)), *body, *_problems(report)]


def _problems(report: VersionsReport) -> list[Block]:
    # Problems quote file paths and object names anyone who can push wrote: escaped like any outside text.
    return sections([f"⚠️ {escape(p)}" for p in report.problems]) if report.problems else []
