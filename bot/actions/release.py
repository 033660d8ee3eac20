"""Release a set: every service whose source env is ahead, promoted into the target in one commit."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import ClassVar

from bot.actions.base import ActionKind, Outcome, Planned, Run
from bot.core.plan import PromotionPlan
from bot.promotion import release as uc
from bot.promotion.ports import Context

Plans = tuple[PromotionPlan, ...]


@dataclass(frozen=True)
class ReleaseCmd:
    source: str
    env: str
    services: tuple[str, ...] = ()
    kind: ClassVar[ActionKind] = ActionKind.RELEASE


class Release:
    kind = ActionKind.RELEASE
    verb = "promote"
    confirm = True

    def plan(self, ctx: Context, args: ReleaseCmd, who: str) -> Planned[Plans]:
        res = uc.release(ctx, source=args.source, target=args.env, who=who, services=args.services, dry_run=True)
        live = tuple(p for p in res.plans if not p.noop)
        facts = json.dumps([[p.service, p.source_tag, p.digest, p.current_tag] for p in live])
        return Planned(live, ",".join(p.service for p in live), hashlib.sha256(facts.encode()).hexdigest())

    def run(self, ctx: Context, args: ReleaseCmd, run: Run) -> Outcome[Plans]:
        res = uc.release(
            ctx,
            source=args.source,
            target=args.env,
            who=run.who,
            services=args.services,
            dry_run=run.dry_run,
            request_id=run.request_id,
        )
        return Outcome(res.plans, res.commit, res.dry_run)
