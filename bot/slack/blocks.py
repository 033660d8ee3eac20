"""Block Kit builders: pure functions from use-case values to Slack message payloads.

Limits respected here (Slack rejects the message otherwise): section text ≤ 3000 chars, ≤ 10 fields
per section, button text ≤ 75, button value ≤ 2000, confirm text ≤ 300, ≤ 50 blocks per message.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from enum import StrEnum

from bot.core.clock_text import age
from bot.core.plan import PromotionPlan, ResumePlan, RollbackPlan
from bot.promotion.versions import EnvVersion, VersionsReport
from bot.slack import messages as say
from bot.slack.flux_text import escape

Block = dict[str, object]

CONFIRM = "request_confirm"
CANCEL = "request_cancel"
APPROVE = "request_approve"
REJECT = "request_reject"
PROMOTE_FROM_VERSIONS = "versions_promote"
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


def _text(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _text(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _text(text)}]}


def button(text: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None) -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text[:75]},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm_dialog(title: str, text: str, ok: str = "Yes, go") -> Block:
    return {
        "title": {"type": "plain_text", "text": title[:100]},
        "text": {"type": "plain_text", "text": text[:300]},
        "confirm": {"type": "plain_text", "text": ok[:30]},
        "deny": {"type": "plain_text", "text": "Cancel"},
        "style": "danger",
    }


def _cell(env: str, v: EnvVersion, now: float) -> str:
    marks = "".join(m for m, on in (("⏸", v.automation == "held"), ("⬆", v.newer_available)) if on)
    if v.tag is None:
        return f"*{env}* —"
    version = f"`{v.version}` {v.sha}" if v.version else f"`{v.tag}`"
    return f"*{env}* {version} · {age(v.built_at, now)} {marks}".rstrip()


def versions(report: VersionsReport, now: float | None = None) -> list[Block]:
    now = time.time() if now is None else now
    blocks: list[Block] = [section(f"*Versions* at `{report.revision[:7]}`  ·  ⏸ held  ⬆ newer build available")]
    cap = 23 if report.problems else 24  # two blocks per service (+ the problems) stay under Slack's 50-block cap
    for svc in report.services[:cap]:
        fields = [{"type": "mrkdwn", "text": _cell(e, v, now)} for e, v in list(svc.environments.items())[:9]]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{svc.name}*"}, "fields": fields})
        ahead = _ahead(report.pipeline, svc.environments)
        if ahead:
            src, dst = ahead
            tag = svc.environments[src].tag or ""
            value = json.dumps({"tag": tag, "env": dst, "service": svc.name})
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        button(
                            f"Promote {svc.environments[src].version} to {dst}", PROMOTE_FROM_VERSIONS, value, "primary"
                        ),
                    ],
                }
            )
    if len(report.services) > cap:
        blocks.append(context(f"…and {len(report.services) - cap} more; ask for one with `/versions <service>`."))
    if report.problems:
        blocks.append(context(say.discovery_problems([escape(p) for p in report.problems])))
    return blocks


def _ahead(pipeline: Sequence[str], envs: dict[str, EnvVersion]) -> tuple[str, str] | None:
    """The last pipeline step whose source runs a newer build than its target (staging ahead of production)."""
    for src, dst in reversed(list(itertools.pairwise(pipeline))):
        a, b = envs.get(src), envs.get(dst)
        if (
            a
            and b
            and a.tag
            and a.built_at
            and (a.sha, a.version) != (b.sha, b.version)
            and (b.built_at or 0) < a.built_at
        ):
            return src, dst
    return None


def _diff(lines: Sequence[str]) -> str:
    return "```" + _text("\n".join(lines), 2800) + "```" if lines else ""


def promotion_preview(
    plan: PromotionPlan, request_id: str, *, needs_confirm_dialog: bool, approvals: int
) -> list[Block]:
    head = f"Promote *{plan.service}* `{plan.source_tag}` → *{plan.target_env}*"
    if plan.noop:
        return [section(f"{head}\n{plan.noop_reason}")]
    diff = [f"- {c.old}\n+ {c.new}   ({c.file})" for c in (plan.edit.changes if plan.edit else ())]
    blocks = [
        section(head),
        context(f"image `{plan.image}` · digest `{plan.digest}`\nnew tags: `{plan.target_tag}`, `{plan.alias}`"),
    ]
    if diff:
        blocks.append(section(_diff(diff)))
    if plan.warnings:
        blocks.append(section("\n".join(f"⚠️ {w}" for w in plan.warnings)))
    return [*blocks, _decision(request_id, plan.target_env, needs_confirm_dialog, approvals, "Promote")]


def release_preview(
    plans: Sequence[PromotionPlan], request_id: str, *, needs_confirm_dialog: bool, approvals: int
) -> list[Block]:
    first = plans[0]
    lines = [f"Release to *{first.target_env}* in one commit:"]
    lines += [f"• *{p.service}* `{p.source_tag}` → `{p.target_tag}`" for p in plans]
    warnings = [f"⚠️ {p.service}: {w}" for p in plans for w in p.warnings]
    decision = _decision(request_id, first.target_env, needs_confirm_dialog, approvals, "Release")
    return [section("\n".join(lines)), *([section("\n".join(warnings))] if warnings else []), decision]


def rollback_preview(plan: RollbackPlan, request_id: str, *, needs_confirm_dialog: bool, approvals: int) -> list[Block]:
    lines = [f"Roll back *{plan.service}* in *{plan.env}*: `{plan.from_tag or '?'}` → `{plan.to_tag}`"]
    if plan.hold:
        lines.append(
            f"⏸ Automation `{plan.hold}` will be *held* (spec.suspend: true) so Flux cannot bump it back. "
            f"Resume later with `/resume {plan.env} {plan.service}`."
        )
    lines += [f"⚠️ {w}" for w in plan.warnings]
    diff = [f"- {c.old}\n+ {c.new}   ({c.file})" for c in plan.edit.changes]
    return [
        section("\n".join(lines)),
        section(_diff(diff)),
        _decision(request_id, plan.env, needs_confirm_dialog, approvals, "Roll back"),
    ]


def resume_preview(plan: ResumePlan, request_id: str) -> list[Block]:
    text = f"Resume automation `{plan.automation}` for *{plan.service}* in *{plan.env}*"
    if plan.edit is None:
        return [section(f"{text}: it is not held; nothing to do.")]
    lines = [text, *(f"⚠️ {w}" for w in plan.warnings)]
    return [section("\n".join(lines)), _decision(request_id, plan.env, False, 0, "Resume")]


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


def approval_request(summary: str, request_id: str, requester: str, needed: int, have: Sequence[str]) -> list[Block]:
    got = ", ".join(f"<@{u}>" for u in have) or "none yet"
    return [
        section(f"✋ <@{requester}> asks: {summary}\nApprovals: {len(have)}/{needed} ({got})"),
        {
            "type": "actions",
            "block_id": f"approval:{request_id}"[:255],
            "elements": [
                button("Approve", APPROVE, request_id, "primary"),
                button("Reject", REJECT, request_id, "danger"),
            ],
        },
    ]


def status_message(summary: str, status: Shown, detail: str = "") -> list[Block]:
    icon = STATUS_ICON[status]
    blocks = [section(f"{icon} {summary} — *{status}*")]
    if detail:
        blocks.append(context(detail))
    return blocks
