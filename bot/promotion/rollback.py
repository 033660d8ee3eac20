"""Roll back: revert the newest standing bump of a service in an environment, with the hold in the same commit.

In `retag` mode the previous digest is copied to a fresh `<env>-v…-<now>` tag first (so the env's
ImagePolicy itself selects it) and automation stays on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.core import history as hist
from bot.core.discovery import Target
from bot.core.freezes import FREEZE_FILE
from bot.core.names import env_name, service_name
from bot.core.plan import Edit, RollbackPlan
from bot.core.rollback_plan import choose_rollback_service, plan_rollback
from bot.errors import PushConflict
from bot.promotion import freeze
from bot.promotion.ports import Context, Snapshot
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class RollbackRequest:
    env: str
    who: str
    service: str | None = None
    to_tag: str | None = None
    request_id: str = ""
    slack_thread: str = ""


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    commit: str | None = None
    dry_run: bool = False


def _bumps(ctx: Context, target: Target) -> list[hist.Bump]:
    return hist.bumps(target, ctx.repo.history(sorted({s.file for s in target.sites})))


def _plan(
    ctx: Context, ws: Workspace, req: RollbackRequest, service: str, pinned_to: str | None = None
) -> RollbackPlan:
    target = ws.topology.target(service, req.env)
    mode = ctx.env(req.env).rollback
    target_tags: list[str] = []
    if mode == "retag":
        registry, repo = ctx.registries.for_image(target.image)
        target_tags = registry.list_tags(repo)
    plan = plan_rollback(
        ws.topology,
        ws.files,
        service=service,
        env=req.env,
        history=_bumps(ctx, target),
        rolled_back_by=req.who,
        now=ctx.now(),
        to_tag=req.to_tag,
        mode=mode,
        target_tags=target_tags,
        request_id=req.request_id,
        slack_thread=req.slack_thread,
        pinned_to=pinned_to,
    )
    return _take_over_freeze_hold(ws, plan)


def _take_over_freeze_hold(ws: Workspace, plan: RollbackPlan) -> RollbackPlan:
    """A rollback during a freeze holds a service the freeze already holds: the hold becomes the
    rollback's (same commit), so lifting the freeze later does not silently lift the rollback hold."""
    ff = freeze.state(ws)
    held = ff.holds.get(plan.env, ())
    if not plan.hold or plan.service not in held:
        return plan
    remaining = ff.with_holds(plan.env, [h for h in held if h != plan.service])
    edit = Edit({**plan.edit.files, FREEZE_FILE: remaining.render()}, plan.edit.message, plan.edit.changes)
    return replace(plan, edit=edit)


def prepare(ctx: Context, req: RollbackRequest) -> tuple[Workspace, RollbackPlan]:
    env_name(req.env)
    if req.service is not None:
        service_name(req.service)
    ws = Workspace.sync(ctx)
    service = req.service
    if service is None:
        last: dict[str, int] = {}
        for target in ws.topology.in_env(req.env):
            standing = hist.effective_bumps(_bumps(ctx, target))
            if standing and (req.to_tag is not None or standing[0].old_tag is not None):
                last[target.service] = standing[0].commit.authored_at
        service = choose_rollback_service(ws.topology, req.env, last)
    return ws, _plan(ctx, ws, req, service)


def rollback(ctx: Context, req: RollbackRequest, *, dry_run: bool = False) -> RollbackResult:
    ws, plan = prepare(ctx, req)
    if dry_run:
        return RollbackResult(plan, dry_run=True)
    if plan.retag_from:
        target = ws.topology.target(plan.service, plan.env)
        registry, repo = ctx.registries.for_image(target.image)
        registry.retag(repo, plan.retag_from, [plan.to_tag, plan.env])
    first = plan

    def replan(snapshot: Snapshot) -> Edit | None:
        fresh = Workspace.of(ctx, snapshot)
        target = fresh.topology.target(first.service, first.env)
        current = target.current_tag()
        if current == first.to_tag:
            return None  # another replica already rolled back to the same tag
        if current != first.from_tag:
            raise PushConflict(
                f"{first.service} in {first.env} changed while rolling back: Git now has {current or 'no single tag'}.",
                current=current or "",
                hint="Check /versions and roll back again if still needed.",
            )
        return _plan(ctx, fresh, req, first.service, pinned_to=first.to_tag if first.retag_from else None).edit

    pushed = ctx.repo.commit_and_push(replan)
    return RollbackResult(plan, commit=pushed.sha)
