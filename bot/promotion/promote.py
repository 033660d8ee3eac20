"""Promote: validate → registry copy by digest → commit → push, in that order.

A manifest must never name a tag that does not exist yet, so the copy comes first. If the copy lands
and the push does not, the user is told exactly that (Flux's automation for the target env will
pick the new tag up on its next scan, since it is the newest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import history as hist
from bot.core.clock_text import utc
from bot.core.freezes import refuse_if_frozen
from bot.core.names import env_name, service_name
from bot.core.plan import Edit, PromotionPlan, candidate_services, check_route, pick_service, plan_promotion
from bot.core.tags import BuildTag
from bot.errors import OperationFailed, PartialPromotion, PushConflict, RegistryError
from bot.promotion import freeze
from bot.promotion.ports import Context, Snapshot
from bot.promotion.resume import sibling_latest
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class PromoteRequest:
    tag: str
    target_env: str
    who: str
    service: str | None = None
    reason: str = ""
    request_id: str = ""
    slack_thread: str = ""
    approved_by: tuple[str, ...] = ()
    force: bool = False  # break-glass through a freeze (only for environments.<env>.break_glass users)


@dataclass(frozen=True)
class PromoteResult:
    plan: PromotionPlan
    commit: str | None = None
    tries: int = 0
    dry_run: bool = False

    @property
    def noop(self) -> bool:
        return self.plan.noop


def _deployed_in_source(ctx: Context, ws: Workspace, tag: BuildTag, service: str, target_env: str) -> bool | None:
    if not ctx.env(target_env).require_deployed_in_source:
        return None
    src = ws.topology.target(service, tag.env)
    if src.current_tag() == str(tag):
        return True
    records = ctx.repo.history(sorted({s.file for s in src.sites}))
    return str(tag) in hist.deployed_tags(hist.bumps(src, records))


def prepare(ctx: Context, req: PromoteRequest) -> tuple[Workspace, PromotionPlan]:
    """Everything up to (not including) the first write. Raises a Refused error on any gate."""
    tag = BuildTag.parse(req.tag)
    env_name(req.target_env)
    if req.service is not None:
        service_name(req.service)
    check_route(ctx.pipeline, tag.env, req.target_env)
    ws = Workspace.sync(ctx)
    reason = _freeze_gate(ctx, ws, req, "promotion")
    found: dict[str, str] = {}
    for service in candidate_services(ws.topology, tag.env, req.target_env, req.service):
        registry, repo = ctx.registries.for_image(ws.topology.target(service, tag.env).image)
        digest = registry.digest(repo, str(tag))
        if digest is not None:
            found[service] = digest
    service = pick_service(str(tag), found)
    dst = ws.topology.target(service, req.target_env)
    registry, repo = ctx.registries.for_image(dst.image)
    current = dst.current_tag()
    plan = plan_promotion(
        ws.topology,
        ws.files,
        tag=tag,
        service=service,
        target_env=req.target_env,
        digest=found[service],
        target_tags=registry.list_tags(repo),
        current_digest=registry.digest(repo, current) if current else None,
        promoted_by=req.who,
        now=ctx.now(),
        deployed_in_source=_deployed_in_source(ctx, ws, tag, service, req.target_env),
        approved_by=req.approved_by,
        reason=reason,
        request_id=req.request_id,
        slack_thread=req.slack_thread,
        sibling_latest=sibling_latest(ctx, ws, service, req.target_env),
    )
    return ws, plan


def _freeze_gate(ctx: Context, ws: Workspace, req: PromoteRequest, action: str) -> str:
    """Refuse in a frozen env; a listed break-glass user's --force goes through and says so in the commit."""
    frozen = freeze.active(ctx, ws, req.target_env, ctx.now())
    if frozen is None:
        return req.reason
    if not (req.force and freeze.break_glass(ctx, req.target_env, req.who)):
        refuse_if_frozen(frozen, req.target_env, action)
    return f"BREAK-GLASS during freeze '{frozen.reason}' (until {utc(frozen.end)}). {req.reason}".strip()


def promote(ctx: Context, req: PromoteRequest, *, dry_run: bool = False) -> PromoteResult:
    ws, plan = prepare(ctx, req)
    if plan.noop or dry_run:
        return PromoteResult(plan, dry_run=dry_run)
    src = ws.topology.target(plan.service, plan.source_env)
    dst = ws.topology.target(plan.service, plan.target_env)
    src_registry, src_repo = ctx.registries.for_image(src.image)
    registry, repo = ctx.registries.for_image(dst.image)
    if (src_registry, src_repo) != (registry, repo):
        # Promotion is a manifest re-tag inside one repository; a cross-repository copy would need
        # blob mounts, which this bot does not do (yet). Refuse before writing anything.
        raise OperationFailed(
            f"{plan.service} uses different images in {plan.source_env} ({src.image}) and "
            f"{plan.target_env} ({dst.image}); the bot promotes within one image repository only."
        )
    reason = _freeze_gate(ctx, ws, req, "promotion")
    try:
        registry.retag(repo, plan.source_tag, [plan.target_tag, plan.alias], expect_digest=plan.digest)
    except RegistryError as err:
        # The registry's own words say which tags it has; the person also needs Git's side and the way on.
        raise type(err)(
            f"{err.message} Git was not changed.",
            hint=err.hint or "Run the same promotion again once the registry answers.",
        ) from err
    seen = plan.current_tag

    def replan(snapshot: Snapshot) -> Edit | None:
        fresh = Workspace.of(ctx, snapshot)
        now_tag = fresh.topology.target(plan.service, plan.target_env).current_tag()
        if now_tag not in (seen, plan.target_tag):
            raise PushConflict(
                f"{plan.target_env} changed while promoting: Git now has {now_tag or 'no single tag'} for "
                f"{plan.service} (it had {seen or 'no single tag'}).",
                current=now_tag or "",
                hint="Check /versions and promote again if still wanted.",
            )
        again = plan_promotion(
            fresh.topology,
            fresh.files,
            tag=BuildTag.parse(plan.source_tag),
            service=plan.service,
            target_env=plan.target_env,
            digest=plan.digest,
            target_tags=(),
            current_digest=None,
            promoted_by=req.who,
            now=ctx.now(),
            approved_by=req.approved_by,
            reason=reason,
            request_id=req.request_id,
            slack_thread=req.slack_thread,
            target_tag=plan.target_tag,
            sibling_latest=sibling_latest(ctx, fresh, plan.service, plan.target_env),
        )
        return again.edit

    try:
        pushed = ctx.repo.commit_and_push(replan)
    except OperationFailed as err:
        raise PartialPromotion(
            f"The registry now has {plan.target_tag} (same image as {plan.source_tag}), but the Git commit "
            f"was not pushed: {err.message}",
            hint=f"Flux's image automation for {plan.target_env} will pick the new tag up on its next scan "
            "unless it is held; or run the same promotion again.",
        ) from err
    return PromoteResult(plan, commit=pushed.sha, tries=pushed.tries)


def describe(plan: PromotionPlan) -> Sequence[str]:
    """Lines a person reads before confirming: the diff, digest, tags to be created, warnings."""
    lines = [f"{plan.service}: {plan.source_tag} → {plan.target_env}"]
    if plan.noop:
        return [*lines, plan.noop_reason]
    lines.append(f"image   {plan.image}@{plan.digest}")
    lines.append(f"tags    {plan.target_tag} (new), {plan.alias} (moved)")
    if plan.edit:
        for ch in plan.edit.changes:
            lines.append(f"{ch.file}: {ch.old} → {ch.new}")
    lines += [f"warning: {w}" for w in plan.warnings]
    return lines
