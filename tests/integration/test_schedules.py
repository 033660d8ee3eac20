"""Scheduled promotions in their own table: a state.db written at schema 1 (the kv JSON blob) keeps every
schedule through migration 2, and cancel and run race on one schedule with exactly one winner."""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot import settings as settings_mod
from bot import wiring
from bot.adapters.state_store import StateStore
from bot.promotion import schedule as schedules
from bot.promotion.states import ScheduleStatus
from tests.integration.world import World, running_world

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "state_v1.sql"
SHA = "0123456789abcdef0123456789abcdef01234567"
ALICE = "Alice <cli:alice>"
# The fixture's schedules, in the order they were made: (id, tag, env, at, who, service, reason, status, result).
V1_SCHEDULES = [
    ("a1b2c3d4e5f6", "staging-v1.4.0-1111111-1700000000", "production", 1700003600, "Alice <slack:U1>", None, "",
     "waiting", ""),
    ("b2c3d4e5f6a1", "staging-v1.3.2-2222222-1700000001", "production", 1700000100, "Bob <cli:bob>", "backend",
     "friday fix", "done", SHA),
    ("c3d4e5f6a1b2", "develop-v2.0.1-3333333-1700000002", "staging", 1700000200, "Alice <slack:U1>", None, "",
     "failed", "production is frozen until 2023-11-15 00:00 UTC"),
    ("d4e5f6a1b2c3", "staging-v0.9.0-4444444-1700000003", "production", 1700009999, "Carol <slack:U3>", "frontend", "",
     "cancelled", ""),
    # Claimed but never finished by a killed process: running now, so it is never promoted a second time.
    ("e5f6a1b2c3d4", "staging-v1.4.1-5555555-1700000004", "production", 1700000300, "Bob <cli:bob>", None, "",
     "running", ""),
]  # fmt: skip


def schema_1_file(path: Path) -> Path:
    """The checked-in dump of a file the schema-1 bot wrote, restored byte for byte into a database."""
    raw = sqlite3.connect(path)
    try:
        raw.executescript(FIXTURE.read_text(encoding="utf-8"))
        raw.execute("PRAGMA user_version = 1")
    finally:
        raw.close()
    return path


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    raw = sqlite3.connect(path)
    try:
        return raw.execute(sql).fetchall()
    finally:
        raw.close()


def everything(store: StateStore) -> list[tuple[object, ...]]:
    found = [store.schedule(i[0]) for i in V1_SCHEDULES]
    return [(s.id, s.tag, s.env, s.at, s.who, s.service, s.reason, s.status, s.result) if s else (None,) for s in found]


def test_a_schema_1_file_keeps_every_schedule(tmp_path: Path) -> None:
    db = schema_1_file(tmp_path / "state.db")
    assert rows(db, "SELECT count(*) FROM kv WHERE key = 'jobs.scheduled_promotions'") == [(1,)]
    with StateStore(db) as store:
        assert everything(store) == V1_SCHEDULES
        assert all(isinstance(s.status, ScheduleStatus) for s in store.schedules_in(ScheduleStatus.DONE))
        assert [s.id for s in schedules.listed(store)] == ["a1b2c3d4e5f6"]
        # The rest of the file is untouched.
        assert store.get("git.last_seen") == "abc"
        assert store.get("jobs.scheduled_promotions") is None
        req = store.get_request("req1")
        thread = store.thread_of("req1")
        assert req is not None and req.status == "pending" and thread is not None and thread.status == "pending"
        assert [i.dedupe_key for i in store.due(now=1_700_000_000.0)] == ["thread:req1:1"]
    assert rows(db, "PRAGMA user_version") == [(3,)]  # migrated through every later schema too
    assert rows(db, "SELECT key FROM idempotency") == []  # the old run claims: the status is the claim now
    with StateStore(db) as store:  # reopening migrates nothing more
        assert everything(store) == V1_SCHEDULES


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def test_cancel_and_run_work_on_carried_over_schedules(world: World, tmp_path: Path) -> None:
    ctx = wiring.context(settings_mod.load(world.config), cache_ttl=0)
    db = schema_1_file(tmp_path / "old.db")
    head = world.head()
    with StateStore(db) as store:
        # Finished, cancelled and interrupted ones can be neither cancelled nor run again.
        assert not any(schedules.cancel(store, i) for i in ("b2c3d4e5f6a1", "c3d4e5f6a1b2", "d4e5f6a1b2c3"))
        assert not schedules.cancel(store, "e5f6a1b2c3d4")
        assert schedules.run_due_promotions(ctx, store, 1700003599) == 0  # the waiting one is not due yet
        reported: list[schedules.Scheduled] = []
        assert schedules.run_due_promotions(ctx, store, 1700003600, reported.append) == 1
        # Its tag was never pushed to this world's registry, so the promotion is refused, and says why.
        (item,) = reported
        assert (item.id, item.status) == ("a1b2c3d4e5f6", ScheduleStatus.FAILED) and item.result
        assert store.schedule(item.id) == item
        assert schedules.run_due_promotions(ctx, store, 1800000000) == 0 and not schedules.cancel(store, item.id)
        assert world.head() == head
        assert everything(store)[1:] == V1_SCHEDULES[1:]
    again = schema_1_file(tmp_path / "again.db")
    with StateStore(again) as store:
        assert schedules.cancel(store, "a1b2c3d4e5f6") and not schedules.cancel(store, "a1b2c3d4e5f6")
        assert schedules.run_due_promotions(ctx, store, 1800000000) == 0
        assert schedules.listed(store) == []


