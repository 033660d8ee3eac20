"""Fleets whose tags are not the seed's convention (LAYOUTS §11, issue 16), through the CLI as a child process.

A bare Git remote holds the fleet, an on-disk OCI layout registry serves the images, and after each promotion a
Flux-like automation run (tests/fleets/flux_run.py) over the remote's files, reading that registry, shows
whether what the bot wrote stays: Fleet A's semver production (`v1.0.1`, policy `>=1.0.0`) promoted by pin and by
template, Fleet C's date-style tags (`b9.20240526.083653`, alphabetical) rolled back to by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.adapters.oci_layout import OciLayoutRegistry
from bot.core.discovery import discover
from tests.fleets.flux_run import automation_run
from tests.fleets.objects import automation, docs, kustomization, repository
from tests.secrets_guard import check_output, secret_env
from tests.servers.git_daemon import BareRemote, make_bare_remote

PROJECT = Path(__file__).resolve().parents[2]
WHO = "Alice <cli:alice>"
PIPELINE = ["staging", "production"]


def _policy(env: str, spec: str) -> str:
    return (
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
        f"metadata:\n  name: app-{env}\n  namespace: flux-system\n"
        f"spec:\n  imageRepositoryRef:\n    name: app\n{spec}"
    )


SEMVER_RC = "  policy:\n    semver:\n      range: '>=1.0.0-0'\n"  # staging deploys release candidates
SEMVER = "  policy:\n    semver:\n      range: '>=1.0.0'\n"  # production: releases only (Fleet A)
DATES = (  # Fleet C, LAYOUTS §11
    "  filterTags:\n    pattern: '^b(?P<buildnumber>\\d+)\\.(?P<date>\\d+)\\.(?P<time>\\d+)$'\n"
    "    extract: '$date$time$buildnumber'\n  policy:\n    alphabetical:\n      order: asc\n"
)


def _fleet(specs: Mapping[str, str], now: Mapping[str, str]) -> dict[str, str]:
    files = {"flux/repository.yaml": repository("app", "flux-system", "ghcr.io/acme/app")}
    for env in PIPELINE:
        files[f"flux/{env}.yaml"] = docs(_policy(env, specs[env]), automation(env, "flux-system", f"./clusters/{env}"))
        files[f"clusters/{env}/kustomization.yaml"] = kustomization(f"flux-system:app-{env}", now[env])
    return files


class Fleet:
    def __init__(self, root: Path, files: dict[str, str], builds: Mapping[str, tuple[str, ...]], envs: Any) -> None:
        self.remote: BareRemote = make_bare_remote(root / "remotes", files)
        self.registry = OciLayoutRegistry(root / "registry")
        for build, tags in builds.items():
            self.registry.add_image("acme/app", list(tags), seed=build)  # one build, one digest, every tag
        config = {
            "repo": {"url": self.remote.url}, "state_dir": str(root / "state"),
            "registries": {"ghcr.io": {"layout": str(root / "registry")}},
            "pipeline": PIPELINE, "environments": envs,
        }  # fmt: skip
        self.config = root / "bot.yaml"
        self.config.write_text(yaml.safe_dump(config), encoding="utf-8")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "-c", str(self.config), *args, "--as", WHO],
            cwd=PROJECT, env={**os.environ, **secret_env()}, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        check_output(f"gitops-bot {' '.join(args)}", proc.stdout, proc.stderr)
        return proc

    def files(self) -> dict[str, str]:
        paths = self.remote.git("ls-tree", "-r", "--name-only", self.remote.branch).split()
        return {p: self.remote.show(p) + "\n" for p in paths}

    def tags(self, files: Mapping[str, str] | None = None) -> dict[str, str | None]:
        targets = discover(files or self.files(), pipeline=PIPELINE).targets
        return {env: targets[("app", env)].current_tag() for env in PIPELINE}

    def after_flux(self) -> dict[str, str | None]:
        """Each env's tag after one Flux-like run of every automation against the registry as it is now."""
        return self.tags(automation_run(self.files(), lambda image: self.registry.list_tags("acme/app")))

    def digest(self, tag: str) -> str | None:
        return self.registry.digest("acme/app", tag)


SEMVER_BUILDS = {"1.0.1": ("1.0.1-rc.1", "v1.0.1"), "1.0.2": ("1.0.2-rc.1",)}


def _semver_fleet(tmp_path: Path, production: dict[str, str]) -> Fleet:
    files = _fleet({"staging": SEMVER_RC, "production": SEMVER}, {"staging": "1.0.2-rc.1", "production": "v1.0.1"})
    return Fleet(tmp_path, files, SEMVER_BUILDS, {"production": production})


