"""The CLI end to end, as `python -m bot` child processes, over `git daemon` and docker-registry.

Exit codes and stderr are the contract here: 0 done or nothing to do, 2 refused (one sentence on stderr),
1 an operation failed. A refused or failed command must leave the remote's refs and every registry tag
(and what it points at) exactly as they were. Tests that write get a world of their own; the rest share one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.seed_layout import marker_file
from tests.integration.world import (
    PIPELINE,
    PLATFORM,
    SERVICES,
    State,
    World,
    build_world,
    running_world,
    skopeo_digest,
)
from tests.servers.git_daemon import GitDaemon
from tests.servers.registry import RegistryServer

ALICE = "Alice <slack:U0ALICE1>"
BOB = "Bob <slack:U0BOB001>"
BACKEND_PROD = marker_file("backend", "production")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """For tests that write nothing (when the bot is right): refusals, dry runs, reads."""
    with running_world(tmp_path_factory.mktemp("shared")) as world:
        yield world


@pytest.fixture
def world(tmp_path: Path, registry: RegistryServer, git_daemon: GitDaemon) -> World:
    return build_world(tmp_path / "world", registry, git_daemon)


# --- helpers --------------------------------------------------------------------------------------


def ok(world: World, *args: str) -> str:
    proc = world.cli(*args)
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def refused(world: World, *args: str) -> str:
    """Exit 2 with one line on stderr and nothing on stdout; returns the sentence."""
    proc = world.cli(*args)
    assert proc.returncode == 2, f"{args}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    assert proc.stdout == ""
    assert proc.stderr.startswith("gitops-bot: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.removeprefix("gitops-bot: ").strip()


def promote(world: World, service: str, to: str = "production", *more: str) -> str:
    """Promote `service`'s newest build of the env before `to`; returns the new commit."""
    source_env = PIPELINE[PIPELINE.index(to) - 1]
    head = world.head()
    ok(world, "promote", world.tags[(service, source_env, "0.0.2")], "to", to, "--as", ALICE, *more)
    [commit] = world.new_commits(head)
    return commit


def versions(world: World, *args: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ok(world, "versions", *args, "--json"))
    return doc


def env_of(doc: dict[str, Any], service: str, env: str) -> dict[str, Any]:
    [svc] = [s for s in doc["services"] if s["name"] == service]
    return dict(svc["environments"][env])


def registry_changes(before: State, after: State) -> dict[str, dict[str, str | None]]:
    """repo → tag → new digest (None: deleted) for every tag that differs."""
    out: dict[str, dict[str, str | None]] = {}
    for repo in before.registry.keys() | after.registry.keys():
        old, new = before.registry.get(repo, {}), after.registry.get(repo, {})
        diff = {t: new.get(t) for t in old.keys() | new.keys() if old.get(t) != new.get(t)}
        if diff:
            out[repo] = diff
    return out


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- 1. the story ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_story_promote_rollback_resume(world: World) -> None:
    staging = world.tags[("backend", "staging", "0.0.2")]
    old_prod = world.tags[("backend", "production", "0.0.1")]
    digest = world.digests[("backend", "0.0.2")]
    assert env_of(versions(world), "backend", "production")["tag"] == old_prod
    start, before = world.head(), world.state()

    out = ok(world, "promote", staging, "to", "production", "--as", ALICE, "--reason", "release 0.0.2")
    [promotion] = world.new_commits(start)
    t = world.trailers(promotion)
    target = t["Target-tag"]
    m = re.fullmatch(r"production-v0\.0\.2-b2c3d4e-(\d+)", target)
    assert m is not None and int(m[1]) > int(old_prod.rsplit("-", 1)[1])
    assert (t["Promoted-by"], t["Source-tag"], t["Digest"]) == (ALICE, staging, digest)
    assert f"promoted: {target} committed as {promotion[:12]}" in out
    assert world.changed_files(promotion) == {BACKEND_PROD}
    assert f"image: {world.image('backend')}:{target} # " in world.remote.show(BACKEND_PROD, promotion)
    assert registry_changes(before, world.state()) == {"acme/backend": {target: digest, "production": digest}}
    for tag in (staging, target, "production"):
        assert skopeo_digest(world.registry.host, "acme/backend", tag) == digest

    doc = versions(world)
    prod = env_of(doc, "backend", "production")
    assert doc["revision"] == promotion
    assert (prod["tag"], prod["version"], prod["digest"], prod["automation"]) == (target, "0.0.2", digest, "active")
    at = iso(int(world.remote.git("log", "-1", "--format=%at", promotion)))
    assert prod["last_change"] == {"kind": "promote", "commit": promotion, "by": ALICE, "at": at}

    before = world.state()
    out = ok(world, "rollback", "production", "backend", "--as", BOB)
    [revert] = world.new_commits(promotion)
    assert f"backend in production: {target} → {old_prod}" in out
    assert "also pauses" not in out  # the seed has one automation per service per env
    t = world.trailers(revert)
    assert (t["Rolled-back-by"], t["Reverts"], t["Target-tag"]) == (BOB, promotion, old_prod)
    subject = world.remote.git("log", "-1", "--format=%s", promotion)
    assert world.remote.git("log", "-1", "--format=%s", revert) == f'Revert "{subject}"'
    assert world.state().registry == before.registry  # hold mode never touches the registry

    doc = versions(world)
    prod = env_of(doc, "backend", "production")
    assert (prod["tag"], prod["automation"], prod["latest_available"]) == (old_prod, "held", target)
    assert (prod["last_change"]["kind"], prod["last_change"]["by"]) == ("rollback", BOB)
    assert env_of(doc, "frontend", "production")["automation"] == "active"  # its own automation

    held = world.state()
    said = refused(world, "resume", "production", "backend", "--as", BOB)
    assert f"Resuming backend in production would deploy {target} (Git has {old_prod})" in said and "--force" in said
    assert world.state() == held

    out = ok(world, "resume", "production", "backend", "--force", "--as", BOB)
    [resumed] = world.new_commits(revert)
    assert f"warning: Flux will deploy {target}." in out and f"committed as {resumed[:12]}" in out
    assert world.trailers(resumed)["Resumed-by"] == BOB
    assert world.changed_files(resumed) == {BACKEND_PROD}
    assert world.remote.show(BACKEND_PROD, resumed) == world.remote.show(BACKEND_PROD, f"{promotion}^")
    prod = env_of(versions(world), "backend", "production")
    assert (prod["tag"], prod["automation"], prod["latest_available"]) == (old_prod, "active", target)
    assert world.state().registry == held.registry


