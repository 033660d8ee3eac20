"""The git daemon dies under a promotion driven through Slack: mid-push, and before the push.

"Mid-push" is made exact with a pre-receive hook in the bare remote: it marks that a push is in flight and
then waits, so the test kills the daemon (its whole process group: the connection's receive-pack and the hook)
while the pack is on the server and the ref not yet moved. Every case ends with what the user saw, the remote
(`git fsck`, the branch), the bot's clone, and then the same promotion landing exactly once after a restart
on the same port (GitDaemon keeps its port across stop/start, so the bot's config stays valid).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.reliability.test_faults_registry import (
    Rig,
    assert_clear_failure,
    assert_landed_once,
    clone_is_clean,
    confirm,
    preview,
    running_rig,
)

GIT_TIMEOUT = 5.0  # repo.timeout in the bot's config


@pytest.fixture
def rig(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Rig]:
    with running_rig(tmp_path, fake_slack, repo_timeout=GIT_TIMEOUT) as r:
        yield r


def _wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear within {timeout}s")
        time.sleep(0.02)


def _remote_is_sound(rig: Rig) -> None:
    """Every object reachable and whole; a push killed in its quarantine leaves nothing fsck can see."""
    rig.world.remote.git("fsck", "--full", "--strict", "--no-dangling")


def _kill_mid_push(rig: Rig, hook: str, where: Path) -> Callable[[], None]:
    """Install `hook` in the bare remote so that it marks a push in flight and waits; the returned function
    waits for the mark, kills the daemon, and only then lets any surviving hook go."""
    in_flight, go = where / f"{hook}-in-flight", where / f"{hook}-may-go"
    script = rig.world.remote.path / "hooks" / hook
    script.write_text(f"#!/bin/sh\ntouch '{in_flight}'\nwhile [ ! -e '{go}' ]; do sleep 0.05; done\ncat >/dev/null\n")
    script.chmod(0o755)

    def kill() -> None:
        _wait_for(in_flight, 20)
        rig.world.daemon.stop()  # SIGTERM, then SIGKILL, to the daemon's process group: receive-pack, the hook
        go.touch()

    return kill


def test_daemon_killed_mid_push_leaves_the_branch_whole_and_says_what_happened(rig: Rig, tmp_path: Path) -> None:
    world = rig.world
    before, tags = world.head(), world.registry_tags("backend")
    # pre-receive: the bot's pack is on the server (in quarantine), the ref not yet updated.
    kill = _kill_mid_push(rig, "pre-receive", tmp_path)
    outcome = confirm(rig, preview(rig, "p1"), "c1", meanwhile=kill)
    [new] = set(world.registry_tags("backend")) - set(tags)
    assert_clear_failure(
        outcome, f"The registry now has {new}", "the Git commit was not pushed", "run the same promotion again"
    )
    assert outcome.seconds < GIT_TIMEOUT, outcome.seconds
    assert world.head() == before
    _remote_is_sound(rig)
    clone_is_clean(rig)

    world.daemon.start()
    again = confirm(rig, preview(rig, "p2"), "c2")
    assert again.status == "committed", again.seen
    assert_landed_once(rig, before, {**tags, new: world.digests[("backend", "0.0.2")]})
    _remote_is_sound(rig)


def test_daemon_killed_after_the_branch_moved_reports_the_commit_that_landed(rig: Rig, tmp_path: Path) -> None:
    world = rig.world
    before, tags = world.head(), world.registry_tags("backend")
    # post-receive: the branch has moved; the daemon dies before git push hears the end of it.
    kill = _kill_mid_push(rig, "post-receive", tmp_path)
    outcome = confirm(rig, preview(rig, "p1"), "c1", meanwhile=kill)
    assert outcome.status == "committed", outcome.seen
    [sha] = world.new_commits(before)
    assert sha[:12] in outcome.seen and "not pushed" not in outcome.seen
    _remote_is_sound(rig)
    world.daemon.start()
    assert_landed_once(rig, before, tags)


def test_daemon_down_when_the_registry_copy_is_done_fails_within_the_git_timeout(rig: Rig) -> None:
    world = rig.world
    before, tags = world.head(), world.registry_tags("backend")
    request_id = preview(rig, "p1")
    stopped: list[float] = []

    def stop_on_alias_write(method: str, path: str) -> None:
        # The alias is the retag's last write: Git is next, and the daemon is gone by then.
        if method == "PUT" and path.endswith("/manifests/production") and not stopped:
            world.daemon.stop()
            stopped.append(time.monotonic())

    rig.proxy.on_request = stop_on_alias_write
    outcome = confirm(rig, request_id, "c1")
    rig.proxy.on_request = None
    [new] = set(world.registry_tags("backend")) - set(tags)
    assert_clear_failure(outcome, f"The registry now has {new}", "Could not reach the Git remote", "was not pushed")
    assert stopped and outcome.seconds < GIT_TIMEOUT
    assert world.head() == before
    clone_is_clean(rig)

    world.daemon.start()
    again = confirm(rig, preview(rig, "p2"), "c2")
    assert again.status == "committed", again.seen
    assert_landed_once(rig, before, {**tags, new: world.digests[("backend", "0.0.2")]})


def test_daemon_down_at_confirm_fails_before_anything_is_written(rig: Rig) -> None:
    world = rig.world
    state = world.state()
    before, tags = world.head(), world.registry_tags("backend")
    request_id = preview(rig, "p1")
    world.daemon.stop()
    outcome = confirm(rig, request_id, "c1")
    assert_clear_failure(outcome, "Could not reach the Git remote", world.daemon.url(world.remote.name))
    assert outcome.seconds < GIT_TIMEOUT
    world.daemon.start()
    assert world.state() == state  # neither a ref nor a tag
    clone_is_clean(rig)

    again = confirm(rig, preview(rig, "p2"), "c2")
    assert again.status == "committed", again.seen
    assert_landed_once(rig, before, tags)
