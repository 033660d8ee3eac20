"""The registry misbehaves under a promotion driven through Slack: 500s, stalls past the timeout, recovery.

The bot reaches the real docker-registry only through a FaultProxy sitting on the address the world was
seeded with (image names in Git, the bot's config); the test reads the registry directly, around the proxy.
Every case ends with what the user saw in Slack, the Git remote, the bot's clone and the registry's tags.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot import settings as settings_mod
from bot.slack import blocks
from bot.wiring import assemble
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import Call, FakeSlack
from tests.integration.slack_bot import PROD_CHANNEL, REQUESTER, SlackBot, populate, slack_config
from tests.integration.world import World, registry_state, running_world
from tests.servers.fault_proxy import FaultProxy, take_over
from tests.servers.git_daemon import git

REGISTRY_TIMEOUT = 1.0  # registries.<host>.timeout in the bot's config: seconds per attempt
TRIES = 4  # RegistryClient: the first attempt and 3 retries
# What a person must never be shown: Python's own words for a failure.
LEAKED = re.compile(
    r"Traceback|\b\w+(Error|Exception)\b|ReadTimeout|ConnectTimeout|urllib3|requests\.|HTTPConnectionPool|"
    r"Max retries|RemoteDisconnected|File \"",
)


@dataclass
class Rig:
    world: World
    proxy: FaultProxy
    sb: SlackBot
    fake: FakeSlack

    @property
    def clone(self) -> Path:
        return self.world.root / "state" / "repo"


@contextmanager
def running_rig(root: Path, fake: FakeSlack, *, repo_timeout: float | None = None) -> Iterator[Rig]:
    """A world whose registry is behind a FaultProxy, and a bot in HTTP mode with short registry timeouts."""
    with running_world(root) as world:
        proxy = take_over(world.registry)
        try:
            populate(fake)
            path = slack_config(world, fake, approvals=0, groups=["sre-oncall"])
            data = yaml.safe_load(path.read_text())
            data["registries"][proxy.host]["timeout"] = f"{REGISTRY_TIMEOUT:g}s"
            if repo_timeout is not None:
                data["repo"]["timeout"] = f"{repo_timeout:g}s"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            bot = assemble(settings_mod.load(path), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)
            bot.server.start()
            try:
                yield Rig(world, proxy, SlackBot(bot, fake, world), fake)
            finally:
                bot.stop()
        finally:
            proxy.stop()


@pytest.fixture
def rig(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Rig]:
    with running_rig(tmp_path, fake_slack) as r:
        yield r


@dataclass(frozen=True)
class Outcome:
    status: str  # "committed" or "failed", from the thread's final chat.update
    seen: str  # everything the person was shown about it: the thread, its replies, the click's answers
    seconds: float  # from the click to the final status


def _staging_tag(world: World) -> str:
    return world.tags[("backend", "staging", "0.0.2")]


def preview(rig: Rig, rid: str) -> str:
    """/promote <staging 0.0.2> to production; the Confirm button's request id."""
    rig.sb.command("/promote", f"{_staging_tag(rig.world)} to production", response_id=rid)
    calls = rig.fake.wait_for(lambda c: c.response_id == rid and "blocks" in (c.json or {}), timeout=20)
    for block in calls[-1].json["blocks"]:  # type: ignore[index]
        for el in block.get("elements", []):
            if el.get("action_id") == blocks.CONFIRM:
                return str(el["value"])
    raise AssertionError(f"no Confirm button in {calls[-1].json}")


