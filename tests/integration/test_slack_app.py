"""Slack over real HTTP: signed commands and clicks to the bot, the fake Web API records what the bot says,
the commit lands in the git daemon remote, the tag in the real docker-registry."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.seed_layout import marker_file
from bot.slack import blocks
from tests.canaries import SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import command_body, signed_headers
from tests.integration.slack_bot import APPROVER, GUEST, OUTSIDER, PROD_CHANNEL, REQUESTER, running_bot
from tests.integration.world import SERVICES, World, running_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def _preview_request_id(fake: FakeSlack, response_id: str) -> str:
    calls = fake.wait_for(lambda c: c.response_id == response_id and "blocks" in (c.json or {}), timeout=20)
    for block in calls[-1].json["blocks"]:  # type: ignore[index]
        for el in block.get("elements", []):
            if el.get("action_id") == blocks.CONFIRM:
                return str(el["value"])
    raise AssertionError(f"no Confirm button in {calls[-1].json}")


def _staging_tag(world: World) -> str:
    return world.tags[("backend", "staging", "0.0.2")]


def test_promote_via_slack_commits_with_trailers_and_threads(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        before = world.head()
        reply = sb.command("/promote", f"{_staging_tag(world)} to production hotfix for login", response_id="p1")
        assert reply.status == 200 and reply.seconds < 1.0
        assert "Planning" in reply.text
        request_id = _preview_request_id(fake_slack, "p1")
        preview = fake_slack.responses("p1")[-1]
        text = json.dumps(preview)
        assert "production-v0.0.2" in text and "sha256:" in text and '"confirm"' in text  # prod asks in a dialog
        assert world.head() == before  # a preview writes nothing
        click = sb.click(blocks.CONFIRM, request_id, REQUESTER, response_id="c1")
        assert click.status == 200 and click.seconds < 1.0
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
        head = world.head()
        assert head != before
        trailers = world.trailers(head)
        assert trailers["Promoted-by"] == f"Alice Requester <slack:{REQUESTER}>"
        assert trailers["Source-tag"] == _staging_tag(world)
        assert trailers["Slack-thread"].startswith("https://")
        parent = [m for m in fake_slack.messages(PROD_CHANNEL) if not m.is_reply]
        assert len(parent) == 1 and "committed" in json.dumps(parent[0].as_json())


def test_forged_stale_and_unsigned_requests_are_401_and_do_nothing(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        before = world.state()
        body = command_body("/promote", f"{_staging_tag(world)} to production", user_id=REQUESTER,
                            response_url=fake_slack.response_url("x"))  # fmt: skip
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        good = signed_headers(SIGNING_SECRET, body)
        cases = {
            "forged": {**signed_headers("wrong-secret", body), **form},
            "stale": {**signed_headers(SIGNING_SECRET, body, ts=int(time.time()) - 301), **form},
            "missing": form,
        }
        for name, headers in cases.items():
            assert sb.post(body, headers).status == 401, name
        assert sb.post(body + "&x=1", {**good, **form}).status == 401  # tampered after signing
        replay = {**good, "x-slack-request-timestamp": str(int(time.time()) + 1), **form}
        assert sb.post(body, replay).status == 401  # a captured signature replayed under a new timestamp
        # A genuine request sent after them is answered in full: had any of those been let in, its own answer
        # (planned the same way, on the same pool) would have been under way before this one's.
        assert sb.command("/promote", f"{_staging_tag(world)} to production", response_id="marker").status == 200
        _preview_request_id(fake_slack, "marker")
        assert fake_slack.calls("chat.postMessage") == [] and fake_slack.responses("x") == []
        assert world.state() == before


def test_usage_message_for_bad_text_is_the_ack(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        sb.command("/promote", "help", response_id="help")  # a bare `/promote` opens the picker instead
        examples = fake_slack.wait_for(lambda c: c.response_id == "help", timeout=20)
        assert f"/promote {_staging_tag(world)} to production" in json.dumps(examples[-1].json)
        for text in ("staging-v0.0.1-a1b2c3d-1;rm to production", "staging to", "backend to"):
            reply = sb.command("/promote", text)
            assert (reply.status == 200 and "Usage" in reply.text) or "Expected" in reply.text, reply.text


def test_denied_user_and_guest_are_refused(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        before = world.state()
        for user, rid in ((OUTSIDER, "d1"), (GUEST, "d2")):
            sb.command("/promote", f"{_staging_tag(world)} to production", user=user, response_id=rid)
            calls = fake_slack.wait_for(lambda c, rid=rid: c.response_id == rid, timeout=20)
            assert "🚫" in json.dumps(calls[-1].json, ensure_ascii=False)
        assert "@sre-oncall" in json.dumps(fake_slack.responses("d1"), ensure_ascii=False)
        assert world.state() == before


def test_two_person_rule(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack, approvals=1) as sb:
        before = world.head()
        sb.command("/promote", f"{_staging_tag(world)} to production", response_id="p")
        rid = _preview_request_id(fake_slack, "p")
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "Approve" in json.dumps(c.json), timeout=20)
        sb.click(blocks.APPROVE, rid, REQUESTER, response_id="self")  # self-approval
        self_reply = fake_slack.wait_for(lambda c: c.response_id == "self", timeout=20)
        assert "own request" in json.dumps(self_reply[-1].json)
        sb.click(blocks.APPROVE, rid, OUTSIDER, response_id="out")  # not a promoter
        fake_slack.wait_for(lambda c: c.response_id == "out", timeout=20)
        assert world.head() == before
        sb.click(blocks.APPROVE, rid, APPROVER, response_id="a1")
        sb.click(blocks.APPROVE, rid, APPROVER, response_id="a2")  # double click
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
        assert len(world.new_commits(before)) == 1
        assert world.trailers(world.head())["Approved-by"] == f"Bob Approver <slack:{APPROVER}>"


def test_stale_approval_is_refused_when_the_repo_moved(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack, approvals=1) as sb:
        sb.command("/promote", f"{_staging_tag(world)} to production", response_id="p")
        rid = _preview_request_id(fake_slack, "p")
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "Approve" in json.dumps(c.json), timeout=20)
        # Someone else changes production's marker file (e.g. another promotion lands first).
        path = "flux/apps/backend/production/deployment.yaml"
        world.remote.push({path: world.remote.show(path).replace("replicas: 1", "replicas: 2")}, "scale up")
        before = world.head()
        sb.click(blocks.APPROVE, rid, APPROVER, response_id="a")
        reply = fake_slack.wait_for(lambda c: c.response_id == "a", timeout=30)
        assert "Stale" in json.dumps(reply[-1].json)
        assert world.head() == before


class Clock:
    """Time the test moves by hand: approvals expire without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_expired_approval_is_refused(world: World, fake_slack: FakeSlack) -> None:
    clock = Clock()
    with running_bot(world, fake_slack, approvals=1, clock=clock) as sb:
        before = world.head()
        sb.command("/promote", f"{_staging_tag(world)} to production", response_id="p")
        rid = _preview_request_id(fake_slack, "p")
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "Approve" in json.dumps(c.json), timeout=20)
        clock.now += 31 * 60  # approval_ttl is 30m
        sb.click(blocks.APPROVE, rid, APPROVER, response_id="a")
        reply = fake_slack.wait_for(lambda c: c.response_id == "a", timeout=20)
        assert "older than 30 min" in json.dumps(reply[-1].json)
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "expired" in json.dumps(c.json), timeout=20)
        assert world.head() == before


