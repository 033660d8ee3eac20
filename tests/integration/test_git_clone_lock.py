"""The clone's lock guards one working directory: a clone of the same url and branch elsewhere does not wait
for it, and two GitRepo instances over one directory (however it is spelled) take turns."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.adapters.git_clone import GitClone
from bot.adapters.git_repo import GitRepo, PushResult, Snapshot
from bot.core.plan import Edit
from tests.integration.test_git_repo import assert_clean, bump, deploy_path, layout, repo_for
from tests.servers.git_daemon import MakeRemote


class Holder:
    """A commit_and_push on `repo` whose plan holds the clone's lock until released."""

    def __init__(self, repo: GitRepo) -> None:
        self.holding, self.release = threading.Event(), threading.Event()
        self.results: list[PushResult] = []
        self.thread = threading.Thread(target=lambda: self.results.append(repo.commit_and_push(self._plan)))

    def _plan(self, snapshot: Snapshot) -> Edit | None:
        self.holding.set()
        self.release.wait(60)
        return bump("svc-a", 1)(snapshot)

    def __enter__(self) -> Holder:
        self.thread.start()
        assert self.holding.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(60)


def in_background(work: Callable[[], object]) -> tuple[threading.Thread, threading.Event, list[object]]:
    done, out = threading.Event(), []

    def run() -> None:
        out.append(work())
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done, out


def wait_until_waiting_in(thread: threading.Thread, function: Callable[..., object]) -> None:
    """Until `function` is the thread's innermost Python frame: with the lock held elsewhere, that is the
    thread blocked at the function's `with self.lock` (acquiring a lock runs no Python code)."""
    deadline = time.monotonic() + 30
    while (frame := sys._current_frames().get(thread.ident or -1)) is None or frame.f_code is not function.__code__:
        assert thread.is_alive() and time.monotonic() < deadline, "the thread never reached the lock"
        time.sleep(0.005)


def test_other_working_directories_of_the_same_branch_do_not_wait(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    a = repo_for(remote.url, tmp_path / "a")
    b = repo_for(remote.url, tmp_path / "b")  # same url and branch: the old (url, branch) lock was shared
    with Holder(a) as held:
        thread, done, out = in_background(lambda: (b.sync().head, b.history([deploy_path("svc-a")])))
        assert done.wait(30), "b waited for a's lock"
        [(head, records)] = out
        assert head == remote.head() and len(records) == 1
        assert held.thread.is_alive() and not held.results  # a was mid-commit throughout
    thread.join(30)
    assert held.results[0].sha == remote.head()
    assert_clean(a)


def test_two_instances_over_one_working_directory_take_turns(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    a = repo_for(remote.url, tmp_path / "a")
    a.sync()
    (tmp_path / "link").symlink_to(tmp_path / "a")
    # The same directory through another path, and the same remote through another url: only the directory
    # is shared, so only a lock keyed by the resolved directory makes c wait.
    c = repo_for(remote.path.as_uri(), tmp_path / "link")
    with Holder(a) as held:
        thread, done, out = in_background(lambda: c.sync().head)
        wait_until_waiting_in(thread, GitClone.sync)
        assert not done.is_set()
    thread.join(30)
    assert done.is_set()
    assert out == [held.results[0].sha] == [remote.head()]  # c synced only after a's push had landed
    assert_clean(a)