# --- races -----------------------------------------------------------------------------------------------


def race(fns: list[Callable[[], object]]) -> list[object]:
    """Run each fn on its own thread, released together; return each result."""
    barrier = threading.Barrier(len(fns))
    results: list[object] = [None] * len(fns)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fns[i]()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    return results


def test_racing_moves_on_one_file_have_exactly_one_winner(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with StateStore(db) as a, StateStore(db) as b:  # e.g. a Slack worker and the scheduler's process
        for n in range(40):
            item = schedules.schedule_promotion(
                a, tag="staging-v1.4.0-1111111-1700000000", env="production", at=100, who=ALICE, now=0
            )
            to = [ScheduleStatus.CANCELLED, ScheduleStatus.RUNNING][n % 2]
            won = race([
                functools.partial(a.move_schedule, item.id, ScheduleStatus.CANCELLED),
                functools.partial(b.move_schedule, item.id, to),
            ])  # fmt: skip
            assert won.count(True) == 1, (n, won)
            winner = ScheduleStatus.CANCELLED if won[0] else to
            assert (s := b.schedule(item.id)) is not None and s.status == winner


def test_cancel_racing_a_due_run_has_exactly_one_winner_and_no_lost_update(world: World, tmp_path: Path) -> None:
    ctx = wiring.context(settings_mod.load(world.config), cache_ttl=0)
    tag = world.tags[("backend", "staging", "0.0.2")]
    db = tmp_path / "state.db"
    head = world.head()
    now = int(time.time())
    ran_ids: list[str] = []
    with StateStore(db) as slack, StateStore(db) as scheduler:
        for _ in range(6):
            item = schedules.schedule_promotion(slack, tag=tag, env="production", at=now + 10, who=ALICE, now=now)
            reported: list[schedules.Scheduled] = []
            cancelled, ran = race([
                functools.partial(schedules.cancel, slack, item.id),
                functools.partial(schedules.run_due_promotions, ctx, scheduler, now + 11, reported.append),
            ])  # fmt: skip
            assert (cancelled, ran) in {(True, 0), (False, 1)}
            stored = slack.schedule(item.id)
            assert stored is not None
            if cancelled:
                assert stored.status == ScheduleStatus.CANCELLED and reported == []
            else:  # the run's outcome was written and stays: a late cancel did not overwrite it
                assert stored.status in {ScheduleStatus.DONE, ScheduleStatus.FAILED} and reported == [stored]
                ran_ids.append(item.id)
            assert not schedules.cancel(slack, item.id)
            assert schedules.run_due_promotions(ctx, scheduler, now + 12) == 0
    promoted = {world.trailers(sha).get("Request-id") for sha in world.new_commits(head)}
    assert promoted <= set(ran_ids)  # nothing cancelled was promoted (later runs of the same tag are no-ops)