# --- 2, 3. the hold lives in the same commit as the marker ----------------------------------------


def test_rollback_reverts_the_marker_and_holds_it_in_one_commit(world: World) -> None:
    promotion = promote(world, "backend")
    ok(world, "rollback", "production", "backend", "--as", BOB)
    [revert] = world.new_commits(promotion)
    assert world.changed_files(revert) == {BACKEND_PROD}  # no automation, no policy: only the marker file
    # The marker file is byte-for-byte what it was before the promotion, but for the held marker name.
    held = world.remote.show(BACKEND_PROD, f"{promotion}^").replace('"production:backend"', '"HELD:production:backend"')
    assert world.remote.show(BACKEND_PROD, revert) == held
    for env in PIPELINE:
        for svc in ("backend", "frontend"):
            assert world.automation(env, revert, svc) == world.automation(env, promotion, svc)


def test_promoting_into_a_held_env_lifts_the_hold_in_the_same_commit(world: World) -> None:
    first = promote(world, "backend")
    ok(world, "rollback", "production", "backend", "--as", BOB)
    held = world.head()
    assert '"HELD:production:backend"' in world.remote.show(BACKEND_PROD, held)

    staging = world.tags[("backend", "staging", "0.0.2")]
    out = ok(world, "promote", staging, "to", "production", "--as", ALICE)
    [again] = world.new_commits(held)
    assert "this promotion lifts the hold" in out
    assert world.changed_files(again) == {BACKEND_PROD}
    assert "HELD:" not in world.remote.show(BACKEND_PROD, again)
    target = world.trailers(again)["Target-tag"]
    assert target != world.trailers(first)["Target-tag"]  # a fresh tag, newer than the rolled-back one
    assert f"{world.image('backend')}:{target} # " in world.remote.show(BACKEND_PROD, again)
    assert env_of(versions(world), "backend", "production")["automation"] == "active"


# --- 4. refusals change nothing -------------------------------------------------------------------

Case = Callable[[World], tuple[list[str], list[str]]]  # world → (arguments, phrases the refusal names)


def _staging(w: World) -> str:
    return w.tags[("backend", "staging", "0.0.2")]


