"""A running bot in HTTP mode for Slack tests: real world (git daemon + docker-registry), fake Slack Web API.

Requests are signed exactly as Slack signs them and sent over real HTTP to the bot's listener.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot import settings as settings_mod
from bot.wiring import Bot, assemble
from tests.canaries import APP_TOKEN
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_body, command_body, signed_headers, view_submission_body
from tests.integration.world import World

REQUESTER = "U0REQUESTER"
APPROVER = "U0APPROVER"
OUTSIDER = "U0OUTSIDER"
GUEST = "U0GUEST"
PROD_CHANNEL = "C0PROD"
STAGING_CHANNEL = "C0STAGING"
ORIGIN = "C0DEPLOYS"


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class SlackBot:
    bot: Bot
    fake: FakeSlack
    world: World

    @property
    def url(self) -> str:
        return f"{self.bot.server.url}/slack/events"

    def post(self, body: str, headers: dict[str, str]) -> Reply:
        req = urllib.request.Request(self.url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
                return Reply(resp.status, resp.read(), time.perf_counter() - t0)
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read(), time.perf_counter() - t0)

    def command(self, command: str, text: str, user: str = REQUESTER, response_id: str = "r") -> Reply:
        body = command_body(
            command, text, user_id=user, channel_id=ORIGIN, response_url=self.fake.response_url(response_id)
        )
        return self.post(
            body, {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        )

    def click(self, action_id: str, value: str, user: str, response_id: str = "c") -> Reply:
        body = action_body(
            action_id, value, user_id=user, channel_id=ORIGIN, response_url=self.fake.response_url(response_id)
        )
        return self.post(
            body, {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        )

    def submit_view(self, callback_id: str, private_metadata: str, values: dict[str, dict[str, str]],
                    user: str) -> Reply:
        body = view_submission_body(callback_id, private_metadata, values, user_id=user)
        return self.post(
            body, {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        )


def slack_config(world: World, fake: FakeSlack, *, approvals: int, groups: list[str]) -> Path:
    data: dict[str, Any] = yaml.safe_load(world.config.read_text())
    data["slack"] = {"api_url": fake.base_url}
    data["environments"] = {
        "develop": {},
        "staging": {"channel": STAGING_CHANNEL},
        "production": {
            "channel": PROD_CHANNEL,
            "approvals": approvals,
            "approval_ttl": "30m",
            "promoters": {"users": [REQUESTER], "groups": groups},
        },
    }
    path = world.root / f"slack-{approvals}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def populate(fake: FakeSlack) -> None:
    fake.add_user(REQUESTER, real_name="Alice Requester")
    fake.add_user(APPROVER, real_name="Bob Approver")
    fake.add_user(OUTSIDER, real_name="Eve Outsider")
    fake.add_user(GUEST, real_name="Gus Guest", is_restricted=True)
    fake.add_usergroup("S0SRE", "sre-oncall", [APPROVER, GUEST])
    for ch in (PROD_CHANNEL, STAGING_CHANNEL, ORIGIN):
        fake.add_channel(ch)


@contextmanager
def running_bot(world: World, fake: FakeSlack, *, approvals: int = 0, clock: Any = time.time,
                flux_token: str | None = None) -> Iterator[SlackBot]:
    populate(fake)
    settings = settings_mod.load(slack_config(world, fake, approvals=approvals, groups=["sre-oncall"]))
    bot = assemble(settings, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, clock=clock,
                   flux_token=flux_token)  # fmt: skip
    bot.server.start()
    try:
        yield SlackBot(bot, fake, world)
    finally:
        bot.stop()


@contextmanager
def running_socket_bot(world: World, fake: FakeSlack, *, approvals: int = 0, socket_retry: float = 30.0,
                       ping: float = 0.5) -> Iterator[SlackBot]:
    """The bot in Socket Mode (the chart's default): it dials the fake's `apps.connections.open`, no signing
    secret. `ping` is how often the client notices a dead socket and dials again (10 s in production)."""
    populate(fake)
    settings = settings_mod.load(slack_config(world, fake, approvals=approvals, groups=["sre-oncall"]))
    bot = assemble(settings, bot_token=BOT_TOKEN, signing_secret=None, app_token=APP_TOKEN,
                   socket_ping=ping, socket_retry=socket_retry)  # fmt: skip
    bot.server.start()
    try:
        yield SlackBot(bot, fake, world)
    finally:
        bot.stop()


def readyz(bot: Bot) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{bot.server.url}/readyz", timeout=10) as resp:  # noqa: S310 - loopback
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `condition` every 50 ms until it holds; the timeout only bounds a failing test."""
    deadline, tick = time.monotonic() + timeout, threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        tick.wait(0.05)
