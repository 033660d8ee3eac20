"""`check`: validate the config against the repository and the registries; show the topology."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.errors import BotError
from bot.promotion.ports import Context
from bot.promotion.workspace import Workspace


@dataclass
class CheckReport:
    revision: str = ""
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        out = [f"repository at {self.revision[:12]}", *self.lines]
        out += [f"problem: {p}" for p in self.problems] or ["no problems found"]
        return "\n".join(out)


def check(ctx: Context, open_envs: Sequence[str] = ()) -> CheckReport:
    """What discovery, the registry and the pipeline say; `open_envs` are those anyone may promote into."""
    report = CheckReport()
    ws = Workspace.sync(ctx)
    report.revision = ws.snapshot.head
    report.problems += ws.topology.problems
    for (service, env), t in sorted(ws.topology.targets.items()):
        auto = f"{t.automation.ref}{' (held)' if t.held else ''}" if t.automation else "none"
        report.lines.append(
            f"{service}/{env}: policy {t.policy} · image {t.image} · now {t.current_tag() or '?'} · "
            f"{len(t.sites)} marker(s){f' ({len(t.stale)} stale)' if t.stale else ''} · automation {auto}"
        )
        try:
            registry, repo = ctx.registries.for_image(t.image)
            if t.current_tag() and registry.digest(repo, t.current_tag() or "") is None:
                report.problems.append(f"{service}/{env}: {t.image}:{t.current_tag()} is not in the registry")
        except BotError as err:
            report.problems.append(f"{service}/{env}: registry: {err}")
    for env in ctx.pipeline:
        if not ws.topology.in_env(env):
            report.problems.append(f"pipeline: no ImagePolicy found for environment {env!r}")
        if env in open_envs:
            report.lines.append(f"{env}: anyone in the workspace may promote (no promoters configured)")
    return report
