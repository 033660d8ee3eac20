"""Promoting without typing a tag, over signed HTTP against the real git daemon and registry: `/versions production`,
`/promote backend` (and `to production`) previewing what staging runs, `/promote help`, the picker from command to
commit, and the advice a person gets when the bot is not in the environment's private channel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from bot.slack import blocks, picker_blocks, rollback_picker
from tests.canaries import SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_body, signed_headers
from tests.integration.bot_http import preview_id
from tests.integration.slack_bot import PROD_CHANNEL, REQUESTER, SlackBot, running_bot
from tests.integration.world import World, running_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def _answer(fake: FakeSlack, response_id: str, what: str = "blocks") -> dict[str, Any]:
    calls = fake.wait_for(lambda c: c.response_id == response_id and what in json.dumps(c.json), timeout=30)
    return calls[-1].json or {}


def _select(sb: SlackBot, action_id: str, block_id: str, value: str, response_id: str) -> None:
    """A static_select choice, posted as Slack posts it (block_actions with `selected_option`)."""
    form = action_body(action_id, "", user_id=REQUESTER, response_url=sb.fake.response_url(response_id),
                       block_id=block_id)
    payload = json.loads(unquote(form.removeprefix("payload=")))
    payload["actions"][0] = {"type": "static_select", "action_id": action_id, "block_id": block_id,
                             "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
                             "action_ts": "1700000000.000000"}  # fmt: skip
    raw = f"payload={quote(json.dumps(payload))}"
    reply = sb.post(raw, {**signed_headers(SIGNING_SECRET, raw), "Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200 and reply.seconds < 1.0


def test_versions_of_an_environment_lists_every_full_tag(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        reply = sb.command("/versions", "production", response_id="v")
        assert reply.status == 200 and "Reading versions" in reply.text
        answer = _answer(fake_slack, "v")
        text = json.dumps(answer)
        assert answer["replace_original"] is True  # the answer takes the ⏳ ack's place
        assert "There is no service" not in text
        for service in ("backend", "frontend"):
            assert f"*{service}* `{world.tags[(service, 'production', '0.0.1')]}`" in text


def test_promote_a_service_previews_what_staging_runs(world: World, fake_slack: FakeSlack) -> None:
    staging = world.tags[("backend", "staging", "0.0.2")]
    with running_bot(world, fake_slack) as sb:
        before = world.head()
        for n, text in enumerate(("backend", "backend to production hotfix")):
            sb.command("/promote", text, response_id=f"p{n}")
            preview_id(fake_slack, f"p{n}")
            preview = json.dumps(fake_slack.responses(f"p{n}")[-1])
            assert staging in preview and "production" in preview and "sha256:" in preview
        assert world.head() == before  # a preview writes nothing
        sb.command("/promote", "backend to develop", response_id="first")
        assert "first environment" in json.dumps(_answer(fake_slack, "first", "text"))
        sb.command("/promote", "help", response_id="h")
        help_text = json.dumps(_answer(fake_slack, "h", "text"))
        assert "/promote <service>" in help_text and f"/promote {staging} to production" in help_text


def test_the_picker_from_command_to_commit(world: World, fake_slack: FakeSlack) -> None:
    staging = world.tags[("backend", "staging", "0.0.2")]
    with running_bot(world, fake_slack) as sb:
        before = world.head()
        sb.command("/promote", "", response_id="pick")
        menu = _answer(fake_slack, "pick")
        services = [o["value"] for b in menu["blocks"] for e in b.get("elements", []) for o in e.get("options", [])]
        assert services == ["backend", "frontend"]
        _select(sb, f"{picker_blocks.PICK_SERVICE}:0", "b", "backend", "svc")
        builds = _answer(fake_slack, "svc")
        [step] = [b for b in builds["blocks"] if b.get("block_id") == "pick:production:backend"]
        options = step["elements"][0]["options"]
        assert options[0]["value"] == world.never_deployed  # newest first: built for staging, deployed in develop only
        assert options[0]["text"]["text"].endswith("● develop")
        [running] = [o for o in options if o["value"] == staging]
        assert running["text"]["text"].endswith("● staging")  # marked where it runs
        assert builds["replace_original"] is True
        _select(sb, f"{picker_blocks.PICK_BUILD}:production", "pick:production:backend", staging, "build")
        rid = preview_id(fake_slack, "build")
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "*committed*" in json.dumps(c.json), timeout=60)
        assert len(world.new_commits(before)) == 1
        assert world.trailers(world.head())["Source-tag"] == staging


def test_a_private_channel_without_the_bot_says_to_invite_it(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        fake_slack.add_channel(PROD_CHANNEL, name="prod-deploys", is_private=True, is_member=False)
        before = world.head()
        sb.command("/promote", f"{world.tags[('backend', 'staging', '0.0.2')]} to production", response_id="p")
        sb.click(blocks.CONFIRM, preview_id(fake_slack, "p"), REQUESTER, response_id="c")
        told = json.dumps(_answer(fake_slack, "c", "text"))
        assert "invite" in told and f"<#{PROD_CHANNEL}>" in told and "/invite @gitops-bot" in told
        assert "minute" not in told and "rate limit" not in told  # retrying can never work: it is not offered
        assert world.head() == before


def test_the_rollback_picker_goes_back_to_a_tag_production_really_ran(world: World, fake_slack: FakeSlack) -> None:
    old = world.tags[("backend", "production", "0.0.1")]
    promoted = world.cli("promote", world.tags[("backend", "staging", "0.0.2")], "to", "production", "--as", "Alice")
    assert promoted.returncode == 0, promoted.stderr
    with running_bot(world, fake_slack) as sb:
        before = world.head()
        sb.command("/rollback", "", response_id="rb")
        menu = _answer(fake_slack, "rb")
        choices = [o["value"] for b in menu["blocks"] for e in b.get("elements", []) for o in e.get("options", [])]
        assert choices == ["production:backend", "production:frontend"]
        _select(sb, f"{rollback_picker.PICK_RB_SERVICE}:0", "b", "production:backend", "svc")
        tags = _answer(fake_slack, "svc")
        [menu_block] = [b for b in tags["blocks"] if b.get("block_id") == "pickrb:production:backend"]
        values = [o["value"] for o in menu_block["elements"][0]["options"]]
        assert values[0] == rollback_picker.UNDO and old in values  # what production ran before, from Git
        assert all(v != world.trailers(before)["Target-tag"] for v in values)  # never the tag it runs now
        assert tags["replace_original"] is True
        _select(sb, rollback_picker.PICK_RB_TAG, "pickrb:production:backend", old, "tag")
        rid = preview_id(fake_slack, "tag")  # the same preview, Confirm and gates as a typed /rollback
        assert world.head() == before
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "*committed*" in json.dumps(c.json), timeout=60)
        [commit] = world.new_commits(before)
        assert old in world.remote.show("flux/apps/backend/production/deployment.yaml", commit)
