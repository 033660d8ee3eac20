"""Socket Mode, the chart's default, end to end: a real WebSocket server plays Slack (tests/servers/socket_mode.py),
the bot's own slack_sdk client dials it through the fake `apps.connections.open`, commands and clicks arrive as
envelopes and must be acked inside Slack's 3 s, the commit lands in the git daemon remote. Readiness follows the
socket: it goes 503 naming Slack when the socket is down or was never allowed, and back to 200 when it is up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack import blocks
from bot.wiring import Bot
from tests.fakes.slack_api import FakeSlack
from tests.integration.slack_bot import ORIGIN, REQUESTER, readyz, running_socket_bot, wait_until
from tests.integration.world import World, running_world
from tests.servers.socket_mode import SocketModeServer

ACK_BUDGET = 3.0  # Slack's rule; a loaded 2-core CI machine still answers in milliseconds


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


@pytest.fixture
def socket_server(fake_slack: FakeSlack) -> Iterator[SocketModeServer]:
    with SocketModeServer(fake_slack) as server:
        yield server


def _confirm_id(fake: FakeSlack, response_id: str) -> str:
    calls = fake.wait_for(lambda c: c.response_id == response_id and "blocks" in (c.json or {}), timeout=30)
    for block in calls[-1].json["blocks"]:  # type: ignore[index]
        for el in block.get("elements", []):
            if el.get("action_id") == blocks.CONFIRM:
                return str(el["value"])
    raise AssertionError(f"no Confirm button in {calls[-1].json}")


def _ready(bot: Bot) -> bool:
    return readyz(bot)[0] == 200


def test_command_and_click_over_the_socket_commit_once(world: World, fake_slack: FakeSlack,
                                                       socket_server: SocketModeServer) -> None:
    tag = world.tags[("backend", "staging", "0.0.2")]
    with running_socket_bot(world, fake_slack) as sb:
        socket_server.wait_connected()
        wait_until(lambda: _ready(sb.bot), what="/readyz 200 with the socket up")
        assert readyz(sb.bot)[1]["checks"]["slack_socket"] == "ok"
        before = world.head()
        eid = socket_server.command("/promote", f"{tag} to production", user=REQUESTER, channel=ORIGIN,
                                    response_id="p")
        (ack,) = socket_server.wait_ack(eid)
        assert ack.seconds < ACK_BUDGET and "Planning" in json.dumps(ack.payload)
        request_id = _confirm_id(fake_slack, "p")
        assert world.head() == before  # the preview wrote nothing
        # Slack redelivers an envelope it thinks was not acked: the same click arrives twice.
        click = socket_server.click(blocks.CONFIRM, request_id, user=REQUESTER, channel=ORIGIN, response_id="c")
        socket_server.click(blocks.CONFIRM, request_id, user=REQUESTER, channel=ORIGIN, response_id="c2",
                            envelope_id=click, retry_attempt=1)
        acks = socket_server.wait_ack(click, count=2)
        assert max(a.seconds for a in acks) < ACK_BUDGET
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
        fake_slack.wait_for(lambda c: c.response_id == "c2", timeout=30)  # the duplicate was answered too…
        assert len(world.new_commits(before)) == 1  # …and did nothing
        assert len([m for m in fake_slack.messages() if not m.is_reply]) == 1  # one thread


def test_refresh_requested_reconnects_and_keeps_serving(world: World, fake_slack: FakeSlack,
                                                        socket_server: SocketModeServer) -> None:
    with running_socket_bot(world, fake_slack) as sb:
        socket_server.wait_connected()
        opened = len(fake_slack.calls("apps.connections.open"))
        socket_server.refresh()
        socket_server.wait_connected(count=2)
        assert len(fake_slack.calls("apps.connections.open")) > opened  # a fresh URL, as Slack requires
        wait_until(lambda: _ready(sb.bot), what="/readyz 200 after the refresh")
        eid = socket_server.command("/versions", "", user=REQUESTER, channel=ORIGIN, response_id="v")
        assert socket_server.wait_ack(eid)[0].seconds < ACK_BUDGET
        fake_slack.wait_for(lambda c: c.response_id == "v" and "blocks" in (c.json or {}), timeout=30)


def test_vanished_server_turns_readiness_red_until_it_is_back(world: World, fake_slack: FakeSlack,
                                                              socket_server: SocketModeServer) -> None:
    with running_socket_bot(world, fake_slack) as sb:
        socket_server.wait_connected()
        wait_until(lambda: _ready(sb.bot), what="/readyz 200")
        socket_server.stop()
        wait_until(lambda: readyz(sb.bot)[0] == 503, what="/readyz 503 once the socket is gone")
        _, body = readyz(sb.bot)
        assert body["checks"]["slack_socket"].startswith("failing:") and "Slack" in body["checks"]["slack_socket"]
        assert body["checks"]["git"] == "ok"
        socket_server.start()  # back, on a new port handed out by apps.connections.open
        socket_server.wait_connected(count=2, timeout=30)
        wait_until(lambda: _ready(sb.bot), what="/readyz 200 once reconnected")
        eid = socket_server.command("/versions", "", user=REQUESTER, channel=ORIGIN, response_id="v")
        assert socket_server.wait_ack(eid)[0].seconds < ACK_BUDGET


def test_refused_connections_open_keeps_serve_up_and_says_why(world: World, fake_slack: FakeSlack,
                                                               socket_server: SocketModeServer) -> None:
    fake_slack.fail_next("apps.connections.open", "invalid_auth", times=1000)
    with running_socket_bot(world, fake_slack, socket_retry=0.2) as sb:  # assemble did not raise
        status, body = readyz(sb.bot)
        assert status == 503
        assert body["checks"]["slack_socket"] == "failing: Slack refused apps.connections.open (invalid_auth)"
        fake_slack.clear_failures()  # the token is fixed: the bot keeps asking and gets in
        socket_server.wait_connected()
        wait_until(lambda: _ready(sb.bot), what="/readyz 200 once Slack lets the bot in")
        eid = socket_server.command("/versions", "", user=REQUESTER, channel=ORIGIN, response_id="v")
        assert socket_server.wait_ack(eid)[0].seconds < ACK_BUDGET