def test_semver_production_promoted_by_template_stays_after_flux(tmp_path: Path) -> None:
    fleet = _semver_fleet(tmp_path, {"tag": "v{version}"})
    assert fleet.after_flux() == {"staging": "1.0.2-rc.1", "production": "v1.0.1"}  # nothing to move yet

    proc = fleet.cli("promote", "1.0.2-rc.1", "to", "production")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "promoted: v1.0.2" in proc.stdout, proc.stdout
    assert fleet.digest("v1.0.2") == fleet.digest("1.0.2-rc.1")  # a copy of the same digest, no rebuild
    assert "production" not in fleet.registry.list_tags("acme/app")  # no env alias for a policy to trip on
    assert fleet.tags()["production"] == "v1.0.2"
    assert fleet.after_flux()["production"] == "v1.0.2"  # the policy selects what the bot minted: it stays


def test_semver_production_promoted_by_pin_is_held_and_stays_after_flux(tmp_path: Path) -> None:
    fleet = _semver_fleet(tmp_path, {"tag": "pin"})
    proc = fleet.cli("promote", "1.0.2-rc.1", "to", "production")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(pinned as it is, no copy)" in proc.stdout, proc.stdout
    assert fleet.tags()["production"] == "1.0.2-rc.1"
    assert "HELD:flux-system:app-production" in fleet.files()["clusters/production/kustomization.yaml"]
    # `>=1.0.0` excludes the release candidate and would go back to v1.0.1; the hold keeps the pin
    assert fleet.after_flux() == {"staging": "1.0.2-rc.1", "production": "1.0.2-rc.1"}

    # the next promotion lifts the hold (and, with only v1.0.1 released, pins again: still held)
    fleet.registry.add_image("acme/app", ["1.0.3-rc.1"], seed="1.0.3")
    fleet.remote.push(
        _fleet({"staging": SEMVER_RC, "production": SEMVER}, {"staging": "1.0.3-rc.1", "production": "1.0.2-rc.1"})
        | {"clusters/production/kustomization.yaml": fleet.files()["clusters/production/kustomization.yaml"]},
        message="staging: 1.0.3-rc.1",
    )
    proc = fleet.cli("promote", "1.0.3-rc.1", "to", "production")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fleet.after_flux()["production"] == "1.0.3-rc.1"


def test_template_the_target_policy_would_never_select_is_refused_with_the_reason(tmp_path: Path) -> None:
    fleet = _semver_fleet(tmp_path, {"tag": "release-{version}"})  # not semver: `>=1.0.0` never selects it
    before = fleet.remote.head()
    proc = fleet.cli("promote", "1.0.2-rc.1", "to", "production")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "release-1.0.2 would not be deployed in production" in out, out
    assert "ImagePolicy flux-system:app-production would not select it (it would select v1.0.1)" in out, out
    assert fleet.remote.head() == before and fleet.digest("release-1.0.2") is None  # nothing written anywhere


def test_rollback_to_a_date_style_tag_the_env_ran(tmp_path: Path) -> None:
    old, new = "b9.20240526.083653", "b26.20240527.063829"
    files = _fleet({"staging": DATES, "production": DATES}, {"staging": new, "production": old})
    fleet = Fleet(tmp_path, files, {"9": (old,), "26": (new,)}, {})
    prod = "clusters/production/kustomization.yaml"
    fleet.remote.push({prod: files[prod].replace(old, new)}, message="Update from image update automation")
    assert fleet.tags()["production"] == new

    proc = fleet.cli("rollback", "production", "app", "--to", old)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fleet.tags()["production"] == old
    assert fleet.after_flux() == {"staging": new, "production": old}  # held: Flux's pick (b26…) does not return


def test_template_naming_a_tag_another_image_has_is_refused_before_any_write(tmp_path: Path) -> None:
    files = _fleet({"staging": SEMVER_RC, "production": SEMVER}, {"staging": "1.0.2-rc.1", "production": "v1.0.1"})
    builds = {**SEMVER_BUILDS, "a hotfix": ("v1.0.2",)}  # v1.0.2 already names another build
    fleet = Fleet(tmp_path, files, builds, {"production": {"tag": "v{version}"}})
    before, hotfix = fleet.remote.head(), fleet.digest("v1.0.2")
    proc = fleet.cli("promote", "1.0.2-rc.1", "to", "production")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "v1.0.2 already exists in the registry for another image" in proc.stdout + proc.stderr
    assert fleet.remote.head() == before and fleet.digest("v1.0.2") == hotfix


def test_release_set_of_a_semver_fleet_by_template_stays_after_flux(tmp_path: Path) -> None:
    fleet = _semver_fleet(tmp_path, {"tag": "v{version}"})
    proc = fleet.cli("promote", "staging", "to", "production")  # a release set: every service, one commit
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "app: 1.0.2-rc.1 → v1.0.2" in proc.stdout, proc.stdout
    assert fleet.digest("v1.0.2") == fleet.digest("1.0.2-rc.1")
    assert fleet.after_flux()["production"] == "v1.0.2"
