"""Scheduled work over the real git daemon and registry, time driven by hand: a scheduled promotion fires
exactly once across a restart, the "new build" notice is queued once per tag, and the scheduler runs each
job without overlap and coalesces missed runs."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import jobs, wiring
from bot import settings as settings_mod
from bot.adapters.state_store import StateStore
from bot.errors import InvalidInput
from bot.promotion import schedule as schedules
from bot.slack.notices import new_build_payload
from tests.integration.world import World, running_world

ALICE = "Alice <cli:alice>"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def test_scheduled_promotion_fires_once_after_a_restart(world: World) -> None:
    now = int(time.time())
    db = world.root / "state.db"
    first = StateStore(db)
    item = schedules.schedule_promotion(
        first, tag=world.tags[("backend", "staging", "0.0.2")], env="production", at=now + 3600, who=ALICE, now=now
    )
    ctx = wiring.context(settings_mod.load(world.config), cache_ttl=0)
    assert schedules.run_due_promotions(ctx, first, now) == 0  # not yet
    first.close()  # the process restarts
    again = StateStore(db)
    assert [i.id for i in schedules.listed(again)] == [item.id]
    head = world.head()
    assert schedules.run_due_promotions(ctx, again, now + 3601) == 1
    assert world.head() != head
    assert world.trailers(world.head())["Request-id"] == item.id
    replica = StateStore(db)  # a second process sharing the file finds nothing left to do
    assert schedules.run_due_promotions(ctx, replica, now + 3700) == 0
    assert schedules.run_due_promotions(ctx, again, now + 3800) == 0
    assert len(world.new_commits(head)) == 1
    assert schedules.listed(again) == []


def test_cancel_and_refusals(world: World) -> None:
    store = StateStore(world.root / "state.db")
    with pytest.raises(InvalidInput):
        schedules.schedule_promotion(store, tag="nope", env="production", at=10, who=ALICE, now=0)
    with pytest.raises(InvalidInput):
        schedules.schedule_promotion(
            store, tag=world.tags[("backend", "staging", "0.0.2")], env="production", at=5, who=ALICE, now=10
        )
    item = schedules.schedule_promotion(
        store, tag=world.tags[("backend", "staging", "0.0.2")], env="production", at=100, who=ALICE, now=10
    )
    assert schedules.cancel(store, item.id) and not schedules.cancel(store, item.id)
    ctx = wiring.context(settings_mod.load(world.config), cache_ttl=0)
    head = world.head()
    assert schedules.run_due_promotions(ctx, store, 1000) == 0 and world.head() == head


def test_new_build_notice_is_queued_once_per_tag(world: World) -> None:
    store = StateStore(world.root / "state.db")
    ctx = wiring.context(settings_mod.load(world.config), cache_ttl=0)
    channels = {"staging": "C0STAGING", "production": "C0PROD"}
    queued = jobs.new_build_notices(ctx, store, channels.get, new_build_payload)
    assert queued == 4  # backend and frontend: develop ahead of staging, staging ahead of production
    assert jobs.new_build_notices(ctx, store, channels.get, new_build_payload) == 0  # once per tag
    items = store.due(limit=10)
    prod = [json.loads(i.payload) for i in items if i.channel == "C0PROD"]
    assert any(
        world.tags[("backend", "staging", "0.0.2")] in json.dumps(p) and "versions_promote" in json.dumps(p)
        for p in prod
    )


def test_scheduler_runs_each_job_without_overlap() -> None:
    calls: list[float] = []
    third_run = threading.Event()

    def slow() -> None:
        calls.append(time.monotonic())
        if len(calls) >= 3:
            third_run.set()
        time.sleep(0.3)  # the job itself is slow on purpose: three times its 0.1 s interval

    scheduler = jobs.build_scheduler({"slow": (slow, 0.1)})
    scheduler.start()
    try:
        job = scheduler.get_job("slow")  # defaults apply once the scheduler has started
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 300
        # Three runs: two gaps in which a second instance would have started, however slow the machine.
        assert third_run.wait(30), calls
    finally:
        scheduler.shutdown(wait=True)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert calls and all(g >= 0.29 for g in gaps), gaps  # never two runs at once


def test_cli_schedule_verbs(world: World) -> None:
    tag = world.tags[("backend", "staging", "0.0.2")]
    added = world.cli("schedule", "add", tag, "to", "production", "at", "2099-01-01T14:00")
    assert added.returncode == 0, added.stderr
    schedule_id = added.stdout.split()[1].rstrip(":")
    listing = world.cli("schedule", "list")
    assert schedule_id in listing.stdout and tag in listing.stdout
    assert world.cli("schedule", "add", tag, "to", "production", "at", "yesterday").returncode == 2
    assert world.cli("schedule", "cancel", schedule_id).returncode == 0
    assert world.cli("schedule", "cancel", schedule_id).returncode == 2
    assert schedule_id not in world.cli("schedule", "list").stdout
