"""The registry every front end uses: one line per kind of request."""

from __future__ import annotations

from bot.actions.base import Actions
from bot.actions.freeze import FreezeCmd, FreezeEnv, Unfreeze, UnfreezeCmd
from bot.actions.promote import Promote, PromoteCmd
from bot.actions.release import Release, ReleaseCmd
from bot.actions.resume import Resume, ResumeCmd
from bot.actions.rollback import Rollback, RollbackCmd
from bot.actions.schedule import SchedulePromotion
from bot.promotion.schedule import ScheduleStore


def standard(schedules: ScheduleStore | None = None) -> Actions:
    actions = Actions()
    actions.register(Promote(), PromoteCmd)
    actions.register(Release(), ReleaseCmd)
    actions.register(Rollback(), RollbackCmd)
    actions.register(Resume(), ResumeCmd)
    actions.register(FreezeEnv(), FreezeCmd)
    actions.register(Unfreeze(), UnfreezeCmd)
    if schedules is not None:  # scheduling needs the state store; the CLI's one-shot commands do without
        actions.register(SchedulePromotion(schedules), PromoteCmd)
    return actions
