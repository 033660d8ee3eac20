"""Builds waiting to be promoted: a service whose source environment runs a newer build than the next one."""

from __future__ import annotations

from dataclasses import dataclass

from bot.promotion.ports import Context
from bot.promotion.versions import versions


@dataclass(frozen=True)
class NewBuild:
    service: str
    version: str
    sha: str
    tag: str  # the build's tag in the source environment
    source: str
    target: str


def ready_to_promote(ctx: Context) -> list[NewBuild]:
    """Every (service, source → next env) where the source runs another build than the target."""
    report = versions(ctx)
    found = []
    for svc in report.services:
        for src, dst in zip(report.pipeline, report.pipeline[1:], strict=False):
            a, b = svc.environments.get(src), svc.environments.get(dst)
            if a and b and a.tag and (a.sha, a.version) != (b.sha, b.version):
                found.append(NewBuild(svc.name, str(a.version), str(a.sha), a.tag, src, dst))
    return found
