"""GroupCommit on a real clone with the clock and random source injected: a branch that keeps moving is retried
on exactly the seeded schedule, and no real time passes between the tries."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.adapters.fast_import import Ident
from bot.adapters.git_clone import GitClone
from bot.adapters.git_snapshot import Snapshot
from bot.adapters.group_commit import GroupCommit, Retry
from bot.core.plan import Edit
from bot.errors import PushRetriesExhausted
from tests.integration.test_git_repo import bump, layout
from tests.servers.git_daemon import MakeRemote
from tests.unit.test_group_commit_backoff import ManualClock


def test_rejected_pushes_are_retried_on_the_injected_schedule(bare_remote: MakeRemote, tmp_path: Path) -> None:
    remote = bare_remote(layout())
    clock = ManualClock()
    retried: list[float] = []
    retry = Retry(max_tries=5, monotonic=clock.monotonic, sleep=clock.sleep, rng=random.Random(42))
    commits = GroupCommit(GitClone(remote.url, "main", tmp_path / "clone"), ident=Ident("bot", "bot@example.com"),
                          retry=retry, on_retry=lambda: retried.append(clock.now))  # fmt: skip
    raced: list[str] = []

    def plan(snapshot: Snapshot) -> Edit | None:
        raced.append(remote.push({"churn.txt": f"{len(raced)}\n"}, "someone else, again"))
        return bump("svc-a", 1)(snapshot)

    with pytest.raises(PushRetriesExhausted, match="5 pushes were rejected"):
        commits.commit_and_push(plan)
    rng = random.Random(42)  # the draws the policy made, in order
    assert clock.slept == [rng.uniform(cap / 2, cap) for cap in (0.02, 0.04, 0.08, 0.16)]
    assert retried == [sum(clock.slept[:n]) for n in range(4)]  # the hook runs before each pause
    assert len(raced) == 5 and remote.head() == raced[-1]
