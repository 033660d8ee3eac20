"""`/rollback` with nothing after it: pick a service of the last environment, then the tag to go back to.

The tags offered are the ones that environment really ran (Git history, newest first), plus "undo the last
change". Every choice ends in `RequestFlow.preview` with an ordinary `RollbackCmd`, so it passes the same
gates as a typed `/rollback <env> <service> [to <tag>]`: authorization, the plan, approvals, Confirm.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.actions.rollback import RollbackCmd
from bot.core.clock_text import utc_minutes
from bot.core.names import env_name, service_name
from bot.core.tags import BuildTag
from bot.promotion.history_view import history
from bot.promotion.ports import Context
from bot.promotion.versions import versions
from bot.slack import messages as say
from bot.slack.blocks import Block, context, section
from bot.slack.request_flow import RequestFlow
from bot.slack.store import Respond

PICK_RB_SERVICE = "pick_rb_service"  # action ids `pick_rb_service:<n>`
PICK_RB_TAG = "pick_rb_tag"  # block ids `pickrb:<env>:<service>`
UNDO = "-"  # the value of "undo the last change": a rollback without `to`
OPTIONS = 100
TAGS = 10


def _option(text: str, value: str) -> Block:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def service_menu(env: str, names: Sequence[str]) -> list[Block]:
    if not names:
        return [section(say.nothing_to_roll_back(env))]
    menus: list[Block] = [
        {"type": "static_select", "action_id": f"{PICK_RB_SERVICE}:{n}",
         "placeholder": {"type": "plain_text", "text": say.PICK_SERVICE},
         "options": [_option(s, f"{env}:{s}") for s in names[start : start + OPTIONS]]}
        for n, start in enumerate(range(0, len(names), OPTIONS))
    ]  # fmt: skip
    rows: list[Block] = [{"type": "actions", "elements": menus[i : i + 25]} for i in range(0, len(menus), 25)]
    return [section(say.rollback_pick_head(env)), *rows]


def tag_menu(env: str, service: str, running: str | None, ran: Sequence[tuple[str, str]]) -> list[Block]:
    """`ran`: (tag, when it went in) for the tags the env ran before, newest first."""
    options = [_option(say.ROLLBACK_UNDO_LAST, UNDO)]
    options += [_option(say.rollback_tag_option(tag, when), tag) for tag, when in ran[:TAGS] if len(tag) <= 150]
    return [
        section(say.rollback_pick_tag_head(service, env, running or "?")),
        {"type": "actions", "block_id": f"pickrb:{env}:{service}",
         "elements": [{"type": "static_select", "action_id": PICK_RB_TAG,
                       "placeholder": {"type": "plain_text", "text": say.ROLLBACK_PICK_TAG},
                       "options": options}]},
        *([context(say.rollback_no_earlier_tags(env))] if not ran else []),
    ]  # fmt: skip


class RollbackPicker:
    def __init__(self, ctx: Context, flow: RequestFlow) -> None:
        self.ctx = ctx
        self.flow = flow

    def start(self, user: str, respond: Respond) -> None:
        env = self.ctx.pipeline[-1]
        names = [s.name for s in versions(self.ctx).services if s.environments.get(env)]
        respond(text=say.rollback_pick_head(env), blocks=service_menu(env, names), response_type="ephemeral",
                replace_original=True)  # fmt: skip

    def service_chosen(self, user: str, value: str, respond: Respond) -> None:
        env, _, service = value.partition(":")
        env, service = env_name(env), service_name(service)
        running = versions(self.ctx, service).services[0].environments.get(env)
        current = running.tag if running else None
        ran: list[tuple[str, str]] = []
        for e in history(self.ctx, env, service, 30):
            tag = e.new_tag
            if tag and tag != current and BuildTag.is_valid(tag) and tag not in {t for t, _ in ran}:
                ran.append((tag, utc_minutes(e.at)))
        respond(text=say.rollback_pick_tag_head(service, env, current or "?"),
                blocks=tag_menu(env, service, current, ran), response_type="ephemeral",
                replace_original=True)  # fmt: skip

    def tag_chosen(self, user: str, block_id: str, tag: str, respond: Respond) -> None:
        _, env, service = block_id.split(":", 2)
        to_tag = None if tag == UNDO else str(BuildTag.parse(tag))
        self.flow.preview(user, RollbackCmd(env_name(env), service_name(service), to_tag), respond)
