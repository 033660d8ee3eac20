"""Resume: lift a rollback's hold so Flux's automation writes the service's markers again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.actions.base import ActionKind, Outcome, Planned, Run, fingerprint
from bot.core.plan import ResumePlan
from bot.promotion import resume as uc
from bot.promotion.ports import Context


@dataclass(frozen=True)
class ResumeCmd:
    env: str
    service: str | None = None
    force: bool = False
    kind: ClassVar[ActionKind] = ActionKind.RESUME


def _request(args: ResumeCmd, run: Run) -> uc.ResumeRequest:
    return uc.ResumeRequest(env=args.env, who=run.who, service=args.service, force=args.force,
                            request_id=run.request_id)  # fmt: skip


class Resume:
    kind = ActionKind.RESUME
    verb = "resume"
    confirm = True

    def plan(self, ctx: Context, args: ResumeCmd, who: str) -> Planned[ResumePlan]:
        ws, plan = uc.prepare(ctx, _request(args, Run(who)))
        facts = {
            "kind": "resume",
            "service": plan.service,
            "env": plan.env,
            "automation": plan.automation,
            "deploys": plan.would_deploy,
        }
        fp = fingerprint(facts, ws.files, plan.edit.files if plan.edit else None)
        return Planned(plan, plan.service, fp, None if plan.edit else "not held")

    def run(self, ctx: Context, args: ResumeCmd, run: Run) -> Outcome[ResumePlan]:
        result = uc.resume(ctx, _request(args, run), dry_run=run.dry_run)
        return Outcome(result.plan, result.commit, run.dry_run)
