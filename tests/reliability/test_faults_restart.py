"""Faults that take the bot down or shut Slack out, on real `gitops-bot serve` processes:

- killed between the registry copy and the push landing  → after restart the thread says "interrupted" with the
  outcome not known yet, Git is untouched, and the same promotion then lands once;
- killed after the push landed but before it reported    → after restart Git's Request-id trailer settles it as
  committed;
- killed between accepting a Flux event and delivering it → the event waits in the SQLite outbox and is
  delivered after restart;
- Slack answering 429 to every post and update for a while → the outcome still reaches the thread, in order.

The precise kill points come from hooks in the bare remote: `pre-receive` holds a push before the ref moves,
`post-receive` after it moved; both wait for a file the test writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack import blocks
from tests.canaries import BOT_TOKEN
from tests.fakes.slack_api import FakeSlack
from tests.integration.bot_http import reconciled_event
from tests.reliability.cluster import PROD_CHANNEL, BotProcess, Cluster, running_cluster
from tests.reliability.test_contention import _confirm_value

SERVICES = ("svc-00",)
HOOK = """#!/bin/sh
# Hold this push until the test says go; the go file holds the exit status.
cat > /dev/null
touch "{dir}/{name}.entered"
while [ ! -e "{dir}/{name}.go" ]; do sleep 0.05; done
exit "$(cat "{dir}/{name}.go")"
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, FakeSlack]]:
    with FakeSlack(token=BOT_TOKEN) as fake, running_cluster(tmp_path, fake, SERVICES, bots=1, flux_period=None) as c:
        yield c, fake


