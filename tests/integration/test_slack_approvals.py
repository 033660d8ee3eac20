"""What an approver sees and what the thread keeps: the approval message carries the requester's reason, what
production runs now and will run, the source digest and the diff, and mentions the approver group; Approve asks
in a dialog; the thread parent keeps who asked, who approved and the commit through reconciled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack import blocks
from tests.canaries import FLUX_TOKEN
from tests.fakes.slack_api import FakeSlack
from tests.integration.bot_http import flux_post, preview_id, reconciled_event
from tests.integration.slack_bot import APPROVER, PROD_CHANNEL, REQUESTER, running_bot
from tests.integration.world import World, running_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def _parent(fake: FakeSlack) -> dict[str, object]:
    [parent] = [m for m in fake.messages(PROD_CHANNEL) if not m.is_reply]
    return parent.as_json()


def test_approvers_see_what_they_approve_and_the_thread_keeps_its_history(world: World,
                                                                         fake_slack: FakeSlack) -> None:
    tag = world.tags[("backend", "staging", "0.0.2")]
    running_now = world.tags[("backend", "production", "0.0.1")]
    with running_bot(world, fake_slack, approvals=1, flux_token=FLUX_TOKEN) as sb:
        sb.command("/promote", f"{tag} to production hotfix for login <!channel>", response_id="p")
        rid = preview_id(fake_slack, "p")
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and blocks.APPROVE in json.dumps(c.json), timeout=30)
        asking = json.dumps(_parent(fake_slack), ensure_ascii=False)
        assert "Approvals: 0/1" in asking and f"<@{REQUESTER}> asks" in asking
        assert "hotfix for login &lt;!channel&gt;" in asking  # the reason, escaped: no channel-wide ping
        assert running_now in asking and "production-v0.0.2" in asking  # what runs now, and what will
        assert tag in asking and "sha256:" in asking  # the source and its digest
        assert "- " in asking and "+ " in asking and "deployment.yaml" in asking  # the diff
        assert "<!subteam^S0SRE>" in asking  # the approver group is pinged
        [approve] = [e for b in _parent(fake_slack)["blocks"] for e in b.get("elements", [])  # type: ignore[attr-defined]
                     if e.get("action_id") == blocks.APPROVE]  # fmt: skip
        assert approve["confirm"]["confirm"]["text"] == "Approve"  # a dialog first

        sb.click(blocks.APPROVE, rid, APPROVER, response_id="a")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "*committed*" in json.dumps(c.json), timeout=60)
        commit = world.head()
        assert flux_post(sb.bot, reconciled_event(commit)) == 202
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "*reconciled*" in json.dumps(c.json), timeout=30)
        settled = json.dumps(_parent(fake_slack), ensure_ascii=False)
        assert "reconciled in production" in settled
        assert f"requested by <@{REQUESTER}>" in settled and f"approved by <@{APPROVER}>" in settled
        assert tag in settled and commit[:12] in settled and "hotfix for login" in settled
