"""Slack's time-shaped commands: /freeze, /unfreeze, /history, /schedule and `/promote … at <time>`.

Same rules as the rest of the Slack front end: the listener has already acked; promoters only for
anything that writes; the answer goes back through `respond`, and changes are announced in the
environment's channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import cast

from bot.actions.base import ActionKind, Actions, Args, Outcome, Run
from bot.actions.freeze import FreezeCmd
from bot.actions.promote import PromoteCmd
from bot.core import commit_message as cm
from bot.core.clock_text import utc
from bot.core.freezes import Freeze
from bot.promotion import schedule as schedules
from bot.promotion.history_view import history
from bot.promotion.ports import Context
from bot.settings import Settings
from bot.slack import deferred
from bot.slack import messages as say
from bot.slack.authz import Authorizer
from bot.slack.parse import HistoryCmd, ScheduleCmd
from bot.slack.port import SlackPort
from bot.slack.request_flow import RequestFlow
from bot.slack.store import Respond

# The requester's identity ends the `who` a schedule stores (`Name <slack:U123>`); display names are
# sanitised of angle brackets (bot/core/commit_message.py `person`), so the last pair is the identity.
_SLACK_ID = re.compile(r"<slack:([A-Z0-9]+)>\Z")

Result = Callable[[Args, Outcome[object], str], tuple[str, str | None]]  # → (reply, channel announcement)


def _frozen(args: Args, out: Outcome[object], user: str) -> tuple[str, str | None]:
    f = cast(Freeze, out.plan)
    if out.commit is None:
        return say.already_frozen(f.env), None
    text = say.frozen(f.env, utc(f.end), user, cast(FreezeCmd, args).reason)
    return say.with_commit(text, out.commit), text


def _unfrozen(args: Args, out: Outcome[object], user: str) -> tuple[str, str | None]:
    if out.commit:
        text = say.unfrozen(args.env, user)
        return text, text
    return say.no_manual_freeze(args.env), None


def _scheduled(args: Args, out: Outcome[object], user: str) -> tuple[str, str | None]:
    item = cast(schedules.Scheduled, out.plan)
    text = say.scheduled(item.tag, item.env, utc(item.at), user, item.id)
    return say.scheduled_reply(text), text


RESULTS: Mapping[ActionKind, Result] = {
    ActionKind.FREEZE: _frozen,
    ActionKind.UNFREEZE: _unfrozen,
    ActionKind.SCHEDULE: _scheduled,
}


class TimedCommands:
    """Actions that run at once, without preview or confirmation (freeze, unfreeze, schedule), and the
    read-only /history and /schedule."""

    def __init__(
        self,
        ctx: Context,
        settings: Settings,
        actions: Actions,
        *,
        store: schedules.ScheduleStore,
        authz: Authorizer,
        slack: SlackPort,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.actions = actions
        self.store = store
        self.authz = authz
        self.slack = slack

    def _who(self, user: str, env: str, action: str) -> str:
        return cm.person(self.authz.check(user, env, action).name, f"slack:{user}")

    def _announce(self, env: str, text: str) -> None:
        channel = self.settings.env(env).channel
        if channel:
            self.slack.post(channel, text)

    def run(self, user: str, args: Args, respond: Respond) -> None:
        action = self.actions.of(args)
        out = action.run(self.ctx, args, Run(who=self._who(user, args.env, action.verb)))
        reply, announce = RESULTS[action.kind](args, out, user)
        respond(text=reply, response_type="ephemeral")
        if announce:
            self._announce(args.env, announce)

    def history(self, user: str, cmd: HistoryCmd, respond: Respond) -> None:
        lines = [e.line() for e in history(self.ctx, cmd.env, cmd.service, 15)]
        respond(text=say.history(cmd.env, lines), response_type="ephemeral")

    def schedule(self, user: str, cmd: ScheduleCmd, respond: Respond) -> None:
        if cmd.cancel:
            items = {i.id: i for i in schedules.listed(self.store)}
            item = items.get(cmd.cancel)
            if item is None:
                respond(text=say.NO_SUCH_SCHEDULE, response_type="ephemeral")
                return
            self._who(user, item.env, "cancel a scheduled promotion")
            schedules.cancel(self.store, cmd.cancel)
            respond(text=say.schedule_cancelled(cmd.cancel), response_type="ephemeral")
            return
        waiting = schedules.listed(self.store)
        lines = [say.schedule_line(i.id, utc(i.at), i.tag, i.env, i.who.rsplit(" <", 1)[0]) for i in waiting]
        respond(text="\n".join(lines) or say.NOTHING_SCHEDULED, response_type="ephemeral")

    def report(self, item: schedules.Scheduled) -> None:
        """Post a scheduled promotion's outcome in its environment's channel."""
        done = item.status == "done"
        self._announce(item.env, say.schedule_ran(done, tag=item.tag, env=item.env, schedule_id=item.id,
                                                  status=item.status, result=item.result))  # fmt: skip


def start_scheduled(flow: RequestFlow, item: schedules.Scheduled) -> tuple[bool, str]:
    """A due scheduled promotion, through exactly the gates of one asked for now (the request flow's): the
    requester's right re-checked, the plan made now, approvals collected now in its thread. One scheduled
    outside Slack (the CLI) runs only where no approvals are needed: nobody could approve it."""
    args = PromoteCmd(tag=item.tag, env=item.env, service=item.service, reason=item.reason or "scheduled")
    m = _SLACK_ID.search(item.who)
    if m is not None:
        return deferred.start_deferred(flow, m[1], args)
    if flow.settings.env(item.env).approvals:
        return False, say.needs_slack_approvals(item.env)
    out = flow.actions.of(args).run(flow.ctx, args, Run(who=item.who, request_id=item.id))
    return True, out.commit or ""
