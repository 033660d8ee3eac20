"""Promote one build to an environment: copy the same digest under the target's tag, commit the bump."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions.base import ActionKind, Outcome, Planned, Run, fingerprint
from bot.core.plan import PromotionPlan
from bot.promotion import promote as uc
from bot.promotion.ports import Context


@dataclass(frozen=True)
class PromoteCmd:
    tag: str
    env: str
    service: str | None = None
    reason: str = ""
    at: str | None = None  # `at <ISO time|HH:MM>`: schedule instead of now (the schedule action)

    @property
    def kind(self) -> ActionKind:
        return ActionKind.SCHEDULE if self.at else ActionKind.PROMOTE


def request(args: PromoteCmd, run: Run) -> uc.PromoteRequest:
    """The use-case request for these arguments: the one place they become use-case values."""
    return uc.PromoteRequest(
        tag=args.tag,
        target_env=args.env,
        who=run.who,
        service=args.service,
        reason=args.reason,
        approved_by=run.approved_by,
        slack_thread=run.thread,
        request_id=run.request_id,
        force=run.force,
    )


def planned(ctx: Context, args: PromoteCmd, who: str) -> Planned[PromotionPlan]:
    ws, plan = uc.prepare(ctx, request(args, Run(who)))
    facts = {
        "kind": "promote",
        "service": plan.service,
        "source": plan.source_tag,
        "digest": plan.digest,
        "env": plan.target_env,
        "current": plan.current_tag,
    }
    fp = fingerprint(facts, ws.files, plan.edit.files if plan.edit else None)
    return Planned(plan, plan.service, fp, plan.noop_reason if plan.noop else None)


class Promote:
    kind = ActionKind.PROMOTE
    verb = "promote"
    confirm = True

    def plan(self, ctx: Context, args: PromoteCmd, who: str) -> Planned[PromotionPlan]:
        return planned(ctx, args, who)

    def run(self, ctx: Context, args: PromoteCmd, run: Run) -> Outcome[PromotionPlan]:
        result = uc.promote(ctx, request(args, run), dry_run=run.dry_run)
        return Outcome(result.plan, result.commit, result.dry_run)
