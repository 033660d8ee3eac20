"""Each fleet layout of LAYOUTS.md (tests/fleets/layouts.py) through the CLI, as a new user would run it.

A bare Git remote holds the fleet, an on-disk OCI layout registry serves the images (configured for the host
the fleet's images name, `docker.io` included), and `python -m bot` runs as a child process: `versions --json`
gives the expected rows and problems, `check` the expected problems, and a promote then a rollback each land
one commit that touches exactly the files Flux's own scope allows. After the rollback, and after a freeze, a
Flux-like automation run (tests/fleets/flux_run.py) over the remote's files, with a newer build for every
policy, shows what the hold holds: the rolled-back service in its env (or every service of the frozen env)
keeps its tag, every other automated marker is bumped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.adapters.oci_layout import OciLayoutRegistry
from bot.core.discovery import discover
from bot.settings_values import DEFAULT_PIPELINE
from tests.fleets.flux_run import automation_run, with_newer_builds
from tests.fleets.layouts import FLEETS, Fleet
from tests.secrets_guard import check_output, secret_env
from tests.servers.git_daemon import BareRemote, make_bare_remote

PROJECT = Path(__file__).resolve().parents[2]
WHO = "Alice <cli:alice>"
NEWER = 9_999_999_999  # the timestamp of the newer build each policy selects in the Flux-like run


class Run:
    def __init__(self, root: Path, fleet: Fleet) -> None:
        self.fleet = fleet
        self.remote: BareRemote = make_bare_remote(root / "remotes", fleet.files)
        registry = OciLayoutRegistry(root / "registry")
        for repo, tags in fleet.images.items():
            for t in tags:
                registry.add_image(repo, [t], seed=f"{repo}:{t.split('-', 1)[1]}")  # same build, same digest
        config = {
            "repo": {"url": self.remote.url},
            "state_dir": str(root / "state"),
            "registries": {fleet.host: {"layout": str(root / "registry")}},
            **fleet.config,
        }
        self.config = root / "bot.yaml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "-c", str(self.config), *args],
            cwd=PROJECT, env={**os.environ, **secret_env()}, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        check_output(f"gitops-bot {' '.join(args)}", proc.stdout, proc.stderr)
        return proc

    def files(self) -> dict[str, str]:
        """Every file at the branch head, with the newline the git helper strips put back."""
        paths = self.remote.git("ls-tree", "-r", "--name-only", self.remote.branch).split()
        return {p: self.remote.show(p) + "\n" for p in paths}

    def flux(self) -> tuple[dict[tuple[str, str], str | None], dict[tuple[str, str], str | None]]:
        """Each target's tag in Git now, and after one Flux-like run in which every policy has a newer build."""
        subs = self.fleet.config.get("substitutions", {})
        pipeline = self.fleet.config.get("pipeline", DEFAULT_PIPELINE)
        before = self.files()
        after = automation_run(before, with_newer_builds(self.fleet.images, NEWER), subs)
        now, then = (discover(f, pipeline=pipeline, substitutions=subs).targets for f in (before, after))
        return {k: t.current_tag() for k, t in now.items()}, {k: then[k].current_tag() for k in now}

    def touched(self, *args: str) -> set[str]:
        """Run a writing command; the files its one new commit changed."""
        before = self.remote.head()
        proc = self.cli(*args, "--as", WHO)
        assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
        commits = self.remote.git("rev-list", f"{before}..{self.remote.branch}").split()
        assert len(commits) == 1, commits
        return set(self.remote.git("diff-tree", "--no-commit-id", "--name-only", "-r", commits[0]).split())


def _matches(problems: list[str], expected: tuple[str, ...]) -> bool:
    return len(problems) == len(expected) and all(e in p for p, e in zip(problems, expected, strict=True))


@pytest.mark.parametrize("make", FLEETS, ids=lambda f: f().name)
def test_layout(make: Callable[[], Fleet], tmp_path: Path) -> None:
    fleet = make()
    run = Run(tmp_path, fleet)

    proc = run.cli("versions", "--json")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    rows = {
        (s["name"], env): (v["tag"], v["automation"]) for s in doc["services"] for env, v in s["environments"].items()
    }
    assert rows == dict(fleet.rows)
    assert _matches(doc["problems"], fleet.problems), doc["problems"]

    proc = run.cli("check")
    problems = [ln.removeprefix("problem: ") for ln in proc.stdout.splitlines() if ln.startswith("problem: ")]
    assert _matches(problems, fleet.problems), proc.stdout
    assert proc.returncode == (2 if fleet.problems else 0), proc.stdout + proc.stderr

    assert run.touched(*fleet.promote) == fleet.promoted
    assert run.touched(*fleet.rollback) == fleet.rolled_back
    # stale copies are never edited: every file outside the two commits is byte for byte what it was
    for path, text in fleet.files.items():
        if path not in fleet.promoted | fleet.rolled_back:
            assert run.remote.show(path) == text.strip(), path  # (the git helper strips its output)


def _only_held_kept(
    now: dict[tuple[str, str], str | None], flux: dict[tuple[str, str], str | None], held: set[tuple[str, str]]
) -> None:
    for key, tag in now.items():
        if key in held:
            assert flux[key] == tag, f"{key} is held, yet Flux moved it to {flux[key]}"
        else:
            assert flux[key] and flux[key].endswith(f"-{NEWER}"), f"{key}: Flux left {tag} (not held)"


@pytest.mark.parametrize("make", FLEETS, ids=lambda f: f().name)
def test_flux_run_after_a_rollback_moves_all_but_the_held_marker(make: Callable[[], Fleet], tmp_path: Path) -> None:
    fleet = make()
    run = Run(tmp_path, fleet)
    env = fleet.rollback[1]
    now, flux = run.flux()
    _only_held_kept(now, flux, set())  # nothing held yet: the run bumps every automated marker

    run.touched(*fleet.promote)
    now = run.flux()[0]
    run.touched(*fleet.rollback)
    [rolled] = [k for k, tag in run.flux()[0].items() if tag != now[k]]
    assert rolled[1] == env
    now, flux = run.flux()
    _only_held_kept(now, flux, {rolled})
    doc = json.loads(run.cli("versions", "--json").stdout)
    held = {(s["name"], e) for s in doc["services"] for e, v in s["environments"].items() if v["automation"] == "held"}
    assert held == {rolled}  # /versions: held per service x env

    # Resuming any other service of that env (a sibling on a shared automation) never lifts the hold.
    for service, _ in sorted(k for k in now if k[1] == env and k != rolled):
        proc = run.cli("resume", env, service, "--as", WHO)
        assert proc.returncode == 0 and "is not held" in proc.stdout, proc.stdout + proc.stderr
    assert run.flux() == (now, flux)


@pytest.mark.parametrize("make", FLEETS, ids=lambda f: f().name)
def test_flux_run_after_a_freeze_holds_exactly_the_frozen_env(make: Callable[[], Fleet], tmp_path: Path) -> None:
    fleet = make()
    run = Run(tmp_path, fleet)
    env = fleet.rollback[1]
    proc = run.cli("freeze", env, "2h", "release", "--as", WHO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    now, flux = run.flux()
    _only_held_kept(now, flux, {k for k in now if k[1] == env})
