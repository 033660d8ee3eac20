"""Scheduled work: plain functions over the use cases, and the one APScheduler that runs them.

Each job is idempotent and safe to run late or twice: state lives in Git (freezes) or the state store
(claims, scheduled promotions), so after a restart the scheduler coalesces missed runs into one
(`coalesce`, `misfire_grace_time`) and never runs the same job twice at once (`max_instances=1`).
Tests call the functions directly with an injected clock; the scheduler only decides *when*.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from bot.core.tags import BuildTag
from bot.errors import BotError, InvalidInput
from bot.promotion import freeze
from bot.promotion.new_builds import NewBuild, ready_to_promote
from bot.promotion.ports import Context
from bot.promotion.promote import PromoteRequest, promote

log = logging.getLogger(__name__)
SCHEDULED = "jobs.scheduled_promotions"


class Notices(Protocol):
    def claim(self, key: str, ttl: float) -> bool: ...

    def enqueue(self, channel: str, payload: str, dedupe_key: str) -> int | None: ...


class JobStore(Notices, Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...

    def expire_requests(self) -> object: ...


class GitNotices(Protocol):
    def git_notices(self, ctx: Context) -> int: ...


# --- scheduled promotions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Scheduled:
    id: str
    tag: str
    env: str
    at: int
    who: str
    service: str | None = None
    reason: str = ""
    status: str = "waiting"  # waiting | done | failed | cancelled
    result: str = ""


def _load(store: Any) -> list[Scheduled]:
    return [Scheduled(**d) for d in json.loads(store.get(SCHEDULED) or "[]")]


def _save(store: Any, items: list[Scheduled]) -> None:
    store.put(SCHEDULED, json.dumps([asdict(i) for i in items]))


def schedule_promotion(
    store: Any, *, tag: str, env: str, at: int, who: str, now: int, service: str | None = None, reason: str = ""
) -> Scheduled:
    BuildTag.parse(tag)
    if at <= now:
        raise InvalidInput("A scheduled promotion must be in the future.")
    item = Scheduled(uuid.uuid4().hex[:12], tag, env, at, who, service, reason)
    _save(store, [*_load(store), item])
    return item


def cancel(store: Any, schedule_id: str) -> bool:
    items = _load(store)
    found = any(i.id == schedule_id and i.status == "waiting" for i in items)
    _save(
        store,
        [
            Scheduled(**{**asdict(i), "status": "cancelled"}) if i.id == schedule_id and i.status == "waiting" else i
            for i in items
        ],
    )
    return found


def listed(store: Any) -> list[Scheduled]:
    return [i for i in _load(store) if i.status == "waiting"]


def run_due_promotions(
    ctx: Context, store: Any, now: int, report: Callable[[Scheduled], None] = lambda _s: None
) -> int:
    """Run every waiting promotion whose time has come, once: the claim survives restarts and replicas.
    Each runs the full promote use case again, so gates, freezes and the pipeline are re-checked now."""
    ran = 0
    for item in _load(store):
        if item.status != "waiting" or item.at > now or not store.claim(f"scheduled:{item.id}", 30 * 86400):
            continue
        try:
            res = promote(
                ctx,
                PromoteRequest(
                    tag=item.tag,
                    target_env=item.env,
                    who=item.who,
                    service=item.service,
                    reason=item.reason or "scheduled",
                    request_id=item.id,
                ),
            )
            done = Scheduled(**{**asdict(item), "status": "done", "result": res.commit or res.plan.noop_reason})
        except BotError as err:
            done = Scheduled(**{**asdict(item), "status": "failed", "result": str(err)})
        _save(store, [done if i.id == item.id else i for i in _load(store)])
        report(done)
        ran += 1
    return ran


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
) -> dict[str, tuple[Callable[[], object], float]]:
    jobs: dict[str, tuple[Callable[[], object], float]] = {
        "freezes": (lambda: freeze.reconcile(ctx, int(clock())), 60.0),
        "scheduled-promotions": (lambda: run_due_promotions(ctx, store, int(clock()), report), 30.0),
        "approval-expiry": (store.expire_requests, 60.0),
        "new-builds": (lambda: new_build_notices(ctx, store, channel_of, render_new_build), 300.0),
    }
    if deliverer is not None:  # (the deliverer's own loop runs the promotion watchdog every round)
        jobs["git-notices"] = (lambda: deliverer.git_notices(ctx), git_poll)
    return jobs
