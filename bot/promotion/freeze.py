"""Freezes: block promote and resume in an environment and hold its Flux automation, recorded in Git.

A freeze is a commit to `.gitops-bot/freezes.json` (auditable, shared by replicas) that also holds every
automated service of the environment by its markers (bot/core/holds.py), in the same commit, and nothing
outside that environment; lifting it releases exactly the services it held. Recurring windows
(`environments.<env>.freezes`) open and close through `reconcile`, which a scheduler job runs every
minute: it is idempotent, so a restart or a missed run converges instead of misfiring. Rollback is
never blocked: it is the incident path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

from bot.core import commit_message as cm
from bot.core import holds, yamltext
from bot.core.clock_text import utc
from bot.core.cron import apscheduler_form
from bot.core.freezes import FREEZE_FILE, Freeze, FreezeFile, manual_freeze
from bot.core.names import env_name, known_env, one_line
from bot.core.plan import Edit
from bot.promotion.ports import Context, Snapshot
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class Window:
    cron: str
    duration: int
    reason: str

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(apscheduler_form(self.cron), timezone=dt.UTC)


def open_windows(env: str, windows: Sequence[Window], now: int) -> list[Freeze]:
    """Recurring windows open at `now`: the last fire time f with f <= now < f + duration."""
    out = []
    moment = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    for w in windows:
        fire = w.trigger().get_next_fire_time(None, moment - dt.timedelta(seconds=w.duration))
        if fire is not None and fire <= moment:
            start = int(fire.timestamp())
            out.append(
                Freeze(env=env, reason=w.reason, by="schedule", start=start, end=start + w.duration, source="window")
            )
    return out


def state(ws: Workspace) -> FreezeFile:
    return FreezeFile.parse(ws.snapshot.read(FREEZE_FILE))


def active(ctx: Context, ws: Workspace, env: str, now: int) -> Freeze | None:
    return state(ws).active(env, now, open_windows(env, ctx.env(env).freezes, now))


def _automations(ws: Workspace, env: str) -> dict[str, tuple[str, str, str]]:
    """ "ns/name" → (file, name, namespace) for every automation writing this env's markers."""
    out = {}
    for t in ws.topology.in_env(env):
        if t.automation is not None:
            a = t.automation
            out[str(a.ref)] = (a.file, a.ref.name, a.ref.namespace)
    return out


def _converge(ctx: Context, ws: Workspace, ff: FreezeFile, now: int) -> tuple[FreezeFile, dict[str, str], list[str]]:
    """Hold every automated service of a frozen env by its markers (bot/core/holds.py), which holds nothing
    outside that env whatever the automations share; release what a freeze held once it is over.

    `holds` records the services a freeze held, so a service already held (a rollback) is never the freeze's
    to lift. Entries with a "/" are automations "ns/name" that earlier versions suspended: lifted as they were.
    """
    files: dict[str, str] = {}
    notes = []
    for env in ctx.pipeline:
        frozen = ff.active(env, now, open_windows(env, ctx.env(env).freezes, now)) is not None
        targets = {t.service: t for t in ws.topology.in_env(env) if t.automation is not None}
        held = set(ff.holds.get(env, ()))
        if frozen:
            newly = [s for s, t in sorted(targets.items()) if s not in held and not t.held]
            for s in newly:
                holds.write_markers(ws.files, files, targets[s], {}, hold=True)
            if newly:
                ff = ff.with_holds(env, sorted(held | set(newly)))
                notes.append(f"hold {', '.join(newly)} ({env} frozen)")
        elif held:
            autos = _automations(ws, env)
            for entry in sorted(held):
                if "/" in entry and entry in autos:
                    _set(files, ws, autos[entry], "false")
                elif entry in targets:
                    holds.write_markers(ws.files, files, targets[entry], {}, hold=False)
            ff = ff.with_holds(env, [])
            notes.append(f"resume {', '.join(sorted(held))} ({env} freeze over)")
    return ff, files, notes


