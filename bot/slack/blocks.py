"""Block Kit builders: pure functions from use-case values to Slack message payloads.

Limits respected here (Slack rejects the message otherwise): section text ≤ 3000 chars, ≤ 10 fields
per section, button text ≤ 75, button value ≤ 2000, confirm text ≤ 300, ≤ 50 blocks per message.
Nothing is cut silently: a long list becomes several sections (`sections`), a long payload several
messages (`messages`); only a single line past a block's limit is split, and the split says so.
tests/blockkit_guard.py checks every payload the suite records against slack_sdk's models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from bot.core.plan import PromotionPlan, ResumePlan, RollbackPlan
from bot.core.setters import Change
from bot.slack import messages as say

Block = dict[str, object]

CONFIRM = "request_confirm"
CANCEL = "request_cancel"
APPROVE = "request_approve"
REJECT = "request_reject"
PROMOTE_FROM_VERSIONS = "versions_promote"
VERSIONS_PAGE = "versions_page"
ROLLBACK_FROM_ALERT = "alert_rollback"

class Shown(StrEnum):
    """What a request's thread message says it is at: the words people read (the stored states are in
    bot/promotion/states.py; several of them read the same, and "awaiting approval" is not stored)."""

    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting approval"
    COMMITTED = "committed"
    DONE = "done"  # ran and changed nothing in Git
    RECONCILED = "reconciled"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


STATUS_ICON: Mapping[Shown, str] = {
    Shown.PENDING: "⏳",
    Shown.AWAITING_APPROVAL: "✋",
    Shown.COMMITTED: "📝",
    Shown.DONE: "☑️",
    Shown.RECONCILED: "✅",
    Shown.FAILED: "❌",
    Shown.INTERRUPTED: "⚠️",
    Shown.CANCELLED: "🚫",
    Shown.REJECTED: "🚫",
    Shown.EXPIRED: "⌛",
}


SECTION_CHARS = 3000
MESSAGE_BLOCKS = 50
_CONTINUED = " ↩"  # marks a line split in two because one line alone passed a block's limit


def _text(text: str, limit: int = SECTION_CHARS) -> str:
    # Only for text that is short by construction (labels, one status line); lists go through `sections`.
    return text if len(text) <= limit else text[: limit - len(_CONTINUED)] + _CONTINUED


def _pieces(line: str, limit: int) -> list[str]:
    if len(line) <= limit:
        return [line]
    step = limit - len(_CONTINUED)
    parts = [line[i : i + step] for i in range(0, len(line), step)]
    return [p + _CONTINUED for p in parts[:-1]] + parts[-1:]


def chunks(lines: Sequence[str], limit: int = SECTION_CHARS) -> list[str]:
    """Lines joined by newlines into texts of at most `limit` characters each, every line kept."""
    out: list[str] = []
    current = ""
    for line in (piece for raw in lines for piece in _pieces(raw, limit)):
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            out.append(current)
            joined = line
        current = joined
    if current or not out:
        out.append(current)
    return out


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _text(text)}}


def sections(lines: Sequence[str]) -> list[Block]:
    """A list as many sections as it needs: every line reachable, none over Slack's 3000 characters."""
    return [section(text) for text in chunks(lines)]


def code_sections(lines: Sequence[str]) -> list[Block]:
    """Lines in code blocks, split between sections at line ends so no backtick is left open."""
    return [section(f"```{text}```") for text in chunks(lines, SECTION_CHARS - 6)] if lines else []


def messages(body: Sequence[Block], per: int = MESSAGE_BLOCKS) -> list[list[Block]]:
    """A payload too long for one message as several, in order; the last one keeps the buttons."""
    return [list(body[i : i + per]) for i in range(0, len(body), per)] or [[]]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _text(text)}]}


def button(text: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None) -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": _text(text, 75)},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm_dialog(title: str, text: str, ok: str = "Yes, go", style: str = "danger") -> Block:
    # A dialog is a reminder, not the record: its text may be shortened (visibly); the message holds it all.
    return {
        "title": {"type": "plain_text", "text": _text(title, 100)},
        "text": {"type": "plain_text", "text": _text(text, 300)},
        "confirm": {"type": "plain_text", "text": _text(ok, 30)},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": style,
    }


def _diff(changes: Sequence[Change]) -> list[str]:
    return [f"- {c.old}\n+ {c.new}   ({c.file})" for c in changes]


def _warnings(lines: Sequence[str]) -> list[Block]:
    return sections([f"⚠️ {w}" for w in lines]) if lines else []


def promotion_details(plan: PromotionPlan) -> list[Block]:
    """What a promotion changes: source and digest, what the env runs now and will run, the diff, warnings."""
    head = say.promotion_head(plan.service, plan.source_tag, plan.source_env, plan.target_env)
    if plan.noop:
        return sections([head, plan.noop_reason])
    return [
        section(head),
        context(say.promotion_facts(plan.image, plan.digest, plan.current_tag, plan.target_tag, plan.alias)),
        *code_sections(_diff(plan.edit.changes if plan.edit else ())),
        *_warnings(plan.warnings),
    ]


