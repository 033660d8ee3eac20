"""Resume: lift the hold on one service in one environment (its markers name their setter again), and no other.

Refused when the policy's newest tag is not what Git has now, because resuming would then redeploy
that tag (usually the very build that was rolled back) - unless the person says --force. A hold an
earlier version wrote as `spec.suspend: true` is lifted by migrating it (bot/core/holds.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import holds
from bot.core.freezes import refuse_if_frozen
from bot.core.names import env_name, service_name
from bot.core.plan import Edit, ResumePlan, plan_resume
from bot.core.policy import database_order, select
from bot.errors import GateRefused, NothingToDo, PolicyError
from bot.promotion import freeze
from bot.promotion.ports import Context, Snapshot
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class ResumeRequest:
    env: str
    who: str
    service: str | None = None
    force: bool = False
    request_id: str = ""


@dataclass(frozen=True)
class ResumeResult:
    plan: ResumePlan
    commit: str | None = None


def latest_available(ctx: Context, ws: Workspace, service: str, env: str) -> str | None:
    """The tag the env's ImagePolicy would select from the registry now (None when Flux would fail)."""
    target = ws.topology.target(service, env)
    registry, repo = ctx.registries.for_image(target.image)
    try:
        return select(target.spec, database_order(registry.list_tags(repo), target.exclusion_list))
    except PolicyError:
        return None


def sibling_latest(ctx: Context, ws: Workspace, service: str, env: str) -> dict[tuple[str, str], str | None]:
    """For a target held by an earlier version's suspend: what each other policy of that automation would
    select now, so lifting it keeps held exactly the ones Flux would move (bot/core/holds.py)."""
    target = ws.topology.target(service, env)
    return {
        (t.service, t.env): latest_available(ctx, ws, t.service, t.env)
        for t in holds.suspended_siblings(ws.topology, target)
    }


def _service(ws: Workspace, req: ResumeRequest) -> str:
    if req.service is not None:
        return service_name(req.service)
    held = [t.service for t in ws.topology.in_env(req.env) if t.held]
    if len(held) == 1:
        return held[0]
    if not held:
        raise NothingToDo(f"Nothing is held in {req.env}.")
    raise GateRefused(f"Several services are held in {req.env}: {', '.join(held)}.", hint="Name one.")


def _plan(ctx: Context, ws: Workspace, req: ResumeRequest, service: str) -> ResumePlan:
    return plan_resume(
        ws.topology,
        ws.files,
        service=service,
        env=req.env,
        latest_available=latest_available(ctx, ws, service, req.env),
        resumed_by=req.who,
        force=req.force,
        request_id=req.request_id,
        sibling_latest=sibling_latest(ctx, ws, service, req.env),
    )


def prepare(ctx: Context, req: ResumeRequest) -> tuple[Workspace, ResumePlan]:
    env_name(req.env)
    ws = Workspace.sync(ctx)
    frozen = freeze.active(ctx, ws, req.env, ctx.now())
    if frozen is not None and not (req.force and freeze.break_glass(ctx, req.env, req.who)):
        refuse_if_frozen(frozen, req.env, "resuming automation")
    return ws, _plan(ctx, ws, req, _service(ws, req))


def resume(ctx: Context, req: ResumeRequest, *, dry_run: bool = False) -> ResumeResult:
    _ws, plan = prepare(ctx, req)
    service = plan.service
    if plan.edit is None or dry_run:
        return ResumeResult(plan)

    def replan(snapshot: Snapshot) -> Edit | None:
        return _plan(ctx, Workspace.of(ctx, snapshot), req, service).edit

    pushed = ctx.repo.commit_and_push(replan)
    return ResumeResult(plan, commit=pushed.sha)
