"""The command line as a newcomer meets it (issue 20): each finding of the first hour, as a child process.

Exit codes follow one rule: 0 done or nothing to do, 2 refused or bad input (nothing changed), 1 an
operation failed or a report is incomplete.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.test_cli_e2e import ALICE, ok, refused
from tests.integration.world import PROJECT, World, build_world, running_world
from tests.servers.git_daemon import GitDaemon
from tests.servers.registry import RegistryServer

POLICIES = """\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: staging-app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  filterTags: {pattern: '^staging-v.*-(?P<ts>[0-9]+)$', extract: '$ts'}
  policy: {numerical: {order: asc}}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: prod-app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: 1.x.x}}
"""
TAGS = "v1.0.0\nv1.2.0\nstaging-v0.0.1-a1b2c3d-100\nstaging-v0.0.2-b2c3d4e-200\n"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("first-hour")) as world:
        yield world


@pytest.fixture
def world(tmp_path: Path, registry: RegistryServer, git_daemon: GitDaemon) -> World:
    return build_world(tmp_path / "world", registry, git_daemon)


def test_version_and_options_after_the_subcommand(shared: World) -> None:
    proc = shared.cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("gitops-bot ") and proc.stdout.strip() != "gitops-bot"
    # `-c` after the subcommand names the same file as before it (world.cli puts one first; repeat it after).
    doc = ok(shared, "versions", "-c", str(shared.config), "--json")
    assert '"services"' in doc


def test_explain_policy_picks_one_of_several_by_name(shared: World, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICIES)
    (tmp_path / "tags").write_text(TAGS)
    said = refused(shared, "explain-policy", str(tmp_path / "p.yaml"), "--tags", str(tmp_path / "tags"))
    assert "found 2" in said and "--name" in said and "staging-app, prod-app" in said
    args = ("explain-policy", str(tmp_path / "p.yaml"), "--tags", str(tmp_path / "tags"))
    assert ok(shared, *args, "--name", "prod-app") == "v1.2.0\n"
    assert ok(shared, *args, "--name", "staging-app") == "staging-v0.0.2-b2c3d4e-200\n"
    assert "none is named 'qa-app'" in refused(shared, *args, "--name", "qa-app")


def test_a_missing_file_is_a_refusal(shared: World, tmp_path: Path) -> None:
    said = refused(shared, "explain-policy", str(tmp_path / "nope.yaml"), "--tags", "-")
    assert "Cannot read" in said and "nope.yaml" in said


def test_history_of_an_unknown_env_names_the_known_ones_and_empty_history_says_so(shared: World) -> None:
    said = refused(shared, "history", "prod")
    assert "Unknown environment 'prod'" in said and "production" in said
    out = ok(shared, "history", "production", "backend", "-n", "1")
    assert out.strip()  # the seeded fleet has history
    assert "Nothing recorded" not in out


def test_versions_with_the_registry_down_prints_what_it_can_and_exits_1(shared: World, tmp_path: Path) -> None:
    conf = yaml.safe_load(shared.config.read_text())
    dead = "127.0.0.1:9"  # discard port: nothing listens there
    conf["substitutions"] = {k: v.replace(shared.registry.host, dead) for k, v in conf["substitutions"].items()}
    conf["registries"] = {dead: {"insecure": True, "timeout": 1}}
    conf["state_dir"] = str(tmp_path / "state")
    moved = tmp_path / "bot.yaml"
    moved.write_text(yaml.safe_dump(conf))
    proc = shared.cli("versions", "-c", str(moved))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "backend" in proc.stdout and dead in proc.stdout  # the table, and the problem naming the host


def test_nothing_to_do_exits_0(shared: World) -> None:
    before = shared.state()
    proc = shared.cli("resume", "production")
    assert proc.returncode == 0 and "Nothing is held in production" in proc.stdout and proc.stderr == ""
    assert shared.state() == before


def test_schedule_add_plans_at_once_like_slack(shared: World) -> None:
    staging = shared.tags[("backend", "staging", "0.0.2")]
    develop = shared.tags[("backend", "develop", "0.0.3")]
    before = shared.state()
    assert "No service has a build tagged" in refused(
        shared, "schedule", "add", "staging-v9.9.9-fffffff-1700000000", "to", "production", "at", "14:00"
    )
    assert "cannot go past staging" in refused(shared, "schedule", "add", develop, "to", "production", "at", "14:00")
    assert "Unknown environment 'prodction'" in refused(shared, "schedule", "add", staging, "to", "prodction",
                                                        "at", "14:00")  # fmt: skip
    assert shared.state() == before
    out = ok(shared, "schedule", "add", staging, "to", "production", "at", "14:00", "--as", ALICE)
    assert " UTC" in out and "gitops-bot serve" in out
    schedule_id = out.split()[1].rstrip(":")
    assert schedule_id in ok(shared, "schedule", "list")
    ok(shared, "schedule", "cancel", schedule_id)


def test_cli_commits_carry_a_request_id_and_the_same_freeze_twice_is_one_commit(world: World) -> None:
    head = world.head()
    ok(world, "promote", world.tags[("backend", "staging", "0.0.2")], "to", "production", "--as", ALICE)
    [commit] = world.new_commits(head)
    assert len(world.trailers(commit)["Request-id"]) == 32
    head = world.head()
    ok(world, "freeze", "production", "2h", "release", "party", "--as", ALICE)
    assert "already frozen" in ok(world, "freeze", "production", "2h", "release", "party", "--as", ALICE)
    assert len(world.new_commits(head)) == 1


def test_a_release_set_refuses_an_unknown_service_instead_of_dropping_it(shared: World) -> None:
    before = shared.state()
    said = refused(shared, "promote", "staging", "to", "production", "--service", "backend,payments", "--as", ALICE)
    assert "No service 'payments' in staging" in said and "backend, frontend" in said
    assert shared.state() == before


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "GITOPS_BOT_CONFIG"}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd or PROJECT, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_without_a_config_the_message_names_both_ways_to_give_one(tmp_path: Path) -> None:
    proc = _run("versions")  # from the repository root, where config/bot.yaml is only the example
    assert proc.returncode == 2 and "-c FILE" in proc.stderr and "GITOPS_BOT_CONFIG" in proc.stderr
    assert "github.com" not in proc.stderr + proc.stdout  # the example's hosts are never contacted
    proc = _run("versions", env={"GITOPS_BOT_CONFIG": str(tmp_path / "missing.yaml")})
    assert proc.returncode == 2 and "missing.yaml" in proc.stderr and "GITOPS_BOT_CONFIG" in proc.stderr


def test_a_repo_without_url_is_refused_at_load(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("repo: {branch: main}\n")
    proc = _run("versions", "-c", str(config))
    assert proc.returncode == 2 and "repo.url: required" in proc.stderr


def test_a_missing_substitution_names_its_config_key(shared: World, tmp_path: Path) -> None:
    conf = yaml.safe_load(shared.config.read_text())
    conf["substitutions"] = {}
    conf["state_dir"] = str(tmp_path / "state")
    bare = tmp_path / "bot.yaml"
    bare.write_text(yaml.safe_dump(conf))
    proc = shared.cli("check", "-c", str(bare))
    assert "substitutions.image_registry" in proc.stdout + proc.stderr


def test_a_registry_host_that_does_not_resolve_is_named_as_a_dns_problem(shared: World, tmp_path: Path) -> None:
    conf = yaml.safe_load(shared.config.read_text())
    host = "registry.invalid"  # RFC 2606: never resolves
    conf["substitutions"] = {k: v.replace(shared.registry.host, host) for k, v in conf["substitutions"].items()}
    conf["registries"] = {host: {"timeout": 1}}
    conf["state_dir"] = str(tmp_path / "state")
    moved = tmp_path / "bot.yaml"
    moved.write_text(yaml.safe_dump(conf))
    proc = shared.cli("versions", "-c", str(moved))
    assert proc.returncode == 1 and "could not be found (DNS)" in proc.stdout + proc.stderr
    assert "refused the connection" not in proc.stdout + proc.stderr
