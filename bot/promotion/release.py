"""Release sets: promote every (or the named) service whose source build is ahead of the target, in ONE commit.

Registry copies first (each by digest, read back), then one commit; a per-service rollback still works
afterwards because each service's bump is visible in the commit's diff and trailers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.freezes import refuse_if_frozen
from bot.core.names import env_name, service_name
from bot.core.plan import Edit, PromotionPlan, check_route, combine_release, plan_promotion
from bot.core.tags import BuildTag
from bot.errors import GateRefused, NotFound
from bot.promotion import freeze
from bot.promotion.ports import Context, Snapshot
from bot.promotion.resume import sibling_latest
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class ReleaseResult:
    plans: tuple[PromotionPlan, ...]
    commit: str | None = None
    dry_run: bool = False


def _plans(
    ctx: Context,
    ws: Workspace,
    *,
    source: str,
    target: str,
    services: Sequence[str],
    who: str,
    pinned: dict[str, str] | None = None,
) -> list[PromotionPlan]:
    files = dict(ws.files)
    plans = []
    for t in ws.topology.in_env(source):
        if services and t.service not in services:
            continue
        tag = t.current_tag()
        if (t.service, target) not in ws.topology.targets or not tag or not BuildTag.is_valid(tag):
            continue
        dst = ws.topology.target(t.service, target)
        registry, repo = ctx.registries.for_image(dst.image)
        digest = registry.digest(repo, tag)
        current = dst.current_tag()
        if digest is None:
            continue
        plan = plan_promotion(
            ws.topology,
            files,
            tag=BuildTag.parse(tag),
            service=t.service,
            target_env=target,
            digest=digest,
            target_tags=registry.list_tags(repo) if pinned is None else (),
            current_digest=registry.digest(repo, current) if current else None,
            promoted_by=who,
            now=ctx.now(),
            deployed_in_source=True,
            target_tag=(pinned or {}).get(t.service),
            sibling_latest=sibling_latest(ctx, ws, t.service, target),
        )  # the source build runs in `source` by construction: it is what Git has there now
        if plan.edit is not None:
            files.update(plan.edit.files)
        plans.append(plan)
    return plans


def release(
    ctx: Context,
    *,
    source: str,
    target: str,
    who: str,
    services: Sequence[str] = (),
    dry_run: bool = False,
    request_id: str = "",
) -> ReleaseResult:
    env_name(source)
    env_name(target)
    for s in services:
        service_name(s)
    check_route(ctx.pipeline, source, target)
    ws = Workspace.sync(ctx)
    frozen = freeze.active(ctx, ws, target, ctx.now())
    if frozen is not None:
        refuse_if_frozen(frozen, target, "a release")
    known = sorted({t.service for t in ws.topology.in_env(source)})
    unknown = [s for s in services if s not in known]
    if unknown:  # a typo must not shrink the release silently
        raise NotFound(f"No service {', '.join(map(repr, unknown))} in {source}.", hint=f"Known: {', '.join(known)}.")
    plans = _plans(ctx, ws, source=source, target=target, services=services, who=who)
    edit = combine_release(plans, promoted_by=who, request_id=request_id)
    if dry_run:
        return ReleaseResult(tuple(plans), dry_run=True)
    live = [p for p in plans if p.edit is not None]
    for p in live:
        registry, repo = ctx.registries.for_image(p.image)
        registry.retag(repo, p.source_tag, [p.target_tag, p.alias], expect_digest=p.digest)
    pinned = {p.service: p.target_tag for p in live}

    def replan(snapshot: Snapshot) -> Edit | None:
        fresh = Workspace.of(ctx, snapshot)
        again = [
            p
            for p in _plans(
                ctx, fresh, source=source, target=target, services=[p.service for p in live], who=who, pinned=pinned
            )
            if p.service in pinned
        ]
        if {p.source_tag for p in again} != {p.source_tag for p in live}:
            raise GateRefused(f"{source} changed while releasing; nothing was committed.", hint="Run it again.")
        return combine_release(again, promoted_by=who, request_id=request_id)

    del edit  # planned once above to refuse early; the commit is always re-planned on the fetched HEAD
    pushed = ctx.repo.commit_and_push(replan)
    return ReleaseResult(tuple(plans), commit=pushed.sha)
