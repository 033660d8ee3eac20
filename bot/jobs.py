"""Scheduled work: plain functions over the use cases, and the one APScheduler that runs them.

Each job is idempotent and safe to run late or twice: state lives in Git (freezes) or the state store
(claims, scheduled promotions), so after a restart the scheduler coalesces missed runs into one
(`coalesce`, `misfire_grace_time`) and never runs the same job twice at once (`max_instances=1`).
Tests call the functions directly with an injected clock; the scheduler only decides *when*.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from bot.promotion import freeze
from bot.promotion.new_builds import NewBuild, ready_to_promote
from bot.promotion.ports import Context
from bot.promotion.schedule import Scheduled, ScheduleStore, Start, run_due_promotions

log = logging.getLogger(__name__)


class Notices(Protocol):
    def claim(self, key: str, ttl: float) -> bool: ...

    def enqueue(self, channel: str, payload: str, dedupe_key: str) -> int | None: ...


class JobStore(Notices, ScheduleStore, Protocol):
    def expire_requests(self) -> Iterable[object]: ...


class GitNotices(Protocol):
    def git_notices(self, ctx: Context) -> int: ...


# --- new builds ready to promote ----------------------------------------------------------------
def new_build_notices(
    ctx: Context, store: Notices, channel_of: Callable[[str], str | None], render: Callable[[NewBuild], str]
) -> int:
    """Once per tag: "a new staging build is ready to promote" in the target's channel; `render` makes
    the outbox payload (the front end's wording and buttons)."""
    queued = 0
    for build in ready_to_promote(ctx):
        channel = channel_of(build.target)
        if not channel or not store.claim(f"new-build:{build.tag}", 90 * 86400):
            continue
        if store.enqueue(channel, render(build), f"new-build:{build.tag}") is not None:
            queued += 1
    return queued


# --- the scheduler ------------------------------------------------------------------------------
def build_scheduler(jobs: dict[str, tuple[Callable[[], object], float]]) -> BackgroundScheduler:
    """One scheduler per process; each job runs every `seconds`, never twice at once, missed runs coalesced."""
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    )
    for name, (fn, seconds) in jobs.items():
        scheduler.add_job(_logged(name, fn), "interval", seconds=seconds, id=name, name=name)
    return scheduler


def _logged(name: str, fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except Exception:
            log.exception("job %s failed; it runs again at its next interval", name)

    return run


def standard_jobs(
    ctx: Context,
    store: JobStore,
    *,
    channel_of: Callable[[str], str | None],
    render_new_build: Callable[[NewBuild], str],
    deliverer: GitNotices | None = None,
    clock: Callable[[], float] = time.time,
    report: Callable[[Scheduled], None] = lambda _s: None,
    git_poll: float = 60.0,
    start_scheduled: Start | None = None,
    expired: Callable[[list[object]], None] = lambda _r: None,
) -> dict[str, tuple[Callable[[], object], float]]:
    jobs: dict[str, tuple[Callable[[], object], float]] = {
        "freezes": (lambda: freeze.reconcile(ctx, int(clock())), 60.0),
        # Every 5 s: a due schedule is one indexed SQLite read, and "at 14:00" should not mean 14:00:30.
        "scheduled-promotions": (lambda: run_due_promotions(ctx, store, int(clock()), report, start_scheduled), 5.0),
        "approval-expiry": (lambda: expired(list(store.expire_requests())), 60.0),
        "new-builds": (lambda: new_build_notices(ctx, store, channel_of, render_new_build), 300.0),
    }
    if deliverer is not None:  # (the deliverer's own loop runs the promotion watchdog every round)
        jobs["git-notices"] = (lambda: deliverer.git_notices(ctx), git_poll)
    return jobs
