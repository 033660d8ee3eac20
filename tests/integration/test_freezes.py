"""Freezes over the real git daemon and registry: block promote and resume, not rollback; hold automation in
Git in the same commit; recurring windows open and close by the clock, with no sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import settings as settings_mod
from bot import wiring
from bot.core.freezes import FREEZE_FILE
from bot.errors import GateRefused
from bot.promotion import freeze
from bot.promotion.promote import PromoteRequest, promote
from bot.promotion.rollback import RollbackRequest, rollback
from bot.seed_layout import marker_file
from tests.integration.world import PIPELINE, SERVICES, World, running_world

ALICE = "Alice <cli:alice>"
FRIDAY_1700 = int(dt.datetime(2026, 11, 27, 17, 0, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _held(world: World, rev: str) -> set[tuple[str, str]]:
    """(service, env) whose markers are held at `rev`, read from the files (bot/core/holds.py's form)."""
    return {
        (svc, env) for svc in SERVICES for env in PIPELINE
        if '"$imagepolicy": "HELD:' in world.remote.show(marker_file(svc, env), rev)
    }  # fmt: skip


def _ctx(world: World, clock: Clock, **production: object) -> object:
    data = yaml.safe_load(world.config.read_text())
    data["environments"]["production"] = {"approvals": 0, **production}
    path = world.root / "freeze-config.yaml"
    path.write_text(yaml.safe_dump(data))
    return wiring.context(settings_mod.load(path), clock=clock, cache_ttl=0)


def test_freeze_blocks_promote_not_rollback_and_holds_automation(world: World) -> None:
    clock = Clock(FRIDAY_1700 - 86400)
    ctx = _ctx(world, clock)
    tag = world.tags[("backend", "staging", "0.0.2")]
    promote(ctx, PromoteRequest(tag=tag, target_env="production", who=ALICE))  # type: ignore[arg-type]
    sha = freeze.freeze(ctx, env="production", end=clock.now + 7200, reason="release party", who=ALICE, now=clock.now)  # type: ignore[arg-type]
    assert sha == world.head()
    assert FREEZE_FILE in world.changed_files(sha)
    assert _held(world, sha) == {("backend", "production"), ("frontend", "production")}  # in the same commit
    state = world.state()
    with pytest.raises(GateRefused, match=r"production is frozen until .* \(release party"):
        promote(
            ctx,
            PromoteRequest(
                tag=world.tags[("frontend", "staging", "0.0.2")],
                target_env="production",  # type: ignore[arg-type]
                who=ALICE,
            ),
        )
    assert world.state() == state
    rolled = rollback(ctx, RollbackRequest(env="production", who=ALICE, service="backend"))  # type: ignore[arg-type]
    assert rolled.commit == world.head()  # the incident path stays open
    unfrozen = freeze.unfreeze(ctx, env="production", who=ALICE, now=clock.now + 60)  # type: ignore[arg-type]
    assert unfrozen == world.head()
    # The rollback's own hold is not the freeze's to lift: the freeze recorded what it held.
    assert _held(world, unfrozen) == {("backend", "production")}


def test_unfreeze_resumes_what_the_freeze_held(world: World) -> None:
    clock = Clock(FRIDAY_1700 - 86400)
    ctx = _ctx(world, clock)
    freeze.freeze(ctx, env="production", end=clock.now + 600, reason="x", who=ALICE, now=clock.now)  # type: ignore[arg-type]
    assert _held(world, world.head()) == {("backend", "production"), ("frontend", "production")}
    freeze.unfreeze(ctx, env="production", who=ALICE, now=clock.now + 1)  # type: ignore[arg-type]
    assert _held(world, world.head()) == set()


def test_recurring_window_opens_and_closes(world: World) -> None:
    clock = Clock(FRIDAY_1700 - 3600 * 2)  # Friday 15:00, before the window
    ctx = _ctx(world, clock, freezes=[{"cron": "0 16 * * FRI", "duration": "64h", "reason": "weekend"}])
    head = world.head()
    assert freeze.reconcile(ctx, clock.now) is None and world.head() == head  # nothing to do: no commit  # type: ignore[arg-type]
    clock.now = FRIDAY_1700  # the window opened at 16:00
    opened = freeze.reconcile(ctx, clock.now)  # type: ignore[arg-type]
    assert opened == world.head() and _held(world, opened) == {("backend", "production"), ("frontend", "production")}
    assert freeze.reconcile(ctx, clock.now + 60) is None  # idempotent: a second run changes nothing  # type: ignore[arg-type]
    with pytest.raises(GateRefused, match="weekend"):
        promote(
            ctx,
            PromoteRequest(
                tag=world.tags[("backend", "staging", "0.0.2")],
                target_env="production",  # type: ignore[arg-type]
                who=ALICE,
            ),
        )
    clock.now = FRIDAY_1700 - 3600 + 64 * 3600  # Monday 08:00: the window is over
    closed = freeze.reconcile(ctx, clock.now)  # type: ignore[arg-type]
    assert closed == world.head() and _held(world, closed) == set()


def test_break_glass_goes_through_and_is_recorded(world: World) -> None:
    clock = Clock(FRIDAY_1700 - 86400)
    ctx = _ctx(world, clock, break_glass=["cli:alice"])
    freeze.freeze(ctx, env="production", end=clock.now + 600, reason="incident", who=ALICE, now=clock.now)  # type: ignore[arg-type]
    tag = world.tags[("backend", "staging", "0.0.2")]
    with pytest.raises(GateRefused):
        promote(ctx, PromoteRequest(tag=tag, target_env="production", who="Bob <cli:bob>", force=True))  # type: ignore[arg-type]
    res = promote(ctx, PromoteRequest(tag=tag, target_env="production", who=ALICE, force=True))  # type: ignore[arg-type]
    msg = world.remote.git("log", "-1", "--format=%B", res.commit or "")
    assert "BREAK-GLASS during freeze 'incident'" in msg
