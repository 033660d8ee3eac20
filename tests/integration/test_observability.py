"""Health, readiness and metrics over real HTTP; one request id from the slash command to the commit.

The bot runs as in tests/integration/slack_bot.py: the real world (git daemon + docker-registry), the fake Slack
Web API, signed requests over HTTP. /metrics is read and parsed with prometheus_client's own parser.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot import settings as settings_mod
from bot import wiring
from bot.core.commit_message import CommitMessage
from bot.core.plan import Edit
from bot.observability import Metrics
from bot.promotion.ports import Snapshot
from bot.slack import blocks
from bot.wiring import Bot, assemble
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_body, command_body
from tests.integration.bot_http import FLUX_TOKEN, flux_post, http, preview_id, reconciled_event, slack_post
from tests.integration.slack_bot import ORIGIN, PROD_CHANNEL, REQUESTER, populate, slack_config
from tests.integration.world import World, running_world

FAMILIES = {
    "gitops_bot_promotions": "counter",
    "gitops_bot_promotion_duration_seconds": "histogram",
    "gitops_bot_git_push_retries": "counter",
    "gitops_bot_registry_request_duration_seconds": "histogram",
    "gitops_bot_flux_events": "counter",
    "gitops_bot_outbox_depth": "gauge",
    "gitops_bot_slack_rate_limited": "counter",
}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def start(world: World, fake: FakeSlack, *, approvals: int = 0) -> Bot:
    populate(fake)
    settings = settings_mod.load(slack_config(world, fake, approvals=approvals, groups=["sre-oncall"]))
    bot = assemble(settings, bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, flux_token=FLUX_TOKEN)
    bot.server.start()
    return bot


def scrape(bot: Bot) -> tuple[dict[str, str], Samples]:
    status, headers, body = http(f"{bot.server.url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    families = list(text_string_to_metric_families(body.decode()))
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}
    return {f.name: f.type for f in families}, samples


def test_probes_metrics_and_one_request_id_over_http(world: World, fake_slack: FakeSlack) -> None:
    bot = start(world, fake_slack)
    try:
        status, headers, body = http(f"{bot.server.url}/healthz")
        assert (status, body) == (200, b"ok")
        assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-Id"])
        status, _, body = http(f"{bot.server.url}/readyz")
        assert status == 200, body
        checks = {"scheduler": "ok", "slack": "ok", "git": "ok", "state": "ok"}
        assert json.loads(body) == {"ready": True, "checks": checks}

        types, before = scrape(bot)
        assert {name: types.get(name) for name in FAMILIES} == FAMILIES
        assert not any(name == "gitops_bot_promotions_total" for name, _ in before)

        # The first post to the env channel is rate limited: the client waits Retry-After and the 429 is counted.
        fake_slack.fail_next("chat.postMessage", retry_after=1)
        tag = world.tags[("backend", "staging", "0.0.2")]
        body_text = command_body("/promote", f"{tag} to production", user_id=REQUESTER, channel_id=ORIGIN,
                                 response_url=fake_slack.response_url("p"))  # fmt: skip
        status, headers, _ = slack_post(bot, body_text)
        assert status == 200
        rid = preview_id(fake_slack, "p")
        # The slash command's own id is the request's key, the Confirm button's value and (below) the trailer.
        assert rid == headers["X-Request-Id"]
        click = action_body(blocks.CONFIRM, rid, user_id=REQUESTER, channel_id=ORIGIN,
                            response_url=fake_slack.response_url("c"))  # fmt: skip
        assert slack_post(bot, click)[0] == 200
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=30)
        head = world.head()
        assert world.trailers(head)["Request-id"] == rid

        assert flux_post(bot, reconciled_event(head), token="not-the-token") == 401
        assert flux_post(bot, b"{not json", token=FLUX_TOKEN) == 400
        assert flux_post(bot, reconciled_event(head)) == 202
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "reconciled" in json.dumps(c.json), timeout=20)
        # Slack sees the update a moment before the deliverer marks the row done; the gauge is read at scrape time,
        # so wait for the outbox to drain before comparing the two.
        deadline = time.monotonic() + 20
        while bot.store.depth() and time.monotonic() < deadline:
            time.sleep(0.02)

        _, after = scrape(bot)
        promoted = (("action", "promote"), ("env", "production"), ("result", "committed"))
        assert after[("gitops_bot_promotions_total", promoted)] == 1.0
        assert after[("gitops_bot_promotion_duration_seconds_count", promoted)] == 1.0
        assert 0 < after[("gitops_bot_promotion_duration_seconds_sum", promoted)] < 60
        registry = {k: v for k, v in after.items()
                    if k[0] == "gitops_bot_registry_request_duration_seconds_count"
                    and ("host", world.registry.host) in k[1]}  # fmt: skip
        assert sum(registry.values()) >= 3  # digest lookups, tag list, the retag's PUTs and read-backs
        assert (("host", world.registry.host), ("status", "201")) in {k[1] for k in registry}  # the PUT
        assert after[("gitops_bot_flux_events_total", (("reason", "unauthorized"), ("result", "rejected")))] == 1.0
        assert after[("gitops_bot_flux_events_total", (("reason", "invalid"), ("result", "rejected")))] == 1.0
        assert after[("gitops_bot_flux_events_total", (("reason", "new"), ("result", "accepted")))] == 1.0
        assert after[("gitops_bot_slack_rate_limited_total", (("method", "chat.postMessage"),))] == 1.0
        assert after[("gitops_bot_git_push_retries_total", ())] == 0.0
        assert after[("gitops_bot_outbox_depth", ())] == 0.0 == bot.store.depth()
        parent = next(m for m in fake_slack.messages(PROD_CHANNEL) if not m.is_reply)
        assert "reconciled" in parent.text
    finally:
        bot.stop()


def test_push_retries_are_counted(world: World) -> None:
    """The Git adapter as the composition root builds it for a bot: a push rejected because someone else pushed
    between the plan and the push is re-planned, and counted."""
    metrics = Metrics()
    ctx = wiring.context(settings_mod.load(world.config), metrics=metrics)
    raced: list[str] = []

    def plan(snapshot: Snapshot) -> Edit | None:
        if not raced:
            raced.append(world.remote.push({"README.md": "moved meanwhile\n"}, "docs"))
        return Edit({"NOTES.md": f"planned on {snapshot.head}\n"}, CommitMessage("Add notes"))

    result = ctx.repo.commit_and_push(plan)
    assert result.tries == 2 and raced
    samples = {s.name: s.value for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())
               for s in f.samples}  # fmt: skip
    assert samples["gitops_bot_git_push_retries_total"] == 1.0


def test_readyz_is_503_naming_git_when_the_remote_is_unreachable(world: World, fake_slack: FakeSlack) -> None:
    first = start(world, fake_slack)
    try:
        assert http(f"{first.server.url}/readyz")[0] == 200
        world.daemon.stop()
        second = start(world, fake_slack)  # a second bot in the same process: its own metrics registry
        try:
            status, _, body = http(f"{second.server.url}/readyz")
            assert status == 503, body
            checks = json.loads(body)["checks"]
            assert checks["slack"] == "ok" and checks["scheduler"] == "ok"
            assert checks["git"].startswith("failing: ") and f"127.0.0.1:{world.daemon.port}" in checks["git"]
            assert http(f"{second.server.url}/healthz")[0] == 200  # alive, just not ready
            assert set(FAMILIES) <= set(scrape(second)[0]) and set(FAMILIES) <= set(scrape(first)[0])
        finally:
            second.stop()
    finally:
        first.stop()
