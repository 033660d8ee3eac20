"""How each kind of request reads in Slack: its one-line summary and its preview. One view per kind.

The request flow picks the view by the request's kind (a table, not type checks); adding a kind of
request adds a view here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from bot.actions.base import ActionKind, Args, Planned
from bot.actions.promote import PromoteCmd
from bot.actions.release import ReleaseCmd
from bot.actions.rollback import RollbackCmd
from bot.core.mrkdwn import escape
from bot.core.plan import PromotionPlan, ResumePlan, RollbackPlan
from bot.slack import blocks
from bot.slack import messages as say

Preview = Callable[[Planned[object], str, bool, int], list[blocks.Block]]
Details = Callable[[Planned[object]], list[blocks.Block]]


@dataclass(frozen=True)
class View:
    summary: Callable[[Args, str], str]
    preview: Preview
    details: Details  # the preview without its buttons: what an approver sees
    after_commit: Callable[[str, str], str | None] = lambda _env, _service: None  # a thread reply, if any
    reason: Callable[[Args], str] = lambda _args: ""  # the requester's own words, if the kind takes them


def _promote_preview(p: Planned[object], request_id: str, dialog: bool, approvals: int) -> list[blocks.Block]:
    plan = cast(PromotionPlan, p.plan)
    return blocks.promotion_preview(plan, request_id, needs_confirm_dialog=dialog, approvals=approvals)


def _release_preview(p: Planned[object], request_id: str, dialog: bool, approvals: int) -> list[blocks.Block]:
    plans = cast(tuple[PromotionPlan, ...], p.plan)
    return blocks.release_preview(plans, request_id, needs_confirm_dialog=dialog, approvals=approvals)


def _rollback_preview(p: Planned[object], request_id: str, dialog: bool, approvals: int) -> list[blocks.Block]:
    plan = cast(RollbackPlan, p.plan)
    return blocks.rollback_preview(plan, request_id, needs_confirm_dialog=dialog, approvals=approvals)


def _resume_preview(p: Planned[object], request_id: str, _dialog: bool, _approvals: int) -> list[blocks.Block]:
    return blocks.resume_preview(cast(ResumePlan, p.plan), request_id)


def _promote_details(p: Planned[object]) -> list[blocks.Block]:
    return blocks.promotion_details(cast(PromotionPlan, p.plan))


def _release_details(p: Planned[object]) -> list[blocks.Block]:
    return blocks.release_details(cast(tuple[PromotionPlan, ...], p.plan))


def _rollback_details(p: Planned[object]) -> list[blocks.Block]:
    return blocks.rollback_details(cast(RollbackPlan, p.plan))


def _resume_details(p: Planned[object]) -> list[blocks.Block]:
    return blocks.resume_details(cast(ResumePlan, p.plan))


def _promote_summary(a: Args, service: str) -> str:
    return say.summary_promote(service, cast(PromoteCmd, a).tag, a.env)


def _release_summary(a: Args, service: str) -> str:
    return say.summary_release(service, cast(ReleaseCmd, a).source, a.env)


def _rollback_summary(a: Args, service: str) -> str:
    return say.summary_rollback(service, a.env, cast(RollbackCmd, a).to_tag)


def _resume_summary(a: Args, service: str) -> str:
    return say.summary_resume(service, a.env)


VIEWS: Mapping[ActionKind, View] = {
    ActionKind.PROMOTE: View(_promote_summary, _promote_preview, _promote_details,
                             reason=lambda a: escape(cast(PromoteCmd, a).reason)),
    ActionKind.RELEASE: View(_release_summary, _release_preview, _release_details),
    ActionKind.ROLLBACK: View(_rollback_summary, _rollback_preview, _rollback_details, say.held_after_rollback),
    ActionKind.RESUME: View(_resume_summary, _resume_preview, _resume_details),
}  # fmt: skip
