"""Freeze and unfreeze an environment: recorded as commits to the freeze file, holding its automation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.actions.base import ActionKind, Outcome, Planned, Run
from bot.core.clock_text import parse_duration, resolve_at
from bot.core.freezes import Freeze, manual_freeze
from bot.errors import InvalidInput
from bot.promotion import freeze as uc
from bot.promotion.ports import Context


@dataclass(frozen=True)
class FreezeCmd:
    env: str
    duration: str  # "2h", or an ISO time when `until`
    until: bool
    reason: str
    kind: ClassVar[ActionKind] = ActionKind.FREEZE


@dataclass(frozen=True)
class UnfreezeCmd:
    env: str
    kind: ClassVar[ActionKind] = ActionKind.UNFREEZE


class FreezeEnv:
    kind = ActionKind.FREEZE
    verb = "freeze"
    confirm = False

    def plan(self, ctx: Context, args: FreezeCmd, who: str) -> Planned[Freeze]:
        now = ctx.now()
        if args.until:
            end = resolve_at(args.duration, now)
        else:
            try:
                end = now + parse_duration(args.duration)
            except ValueError as err:
                raise InvalidInput(f"{args.duration!r} is not a duration like 30m, 2h or 3d.") from err
        # Refuses a past, empty or absurd end before any I/O.
        return Planned(manual_freeze(args.env, args.reason, who, now, end), "", "")

    def run(self, ctx: Context, args: FreezeCmd, run: Run) -> Outcome[Freeze]:
        f = self.plan(ctx, args, run.who).plan
        sha = uc.freeze(ctx, env=f.env, end=f.end, reason=args.reason, who=run.who, now=f.start)
        return Outcome(f, sha)


class Unfreeze:
    kind = ActionKind.UNFREEZE
    verb = "unfreeze"
    confirm = False

    def plan(self, ctx: Context, args: UnfreezeCmd, who: str) -> Planned[str]:
        return Planned(args.env, "", "")

    def run(self, ctx: Context, args: UnfreezeCmd, run: Run) -> Outcome[str]:
        return Outcome(args.env, uc.unfreeze(ctx, env=args.env, who=run.who, now=ctx.now()))
