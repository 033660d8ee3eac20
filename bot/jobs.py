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
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.promotion import freeze
from bot.promotion.ports import Context
from bot.promotion.schedule import Scheduled, run_due_promotions
from bot.promotion.versions import versions
from bot.slack import blocks

log = logging.getLogger(__name__)


# --- new builds ready to promote ----------------------------------------------------------------
def new_build_notices(ctx: Context, store: Any, channel_of: Callable[[str], str | None]) -> int:
    """Once per tag: "a new staging build is ready to promote", with a Promote button, in the target's channel."""
    report = versions(ctx)
    queued = 0
    for svc in report.services:
        for src, dst in zip(report.pipeline, report.pipeline[1:], strict=False):
            a, b = svc.environments.get(src), svc.environments.get(dst)
            channel = channel_of(dst)
            if not (a and b and a.tag and channel) or (a.sha, a.version) == (b.sha, b.version):
                continue
            if not store.claim(f"new-build:{a.tag}", 90 * 86400):
                continue
            value = json.dumps({"tag": a.tag, "env": dst, "service": svc.name})
            text = f"🆕 {svc.name} v{a.version} ({a.sha}) is in {src} and ready to promote to {dst}."
            button = blocks.button("Promote", blocks.PROMOTE_FROM_VERSIONS, value, "primary")
            payload = {"text": text, "blocks": [blocks.section(text), {"type": "actions", "elements": [button]}]}
            if store.enqueue(channel, json.dumps(payload), f"new-build:{a.tag}") is not None:
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


def standard_jobs(  # noqa: PLR0917 - the composition root passes what it built, in order
    ctx: Context,
    store: Any,
    deliverer: Any,
    channel_of: Callable[[str], str | None],
    clock: Callable[[], float] = time.time,
    report: Callable[[Scheduled], None] = lambda _s: None,
    git_poll: float = 60.0,
) -> dict[str, tuple[Callable[[], object], float]]:
    jobs: dict[str, tuple[Callable[[], object], float]] = {
        "freezes": (lambda: freeze.reconcile(ctx, int(clock())), 60.0),
        "scheduled-promotions": (lambda: run_due_promotions(ctx, store, int(clock()), report), 30.0),
        "approval-expiry": (store.expire_requests, 60.0),
        "new-builds": (lambda: new_build_notices(ctx, store, channel_of), 300.0),
    }
    if deliverer is not None:  # (the deliverer's own loop runs the promotion watchdog every round)
        jobs["git-notices"] = (lambda: deliverer.git_notices(ctx), git_poll)
    return jobs
