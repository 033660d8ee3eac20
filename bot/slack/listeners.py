"""Bolt listeners: ack first, parse, hand the slow part to the worker pool.

The app runs with `process_before_response=True`, so each listener runs on the request thread and
the HTTP answer goes back the moment it returns. Listeners only parse (microseconds) and submit; the
Git and registry work runs on our own bounded pool, so a slow remote or a busy pool never delays an
ack past Slack's 3 seconds. Which handler a command goes to is a table by its kind.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from slack_bolt import Ack, App

from bot.actions.base import ActionKind, Args
from bot.actions.promote import PromoteCmd
from bot.actions.rollback import RollbackCmd
from bot.core.names import env_name, service_name
from bot.errors import BotError, InvalidInput, SlackError
from bot.slack import blocks, modals, picker_blocks, rollback_picker
from bot.slack import messages as say
from bot.slack.parse import (
    USAGE,
    Command,
    HelpCmd,
    HistoryCmd,
    PromoteServiceCmd,
    Query,
    ScheduleCmd,
    VersionsCmd,
    parse,
)
from bot.slack.pickers import Pickers
from bot.slack.queries import Queries
from bot.slack.request_flow import RequestFlow
from bot.slack.rollback_picker import RollbackPicker
from bot.slack.store import Respond
from bot.slack.timed import TimedCommands

log = logging.getLogger(__name__)

Submit = Callable[[Callable[[], None]], None]
# (user, command, respond, channel) → None: the slow part, run after the ack.
Work = Callable[[str, Command, Respond, str], None]


Click = Callable[[str, str, Respond], None]  # (user, the button's value, respond)


def _user(body: Mapping[str, object]) -> str:
    user = body.get("user")
    return str(user.get("id", "")) if isinstance(user, dict) else ""


def _input(view: Mapping[str, object], block: str, action: str) -> str:
    """A modal's submitted text input (Slack nests it as state.values.<block>.<action>.value)."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    field = values.get(block, {}).get(action, {}) if isinstance(values, dict) else {}
    return str(field.get("value") or "") if isinstance(field, dict) else ""


class Whisper:
    """`Respond` for a modal's submission, which has no response_url: an ephemeral message in the thread."""

    def __init__(self, flow: RequestFlow, request_id: str, user: str) -> None:
        self.flow, self.request_id, self.user = flow, request_id, user

    def __call__(self, text: str = "", blocks: Sequence[dict[str, object]] | None = None,
                 response_type: str | None = None, replace_original: bool | None = None) -> object:  # fmt: skip
        thread = self.flow.store.thread_of(self.request_id)
        if thread is None:
            return None
        try:
            return self.flow.slack.call("chat_postEphemeral", {"channel": thread.channel, "user": self.user,
                                                               "text": text})  # fmt: skip
        except SlackError as err:
            log.warning("could not tell %s: %s", self.user, err.code or type(err).__name__)
            return None

def _guard(name: str, fn: Callable[[], object], respond: Respond) -> Callable[[], None]:
    """Whatever happens in the background, the person hears back."""

    def run() -> None:
        try:
            fn()
        except BotError as err:
            respond(text=say.problem(str(err)), response_type="ephemeral", replace_original=False)
        except Exception:
            log.exception("%s failed", name)
            respond(text=say.SOMETHING_WENT_WRONG, response_type="ephemeral", replace_original=False)

    return run


def handlers(flow: RequestFlow, queries: Queries, timed: TimedCommands, pickers: Pickers,
             rollbacks: RollbackPicker) -> Mapping[str, tuple[str, Work]]:  # fmt: skip
    """Command kind → (the ack's text, the work after it)."""

    def preview(user: str, cmd: Command, respond: Respond, channel: str) -> None:
        flow.preview(user, cast(Args, cmd), respond, channel)

    def direct(user: str, cmd: Command, respond: Respond, _channel: str) -> None:
        timed.run(user, cast(Args, cmd), respond)

    return {
        Query.VERSIONS: (say.READING_VERSIONS, lambda u, c, r, _ch: queries.versions(u, cast(VersionsCmd, c), r)),
        Query.HISTORY: (say.ON_IT, lambda u, c, r, _ch: timed.history(u, cast(HistoryCmd, c), r)),
        Query.SCHEDULES: (say.ON_IT, lambda u, c, r, _ch: timed.schedule(u, cast(ScheduleCmd, c), r)),
        Query.PROMOTE_SERVICE: (say.PLANNING,
                                lambda u, c, r, ch: pickers.promote_service(u, cast(PromoteServiceCmd, c), r, ch)),
        Query.PICK: (say.ON_IT, lambda u, _c, r, _ch: pickers.start(u, r)),
        Query.ROLLBACK_PICK: (say.ON_IT, lambda u, _c, r, _ch: rollbacks.start(u, r)),
        Query.HELP: (say.ON_IT, lambda _u, c, r, _ch: queries.help(cast(HelpCmd, c).command, r)),
        **{k: (say.PLANNING, preview) for k in flow.actions if flow.actions[k].confirm},
        **{k: (say.ON_IT, direct) for k in flow.actions if not flow.actions[k].confirm},
    }