def test_rollback_via_slack_holds_the_service_and_says_how_to_resume(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        sb.command("/promote", f"{_staging_tag(world)} to production", response_id="p")
        sb.click(blocks.CONFIRM, _preview_request_id(fake_slack, "p"), REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
        promoted = world.head()
        sb.command("/rollback", "production backend", response_id="r")
        rid = _preview_request_id(fake_slack, "r")
        assert "held" in json.dumps(fake_slack.responses("r")[-1])
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="rc")
        fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and "/resume production backend" in json.dumps(c.json), timeout=30
        )
        head = world.head()
        assert head != promoted and world.trailers(head)["Rolled-back-by"] == f"Alice Requester <slack:{REQUESTER}>"
        held = '"$imagepolicy": "HELD:production:backend"'
        assert held in world.remote.show(marker_file("backend", "production"), head)
        assert "HELD:" not in world.remote.show(marker_file("frontend", "production"), head)  # only backend


def test_versions_shows_a_promote_button_where_staging_is_ahead(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        reply = sb.command("/versions", "", response_id="v")
        assert reply.status == 200 and reply.seconds < 1.0
        calls = fake_slack.wait_for(lambda c: c.response_id == "v" and "blocks" in (c.json or {}), timeout=20)
        payload = json.dumps(calls[-1].json)
        assert "backend" in payload and "frontend" in payload
        assert blocks.PROMOTE_FROM_VERSIONS in payload


def test_ack_is_fast_while_git_is_slow(world: World, fake_slack: FakeSlack) -> None:
    """The ack never waits for Git: five commands in a row all answer well inside Slack's budget."""
    with running_bot(world, fake_slack) as sb:
        times = [sb.command("/versions", "", response_id=f"v{i}").seconds for i in range(5)]
        assert max(times) < 0.5, times


def test_freeze_history_schedule_and_release_via_slack(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack) as sb:
        head = world.head()
        sb.command("/freeze", "production 2h release party", response_id="f")
        fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and "frozen until" in c.params.get("text", ""), timeout=20
        )
        assert all("HELD:production:" in world.remote.show(marker_file(s, "production")) for s in SERVICES)
        assert len(world.new_commits(head)) == 1
        sb.command("/promote", f"{_staging_tag(world)} to production", response_id="blocked")
        blocked = fake_slack.wait_for(lambda c: c.response_id == "blocked", timeout=20)
        assert "frozen until" in json.dumps(blocked[-1].json)
        sb.command("/unfreeze", "production", response_id="u")
        fake_slack.wait_for(
            lambda c: c.method == "chat.postMessage" and "unfrozen" in c.params.get("text", ""), timeout=20
        )
        sb.command("/promote", f"{_staging_tag(world)} to production at 2099-01-01T14:00", response_id="s")
        scheduled = fake_slack.wait_for(lambda c: c.response_id == "s", timeout=20)
        assert "scheduled for 2099-01-01 14:00 UTC" in json.dumps(scheduled[-1].json)
        sb.command("/schedule", "", response_id="l")
        listing = fake_slack.wait_for(lambda c: c.response_id == "l", timeout=20)
        assert _staging_tag(world) in json.dumps(listing[-1].json)
        before = world.head()
        sb.command("/promote", "staging to production", response_id="r")
        rid = _preview_request_id(fake_slack, "r")
        assert "one commit" in json.dumps(fake_slack.responses("r")[-1])
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="rc")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
        assert len(world.new_commits(before)) == 1
        assert world.remote.git("log", "-1", "--format=%s").startswith("release(staging → production)")
        sb.command("/history", "production", response_id="h")
        hist = fake_slack.wait_for(lambda c: c.response_id == "h", timeout=20)
        assert "promote" in json.dumps(hist[-1].json)