class Hold:
    """A receive hook in the remote that parks every push until `release`."""

    def __init__(self, c: Cluster, name: str) -> None:
        self.dir = c.root / "hooks"
        self.dir.mkdir(exist_ok=True)
        self.name = name
        self.path = c.remote.path / "hooks" / name
        self.path.write_text(HOOK.format(dir=self.dir, name=name))
        self.path.chmod(0o755)

    def wait_entered(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not (self.dir / f"{self.name}.entered").exists():
            assert time.monotonic() < deadline, f"no push reached the {self.name} hook"
            time.sleep(0.05)

    def release(self, status: int) -> None:
        (self.dir / f"{self.name}.go").write_text(str(status))

    def remove(self) -> None:
        self.path.unlink()


def _start_promotion(fake: FakeSlack, bot: BotProcess, staging_tag: str, n: int) -> str:
    """Preview and confirm; returns the request id (the Confirm button's value)."""
    assert bot.command(fake, f"{staging_tag} to production", f"preview-{n}").status == 200
    [call] = fake.wait_for(lambda c: c.response_id == f"preview-{n}", timeout=60)
    rid = _confirm_value(call)
    assert bot.click(fake, blocks.CONFIRM, rid, f"confirm-{n}").status == 200
    return rid


def _parent(fake: FakeSlack) -> str:
    [parent] = [m for m in fake.messages(PROD_CHANNEL) if not m.is_reply]
    return parent.text


def _replies(fake: FakeSlack) -> list[str]:
    return [m.text for m in fake.messages(PROD_CHANNEL) if m.is_reply]


def _wait(predicate: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _registry_tags(c: Cluster, repo: str) -> list[str]:
    with urllib.request.urlopen(f"http://{c.registry.host}/v2/{repo}/tags/list", timeout=10) as resp:
        return list(json.loads(resp.read())["tags"])


def _outbox_depth(bot: BotProcess) -> int:
    db = bot.config.parent / "state" / "state.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _promotion_commits(c: Cluster) -> list[str]:
    out = c.remote.git("log", "--format=%H %(trailers:key=Request-id,valueonly,separator=)", f"{c.seeded}..main")
    return [line for line in out.splitlines() if line.split(" ", 1)[1:] != [""]]


@pytest.mark.slow
def test_killed_between_copy_and_push_is_reported_interrupted_and_can_be_run_again(
    cluster: tuple[Cluster, FakeSlack],
) -> None:
    c, fake = cluster
    [release] = c.releases
    bot = c.bots[0]
    hold = Hold(c, "pre-receive")
    rid = _start_promotion(fake, bot, release.staging, 1)
    hold.wait_entered()
    # The registry copy is done (the push comes after it); the push is in flight and has not moved the ref.
    assert any(t.startswith("production-v0.0.2-") for t in _registry_tags(c, f"acme/{release.service}"))
    bot.kill()
    hold.release(1)  # the orphaned push is refused: the remote never moves
    hold.remove()
    assert c.remote.head() == c.seeded

    again = bot.restarted(c.root / "bot0" / "serve-2.log")
    try:
        again.wait_ready()
        _wait(lambda: "interrupted" in _parent(fake), "the thread to say interrupted")
        [reply] = _replies(fake)
        # The push was refused here, but the restarted bot cannot know that a push is not still landing:
        # it says the outcome is not known yet, never "nothing changed" (issue 17, item 6).
        assert "restarted while this was running" in reply and "nothing changed" not in reply
        assert "Traceback" not in reply and "Error" not in reply
        assert c.remote.head() == c.seeded  # nothing half-written: Git untouched
        assert c.remote.git("fsck", "--no-progress") == ""

        # The same promotion, asked again, lands exactly once.
        rid2 = _start_promotion(fake, again, release.staging, 2)
        assert rid2 != rid
        fake.wait_for(lambda x: x.method == "chat.update" and "committed" in json.dumps(x.json or x.params), timeout=60)
        commits = _promotion_commits(c)
        assert len(commits) == 1 and commits[0].endswith(rid2)
    finally:
        again.stop()


@pytest.mark.slow
def test_killed_after_the_push_is_settled_from_git_and_queued_events_survive(
    cluster: tuple[Cluster, FakeSlack],
) -> None:
    c, fake = cluster
    [release] = c.releases
    bot = c.bots[0]
    hold = Hold(c, "post-receive")
    rid = _start_promotion(fake, bot, release.staging, 1)
    hold.wait_entered()  # the ref has moved; the bot is still waiting for its push to return
    landed = c.remote.head()
    assert landed != c.seeded
    bot.kill()
    hold.release(0)
    hold.remove()

    second = bot.restarted(c.root / "bot0" / "serve-2.log")
    try:
        second.wait_ready()
        _wait(lambda: "committed" in _parent(fake), "the thread to say committed")
        assert "confirmed from Git after the bot restarted" in json.dumps(
            [m.blocks for m in fake.messages(PROD_CHANNEL) if not m.is_reply]
        )
        assert [line.split()[1] for line in _promotion_commits(c)] == [rid]

        # Slack goes away (every post and update answers 429) while Flux reports the deploy; the bot accepts
        # the event and dies before it could deliver it.
        fake.fail_next("chat.postMessage", retry_after=30, times=1000)
        fake.fail_next("chat.update", retry_after=30, times=1000)
        assert second.flux_event(reconciled_event(landed)) == 202
        assert _outbox_depth(second) >= 1
    finally:
        second.kill()
    assert _outbox_depth(second) >= 1
    fake.clear_failures()

    third = second.restarted(c.root / "bot0" / "serve-3.log")
    try:
        third.wait_ready()
        _wait(lambda: any("reconciled in production" in r for r in _replies(fake)), "the reconciled reply")
        _wait(lambda: _outbox_depth(third) == 0, "the outbox to drain")
        assert "reconciled" in _parent(fake)
    finally:
        third.stop()


@pytest.mark.slow
def test_a_429_storm_delays_the_outcome_but_does_not_lose_it(cluster: tuple[Cluster, FakeSlack]) -> None:
    c, fake = cluster
    [release] = c.releases
    bot = c.bots[0]
    hold = Hold(c, "pre-receive")
    _start_promotion(fake, bot, release.staging, 1)
    hold.wait_entered()
    # From here every chat.update and chat.postMessage is refused for a while (Retry-After: 1 each time).
    storm = 12
    fake.fail_next("chat.update", retry_after=1, times=storm)
    fake.fail_next("chat.postMessage", retry_after=1, times=storm)
    hold.release(0)
    hold.remove()

    _wait(lambda: "committed" in _parent(fake), "the committed status after the storm", timeout=120)
    refused = [x for x in fake.calls() if x.method in ("chat.update", "chat.postMessage") and x.status == 429]
    assert len(refused) >= storm  # the storm really hit the outcome
    updates = [x for x in fake.calls("chat.update") if x.ok]
    assert "committed" in json.dumps(updates[-1].json or updates[-1].params)  # nothing older overwrote it
    _wait(lambda: _outbox_depth(bot) == 0, "the outbox to drain")
    assert len(_promotion_commits(c)) == 1
