"""Talking to a running bot over real HTTP: probes, signed Slack requests, signed Flux events."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.slack import blocks
from bot.wiring import Bot
from tests.canaries import FLUX_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import signed_headers

EXAMPLES = json.loads((Path(__file__).parents[1] / "conformance" / "data" / "events_examples.json").read_text())


Answer = tuple[int, dict[str, str], bytes]


def http(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    method = "POST" if body is not None else "GET"
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - loopback only
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def slack_post(bot: Bot, body: str, secret: str = SIGNING_SECRET) -> Answer:
    headers = {**signed_headers(secret, body), "Content-Type": "application/x-www-form-urlencoded"}
    return http(f"{bot.server.url}/slack/events", body.encode(), headers)


def preview_id(fake: FakeSlack, response_id: str) -> str:
    calls = fake.wait_for(lambda c: c.response_id == response_id and "blocks" in (c.json or {}), timeout=30)
    values = [el["value"] for b in calls[-1].json["blocks"] for el in b.get("elements", [])  # type: ignore[index]
              if el.get("action_id") == blocks.CONFIRM]  # fmt: skip
    assert values, calls[-1].json
    return str(values[0])


def flux_post(bot: Bot, body: bytes, token: str = FLUX_TOKEN) -> int:
    sig = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": sig}
    return http(f"{bot.server.url}/flux/events", body, headers)[0]


def reconciled_event(revision: str) -> bytes:
    ev: dict[str, Any] = dict(EXAMPLES["examples"][0]["forwarded_to_generic_provider"]["event"])
    ev["metadata"] = {"commit_status": "update", "revision": f"main@sha1:{revision}"}
    return json.dumps(ev, separators=(",", ":")).encode()
