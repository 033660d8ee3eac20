"""Slack's time-shaped commands: /freeze, /unfreeze, /history, /schedule and `/promote … at <time>`.

Same rules as the rest of the Slack front end: the listener has already acked; promoters only for
anything that writes; the answer goes back through `respond`, and changes are announced in the
environment's channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot import jobs
from bot.core import commit_message as cm
from bot.core.clock_text import parse_duration, resolve_at, utc
from bot.core.freezes import manual_freeze
from bot.promotion import freeze
from bot.promotion import promote as promote_uc
from bot.promotion.history_view import history
from bot.settings import Settings
from bot.slack.authz import Authorizer
from bot.slack.parse import FreezeCmd, HistoryCmd, PromoteCmd, ScheduleCmd, UnfreezeCmd

Respond = Callable[..., Any]


class TimedCommands:
    def __init__(
        self,
        ctx: Any,
        settings: Settings,
        *,
        store: Any,
        authz: Authorizer,
        client: Any,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.store = store
        self.authz = authz
        self.client = client
        self.clock = clock

    def _who(self, user: str, env: str, action: str) -> str:
        return cm.person(self.authz.check(user, env, action).name, f"slack:{user}")

    def _announce(self, env: str, text: str) -> None:
        channel = self.settings.env(env).channel
        if channel:
            self.client.chat_postMessage(channel=channel, text=text)

    def freeze(self, user: str, cmd: FreezeCmd, respond: Respond) -> None:
        now = int(self.clock())
        who = self._who(user, cmd.env, "freeze")
        end = resolve_at(cmd.duration, now) if cmd.until else now + parse_duration(cmd.duration)
        manual_freeze(cmd.env, cmd.reason, who, now, end)  # refuses a past, empty or absurd end before any I/O
        sha = freeze.freeze(self.ctx, env=cmd.env, end=end, reason=cmd.reason, who=who, now=now)
        text = f"❄ {cmd.env} is frozen until {utc(end)} by <@{user}>: {cmd.reason or 'no reason given'}"
        respond(text=f"{text} (commit `{(sha or '')[:7]}`)", response_type="ephemeral")
        self._announce(cmd.env, text)

    def unfreeze(self, user: str, cmd: UnfreezeCmd, respond: Respond) -> None:
        who = self._who(user, cmd.env, "unfreeze")
        sha = freeze.unfreeze(self.ctx, env=cmd.env, who=who, now=int(self.clock()))
        text = f"☀ {cmd.env} unfrozen by <@{user}>" if sha else f"{cmd.env} had no manual freeze."
        respond(text=text, response_type="ephemeral")
        if sha:
            self._announce(cmd.env, text)

    def history(self, user: str, cmd: HistoryCmd, respond: Respond) -> None:
        lines = [e.line() for e in history(self.ctx, cmd.env, cmd.service, 15)]
        body = "```" + "\n".join(lines) + "```" if lines else "Nothing recorded yet."
        respond(text=f"*History of {cmd.env}*\n{body}", response_type="ephemeral")

    def schedule(self, user: str, cmd: ScheduleCmd, respond: Respond) -> None:
        if cmd.cancel:
            items = {i.id: i for i in jobs.listed(self.store)}
            item = items.get(cmd.cancel)
            if item is None:
                respond(text="No waiting scheduled promotion has that id.", response_type="ephemeral")
                return
            self._who(user, item.env, "cancel a scheduled promotion")
            jobs.cancel(self.store, cmd.cancel)
            respond(text=f"🚫 Cancelled {cmd.cancel}.", response_type="ephemeral")
            return
        lines = [
            f"`{i.id}` {utc(i.at)}  `{i.tag}` → {i.env}  by {i.who.split(' <')[0]}" for i in jobs.listed(self.store)
        ]
        respond(text="\n".join(lines) or "Nothing is scheduled.", response_type="ephemeral")

    def promote_at(self, user: str, cmd: PromoteCmd, respond: Respond) -> None:
        now = int(self.clock())
        who = self._who(user, cmd.env, "promote")
        at = resolve_at(cmd.at or "", now)
        # Plan now so an impossible request is refused today, not silently at 14:00 tomorrow.
        promote_uc.prepare(
            self.ctx,
            promote_uc.PromoteRequest(tag=cmd.tag, target_env=cmd.env, who=who, service=cmd.service, reason=cmd.reason),
        )
        item = jobs.schedule_promotion(
            self.store, tag=cmd.tag, env=cmd.env, at=at, who=who, now=now, service=cmd.service, reason=cmd.reason
        )
        text = f"🕑 `{cmd.tag}` → {cmd.env} scheduled for {utc(at)} by <@{user}> (id `{item.id}`)"
        respond(text=f"{text}; it is checked again when it runs.", response_type="ephemeral")
        self._announce(cmd.env, text)

    def report(self, item: jobs.Scheduled) -> None:
        """Post a scheduled promotion's outcome in its environment's channel."""
        icon = "✅" if item.status == "done" else "❌"
        self._announce(item.env, f"{icon} scheduled `{item.tag}` → {item.env} ({item.id}): {item.status} {item.result}")