def register(app: App, flow: RequestFlow, queries: Queries, timed: TimedCommands, submit: Submit) -> None:
    pickers = Pickers(queries.ctx, flow, queries.clock)
    rollbacks = RollbackPicker(queries.ctx, flow)
    table = handlers(flow, queries, timed, pickers, rollbacks)

    def on_command(ack: Ack, command: dict[str, str], respond: Respond) -> None:
        name, text, user = command["command"], command.get("text", ""), command["user_id"]
        try:
            cmd = parse(name, text, flow.settings.pipeline)
        except InvalidInput as err:
            ack(text=say.usage(err.message, err.hint or "Usage: " + USAGE.get(name, "")), response_type="ephemeral")
            if name in ("/promote", "/rollback") and not text.strip():
                submit(_guard(name, lambda: queries.examples(name, respond), respond))
            return
        except BotError as err:
            ack(text=str(err), response_type="ephemeral")
            return
        entry = table.get(cmd.kind)
        if entry is None:
            ack(text=say.not_available(name), response_type="ephemeral")
            return
        ack_text, work = entry
        ack(text=ack_text, response_type="ephemeral")
        channel = command.get("channel_id", "")
        submit(_guard(name, lambda: work(user, cmd, respond, channel), respond))

    for name in USAGE:
        app.command(name)(on_command)
    _register_clicks(app, flow, submit)
    _register_menus(app, queries, pickers, rollbacks, submit)


def _selected(action: Mapping[str, object]) -> str:
    option = action.get("selected_option")
    return str(option.get("value", "")) if isinstance(option, dict) else ""


def _register_menus(app: App, queries: Queries, pickers: Pickers, rollbacks: RollbackPicker,
                    submit: Submit) -> None:  # fmt: skip
    """The picker's menus and the /versions pages: each answer replaces the message it came from."""

    Listener = Callable[[Ack, dict[str, object], dict[str, object], Respond], None]

    def listener(work: Callable[[str, Mapping[str, object], Respond], None]) -> Listener:
        def on(ack: Ack, body: dict[str, object], action: dict[str, object], respond: Respond) -> None:
            ack()
            user = _user(body)
            submit(_guard(str(action.get("action_id", "menu")), lambda: work(user, action, respond), respond))

        return on

    def page(user: str, action: Mapping[str, object], respond: Respond) -> None:
        queries.versions(user, VersionsCmd(), respond, int(json.loads(str(action.get("value", "{}")))["page"]))

    def service(user: str, action: Mapping[str, object], respond: Respond) -> None:
        pickers.service_chosen(user, _selected(action), respond)

    def build(user: str, action: Mapping[str, object], respond: Respond) -> None:
        _, target, svc = str(action.get("block_id", "")).split(":", 2)
        pickers.preview(user, _selected(action), target, svc, respond)

    app.action(re.compile(rf"^{blocks.VERSIONS_PAGE}:"))(listener(page))
    app.action(re.compile(rf"^{picker_blocks.PICK_SERVICE}:"))(listener(service))
    app.action(re.compile(rf"^{picker_blocks.PICK_BUILD}:"))(listener(build))

    def rollback_service(user: str, action: Mapping[str, object], respond: Respond) -> None:
        rollbacks.service_chosen(user, _selected(action), respond)

    def rollback_tag(user: str, action: Mapping[str, object], respond: Respond) -> None:
        rollbacks.tag_chosen(user, str(action.get("block_id", "")), _selected(action), respond)

    app.action(re.compile(rf"^{rollback_picker.PICK_RB_SERVICE}:"))(listener(rollback_service))
    app.action(rollback_picker.PICK_RB_TAG)(listener(rollback_tag))


def _register_clicks(app: App, flow: RequestFlow, submit: Submit) -> None:
    def on_click(handler: Click) -> Callable[[Ack, dict[str, dict[str, str]], dict[str, str], Respond], None]:
        def listener(ack: Ack, body: dict[str, dict[str, str]], action: dict[str, str], respond: Respond) -> None:
            ack()
            user, value = body["user"]["id"], str(action.get("value", ""))
            submit(_guard(action.get("action_id", "action"), lambda: handler(user, value, respond), respond))

        return listener

    app.action(blocks.CONFIRM)(on_click(flow.confirm))
    app.action(blocks.CANCEL)(on_click(flow.cancel))
    app.action(blocks.APPROVE)(on_click(flow.approve))

    def on_reject(ack: Ack, body: dict[str, object], action: dict[str, str], respond: Respond) -> None:
        ack()
        user, value = _user(body), str(action.get("value", ""))
        trigger = str(body.get("trigger_id", ""))
        submit(_guard("reject", lambda: flow.ask_reject_reason(user, value, trigger, respond), respond))

    app.action(blocks.REJECT)(on_reject)

    def on_reject_reason(ack: Ack, body: dict[str, object], view: dict[str, object]) -> None:
        ack()  # closes the modal at once; the thread shows the outcome
        user, request_id = _user(body), str(view.get("private_metadata", ""))
        reason = _input(view, modals.REASON_BLOCK, modals.REASON_INPUT)
        whisper = Whisper(flow, request_id, user)
        submit(_guard("reject", lambda: flow.reject(user, request_id, whisper, reason.strip()), whisper))

    app.view(modals.REJECT_VIEW)(on_reject_reason)

    def promote_from_versions(user: str, value: str, respond: Respond) -> None:
        data = json.loads(value)
        cmd = parse("/promote", f"{data['tag']} to {data['env']} service:{data['service']}")
        if cmd.kind is not ActionKind.PROMOTE:  # parse("/promote", …) of a tag is always a promotion
            raise InvalidInput(say.BUTTON_STALE)
        flow.preview(user, cast(PromoteCmd, cmd), respond)  # the same gates as a typed tag

    app.action(blocks.PROMOTE_FROM_VERSIONS)(on_click(promote_from_versions))

    def rollback_from_alert(user: str, value: str, respond: Respond) -> None:
        data = json.loads(value)
        flow.preview(user, RollbackCmd(env_name(data["env"]), service_name(data["service"])), respond)

    app.action(blocks.ROLLBACK_FROM_ALERT)(on_click(rollback_from_alert))
