"""Versions: per service × environment, what Git deploys now and what Flux would pick next.

Registry queries run in parallel (bounded) because a registry round trip dominates; one `git log`
over every marker file answers "who changed it last" for all services at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.core import commit_message as cm
from bot.core import history as hist
from bot.core.clock_text import iso_utc
from bot.core.discovery import Target
from bot.core.names import service_name
from bot.core.policy import database_order, select
from bot.core.tags import BuildTag
from bot.errors import OperationFailed, PolicyError
from bot.promotion import applied as ap
from bot.promotion.ports import Context
from bot.promotion.workspace import Workspace

HISTORY_DEPTH = 300


@dataclass(frozen=True)
class LastChange:
    kind: str  # promote | rollback | resume | automation | other
    commit: str
    by: str
    at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class EnvVersion:
    tag: str | None
    version: str | None
    sha: str | None
    built_at: int | None
    image: str
    digest: str | None
    automation: str  # active | held | none
    latest_available: str | None
    last_change: LastChange | None
    policy: str = ""  # the ImagePolicy, "ns/name"
    applied: ap.Applied | None = None  # what Flux applied (None: no event yet, the state is unknown)

    @property
    def applied_state(self) -> ap.AppliedState:
        return ap.state_of(self.applied)

    @property
    def newer_available(self) -> bool:
        return bool(self.latest_available and self.tag and self.latest_available != self.tag)


@dataclass(frozen=True)
class ServiceVersions:
    name: str
    environments: dict[str, EnvVersion]


@dataclass(frozen=True)
class VersionsReport:
    revision: str
    pipeline: tuple[str, ...]
    services: list[ServiceVersions]
    problems: tuple[str, ...] = ()
    incomplete: bool = False  # a registry could not be read: some digests / newer builds are unknown

    def to_json(self) -> dict[str, Any]:
        def env(v: EnvVersion) -> dict[str, Any]:
            lc = v.last_change
            return {
                "tag": v.tag,
                "version": v.version,
                "sha": v.sha,
                "built_at": v.built_at,
                "image": v.image,
                "digest": v.digest,
                "automation": v.automation,
                "latest_available": v.latest_available,
                "last_change": None if lc is None else {"kind": lc.kind, "commit": lc.commit, "by": lc.by, "at": lc.at},
                "policy": v.policy,
                "applied": None if v.applied is None else v.applied.to_json(),
            }

        return {
            "revision": self.revision,
            "services": [
                {"name": s.name, "environments": {e: env(v) for e, v in s.environments.items()}} for s in self.services
            ],
            "problems": list(self.problems),
        }


def _last_change(bumps: Sequence[hist.Bump]) -> LastChange | None:
    if not bumps:
        return None
    c = bumps[0].commit
    kind = bumps[0].kind
    t = c.trailers
    by = (
        t.get(cm.PROMOTED_BY)
        or t.get(cm.ROLLED_BACK_BY)
        or t.get(cm.RESUMED_BY)
        or f"{c.author_name} <{c.author_email}>"
    )
    at = iso_utc(c.authored_at)
    return LastChange(kind=kind, commit=c.sha, by=by, at=at)


def _registry_facts(ctx: Context, target: Target) -> tuple[str | None, str | None, str]:
    """(digest of the deployed tag, newest tag the policy would select, problem). Unknown reads as None and
    the problem says why, so a registry outage never looks like "nothing newer"."""
    registry, repo = ctx.registries.for_image(target.image)
    tag = target.current_tag()
    where = f"{target.service}/{target.env}"
    digest: str | None = None
    try:
        digest = registry.digest(repo, tag) if tag else None
        latest = select(target.spec, database_order(registry.list_tags(repo), target.exclusion_list))
    except OperationFailed as err:
        return None, None, f"{where}: registry: {err.message}"
    except PolicyError as err:
        return digest, None, f"{where}: Flux would fail this ImagePolicy: {err.message}"
    return digest, latest, ""


def versions(
    ctx: Context, service: str | None = None, *, workers: int = 8, applied: ap.AppliedReader | None = None
) -> VersionsReport:
    """`applied`: the state store `serve` writes Flux's events to; without it every applied state is unknown."""
    if service is not None:
        service_name(service)
    ws = Workspace.sync(ctx)
    topo = ws.topology
    names = [service] if service is not None else topo.services()
    if service is not None and not topo.envs_of(service):
        topo.target(service, topo.pipeline[0])  # raises NotFound naming the services there are
    targets = [topo.targets[(s, e)] for s in names for e in topo.envs_of(s)]
    files = sorted({site.file for t in targets for site in t.sites})
    records = ctx.repo.history(files, max_count=HISTORY_DEPTH) if files else []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) or 1))) as pool:
        facts = list(pool.map(lambda t: _registry_facts(ctx, t), targets))
    by_target = dict(zip(((t.service, t.env) for t in targets), facts, strict=True))
    envs_applied = ap.by_env(applied.applied_rows()) if applied is not None else {}
    tags_at = ap.TagsAt(ctx.repo, files)
    problems = [*topo.problems, *(p for _, _, p in facts if p)]
    out: list[ServiceVersions] = []
    for s in names:
        envs: dict[str, EnvVersion] = {}
        for e in topo.envs_of(s):
            t = topo.targets[(s, e)]
            tag = t.current_tag()
            bt = BuildTag.parse(tag) if tag and BuildTag.is_valid(tag) else None
            digest, latest, _ = by_target[(s, e)]
            bumps = hist.bumps(t, records)
            envs[e] = EnvVersion(
                tag=tag,
                version=bt.version if bt else None,
                sha=bt.sha if bt else None,
                built_at=bt.ts if bt else None,
                image=t.image,
                digest=digest,
                automation="none" if t.automation is None else ("held" if t.held else "active"),
                latest_available=latest,
                last_change=_last_change(bumps),
                policy=str(t.policy),
                applied=ap.applied(t, envs_applied.get(e), tags_at, bumps),
            )
        out.append(ServiceVersions(s, envs))
    unread = any(p for _, _, p in facts)
    return VersionsReport(revision=ws.snapshot.head, pipeline=topo.pipeline, services=out, problems=tuple(problems),
                          incomplete=unread)  # fmt: skip
