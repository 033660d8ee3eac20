"""The Slack app manifest declares exactly the commands the bot parses and the scopes it uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack.parse import USAGE

MANIFEST = Path(__file__).resolve().parents[2] / "config" / "slack-app-manifest.yaml"


def test_manifest_matches_the_bot() -> None:
    m = yaml.safe_load(MANIFEST.read_text())
    assert sorted(c["command"] for c in m["features"]["slash_commands"]) == sorted(USAGE)
    assert set(m["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "chat:write.public", "usergroups:read", "users:read"
    }
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is True
