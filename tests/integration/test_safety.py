"""Issue 17, items 1-3, 8, 9, 13 and 14: the promises of the request flow under hostile input and odd timing.

Only public surfaces: signed Slack requests and signed Flux events over real HTTP to a running bot, a real
git daemon and Debian's docker-registry, the recording fake Slack Web API. Each test names its item.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import settings as settings_mod
from bot.slack import blocks
from bot.wiring import assemble
from tests.canaries import FLUX_TOKEN
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.images import push_image
from tests.integration.bot_http import EXAMPLES, preview_id, wait_until
from tests.integration.slack_bot import (
    APPROVER,
    OUTSIDER,
    PROD_CHANNEL,
    REQUESTER,
    SlackBot,
    populate,
    running_bot,
)
from tests.integration.world import PROJECT, World, running_world

DEPLOYERS = "deployers"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def _tag(world: World) -> str:
    return world.tags[("backend", "staging", "0.0.2")]


def _soon(seconds: float) -> str:
    return dt.datetime.fromtimestamp(time.time() + seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _said(fake: FakeSlack, channel: str) -> str:
    return json.dumps([m.as_json() for m in fake.messages(channel)], ensure_ascii=False)


def _answers(fake: FakeSlack, response_id: str) -> str:
    return json.dumps(fake.responses(response_id), ensure_ascii=False)


def _config(world: World, fake: FakeSlack, *, approvals: int, users: list[str], groups: list[str]) -> Path:
    data: dict[str, Any] = yaml.safe_load(world.config.read_text())
    data["slack"] = {"api_url": fake.base_url}
    data["environments"] = {
        "develop": {}, "staging": {},
        "production": {"channel": PROD_CHANNEL, "approvals": approvals, "approval_ttl": "30m",
                       "promoters": {"users": users, "groups": groups}},
    }  # fmt: skip
    path = world.root / "safety.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@contextmanager
def _bot(world: World, fake: FakeSlack, config: Path, flux: bool = False) -> Iterator[SlackBot]:
    bot = assemble(settings_mod.load(config), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                   flux_token=FLUX_TOKEN if flux else None)  # fmt: skip
    bot.server.start()
    try:
        yield SlackBot(bot, fake, world)
    finally:
        bot.stop()


def _promote_and_confirm(sb: SlackBot, tag: str, n: str = "") -> str:
    sb.command("/promote", f"{tag} to production", response_id=f"p{n}")
    rid = preview_id(sb.fake, f"p{n}")
    assert sb.click(blocks.CONFIRM, rid, REQUESTER, response_id=f"c{n}").status == 200
    return rid


def _approval_button(fake: FakeSlack) -> str | None:
    for m in fake.messages(PROD_CHANNEL):
        for b in m.as_json().get("blocks") or []:
            for el in b.get("elements", []):
                if el.get("action_id") == blocks.APPROVE:
                    return str(el["value"])
    return None


# --- 1 ------------------------------------------------------------------------------------------------
def test_item1_a_scheduled_promotion_lands_only_with_the_approvals_its_environment_needs(
    world: World, fake_slack: FakeSlack
) -> None:
    with running_bot(world, fake_slack, approvals=1) as sb:
        head = world.head()
        sb.command("/promote", f"{_tag(world)} to production at {_soon(2)}", response_id="s")
        fake_slack.wait_for(lambda c: c.response_id == "s", timeout=30)
        assert "scheduled" in _answers(fake_slack, "s")
        # Due within seconds: either it lands at once (the old way) or it asks for approval in the thread.
        wait_until(lambda: world.head() != head or _approval_button(fake_slack) is not None, "the schedule", 90)
        assert world.head() == head, world.trailers(world.head())  # nobody approved: nothing may land
        rid = _approval_button(fake_slack)
        assert rid is not None
        assert sb.click(blocks.APPROVE, rid, APPROVER, response_id="ok").status == 200
        wait_until(lambda: world.head() != head, "the approved commit", 60)
        trailers = world.trailers(world.head())
        assert trailers["Approved-by"].endswith("<slack:U0APPROVER>")
        assert trailers["Promoted-by"].endswith("<slack:U0REQUESTER>")


# --- 2 ------------------------------------------------------------------------------------------------
def test_item2_a_scheduled_promotion_is_refused_when_its_requester_lost_the_right_meanwhile(
    world: World, fake_slack: FakeSlack
) -> None:
    populate(fake_slack)
    fake_slack.add_usergroup("S0DEP", DEPLOYERS, [OUTSIDER])
    config = _config(world, fake_slack, approvals=0, users=[], groups=[DEPLOYERS])
    head = world.head()
    with _bot(world, fake_slack, config) as sb:
        sb.command("/promote", f"{_tag(world)} to production at {_soon(20)}", user=OUTSIDER, response_id="s")
        fake_slack.wait_for(lambda c: c.response_id == "s", timeout=30)
        assert "scheduled" in _answers(fake_slack, "s")
    fake_slack.add_usergroup("S0DEP", DEPLOYERS, [])  # OUTSIDER leaves the group before the time comes
    with _bot(world, fake_slack, config):
        wait_until(lambda: world.head() != head or "may not promote" in _said(fake_slack, PROD_CHANNEL),
                   "the schedule to run or be refused", 90)  # fmt: skip
        assert world.head() == head
        assert "may not promote in production" in _said(fake_slack, PROD_CHANNEL)


# --- 3 ------------------------------------------------------------------------------------------------
HOSTILE = "<!channel> see <https://evil.example|the runbook> & <@U0ADMIN>"


def _flux_failed(sb: SlackBot, sha: str, message: str) -> int:
    ev: dict[str, Any] = dict(EXAMPLES["examples"][0]["forwarded_to_generic_provider"]["event"])
    ev.update(severity="error", reason="HealthCheckFailed", message=message)
    ev["metadata"] = {"revision": f"main@sha1:{sha}"}
    body = json.dumps(ev).encode()
    sig = "sha256=" + hmac.new(FLUX_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(f"{sb.bot.server.url}/flux/events", data=body, method="POST",  # noqa: S310
                                 headers={"Content-Type": "application/json", "X-Signature": sig})  # fmt: skip
    with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - loopback
        return int(resp.status)


def test_item3_flux_failures_and_freeze_reasons_reach_slack_escaped(world: World, fake_slack: FakeSlack) -> None:
    populate(fake_slack)
    config = _config(world, fake_slack, approvals=0, users=[REQUESTER], groups=[])
    with _bot(world, fake_slack, config, flux=True) as sb:
        head = world.head()
        _promote_and_confirm(sb, _tag(world))
        wait_until(lambda: world.head() != head, "the commit", 60)
        sha = world.head()
        wait_until(lambda: "committed" in _said(fake_slack, PROD_CHANNEL), "the thread to say committed", 30)
        assert _flux_failed(sb, sha, HOSTILE) == 202
        wait_until(lambda: any(m.is_reply and "evil.example" in m.text for m in fake_slack.messages(PROD_CHANNEL)),
                   "the failure in the thread", 30)  # fmt: skip
        sb.command("/freeze", f"production 1h {HOSTILE}", response_id="f")
        wait_until(lambda: "frozen" in _said(fake_slack, PROD_CHANNEL), "the freeze notice", 30)
        for m in fake_slack.messages(PROD_CHANNEL):
            text = json.dumps(m.as_json(), ensure_ascii=False)
            assert "<!channel>" not in text and "<https://evil" not in text and "<@U0ADMIN>" not in text, text


# --- 8 ------------------------------------------------------------------------------------------------
def test_item8_a_target_without_its_marker_is_refused_before_the_registry_is_touched(
    world: World, fake_slack: FakeSlack
) -> None:
    path = "flux/apps/backend/production/deployment.yaml"
    text = world.remote.show(path)
    world.remote.push({path: text.replace('# {"$imagepolicy": "production:backend"}', "")}, message="drop marker")
    with running_bot(world, fake_slack) as sb:
        before = world.state()
        sb.command("/promote", f"{_tag(world)} to production", response_id="p")
        fake_slack.wait_for(lambda c: c.response_id == "p", timeout=30)
        confirm = [el["value"] for r in fake_slack.responses("p") for b in r.get("blocks") or []
                   for el in b.get("elements", []) if el.get("action_id") == blocks.CONFIRM]  # fmt: skip
        if confirm:  # the old way: a preview with a warning; confirming it must still not claim a commit
            sb.click(blocks.CONFIRM, confirm[0], REQUESTER, response_id="c")
            wait_until(lambda: "*committed*" in _said(fake_slack, PROD_CHANNEL)
                       or "*failed*" in _said(fake_slack, PROD_CHANNEL), "the outcome", 60)  # fmt: skip
        assert not confirm, _said(fake_slack, PROD_CHANNEL)
        assert "marker" in _answers(fake_slack, "p")
        assert world.state() == before  # no registry tag, no commit


# --- 9 ------------------------------------------------------------------------------------------------
def test_item9_clicks_out_of_order_or_by_the_wrong_person_change_and_wedge_nothing(
    world: World, fake_slack: FakeSlack
) -> None:
    with running_bot(world, fake_slack, approvals=1) as sb:
        before, head = world.state(), world.head()
        sb.command("/promote", f"{_tag(world)} to production", response_id="p")
        rid = preview_id(fake_slack, "p")
        assert sb.click(blocks.APPROVE, rid, APPROVER, response_id="early").status == 200  # before Confirm
        fake_slack.wait_for(lambda c: c.response_id == "early", timeout=30)
        assert sb.click(blocks.CONFIRM, rid, APPROVER, response_id="other").status == 200  # not the requester
        fake_slack.wait_for(lambda c: c.response_id == "other", timeout=30)
        assert world.state() == before
        # The requester's own Confirm still works, and the approval then counts once, and lands once.
        assert sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c").status == 200
        fake_slack.wait_for(lambda c: c.response_id == "c", timeout=30)
        assert "already being handled" not in _answers(fake_slack, "c")
        assert "Waiting for 1 approval" in _answers(fake_slack, "c"), _answers(fake_slack, "c")
        assert sb.click(blocks.APPROVE, rid, APPROVER, response_id="a").status == 200
        wait_until(lambda: world.head() != head and "committed" in _said(fake_slack, PROD_CHANNEL),
                   "the approved commit", 60)  # fmt: skip
        assert world.trailers(world.head())["Approved-by"].endswith("<slack:U0APPROVER>")


# --- 13 -----------------------------------------------------------------------------------------------
def test_item13_a_display_name_cannot_smuggle_another_identity_into_the_trailers(
    world: World, fake_slack: FakeSlack
) -> None:
    populate(fake_slack)
    fake_slack.add_user("U0MALLORY", real_name="Alice <slack:U0REQUESTER>")
    config = _config(world, fake_slack, approvals=0, users=["U0MALLORY"], groups=[])
    with _bot(world, fake_slack, config) as sb:
        head = world.head()
        sb.command("/promote", f"{_tag(world)} to production", user="U0MALLORY", response_id="p")
        rid = preview_id(fake_slack, "p")
        assert sb.click(blocks.CONFIRM, rid, "U0MALLORY", response_id="c").status == 200
        wait_until(lambda: world.head() != head, "the commit", 60)
    by = world.trailers(world.head())["Promoted-by"]
    assert by.count("<") == 1 and by.endswith("<slack:U0MALLORY>"), by
    versions = world.cli("versions")
    assert "U0REQUESTER" not in versions.stdout, versions.stdout


# --- 14 -----------------------------------------------------------------------------------------------
def test_item14_approving_re_resolves_the_source_digest_and_refuses_when_it_moved(
    world: World, fake_slack: FakeSlack
) -> None:
    with running_bot(world, fake_slack, approvals=1) as sb:
        tag = _tag(world)
        _promote_and_confirm(sb, tag)
        rid = preview_id(fake_slack, "p")
        wait_until(lambda: _approval_button(fake_slack) is not None, "the approval request", 30)
        before = world.state()
        push_image(world.registry.host, "acme/backend", [tag], seed="re-pushed")  # the source tag moves
        assert sb.click(blocks.APPROVE, rid, APPROVER, response_id="a").status == 200
        fake_slack.wait_for(lambda c: c.response_id == "a", timeout=60)
        assert "Stale" in _answers(fake_slack, "a"), _answers(fake_slack, "a")
        assert world.remote.git("for-each-ref") == before.refs
        assert not [t for t in world.registry_tags("backend") if t not in before.registry["acme/backend"]]


# --- 12 -----------------------------------------------------------------------------------------------
TOKEN_IN_URL = "ghp_QUERYSTRINGTOKEN0123456789"


def test_item12_a_token_in_the_repository_urls_query_string_is_refused_and_never_shown(world: World) -> None:
    data: dict[str, Any] = yaml.safe_load(world.config.read_text())
    data["repo"]["url"] = f"{data['repo']['url']}?access_token={TOKEN_IN_URL}"
    config = world.root / "token-in-url.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {**os.environ, "DOCKER_CONFIG": str(world.root / "docker")}
    for args in (["versions"], ["check"]):
        proc = subprocess.run([sys.executable, "-m", "bot", "-c", str(config), *args], cwd=PROJECT, env=env,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert proc.returncode != 0, proc.stdout
        assert TOKEN_IN_URL not in proc.stdout + proc.stderr
        assert "repo.url" in proc.stderr, proc.stderr
    clone = world.root / "state" / "repo" / ".git" / "config"
    assert not clone.exists() or TOKEN_IN_URL not in clone.read_text()
