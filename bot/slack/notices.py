"""Channel notices the jobs queue: their wording and buttons, as outbox payloads."""

from __future__ import annotations

import json

from bot.promotion.new_builds import NewBuild
from bot.slack import blocks
from bot.slack import messages as say


def new_build_payload(build: NewBuild) -> str:
    """"A new staging build is ready to promote", with a Promote button for exactly that build."""
    value = json.dumps({"tag": build.tag, "env": build.target, "service": build.service})
    text = say.new_build(build.service, build.version, build.sha, build.source, build.target)
    button = blocks.button("Promote", blocks.PROMOTE_FROM_VERSIONS, value, "primary")
    return json.dumps({"text": text, "blocks": [blocks.section(text), {"type": "actions", "elements": [button]}]})
