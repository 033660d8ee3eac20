"""Talking to a running bot over real HTTP: probes, signed Slack requests, signed Flux events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

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


def metric(bot: Bot, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`, read from GET /metrics as a scraper would."""
    status, _, body = http(f"{bot.server.url}/metrics")
    assert status == 200, body
    return sum(
        s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def outbox_depth(bot: Bot) -> float:
    """Messages still waiting in the outbox for Slack (the gauge is read at scrape time)."""
    return metric(bot, "gitops_bot_outbox_depth")


def flux_events(bot: Bot, result: str | None = None) -> float:
    """Flux posts the receiver has finished with (accepted or rejected, or only `result`)."""
    return metric(bot, "gitops_bot_flux_events_total", **({"result": result} if result else {}))


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll `predicate` until it holds; fail naming `what` after `timeout` seconds. A test that then asserts
    that something did NOT happen waits here first for proof the system got past the point where it would have."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.02)


def flux_post(bot: Bot, body: bytes, token: str = FLUX_TOKEN) -> int:
    sig = "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": sig}
    return http(f"{bot.server.url}/flux/events", body, headers)[0]


def reconciled_event(revision: str) -> bytes:
    ev: dict[str, Any] = dict(EXAMPLES["examples"][0]["forwarded_to_generic_provider"]["event"])
    ev["metadata"] = {"commit_status": "update", "revision": f"main@sha1:{revision}"}
    return json.dumps(ev, separators=(",", ":")).encode()
