"""Nothing is cut silently: a 200-service release preview shows service #200 before Confirm, its approval message
keeps the status and approvals lines whole, and a list longer than one section is split, never clipped."""

from __future__ import annotations

import json

from bot.actions.base import ActionKind, Planned
from bot.core import commit_message as cm
from bot.core.plan import Edit, PromotionPlan
from bot.slack import blocks
from bot.slack import messages as say
from bot.slack.blocks import Shown
from bot.slack.views import VIEWS


def _plan(i: int) -> PromotionPlan:
    return PromotionPlan(
        service=f"service-number-{i:03d}", source_env="staging", target_env="production",
        source_tag=f"staging-v1.2.{i}-abcdef0-1738860123", target_tag=f"production-v1.2.{i}-abcdef0-1738860999",
        alias="production", digest="sha256:" + f"{i:064x}", image=f"registry.example/acme/service-number-{i:03d}",
        current_tag=f"production-v1.1.{i}-0123456-1738000000",
        edit=Edit({}, cm.CommitMessage("release", "", ())),
    )


def _texts(body: list[blocks.Block]) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_a_200_service_release_preview_lists_every_service_before_confirm() -> None:
    plans = tuple(_plan(i) for i in range(1, 201))
    body = VIEWS[ActionKind.RELEASE].preview(Planned(plans, ",".join(p.service for p in plans), "fp"), "r1", True, 1)
    parts = blocks.messages(body)
    assert all(len(part) <= 50 for part in parts)
    for b in body:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000 and b["text"]["text"].count("`") % 2 == 0  # no open backtick
    shown = "".join(_texts(p) for p in parts)
    assert "Release 200 services" in shown
    for i in (1, 100, 200):
        assert f"{i}. *service-number-{i:03d}*" in shown and f"production-v1.2.{i}-abcdef0-1738860999" in shown
    assert "…" not in shown  # nothing clipped
    assert parts[-1][-1]["elements"][0]["action_id"] == blocks.CONFIRM  # Confirm comes after all of them


def test_the_approval_message_and_thread_parent_keep_status_and_approvals_whole() -> None:
    plans = tuple(_plan(i) for i in range(1, 201))
    names = ",".join(p.service for p in plans)
    summary = say.summary_release(names, "staging", "production")
    assert summary == "release *200 services* from *staging* → *production* in one commit"  # a count, not a join
    details = blocks.release_details(plans) + [blocks.section("x")] * 60  # more than fits in one message
    body = blocks.approval_request(summary, "r1", "U1", 2, ["U2"], details=details, approvers="<!subteam^S1>")
    parent, rest = blocks.keep_last(body)
    assert len(parent) == 50 and all(len(p) <= 50 for p in rest)
    assert parent[0]["text"]["text"] == f"✋ <@U1> asks: {summary}"
    assert parent[1]["text"]["text"] == "*Approvals: 1/2* (<@U2>)"
    assert parent[-1]["elements"][0]["action_id"] == blocks.APPROVE  # the buttons stay in the parent
    assert len(parent) - 1 + sum(map(len, rest)) == len(body) - 1  # every detail block is somewhere
    status = blocks.status_message(summary, Shown.COMMITTED, "", ["requested by <@U1>", "approved by <@U2>"])
    assert status[0]["text"]["text"].endswith("— *committed*")


def test_long_lines_are_split_visibly_and_lists_across_sections() -> None:
    lines = [f"line {i} " + "x" * 90 for i in range(100)] + ["y" * 7000]
    out = blocks.sections(lines)
    assert all(len(b["text"]["text"]) <= 3000 for b in out)
    joined = "\n".join(b["text"]["text"] for b in out)
    assert all(f"line {i} " in joined for i in range(100))
    assert joined.replace(" ↩\n", "").count("y") == 7000  # the long line, whole, marked where it was split
