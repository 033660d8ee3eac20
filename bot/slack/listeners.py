"""Bolt listeners: ack first, parse, hand the slow part to the worker pool.

The app runs with `process_before_response=True`, so each listener runs on the request thread and
the HTTP answer goes back the moment it returns. Listeners only parse (microseconds) and submit; the
Git and registry work runs on our own bounded pool, so a slow remote or a busy pool never delays an
ack past Slack's 3 seconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.core.names import env_name, service_name
from bot.errors import BotError, InvalidInput
from bot.slack import blocks
from bot.slack.parse import (
    USAGE,
    Command,
    FreezeCmd,
    HistoryCmd,
    PromoteCmd,
    ReleaseCmd,
    ResumeCmd,
    RollbackCmd,
    ScheduleCmd,
    UnfreezeCmd,
    VersionsCmd,
    parse,
)
from bot.slack.timed import TimedCommands
from bot.slack.workflow import Workflow

log = logging.getLogger(__name__)

Submit = Callable[[Callable[[], None]], None]


def _guard(name: str, fn: Callable[[], object], respond: Callable[..., Any]) -> Callable[[], None]:
    """Whatever happens in the background, the person hears back."""

    def run() -> None:
        try:
            fn()
        except BotError as err:
            respond(text=f"⚠️ {err}", response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("%s failed", name)
            respond(
                text="⚠️ Something went wrong on my side; the team has the details in the bot's log.",
                response_type="ephemeral",
                replace_original=False,
            )

    return run


def _timed_work(timed: TimedCommands, user: str, cmd: Command, respond: Any) -> Callable[[], None] | None:
    """The slow part of a time-shaped command, or None when `cmd` is not one."""
    if isinstance(cmd, FreezeCmd):
        return lambda: timed.freeze(user, cmd, respond)
    if isinstance(cmd, UnfreezeCmd):
        return lambda: timed.unfreeze(user, cmd, respond)
    if isinstance(cmd, HistoryCmd):
        return lambda: timed.history(user, cmd, respond)
    if isinstance(cmd, ScheduleCmd):
        return lambda: timed.schedule(user, cmd, respond)
    if isinstance(cmd, PromoteCmd) and cmd.at:
        return lambda: timed.promote_at(user, cmd, respond)
    return None


def register(app: App, workflow: Workflow, submit: Submit, timed: TimedCommands | None = None) -> None:
    def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        name, text, user = command["command"], command.get("text", ""), command["user_id"]
        try:
            cmd = parse(name, text)
        except InvalidInput as err:
            ack(text=f"{err.message}\n{err.hint or 'Usage: ' + USAGE.get(name, '')}", response_type="ephemeral")
            if name in ("/promote", "/rollback") and not text.strip():
                submit(_guard(name, lambda: workflow.examples(name, respond), respond))
            return
        except BotError as err:
            ack(text=str(err), response_type="ephemeral")
            return
        if isinstance(cmd, VersionsCmd):
            ack(text="⏳ Reading versions…", response_type="ephemeral")
            submit(_guard(name, lambda: workflow.show_versions(user, cmd, respond), respond))
            return
        work = _timed_work(timed, user, cmd, respond) if timed is not None else None
        if work is not None:
            ack(text="⏳ On it…", response_type="ephemeral")
            submit(_guard(name, work, respond))
            return
        if not isinstance(cmd, PromoteCmd | ReleaseCmd | RollbackCmd | ResumeCmd):
            ack(text=f"{name} is not available here.", response_type="ephemeral")
            return
        ack(text="⏳ Planning…", response_type="ephemeral")
        channel = command.get("channel_id", "")
        submit(_guard(name, lambda: workflow.preview(user, cmd, respond, channel), respond))

    for name in USAGE:
        app.command(name)(on_command)

    def on_click(handler: Callable[[str, str, Any], None]) -> Callable[..., None]:
        def listener(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
            ack()
            user, value = body["user"]["id"], str(action.get("value", ""))
            submit(_guard(action.get("action_id", "action"), lambda: handler(user, value, respond), respond))

        return listener

    app.action(blocks.CONFIRM)(on_click(workflow.confirm))
    app.action(blocks.CANCEL)(on_click(workflow.cancel))
    app.action(blocks.APPROVE)(on_click(workflow.approve))
    app.action(blocks.REJECT)(on_click(workflow.reject))

    def promote_from_versions(user: str, value: str, respond: Any) -> None:
        data = json.loads(value)
        cmd = parse("/promote", f"{data['tag']} to {data['env']} service:{data['service']}")
        if not isinstance(cmd, PromoteCmd):  # parse("/promote", ...) only returns PromoteCmd
            raise InvalidInput("That button no longer makes sense; run /versions again.")
        workflow.preview(user, cmd, respond)

    app.action(blocks.PROMOTE_FROM_VERSIONS)(on_click(promote_from_versions))

    def rollback_from_alert(user: str, value: str, respond: Any) -> None:
        data = json.loads(value)
        workflow.preview(user, RollbackCmd(env_name(data["env"]), service_name(data["service"])), respond)

    app.action(blocks.ROLLBACK_FROM_ALERT)(on_click(rollback_from_alert))
