"""What each environment has really applied (issue 19): signed Kustomization events over real HTTP to a running
bot move `applied` through deploying → live → failed, read by the CLI on the same state_dir (`versions --json`)
and by Slack's /versions, and a restart keeps it. The fleet is a real Git remote; Slack is the recording fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import Bot
from tests.fakes.slack_api import FakeSlack
from tests.integration.bot_http import EXAMPLES, flux_post, outbox_depth, reconciled_event, wait_until
from tests.integration.slack_bot import SlackBot, slack_config
from tests.integration.test_flux_kustomizations import FLUX_FILES, _start
from tests.integration.world import World, running_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        w.remote.push(FLUX_FILES, "flux: kustomizations per cluster")
        yield w


def _from(name: str, body: bytes, timestamp: str) -> bytes:
    """The event as Kustomization flux-system/<name> (which applies ./clusters/production) sent it at `timestamp`."""
    ev: dict[str, Any] = json.loads(body)
    ev["involvedObject"] = {**ev["involvedObject"], "kind": "Kustomization", "namespace": "flux-system", "name": name}
    ev["timestamp"] = timestamp
    return json.dumps(ev, separators=(",", ":")).encode()


def _failure() -> bytes:
    ex = next(e for e in EXAMPLES["examples"] if "HealthCheckFailed" in e["forwarded_to_generic_provider"]["body"])
    return json.dumps(ex["forwarded_to_generic_provider"]["event"]).encode()


def _applied(world: World, config: Path) -> Any:
    proc = world.cli("versions", "backend", "--json", "-c", str(config))
    doc = json.loads(proc.stdout)
    return doc["services"][0]["environments"]["production"]["applied"]


def _send(bot: Bot, body: bytes) -> None:
    assert flux_post(bot, body) == 202
    wait_until(lambda: outbox_depth(bot) == 0, "delivery to handle the event")


def _slack_versions(world: World, bot: Bot, fake: FakeSlack, rid: str) -> str:
    reply = SlackBot(bot, fake, world).command("/versions", "production", response_id=rid)
    assert reply.status == 200
    calls = fake.wait_for(lambda c: c.response_id == rid and "blocks" in (c.json or {}), timeout=30)
    return json.dumps(calls[-1].json["blocks"])  # type: ignore[index]


def test_applied_moves_deploying_live_failed_and_survives_a_restart(world: World, fake_slack: FakeSlack) -> None:
    config = slack_config(world, fake_slack, approvals=0, groups=[])
    bot = _start(world, fake_slack, None)
    try:
        assert _applied(world, config) is None  # no event yet: unknown, never guessed
        before = world.head()
        new = world.tags[("backend", "staging", "0.0.2")]
        proc = world.cli("promote", new, "to", "production", "--as", "Alice <cli:alice>", "-c", str(config))
        assert proc.returncode == 0, proc.stderr
        after = world.head()
        new = json.loads(world.cli("versions", "backend", "--json", "-c", str(config)).stdout)["services"][0][
            "environments"]["production"]["tag"]  # the promotion's production tag (retagged by convention)
        # Flux applied the revision before the promotion: Git desires a tag Flux has not applied yet.
        _send(bot, _from("apps-production", reconciled_event(before), "2026-12-04T10:00:00Z"))
        a = _applied(world, config)
        assert a["state"] == "deploying" and a["revision"] == before and a["at"] == "2026-12-04T10:00:00Z"
        assert a["tag"] is not None and a["tag"] != new
        assert "deploying" in _slack_versions(world, bot, fake_slack, "v1")
        # Flux applied the promotion's commit (its time with an offset, stored as UTC): live.
        _send(bot, _from("apps-production", reconciled_event(after), "2026-12-04T11:05:00+01:00"))
        assert _applied(world, config) == {"tag": new, "revision": after, "at": "2026-12-04T10:05:00Z",
                                           "state": "live"}  # fmt: skip
        # A late retry of an older event changes nothing.
        _send(bot, _from("apps-production", reconciled_event(before), "2026-12-04T09:00:00Z"))
        assert _applied(world, config)["state"] == "live"
        # The health check fails afterwards: failed, the applied revision kept.
        _send(bot, _from("apps-production", _failure(), "2026-12-04T10:10:00Z"))
        assert _applied(world, config) == {"tag": new, "revision": after, "at": "2026-12-04T10:05:00Z",
                                           "state": "failed"}  # fmt: skip
    finally:
        bot.stop()
    again = _start(world, fake_slack, None)
    try:
        assert _applied(world, config)["state"] == "failed"
        assert "failed" in _slack_versions(world, again, fake_slack, "v2")
    finally:
        again.stop()
