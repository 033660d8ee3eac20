"""Events from Flux Kustomizations in `flux-system` reach the channel of the environment they apply (LAYOUTS §13),
and an event nothing places reaches `flux.default_channel` and the log: signed generic-hmac posts over real
HTTP to the running bot, the fleet in a real Git remote, Slack's Web API as the local recording fake."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import settings as settings_mod
from bot.wiring import Bot, assemble
from tests.canaries import BOT_TOKEN, FLUX_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.integration.bot_http import EXAMPLES, flux_events, flux_post, outbox_depth, wait_until
from tests.integration.slack_bot import PROD_CHANNEL, STAGING_CHANNEL, populate, slack_config
from tests.integration.world import World, running_world

DEFAULT = "C0FLUXDEFAULT"


def _ks(name: str, path: str, **spec: str) -> str:
    extra = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  prune: true\n"
        f"  sourceRef:\n    kind: GitRepository\n    name: fleet\n  path: {path}\n{extra}"
    )


# The Kustomizations as a fleet keeps them: the one of the issue (named for its env, path ./clusters/production),
# one whose name and path say nothing (its env shows only in the markers its kustomization file's resources
# reach), and one applying infrastructure with no markers at all.
FLUX_FILES = {
    "clusters/flux-system/kustomizations.yaml": "---\n".join([
        _ks("apps-production", "./clusters/production"),
        _ks("cluster-b", "./clusters/b"),
        _ks("infra", "./infrastructure"),
    ]),
    "clusters/production/kustomization.yaml": "resources:\n  - ../../flux/apps/backend/production/deployment.yaml\n",
    "clusters/b/kustomization.yaml": "resources:\n  - ../../flux/apps/frontend/overlays/staging\n",
    "infrastructure/ingress.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress\n",
}  # fmt: skip


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        w.remote.push(FLUX_FILES, "flux: kustomizations per cluster")
        yield w


def _start(world: World, fake: FakeSlack, default_channel: str | None) -> Bot:
    populate(fake)
    fake.add_channel(DEFAULT)
    path = slack_config(world, fake, approvals=0, groups=[])
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data["flux"] = {"default_channel": default_channel} if default_channel else {}
    path.write_text(yaml.safe_dump(data))
    bot = assemble(settings_mod.load(path), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, flux_token=FLUX_TOKEN)
    bot.server.start()
    return bot


def _health_failure(name: str) -> bytes:
    """The health-check failure example, from Kustomization flux-system/<name>."""
    ex = next(e for e in EXAMPLES["examples"] if "HealthCheckFailed" in e["forwarded_to_generic_provider"]["body"])
    ev: dict[str, Any] = dict(ex["forwarded_to_generic_provider"]["event"])
    ev["involvedObject"] = {**ev["involvedObject"], "kind": "Kustomization", "namespace": "flux-system", "name": name}
    return json.dumps(ev, separators=(",", ":")).encode()


def _posted(fake: FakeSlack, channel: str) -> list[str]:
    return [m.text for m in fake.messages(channel)]


def test_a_flux_system_kustomization_failure_reaches_its_env_channel(world: World, fake_slack: FakeSlack) -> None:
    bot = _start(world, fake_slack, None)  # every env channel set, no default channel: as the issue found it
    try:
        assert flux_post(bot, _health_failure("apps-production")) == 202
        fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.params.get("channel") == PROD_CHANNEL,
                            timeout=20)  # fmt: skip
        assert any("health check failed" in t for t in _posted(fake_slack, PROD_CHANNEL))
        # Placed by the markers its kustomization file's resources reach: staging, though nothing in its name
        # or path says so.
        assert flux_post(bot, _health_failure("cluster-b")) == 202
        fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.params.get("channel") == STAGING_CHANNEL,
                            timeout=20)  # fmt: skip
        assert any("health check failed" in t for t in _posted(fake_slack, STAGING_CHANNEL))
        assert _posted(fake_slack, DEFAULT) == []
    finally:
        bot.stop()


def test_an_unplaceable_event_reaches_the_default_channel_and_the_log(
    world: World, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = _start(world, fake_slack, DEFAULT)
    caplog.set_level(logging.WARNING, logger="bot.slack.outbox")
    try:
        assert flux_post(bot, _health_failure("infra")) == 202
        fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.params.get("channel") == DEFAULT,
                            timeout=20)  # fmt: skip
        assert any("health check failed" in t for t in _posted(fake_slack, DEFAULT))
        assert any("unrouted Flux event Kustomization flux-system/infra" in r.getMessage() for r in caplog.records)
    finally:
        bot.stop()


def test_without_a_default_channel_an_unplaceable_event_is_logged_as_unrouted(
    world: World, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = _start(world, fake_slack, None)
    caplog.set_level(logging.WARNING, logger="bot.slack.outbox")
    try:
        assert flux_post(bot, _health_failure("infra")) == 202
        wait_until(lambda: flux_events(bot) == 1, "the receiver to count the event")
        wait_until(lambda: outbox_depth(bot) == 0, "the outbox to drain")
        wait_until(lambda: any("unrouted Flux event" in r.getMessage() for r in caplog.records), "the unrouted log")
        line = next(r.getMessage() for r in caplog.records if "unrouted Flux event" in r.getMessage())
        assert "flux-system/infra" in line and "flux.default_channel" in line
        assert fake_slack.calls("chat.postMessage") == []
    finally:
        bot.stop()
