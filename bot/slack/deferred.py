"""Requests asked for earlier and run later (a scheduled promotion falling due), through the same gates.

Kept beside the request flow and written as functions over it (`self` is the flow): the gates, the thread and
the execution are the flow's own, so a deferred request cannot take a path an immediate one does not.
"""

from __future__ import annotations

import dataclasses
import uuid

from bot.actions.base import Args, dump
from bot.core import commit_message as cm
from bot.errors import BotError
from bot.promotion.registry_cache import uncached
from bot.promotion.states import RequestStatus as S
from bot.slack import blocks
from bot.slack import messages as say
from bot.slack.blocks import Shown
from bot.slack.request_flow import RequestFlow
from bot.slack.store import RequestRecord


def start_deferred(self: RequestFlow, user: str, args: Args, origin: str = "") -> tuple[bool, str]:
    """Run a request asked for earlier through the same gates as one asked for now: the requester's right
    is checked now, the plan is made now (freezes, pipeline, the registry as it is now), and approvals are
    collected now, bound to that plan, in the thread this opens; without enough of them within
    `approval_ttl` the request expires and the thread says so. (ok, what happened) for the scheduler."""
    action = self.actions.of(args)
    try:
        person = self.authz.check(user, args.env, action.verb)
        who = cm.person(person.name or user, f"slack:{user}")
        fresh = dataclasses.replace(self.ctx, registries=uncached(self.ctx.registries))
        planned = action.plan(fresh, args, who)
    except BotError as err:
        return False, str(err)
    if planned.noop is not None:
        return True, planned.noop
    request_id = uuid.uuid4().hex
    needed = self.settings.env(args.env).approvals
    ttl = self.settings.env(args.env).approval_ttl if needed else self.request_ttl
    self.store.create_request(id=request_id, kind=str(action.kind), env=args.env, service=planned.service,
                              requester=user, payload=dump(args), plan_hash=planned.fingerprint,
                              expires_at=self.clock() + ttl, origin_channel=origin)  # fmt: skip
    req = self.store.get_request(request_id)
    opened = None if req is None else self._open_or_explain(request_id, req, self.summary(req), _ignore)
    if req is None or opened is None:
        self.store.transition(request_id, {S.PENDING}, S.FAILED, result="Slack refused the thread")
        return False, say.THREAD_NOT_OPENED_DEFERRED
    channel, ts = opened
    if needed:
        self.store.transition(request_id, {S.PENDING}, S.PENDING, channel=channel, message_ts=ts)
        summary = self.summary(req)
        self._update(channel, ts, blocks.approval_request(summary, request_id, user, needed, []),
                     say.awaiting_approval(summary))  # fmt: skip
        return True, say.deferred_awaiting(needed, int(ttl // 60))
    self._execute(request_id, person.name, user, approvers=())
    done = self.store.get_request(request_id)
    return done is not None and done.status == S.DONE, say.DEFERRED_RAN

def announce_expired(self: RequestFlow, requests: list[RequestRecord]) -> None:
    """Say in each thread that its request expired unapproved (the expiry job moved it)."""
    for req in requests:
        minutes = self.settings.env(req.env).approval_ttl // 60
        self._set_status(req, Shown.EXPIRED, say.approvals_expired_detail(minutes))


def _ignore(text: str = "", **_kw: object) -> None:
    """A `respond` for requests nobody is waiting on in Slack (a scheduled one): the thread says it all."""
