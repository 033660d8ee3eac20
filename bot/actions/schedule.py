"""Schedule a promotion for later: planned now (an impossible request is refused today, not at 14:00
tomorrow), stored, and run by the scheduler through the promote action at its time."""

from __future__ import annotations

import dataclasses

from bot.actions import promote
from bot.actions.base import ActionKind, Outcome, Planned, Run
from bot.core.clock_text import resolve_at
from bot.promotion import schedule as schedules
from bot.promotion.ports import Context


class SchedulePromotion:
    kind = ActionKind.SCHEDULE
    verb = "promote"
    confirm = False

    def __init__(self, store: schedules.ScheduleStore) -> None:
        self.store = store

    def plan(self, ctx: Context, args: promote.PromoteCmd, who: str) -> Planned[int]:
        at = resolve_at(args.at or "", ctx.now())
        promote.planned(ctx, dataclasses.replace(args, at=None), who)
        return Planned(at, "", "")

    def run(self, ctx: Context, args: promote.PromoteCmd, run: Run) -> Outcome[schedules.Scheduled]:
        at = self.plan(ctx, args, run.who).plan
        item = schedules.schedule_promotion(self.store, tag=args.tag, env=args.env, at=at, who=run.who, now=ctx.now(),
                                       service=args.service, reason=args.reason)  # fmt: skip
        return Outcome(item, detail=item.id)
