"""`/history`: the last promotions, rollbacks and automation bumps of an environment, read back from Git."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import commit_message as cm
from bot.core import history as hist
from bot.core.clock_text import utc_minutes
from bot.core.names import known_env, service_name
from bot.promotion.ports import Context
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class Entry:
    at: int
    kind: str
    service: str
    env: str
    old_tag: str | None
    new_tag: str | None
    by: str
    commit: str

    def line(self) -> str:
        when = utc_minutes(self.at)
        change = f"{self.old_tag or '∅'} → {self.new_tag or '∅'}"
        return f"{when}  {self.kind:<10} {self.service:<12} {change}  by {self.by}  ({self.commit[:7]})"


def history(ctx: Context, env: str, service: str | None = None, limit: int = 20) -> list[Entry]:
    known_env(env, ctx.pipeline)
    if service is not None:
        service_name(service)
    ws = Workspace.sync(ctx)
    targets = [t for t in ws.topology.in_env(env) if service is None or t.service == service]
    if service is not None and not targets:
        ws.topology.target(service, env)  # raises NotFound naming what exists
    files = sorted({s.file for t in targets for s in t.sites})
    records = ctx.repo.history(files, max_count=limit * 4) if files else []
    entries = []
    for t in targets:
        for b in hist.bumps(t, records):
            tr = b.commit.trailers
            by = (
                tr.get(cm.PROMOTED_BY)
                or tr.get(cm.ROLLED_BACK_BY)
                or f"{b.commit.author_name} <{b.commit.author_email}>"
            )
            entries.append(
                Entry(b.commit.authored_at, b.kind, t.service, env, b.old_tag, b.new_tag, by, b.commit.sha)
            )
    return sorted(entries, key=lambda e: (e.at, e.commit), reverse=True)[:limit]
