"""A release set lands as ONE commit over the real git daemon and registry; per-service rollback still works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import settings as settings_mod
from bot import wiring
from bot.errors import NothingToDo
from bot.promotion.release import release
from bot.promotion.rollback import RollbackRequest, rollback
from tests.integration.world import World, running_world, skopeo_digest

ALICE = "Alice <cli:alice>"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def test_release_set_is_one_commit_and_rolls_back_per_service(world: World) -> None:
    ctx = wiring.context(settings_mod.load(world.config), cache_ttl=0)
    head = world.head()
    dry = release(ctx, source="staging", target="production", who=ALICE, dry_run=True)  # type: ignore[arg-type]
    assert sorted(p.service for p in dry.plans) == ["backend", "frontend"] and world.head() == head
    res = release(ctx, source="staging", target="production", who=ALICE)  # type: ignore[arg-type]
    assert world.new_commits(head) == [res.commit]
    msg = world.remote.git("log", "-1", "--format=%B", res.commit or "")
    assert msg.startswith("release(staging → production): backend v0.0.2, frontend v0.0.2")
    assert msg.count("Source-tag:") == 2
    for p in res.plans:  # the same image under the new production tag
        assert skopeo_digest(world.registry.host, f"acme/{p.service}", p.target_tag) == p.digest
    assert set(world.changed_files(res.commit or "")) == {
        "flux/apps/backend/production/deployment.yaml",
        "flux/apps/frontend/overlays/production/kustomization.yaml",
    }
    rb = rollback(ctx, RollbackRequest(env="production", who=ALICE, service="frontend"))  # type: ignore[arg-type]
    assert rb.plan.to_tag == world.tags[("frontend", "production", "0.0.1")]
    with pytest.raises(NothingToDo, match="Nothing to release"):
        release(ctx, source="staging", target="production", who=ALICE, services=["backend"])  # type: ignore[arg-type]


def test_cli_promote_env_to_env_is_a_release_set(world: World) -> None:
    head = world.head()
    out = world.cli("promote", "staging", "to", "production", "--service", "backend", "--as", ALICE)
    assert out.returncode == 0, out.stderr
    assert "released: one commit" in out.stdout and len(world.new_commits(head)) == 1