def confirm(
    rig: Rig, request_id: str, rid: str, *, timeout: float = 30, meanwhile: Callable[[], None] | None = None
) -> Outcome:
    """Click Confirm, run `meanwhile` (the fault), and wait for the thread's final status (and, for a failure,
    its ❌ reply). `seconds` counts from the click, or from the end of `meanwhile` when there is one."""
    done = len([c for c in rig.fake.calls() if _final(c)])
    started = time.monotonic()
    click = rig.sb.click(blocks.CONFIRM, request_id, REQUESTER, response_id=rid)
    assert click.status == 200 and click.seconds < 1.0
    if meanwhile is not None:
        meanwhile()
        started = time.monotonic()
    final = rig.fake.wait_for(_final, count=done + 1, timeout=timeout)[-1]
    seconds = time.monotonic() - started
    status = str(final.params["text"]).rpartition(": ")[2]
    ts = str(final.params["ts"])
    if status == "failed":
        rig.fake.wait_for(lambda c: c.method == "chat.postMessage" and c.params.get("thread_ts") == ts, timeout=10)
    shown = [rig.fake.message(PROD_CHANNEL, ts).as_json(), *(m.as_json() for m in rig.fake.thread(PROD_CHANNEL, ts)),
             *rig.fake.responses(rid)]  # fmt: skip
    return Outcome(status, json.dumps(shown, ensure_ascii=False), seconds)


def _final(call: Call) -> bool:
    return call.method == "chat.update" and str(call.params.get("text", "")).endswith((": failed", ": committed"))


def clone_is_clean(rig: Rig) -> None:
    """The bot's clone sits exactly on the remote's branch: no stray commit, change or lock."""
    assert git("status", "--porcelain", cwd=rig.clone) == ""
    assert git("rev-parse", "HEAD", cwd=rig.clone) == rig.world.head()
    assert not list((rig.clone / ".git").rglob("*.lock"))


def assert_clear_failure(outcome: Outcome, *needles: str) -> None:
    assert outcome.status == "failed", outcome
    for needle in needles:
        assert needle in outcome.seen, (needle, outcome.seen)
    assert "❌" in outcome.seen
    assert not LEAKED.search(outcome.seen), LEAKED.search(outcome.seen)


def assert_landed_once(rig: Rig, before_head: str, before_tags: dict[str, str]) -> str:
    """Exactly one new commit, naming a production tag the registry serves as the staging build's digest."""
    [sha] = rig.world.new_commits(before_head)
    trailers = rig.world.trailers(sha)
    assert trailers["Source-tag"] == _staging_tag(rig.world)
    target = trailers["Target-tag"]
    digest = rig.world.digests[("backend", "0.0.2")]
    now = rig.world.registry_tags("backend")
    assert now[target] == digest and now["production"] == digest
    # Nothing else moved in the registry: only the new tag, and the production alias re-pointed.
    assert {t: d for t, d in now.items() if t not in (target, "production")} == {
        t: d for t, d in before_tags.items() if t != "production"
    }
    assert target in rig.world.remote.show("flux/apps/backend/production/deployment.yaml")
    clone_is_clean(rig)
    return target


def test_a_few_500s_are_retried_and_the_promotion_lands(rig: Rig) -> None:
    before, tags = rig.world.head(), rig.world.registry_tags("backend")
    request_id = preview(rig, "p")
    rig.proxy.fail(TRIES - 1)  # every retry the client has, and not one more
    outcome = confirm(rig, request_id, "c")
    assert outcome.status == "committed", outcome.seen
    assert len(rig.proxy.outcomes("failed")) == TRIES - 1
    assert not LEAKED.search(outcome.seen)
    assert_landed_once(rig, before, tags)


def test_500s_that_never_stop_fail_clearly_and_write_nothing_then_recovery_lands_once(rig: Rig) -> None:
    state = rig.world.state()
    before, tags = rig.world.head(), rig.world.registry_tags("backend")
    request_id = preview(rig, "p1")
    rig.proxy.fail()
    outcome = confirm(rig, request_id, "c1")
    assert_clear_failure(outcome, f"Registry {rig.proxy.host}", "HTTP 500", "Nothing was tagged", "Git was not changed")
    assert rig.world.state() == state  # not one ref in Git, not one tag in the registry
    req = rig.sb.bot.store.get_request(request_id)
    assert req is not None and req.status == "failed"
    clone_is_clean(rig)
    # One call's whole budget of attempts, then it gave up instead of hammering a failing registry.
    failed = rig.proxy.outcomes("failed")
    assert len(failed) == TRIES and len({(s.method, s.path) for s in failed}) == 1

    rig.proxy.pass_through()
    again = confirm(rig, preview(rig, "p2"), "c2")
    assert again.status == "committed", again.seen
    assert_landed_once(rig, before, tags)