def _set(files: dict[str, str], ws: Workspace, auto: tuple[str, str, str], value: str) -> None:
    file, name, ns = auto
    text = files.get(file, ws.files.get(file, ""))
    files[file] = yamltext.set_field(
        text, kind="ImageUpdateAutomation", name=name, namespace=ns, path=("spec", "suspend"), value=value
    )


def _edit(ff_before: FreezeFile, ff: FreezeFile, files: dict[str, str], message: cm.CommitMessage) -> Edit | None:
    if ff.render() == ff_before.render() and not files:
        return None
    return Edit({**files, FREEZE_FILE: ff.render()}, message)


# A duration typed again a little later ends a little later; within this slack it is the same freeze.
SAME_FREEZE_SLACK = 60


def _already(current: FreezeFile, record: Freeze, now: int) -> bool:
    """A manual freeze of the env with the same reason already runs at least as long."""
    return any(
        f.source == "manual" and f.env == record.env and f.reason == record.reason
        and f.covers(record.env, now) and f.end >= record.end - SAME_FREEZE_SLACK
        for f in current.freezes
    )  # fmt: skip


def freeze(ctx: Context, *, env: str, end: int, reason: str, who: str, now: int) -> str | None:
    """Freeze `env` until `end`; returns the commit sha."""
    known_env(env, ctx.pipeline)
    record = manual_freeze(env, reason, who, now, end)

    def plan(snapshot: Snapshot) -> Edit | None:
        ws = Workspace.of(ctx, snapshot)
        before = state(ws)
        if _already(before, record, now):
            return None  # the same freeze typed twice: no second commit
        ff, files, notes = _converge(ctx, ws, before.prune(now).add(record), now)
        message = cm.CommitMessage(
            f"freeze({env}): until {utc(end)}",
            "\n".join([f"Reason: {record.reason}", *notes]),
            cm.Trailers(((cm.ENVIRONMENT, env), ("Frozen-by", one_line(who, "who")))),
        )
        return _edit(before, ff, files, message)

    return ctx.repo.commit_and_push(plan).sha


def unfreeze(ctx: Context, *, env: str, who: str, now: int) -> str | None:
    env_name(env)

    def plan(snapshot: Snapshot) -> Edit | None:
        ws = Workspace.of(ctx, snapshot)
        before = state(ws)
        ff, files, notes = _converge(ctx, ws, before.prune(now).end_manual(env, now), now)
        message = cm.CommitMessage(
            f"unfreeze({env})",
            "\n".join(notes) or "Manual freezes ended.",
            cm.Trailers(((cm.ENVIRONMENT, env), ("Unfrozen-by", one_line(who, "who")))),
        )
        return _edit(before, ff, files, message)

    return ctx.repo.commit_and_push(plan).sha


def reconcile(ctx: Context, now: int) -> str | None:
    """The scheduler's job: open and close windows, expire manual freezes. No change, no commit."""

    def plan(snapshot: Snapshot) -> Edit | None:
        ws = Workspace.of(ctx, snapshot)
        before = state(ws)
        ff, files, notes = _converge(ctx, ws, before.prune(now), now)
        message = cm.CommitMessage("freeze: windows and expiries", "\n".join(notes) or "Expired freezes removed.")
        return _edit(before, ff, files, message)

    return ctx.repo.commit_and_push(plan).sha


def break_glass(ctx: Context, env: str, who: str) -> bool:
    """May `who` ("Name <slack:U1>" / "Name <cli:alice>") force through a freeze in `env`?"""
    ident = who.rsplit("<", 1)[-1].rstrip(">")
    allowed = set(ctx.env(env).break_glass)
    return ident in allowed or ident.removeprefix("slack:") in allowed


def describe(freezes: Mapping[str, Freeze | None]) -> list[str]:
    return [
        f"{env}: frozen until {utc(f.end)} ({f.reason}, by {f.by})" if f else f"{env}: open"
        for env, f in freezes.items()
    ]
