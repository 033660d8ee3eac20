"""Roll back: revert the newest standing bump of a service in an env and hold that service in that env."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.actions.base import ActionKind, Outcome, Planned, Run, fingerprint
from bot.core.plan import RollbackPlan
from bot.promotion import rollback as uc
from bot.promotion.ports import Context


@dataclass(frozen=True)
class RollbackCmd:
    env: str
    service: str | None = None
    to_tag: str | None = None
    kind: ClassVar[ActionKind] = ActionKind.ROLLBACK


def _request(args: RollbackCmd, run: Run) -> uc.RollbackRequest:
    return uc.RollbackRequest(
        env=args.env,
        who=run.who,
        service=args.service,
        to_tag=args.to_tag,
        slack_thread=run.thread,
        request_id=run.request_id,
    )


class Rollback:
    kind = ActionKind.ROLLBACK
    verb = "roll back"
    confirm = True

    def plan(self, ctx: Context, args: RollbackCmd, who: str) -> Planned[RollbackPlan]:
        ws, plan = uc.prepare(ctx, _request(args, Run(who)))
        facts = {
            "kind": "rollback",
            "service": plan.service,
            "env": plan.env,
            "from": plan.from_tag,
            "to": plan.to_tag if not plan.retag_from else plan.retag_from,
            "reverted": plan.reverted,
        }
        return Planned(plan, plan.service, fingerprint(facts, ws.files, plan.edit.files))

    def run(self, ctx: Context, args: RollbackCmd, run: Run) -> Outcome[RollbackPlan]:
        result = uc.rollback(ctx, _request(args, run), dry_run=run.dry_run)
        return Outcome(result.plan, result.commit, result.dry_run)
