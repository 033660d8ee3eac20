"""The bot starts when Slack is unreachable and says so on /readyz instead of crashing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from bot import settings as settings_mod
from bot.wiring import assemble
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.integration.world import running_world


def test_unreachable_slack_is_reported_not_fatal(tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        data = yaml.safe_load(world.config.read_text())
        data["slack"] = {"api_url": "http://127.0.0.1:9/api/"}  # nothing listens on the discard port
        cfg = world.root / "no-slack.yaml"
        cfg.write_text(yaml.safe_dump(data))
        bot = assemble(settings_mod.load(cfg), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)
        bot.server.start()
        try:
            try:
                urllib.request.urlopen(f"{bot.server.url}/readyz", timeout=10)  # noqa: S310 - loopback
                raise AssertionError("/readyz must not be 200 without Slack")
            except urllib.error.HTTPError as err:
                assert err.code == 503
                body = json.loads(err.read())
            assert body["checks"]["slack"].startswith("failing") and body["checks"]["git"] == "ok"
            with urllib.request.urlopen(f"{bot.server.url}/healthz", timeout=10) as resp:  # noqa: S310
                assert resp.status == 200
        finally:
            bot.stop()
