"""Promotions scheduled for later: schedule, list, cancel, and run the due ones (from the scheduler's job).

Every change is one compare-and-set in the schedule store, so a Slack worker cancelling and the scheduler
running the same schedule cannot overwrite each other: the runner takes it (waiting → running) before it
promotes, and a cancel only takes a waiting one, so exactly one of them wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from bot.core.tags import BuildTag
from bot.errors import BotError, InvalidInput
from bot.promotion.ports import Context
from bot.promotion.promote import PromoteRequest, promote
from bot.promotion.states import ScheduleStatus


@dataclass(frozen=True)
class Scheduled:
    id: str
    tag: str
    env: str
    at: int
    who: str
    service: str | None = None
    reason: str = ""
    status: ScheduleStatus = ScheduleStatus.WAITING
    result: str = ""


class ScheduleStore(Protocol):
    """Where schedules live (the SQLite state store); it persists and compares-and-sets, states.py rules."""

    def add_schedule(self, item: Scheduled) -> None: ...

    def schedules_in(self, status: ScheduleStatus) -> list[Scheduled]:
        """The schedules in `status`, in the order they were made."""
        ...

    def move_schedule(self, id: str, to: ScheduleStatus, result: str = "") -> bool:
        """Move `id` to `to` (recording `result`) if it is in a status SCHEDULE_MOVES allows; True if this call did."""
        ...


def schedule_promotion(
    store: ScheduleStore,
    *,
    tag: str,
    env: str,
    at: int,
    who: str,
    now: int,
    service: str | None = None,
    reason: str = "",
) -> Scheduled:
    BuildTag.parse(tag)
    if at <= now:
        raise InvalidInput("A scheduled promotion must be in the future.")
    item = Scheduled(uuid.uuid4().hex[:12], tag, env, at, who, service, reason)
    store.add_schedule(item)
    return item


def cancel(store: ScheduleStore, schedule_id: str) -> bool:
    """Cancel a waiting schedule; False if there is none by that id, or it has run, is running or was cancelled."""
    return store.move_schedule(schedule_id, ScheduleStatus.CANCELLED)


def listed(store: ScheduleStore) -> list[Scheduled]:
    return store.schedules_in(ScheduleStatus.WAITING)


Start = Callable[[Scheduled], tuple[bool, str]]
"""Runs a due schedule through the front end's gates; (ok, what happened)."""


def promote_now(ctx: Context) -> Start:
    """Run a due schedule with the promote use case alone: the gates that live in Git (pipeline, freezes,
    deployed-in-source) are checked again now, but nobody's right to promote and no approvals are. `serve`
    therefore passes the Slack front end's start instead (bot/slack/timed.py `start_scheduled`)."""

    def start(item: Scheduled) -> tuple[bool, str]:
        res = promote(ctx, PromoteRequest(tag=item.tag, target_env=item.env, who=item.who, service=item.service,
                                          reason=item.reason or "scheduled", request_id=item.id))  # fmt: skip
        return True, res.commit or res.plan.noop_reason

    return start


def run_due_promotions(
    ctx: Context,
    store: ScheduleStore,
    now: int,
    report: Callable[[Scheduled], None] = lambda _s: None,
    start: Start | None = None,
) -> int:
    """Run every waiting promotion whose time has come, once: taking it is a compare-and-set in the shared
    store, so a restart, a replica or a racing cancel cannot run it twice. `start` runs it through the same
    gates as a promotion asked for now."""
    run = start or promote_now(ctx)
    ran = 0
    for item in store.schedules_in(ScheduleStatus.WAITING):
        if item.at > now or not store.move_schedule(item.id, ScheduleStatus.RUNNING):
            continue
        try:
            ok, result = run(item)
            done = replace(item, status=ScheduleStatus.DONE if ok else ScheduleStatus.FAILED, result=result)
        except BotError as err:
            done = replace(item, status=ScheduleStatus.FAILED, result=str(err))
        store.move_schedule(item.id, done.status, done.result)
        report(done)
        ran += 1
    return ran