REFUSALS: dict[str, Case] = {
    "malformed tag": lambda w: (
        ["promote", "staging-v0.0.2", "to", "production"], ["'staging-v0.0.2' is not a build tag", "Expected"]),
    "shell metacharacters": lambda w: (
        ["promote", 'staging-v0.0.1-a1b2c3d-1";rm -rf /', "to", "production"], ["characters a tag cannot have"]),
    "command substitution": lambda w: (
        ["promote", "$(id)", "to", "production"], ["'$(id)' is not a build tag"]),
    "newline with YAML": lambda w: (
        ["promote", f"{_staging(w)}\nnewTag: x", "to", "production"], [r"\nnewTag: x' is not a build tag"]),
    "unknown env": lambda w: (
        ["promote", _staging(w), "to", "qa"], ["Unknown environment 'qa'", "develop, staging, production"]),
    "skipping staging": lambda w: (
        ["promote", w.tags[("backend", "develop", "0.0.3")], "to", "production"],
        ["cannot go past staging to production", "Promote it to staging"]),
    "backwards": lambda w: (
        ["promote", _staging(w), "to", "develop"], ["cannot go backwards to develop"]),
    "unknown tag": lambda w: (
        ["promote", "staging-v9.9.9-fffffff-1700000000", "to", "production"],
        ["No service has a build tagged staging-v9.9.9-fffffff-1700000000"]),
    "ambiguous service": lambda w: (
        ["promote", w.ambiguous, "to", "production"], [f"{w.ambiguous} exists in more than one service: "
                                                       "backend, frontend", "--service"]),
    "not deployed in source": lambda w: (
        ["promote", w.never_deployed, "to", "production"],
        [f"{w.never_deployed} never ran in staging", f"now staging runs {_staging(w)}"]),
    "ambiguous tag named to a service it never ran in": lambda w: (
        ["promote", w.ambiguous, "to", "production", "--service", "frontend"], [f"{w.ambiguous} never ran"]),
    "unknown service": lambda w: (
        ["promote", _staging(w), "to", "production", "--service", "payments"], ["no service 'payments'"]),
    "forged trailer in the reason": lambda w: (
        ["promote", _staging(w), "to", "production", "--reason", "ok\n\nApproved-by: M <slack:U0MAL>"],
        ["reason must be one line"]),
    "forged trailer in the person": lambda w: (
        ["promote", _staging(w), "to", "production", "--as", "M\nApproved-by: X <slack:U0X>"],
        ["person name must be one line"]),
    "missing `to`": lambda w: (["promote", _staging(w), "into", "production"], ["Usage: promote TAG to ENV"]),
    "rollback to a tag never run": lambda w: (
        ["rollback", "production", "backend", "--to", "production-v9.9.9-abcdef0-1"],
        ["production never ran production-v9.9.9-abcdef0-1", w.tags[("backend", "production", "0.0.1")]]),
    "rollback of a first deploy": lambda w: (
        ["rollback", "production", "backend"], ["first backend deploy in production"]),
    "rollback with only first deploys": lambda w: (["rollback", "production"], ["no tag bump in production"]),
    "rollback in an unknown env": lambda w: (["rollback", "qa"], ["Unknown environment 'qa'"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusal_exits_2_and_changes_nothing(shared: World, case: str) -> None:
    args, phrases = REFUSALS[case](shared)
    before = shared.state()
    said = refused(shared, *args)
    for phrase in phrases:
        assert phrase in said
    assert shared.state() == before


# --- 5, 6. no-ops and dry runs --------------------------------------------------------------------


def test_repeated_promotion_is_a_noop(world: World) -> None:
    promotion = promote(world, "backend")
    target = world.trailers(promotion)["Target-tag"]
    before = world.state()
    out = ok(world, "promote", world.tags[("backend", "staging", "0.0.2")], "to", "production", "--as", BOB)
    assert f"production is already at {target}" in out
    assert world.head() == promotion and world.state() == before


def test_dry_run_promotion_prints_the_plan_and_writes_nothing(shared: World) -> None:
    staging, image = shared.tags[("backend", "staging", "0.0.2")], shared.image("backend")
    old = shared.tags[("backend", "production", "0.0.1")]
    before = shared.state()
    out = ok(shared, "promote", staging, "to", "production", "--dry-run", "--as", ALICE)
    assert shared.state() == before
    assert f"image   {image}@{shared.digests[('backend', '0.0.2')]}\n" in out
    m = re.search(r"^tags    (production-v0\.0\.2-b2c3d4e-\d+) \(new\), production \(moved\)$", out, re.M)
    assert m is not None and m[1] not in shared.registry_tags("backend")
    assert f"{BACKEND_PROD}: {image}:{old} → {image}:{m[1]}\n" in out
    assert out.endswith("dry run: nothing written\n")


def test_dry_run_rollback_prints_the_plan_and_writes_nothing(shared: World) -> None:
    new, old = (shared.tags[("backend", "staging", v)] for v in ("0.0.2", "0.0.1"))
    before = shared.state()
    out = ok(shared, "rollback", "staging", "backend", "--dry-run", "--as", BOB)
    assert shared.state() == before
    image = shared.image("backend")
    assert f"backend in staging: {new} → {old}\n" in out
    assert f"{marker_file('backend', 'staging')}: {image}:{new} → {image}:{old}\n" in out
    assert "held: its markers now name HELD:staging:backend, which no Flux automation writes" in out
    assert out.endswith("dry run: nothing written\n")


# --- 7. versions --json ---------------------------------------------------------------------------

ENV_KEYS = {"tag", "version", "sha", "built_at", "image", "digest", "automation", "latest_available", "last_change",
            "policy", "applied"}  # fmt: skip


def _expected_env(w: World, svc: str, env: str, latest: str) -> dict[str, Any]:
    version = {"develop": "0.0.3", "staging": "0.0.2", "production": "0.0.1"}[env]
    tag = w.tags[(svc, env, version)]
    sha, by, at = w.remote.git("log", "-1", "--format=%H%x00%an <%ae>%x00%at", "--", marker_file(svc, env)).split("\0")
    return {
        "tag": tag, "version": version, "sha": tag.split("-")[2], "built_at": int(tag.rsplit("-", 1)[1]),
        "image": w.image(svc), "digest": w.digests[(svc, version)], "automation": "active",
        "latest_available": latest,
        "last_change": {"kind": "other" if by.startswith(PLATFORM[0]) else "automation", "commit": sha,
                        "by": by, "at": iso(int(at))},
        "policy": f"{env}/{svc}",
        "applied": None,  # no Kustomization event has reached this state_dir
    }  # fmt: skip


def test_versions_json_matches_the_contract(shared: World) -> None:
    doc = versions(shared)
    expected: dict[str, Any] = {
        "revision": shared.head(),
        "services": [
            {"name": svc, "environments": {env: _expected_env(shared, svc, env, shared.tags[(svc, env, v)])
                                           for env, v in zip(PIPELINE, ("0.0.3", "0.0.2", "0.0.1"), strict=True)}}
            for svc in SERVICES
        ],
        "problems": [],
    }  # fmt: skip
    # Backend staging has a newer build waiting (never deployed); the policy must report it.
    expected["services"][0]["environments"]["staging"]["latest_available"] = shared.never_deployed
    assert doc == expected
    assert doc["services"][1]["environments"]["production"]["last_change"]["commit"] == shared.layout_commit
    for svc in doc["services"]:
        assert list(svc["environments"]) == list(PIPELINE)
        for v in svc["environments"].values():
            assert set(v) == ENV_KEYS and type(v["built_at"]) is int
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", v["digest"]) and re.fullmatch(r"[0-9a-f]{7}", v["sha"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", v["last_change"]["at"])
    prod = env_of(doc, "backend", "production")
    assert skopeo_digest(shared.registry.host, "acme/backend", prod["tag"]) == prod["digest"]
    only = {"revision": doc["revision"], "services": doc["services"][1:], "problems": []}
    assert versions(shared, "frontend") == only


def test_check_passes_on_the_seed_layout(shared: World) -> None:
    out = ok(shared, "check")
    assert out.startswith(f"repository at {shared.head()[:12]}\n") and out.endswith("no problems found\n")
    for svc in SERVICES:
        for env in PIPELINE:
            assert f"{svc}/{env}: policy {env}/{svc} · image {shared.image(svc)} · " in out


# --- 8. an outside system is down: exit 1, nothing half-done --------------------------------------


def test_registry_down_fails_the_promotion_and_leaves_git_alone(world: World) -> None:
    before = world.state()
    world.registry.stop()
    proc = world.cli("promote", world.tags[("backend", "staging", "0.0.2")], "to", "production", "--as", ALICE)
    world.registry.start()
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"gitops-bot: Registry {world.registry.host} refused the connection")
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert world.state() == before


def test_git_remote_down_fails_the_promotion_and_leaves_the_registry_alone(world: World) -> None:
    ok(world, "versions")  # the bot has a clone already, as it would in service
    before = world.state()
    world.daemon.stop()
    proc = world.cli("promote", world.tags[("backend", "staging", "0.0.2")], "to", "production", "--as", ALICE)
    world.daemon.start()
    assert proc.returncode == 1, proc.stderr
    url = world.daemon.url(world.remote.name)
    assert proc.stderr.splitlines()[-1].startswith(f"gitops-bot: Could not reach the Git remote {url} while fetching")
    assert world.state() == before


# --- 9. which service to roll back ----------------------------------------------------------------


def test_rollback_without_a_service_refuses_when_several_were_bumped(world: World) -> None:
    promote(world, "backend")
    promote(world, "frontend")
    before = world.state()
    said = refused(world, "rollback", "production", "--as", BOB)
    assert "Several services were bumped in production: backend (" in said and "frontend (" in said
    assert "Name one" in said
    assert world.state() == before


def test_rollback_without_a_service_picks_the_only_one_bumped(world: World) -> None:
    promotion = promote(world, "backend")
    out = ok(world, "rollback", "production", "--as", BOB)
    assert out.startswith("backend in production: ")
    [revert] = world.new_commits(promotion)
    assert world.trailers(revert)["Reverts"] == promotion