def test_a_stalled_registry_fails_within_the_timeout_then_recovery_lands_once(rig: Rig) -> None:
    state = rig.world.state()
    before, tags = rig.world.head(), rig.world.registry_tags("backend")
    request_id = preview(rig, "p1")
    rig.proxy.stall(3 * REGISTRY_TIMEOUT)
    outcome = confirm(rig, request_id, "c1")
    assert_clear_failure(
        outcome, f"Registry {rig.proxy.host}", "timed out", "Nothing was tagged", "Git was not changed"
    )
    # TRIES attempts of REGISTRY_TIMEOUT each plus the client's backoff (0.2 + 0.4 + 0.8 s), and no more.
    assert TRIES * REGISTRY_TIMEOUT <= outcome.seconds < TRIES * REGISTRY_TIMEOUT + 1.4 + 3.0, outcome.seconds
    assert len(rig.proxy.outcomes("stalled")) == TRIES
    assert rig.world.state() == state
    clone_is_clean(rig)

    rig.proxy.pass_through()
    again = confirm(rig, preview(rig, "p2"), "c2")
    assert again.status == "committed", again.seen
    assert_landed_once(rig, before, tags)


def test_proxy_is_faithful_for_reads_and_writes(rig: Rig) -> None:
    """The fault injector itself: through it and around it, the registry reads the same."""
    assert registry_state(rig.proxy.host) == registry_state(rig.world.registry.host)
    assert {s.outcome for s in rig.proxy.seen} == {"forwarded"}


def _manifest_put(tag: str) -> Callable[[str, str], bool]:
    return lambda method, path: method == "PUT" and path.endswith(f"/manifests/{tag}")


def test_the_alias_write_failing_after_the_new_tag_landed_says_so(rig: Rig) -> None:
    before, tags = rig.world.head(), rig.world.registry_tags("backend")
    refs = rig.world.remote.git("for-each-ref")
    request_id = preview(rig, "p1")
    rig.proxy.fail(when=_manifest_put("production"))
    outcome = confirm(rig, request_id, "c1")
    [new] = set(rig.world.registry_tags("backend")) - set(tags)
    assert_clear_failure(
        outcome, f"Registry {rig.proxy.host}", "HTTP 500", f"Already tagged: {new}", "Git was not changed"
    )
    assert "Nothing was tagged" not in outcome.seen
    assert rig.world.remote.git("for-each-ref") == refs
    clone_is_clean(rig)

    rig.proxy.pass_through()
    again = confirm(rig, preview(rig, "p2"), "c2")
    assert again.status == "committed", again.seen
    assert_landed_once(rig, before, {**tags, new: rig.world.digests[("backend", "0.0.2")]})


def test_a_write_whose_answer_is_lost_is_not_reported_as_nothing_written(rig: Rig) -> None:
    refs = rig.world.remote.git("for-each-ref")
    tags = rig.world.registry_tags("backend")
    request_id = preview(rig, "p1")
    rig.proxy.stall(3 * REGISTRY_TIMEOUT, when=lambda m, p: m == "PUT", forward=True)
    outcome = confirm(rig, request_id, "c1")
    [new] = set(rig.world.registry_tags("backend")) - set(tags)  # the first write landed, every time
    assert new.startswith("production-v0.0.2-")
    assert_clear_failure(outcome, f"Registry {rig.proxy.host}", "timed out", "Git was not changed")
    assert "Nothing was tagged" not in outcome.seen
    assert rig.world.remote.git("for-each-ref") == refs
    clone_is_clean(rig)
