"""LAYOUTS §6: the Flux objects on one branch (`main`, applied by hand) and the markers Flux writes on another
(`release`). With `repo.objects_branch: main` the bot reads the objects there and the markers on `release`,
and commits to `release` only; without it, no marker has a policy, and the problem names the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.adapters.oci_layout import OciLayoutRegistry
from tests.fleets.layouts import D1, D2, P1, S1, S2
from tests.fleets.objects import automation, bot_filter, docs, kustomization, policy, repository
from tests.secrets_guard import check_output, secret_env
from tests.servers.git_daemon import git, make_bare_remote

PROJECT = Path(__file__).resolve().parents[2]
ENVS = (("develop", D2), ("staging", S2), ("production", P1))


def _fleet(root: Path) -> tuple[Path, Path]:
    objects = {"infra/repository.yaml": repository("app", "flux-system", "ghcr.io/acme/app", access_from=True)}
    for env, _ in ENVS:
        objects[f"infra/{env}.yaml"] = docs(
            policy("app", env, bot_filter(env), repo_namespace="flux-system"),
            automation("app", env, f"./{env}", checkout="release", push="release"),
        )
    remote = make_bare_remote(root / "remotes", objects)  # main: the objects only
    seed = root / "release-seed"
    git("init", "-q", "-b", "release", str(seed))
    for env, now in ENVS:  # release: the markers only
        (seed / env).mkdir(parents=True)
        (seed / env / "kustomization.yaml").write_text(kustomization(f"{env}:app", now))
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "markers", cwd=seed)
    git("push", "-q", str(remote.path), "HEAD:refs/heads/release", cwd=seed)
    registry = OciLayoutRegistry(root / "registry")
    for t in (D1, D2, S1, S2, P1):
        registry.add_image("acme/app", [t], seed=f"app:{t.split('-', 1)[1]}")
    return remote.path, root / "registry"


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "bot", "-c", str(config), *args], cwd=PROJECT,
                          env={**os.environ, **secret_env()}, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    check_output(f"gitops-bot {' '.join(args)}", proc.stdout, proc.stderr)
    return proc


def _config(root: Path, remote: Path, registry: Path, **repo: str) -> Path:
    conf = {"repo": {"url": str(remote), "branch": "release", **repo}, "state_dir": str(root / "state"),
            "registries": {"ghcr.io": {"layout": str(registry)}}}  # fmt: skip
    path = root / f"bot-{len(repo)}.yaml"
    path.write_text(yaml.safe_dump(conf))
    return path


def test_objects_on_main_and_markers_on_release(tmp_path: Path) -> None:
    remote, registry = _fleet(tmp_path)
    alone = json.loads(_cli(_config(tmp_path, remote, registry), "versions", "--json").stdout)
    assert alone["services"] == []
    [said] = [p for p in alone["problems"] if p.startswith("production/kustomization.yaml")]
    assert "which no ImagePolicy in the repository defines" in said and "repo.objects_branch" in said

    config = _config(tmp_path, remote, registry, objects_branch="main")
    doc: dict[str, Any] = json.loads(_cli(config, "versions", "--json").stdout)
    rows = {(s["name"], e): v["tag"] for s in doc["services"] for e, v in s["environments"].items()}
    assert rows == {("app", "develop"): D2, ("app", "staging"): S2, ("app", "production"): P1}
    assert not [p for p in doc["problems"] if "no ImagePolicy" in p]

    main_before = git("rev-parse", "refs/heads/main", cwd=remote)
    release_before = git("rev-parse", "refs/heads/release", cwd=remote)
    proc = _cli(config, "promote", S2, "to", "production", "--as", "Alice <cli:alice>")
    assert proc.returncode == 0, proc.stderr
    [commit] = git("rev-list", f"{release_before}..refs/heads/release", cwd=remote).split()
    changed = git("diff-tree", "--no-commit-id", "--name-only", "-r", commit, cwd=remote).split()
    assert changed == ["production/kustomization.yaml"]  # the marker on release, nothing else
    assert git("rev-parse", "refs/heads/main", cwd=remote) == main_before  # the objects' branch is only read