def release_details(plans: Sequence[PromotionPlan]) -> list[Block]:
    """Every service of a release, numbered, across as many sections as it takes: nothing to take on trust."""
    lines = [say.release_head(len(plans), plans[0].source_env, plans[0].target_env)]
    lines += [say.release_line(i, p.service, p.current_tag, p.target_tag, p.digest) for i, p in enumerate(plans, 1)]
    return [*sections(lines), *_warnings([f"{p.service}: {w}" for p in plans for w in p.warnings])]


def rollback_details(plan: RollbackPlan) -> list[Block]:
    lines = [f"Roll back *{plan.service}* in *{plan.env}*: `{plan.from_tag or '?'}` → `{plan.to_tag}`"]
    if plan.hold:
        lines.append(
            f"⏸ *{plan.service}* will be *held* in *{plan.env}*: its markers will name `HELD:{plan.hold}`, which "
            f"Flux's automation leaves alone, so it cannot bump it back; every other marker stays automated. "
            f"Resume later with `/resume {plan.env} {plan.service}`."
        )
    return [*sections(lines), *code_sections(_diff(plan.edit.changes)), *_warnings(plan.warnings)]


def resume_details(plan: ResumePlan) -> list[Block]:
    text = f"Lift the hold on *{plan.service}* in *{plan.env}* (automation `{plan.automation}` writes it again)"
    if plan.edit is None:
        return [section(f"{text}: it is not held; nothing to do.")]
    return [section(text), *_warnings(plan.warnings)]


def promotion_preview(
    plan: PromotionPlan, request_id: str, *, needs_confirm_dialog: bool, approvals: int
) -> list[Block]:
    if plan.noop:
        return promotion_details(plan)
    decision = _decision(request_id, plan.target_env, needs_confirm_dialog, approvals, "Promote")
    return [*promotion_details(plan), decision]


def release_preview(
    plans: Sequence[PromotionPlan], request_id: str, *, needs_confirm_dialog: bool, approvals: int
) -> list[Block]:
    decision = _decision(request_id, plans[0].target_env, needs_confirm_dialog, approvals, "Release")
    return [*release_details(plans), decision]


def rollback_preview(plan: RollbackPlan, request_id: str, *, needs_confirm_dialog: bool, approvals: int) -> list[Block]:
    return [*rollback_details(plan), _decision(request_id, plan.env, needs_confirm_dialog, approvals, "Roll back")]


def resume_preview(plan: ResumePlan, request_id: str) -> list[Block]:
    if plan.edit is None:
        return resume_details(plan)
    return [*resume_details(plan), _decision(request_id, plan.env, False, 0, "Resume")]


def _decision(request_id: str, env: str, dialog: bool, approvals: int, verb: str) -> Block:
    conf = confirm_dialog(f"{verb} in {env}?", f"This commits to Git and Flux deploys it to {env}.") if dialog else None
    label = f"{verb} (needs {approvals} approval{'s' if approvals > 1 else ''})" if approvals else verb
    return {
        "type": "actions",
        "block_id": f"decision:{request_id}"[:255],
        "elements": [
            button(label, CONFIRM, request_id, "primary", conf),
            button("Cancel", CANCEL, request_id),
        ],
    }


def approval_request(
    summary: str,
    request_id: str,
    requester: str,
    needed: int,
    have: Sequence[str],
    *,
    details: Sequence[Block] = (),
    reason: str = "",
    approvers: str = "",
    env: str = "",
) -> list[Block]:
    """The approval message: who asks and the approvals count first (short lines, never cut), whom it asks,
    the requester's reason, then everything the preview showed; Approve confirms in a dialog, Reject asks why."""
    got = ", ".join(f"<@{u}>" for u in have) or say.NONE_YET
    head = [section(say.asks(requester, summary)), section(say.approvals_line(len(have), needed, got))]
    if approvers:
        head.append(context(say.approvers_wanted(approvers)))
    if reason:
        head.append(section(say.reason_line(reason)))
    actions: Block = {
        "type": "actions",
        "block_id": f"approval:{request_id}"[:255],
        "elements": [
            button(say.APPROVE, APPROVE, request_id, "primary",
                   confirm_dialog(say.approve_title(env), say.approve_text(summary), say.APPROVE, style="primary")),
            button(say.REJECT, REJECT, request_id, "danger"),
        ],
    }  # fmt: skip
    return [*head, *details, actions]


def keep_last(body: Sequence[Block], per: int = MESSAGE_BLOCKS) -> tuple[list[Block], list[list[Block]]]:
    """(one message with the head and the last block — the buttons, the rest as thread replies): a preview
    too long for one message loses nothing, and its buttons stay in the message people act on."""
    if len(body) <= per:
        return list(body), []
    first = [*body[: per - 1], body[-1]]
    return first, messages(body[per - 1 : -1], per)


def status_message(summary: str, status: Shown, detail: str = "", history: Sequence[str] = ()) -> list[Block]:
    """A thread parent: the status line first and on its own (never cut), then what happened so far (who
    asked, who approved, the commit) and the latest detail, added below it rather than in its place."""
    icon = STATUS_ICON[status]
    blocks = [section(f"{icon} {summary} — *{status}*")]
    lines = [*history, *([detail] if detail else [])]
    if lines:
        blocks += [context(text) for text in chunks(lines)]
    return blocks
