"""Distinctive fake secrets in the bot's environment never show up in its logs, its Slack messages or its commits.

The bot is assembled the way `gitops-bot serve` does it: secrets read from the environment (two through *_FILE),
logging installed by `service.install_logging` (JSON, redaction filter) - here at DEBUG, so library chatter is
in the capture too. Git goes over smart HTTP with the token, so the token is really used. The flow: a promotion
to production with two-person approval, Flux events (one forged), a token pasted into a command by mistake, and a
registry that is down.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import settings as settings_mod
from bot.adapters.registry_auth import env_prefix
from bot.service import install_logging
from bot.slack import blocks
from bot.wiring import assemble
from tests.canaries import APP_TOKEN, BOT_TOKEN, FLUX_TOKEN, GIT_TOKEN, REGISTRY_PASSWORD, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_body, command_body
from tests.integration.bot_http import flux_post, http, preview_id, reconciled_event, slack_post
from tests.integration.slack_bot import APPROVER, ORIGIN, REQUESTER, populate, slack_config
from tests.integration.world import World, running_world
from tests.servers.git_daemon import GitHTTP, serving_git_http

SECRETS = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, FLUX_TOKEN, GIT_TOKEN, REGISTRY_PASSWORD)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


@pytest.fixture
def git_http(world: World) -> Iterator[GitHTTP]:
    """The world's remotes over smart HTTP, accepting only GIT_TOKEN."""
    with serving_git_http(world.daemon.base) as server:
        yield server


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """install_logging replaces the root handlers and level, as serve wants; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield root
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in handlers:
            root.addHandler(h)
        root.setLevel(level)


def _environment(monkeypatch: pytest.MonkeyPatch, world: World, tmp_path: Path) -> None:
    flux_file, password_file = tmp_path / "flux-token", tmp_path / "registry-password"
    flux_file.write_text(FLUX_TOKEN + "\n")
    password_file.write_text(REGISTRY_PASSWORD + "\n")
    prefix = env_prefix(world.registry.host)
    for name, value in {
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_APP_TOKEN": APP_TOKEN,
        "FLUX_WEBHOOK_TOKEN_FILE": str(flux_file), "GIT_TOKEN": GIT_TOKEN,
        f"{prefix}_USERNAME": "promoter", f"{prefix}_PASSWORD_FILE": str(password_file),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


def _config(world: World, fake: FakeSlack, git_http: GitHTTP) -> Path:
    path = slack_config(world, fake, approvals=1, groups=["sre-oncall"])
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data["repo"]["url"] = git_http.url(world.remote.name)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_no_secret_reaches_logs_slack_or_git(
    world: World, git_http: GitHTTP, root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _environment(monkeypatch, world, tmp_path)
    with FakeSlack(token=BOT_TOKEN) as fake:
        populate(fake)
        settings = settings_mod.load(_config(world, fake, git_http))
        capture = io.StringIO()
        install_logging("json", settings, level=logging.DEBUG, stream=capture)
        bot = assemble(
            settings,
            bot_token=settings_mod.secret("SLACK_BOT_TOKEN", required=True) or "",
            signing_secret=settings_mod.secret("SLACK_SIGNING_SECRET"),
            flux_token=settings_mod.secret("FLUX_WEBHOOK_TOKEN"),
        )
        bot.server.start()
        try:
            # A promotion to production: preview, confirm, a second person approves.
            tag = world.tags[("backend", "staging", "0.0.2")]
            body = command_body("/promote", f"{tag} to production", user_id=REQUESTER, channel_id=ORIGIN,
                                response_url=fake.response_url("p"))  # fmt: skip
            assert slack_post(bot, body, SIGNING_SECRET)[0] == 200
            rid = preview_id(fake, "p")
            for user, action, rsp in ((REQUESTER, blocks.CONFIRM, "c"), (APPROVER, blocks.APPROVE, "a")):
                click = action_body(action, rid, user_id=user, channel_id=ORIGIN, response_url=fake.response_url(rsp))
                assert slack_post(bot, click, SIGNING_SECRET)[0] == 200
                if action == blocks.CONFIRM:
                    fake.wait_for(lambda c: c.method == "chat.update" and "Approve" in json.dumps(c.json), timeout=30)
            fake.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
            head = world.head()
            assert world.trailers(head)["Request-id"] == rid

            # Flux: a forged post, then the reconcile that closes the promotion's thread.
            assert flux_post(bot, reconciled_event(head), token="forged") == 401
            assert flux_post(bot, reconciled_event(head), token=FLUX_TOKEN) == 202
            fake.wait_for(lambda c: c.method == "chat.update" and "reconciled" in json.dumps(c.json), timeout=20)

            # Someone pastes the bot token where a tag belongs: the ack echoes it (Bolt logs acks at DEBUG).
            pasted = command_body("/promote", f"{BOT_TOKEN} to production", user_id=REQUESTER, channel_id=ORIGIN,
                                  response_url=fake.response_url("x"))  # fmt: skip
            status, _, answer = slack_post(bot, pasted, SIGNING_SECRET)
            assert status == 200 and BOT_TOKEN.encode() in answer  # only to the person who typed it

            # The registry goes away: the next promotion fails on its first registry call.
            world.registry.stop()
            other = world.tags[("frontend", "staging", "0.0.2")]
            body = command_body("/promote", f"{other} to production service:frontend", user_id=REQUESTER,
                                channel_id=ORIGIN, response_url=fake.response_url("r"))  # fmt: skip
            assert slack_post(bot, body, SIGNING_SECRET)[0] == 200
            failed = fake.wait_for(lambda c: c.response_id == "r" and "⚠️" in json.dumps(c.json, ensure_ascii=False),
                                   timeout=30)  # fmt: skip
            assert world.registry.host in json.dumps(failed[-1].json)
            assert http(f"{bot.server.url}/metrics")[0] == 200
        finally:
            bot.stop()
        logging.getLogger("bot.canary").warning("control: %s", GIT_TOKEN, extra={"token": REGISTRY_PASSWORD})
        slack = json.dumps([{"method": c.method, "params": c.params, "json": c.json, "answer": c.answer}
                            for c in fake.calls()], ensure_ascii=False)  # fmt: skip
        slack += json.dumps([m.as_json() for m in fake.messages()], ensure_ascii=False)

    logs = capture.getvalue()
    lines = [json.loads(line) for line in logs.splitlines()]
    commits = world.remote.git("log", "-p", "--all", "--format=fuller")
    clone_config = (settings.state_dir / "repo" / ".git" / "config").read_text()

    # The capture is the real thing: everyone logged through it, with the ids that tie the story together.
    assert {"bot.slack.request_flow", "bot.slack.outbox", "bot.flux.receiver"} <= {line["logger"] for line in lines}
    assert any(line["logger"].startswith("slack_bolt") for line in lines)  # library chatter (DEBUG) too
    reconciled = [line for line in lines if line["logger"] == "bot.slack.outbox" and "reconciled" in line["msg"]]
    assert reconciled and reconciled[0]["request_id"] == rid and reconciled[0]["flux_request_id"] != rid
    assert any(line["request_id"] == rid and "promote in production: committed" in line["msg"]
               for line in lines if "request_id" in line)  # fmt: skip
    assert {"msg": "control: ***", "token": "***"}.items() <= lines[-1].items()
    # The token was really used (git asks anonymously first, then with the token):
    assert git_http.accepted > 0 and git_http.seen_auth and all(git_http.authorised(a) for a in git_http.seen_auth)

    for secret in SECRETS:
        assert secret not in logs, f"{secret} in the logs"
        assert secret not in slack, f"{secret} in what the bot sent to Slack"
        assert secret not in commits, f"{secret} in the commits"
        assert secret not in clone_config, f"{secret} in the clone's .git/config"
