"""The demo's world on real servers: a bare remote behind `git daemon`, Debian's docker-registry, a config file.

    registry  <host>/acme/{backend,frontend}: develop builds 0.0.1-0.0.3 (pushed), staging 0.0.1-0.0.2 and
              production 0.0.1 as retags of the same manifests, each env alias on its newest build; plus
              two strays: a backend staging tag for 0.0.3 that Git never deployed (`never_deployed`) and
              one tag pushed to both services (`ambiguous`), both there to be refused.
    remote    fleet.git in the seed layout: a README commit, the layout at 0.0.1 everywhere by
              platform-team, then Flux-style "Update from image update automation" commits by fluxcdbot
              (develop 0.0.2, staging 0.0.2, develop 0.0.3).
    config    config.yaml: repo.url = the git:// URL, the registry as insecure, state_dir in the world.

`build_world` uses servers the caller owns (the `registry` and `git_daemon` fixtures); `running_world`
starts and stops its own, for a world shared by a whole module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from bot.adapters.registry import ACCEPT
from bot.demo import SHAS  # the same builds as the demo
from bot.seed_layout import IMAGE_REGISTRY_VAR, automation_file, marker_file, seed_files
from tests.images import push_image, put_tags
from tests.secrets_guard import check_output, secret_env
from tests.servers.git_daemon import BareRemote, GitDaemon, make_bare_remote
from tests.servers.registry import RegistryServer, start_registry

PROJECT = Path(__file__).resolve().parents[2]
PIPELINE = ("develop", "staging", "production")
SERVICES = ("backend", "frontend")
VERSIONS = ("0.0.1", "0.0.2", "0.0.3")
PLATFORM = ("platform-team", "platform@acme.example")
FLUX = ("fluxcdbot", "fluxcdbot@users.noreply.github.com")
AUTOMATION = "Update from image update automation"
DAY = 86400


@dataclass(frozen=True)
class State:
    """Everything a refused or failed command must leave alone."""

    refs: str  # `git for-each-ref` of the bare remote
    registry: Mapping[str, Mapping[str, str]]  # repo → tag → digest, for every repo in the catalog


@dataclass(frozen=True)
class World:
    root: Path
    config: Path
    remote: BareRemote
    registry: RegistryServer
    daemon: GitDaemon
    t0: int
    tags: Mapping[tuple[str, str, str], str]  # (service, env, version) → tag
    digests: Mapping[tuple[str, str], str]  # (service, version) → manifest digest
    layout_commit: str  # the commit that added every marker (platform-team)
    never_deployed: str  # backend staging tag for 0.0.3 that Git never ran in staging
    ambiguous: str  # a staging tag in both services' repositories

    @property
    def image_registry(self) -> str:
        return f"{self.registry.host}/acme"

    def image(self, service: str) -> str:
        return f"{self.image_registry}/{service}"

    def head(self) -> str:
        return self.remote.head()

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`python -m bot -c <config> ARGS` in a child process, as a person would run it - with every secret
        variable set to a canary, and what it prints read by the secrets guard."""
        env = {**os.environ, **secret_env(self.registry.host), "DOCKER_CONFIG": str(self.root / "docker")}
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "-c", str(self.config), *args],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        check_output(f"gitops-bot {' '.join(args)}", proc.stdout, proc.stderr)
        return proc

    # --- reading the remote with git itself, not with the bot's parsers --------------------------

    def new_commits(self, since: str) -> list[str]:
        out = self.remote.git("rev-list", f"{since}..{self.remote.branch}")
        return out.split() if out else []

    def trailers(self, sha: str) -> dict[str, str]:
        out = self.remote.git("log", "-1", "--format=%(trailers:only,unfold)", sha)
        return dict(line.split(": ", 1) for line in out.splitlines() if line)

    def changed_files(self, sha: str) -> set[str]:
        return set(self.remote.git("diff-tree", "--no-commit-id", "--name-only", "-r", sha).split())

    def automation(self, env: str, rev: str, service: str = "backend") -> dict[str, Any]:
        """The ImageUpdateAutomation of `service` in `env` at `rev` (the seed has one per env per service)."""
        docs = yaml.safe_load_all(self.remote.show(automation_file(env), rev))
        [doc] = [d for d in docs if d["kind"] == "ImageUpdateAutomation" and d["metadata"]["name"] == service]
        return dict(doc)

    def registry_tags(self, service: str) -> dict[str, str]:
        """tag → digest, read with plain HTTP (not the bot's client)."""
        return registry_state(self.registry.host)[f"acme/{service}"]

    def state(self) -> State:
        return State(self.remote.git("for-each-ref"), registry_state(self.registry.host))


def registry_state(host: str) -> dict[str, dict[str, str]]:
    base = f"http://{host}/v2"
    out: dict[str, dict[str, str]] = {}
    with requests.Session() as s:
        catalog = s.get(f"{base}/_catalog", timeout=10)
        catalog.raise_for_status()
        for repo in sorted(catalog.json()["repositories"]):
            tags = s.get(f"{base}/{repo}/tags/list", timeout=10)
            tags.raise_for_status()
            out[repo] = {}
            for tag in sorted(tags.json()["tags"] or []):
                head = s.head(f"{base}/{repo}/manifests/{tag}", headers={"Accept": ACCEPT}, timeout=10)
                head.raise_for_status()
                out[repo][tag] = head.headers["Docker-Content-Digest"]
    return out


def skopeo_digest(host: str, repo: str, tag: str) -> str:
    out = subprocess.run(
        ["skopeo", "--override-os", "linux", "--override-arch", "amd64", "inspect", "--tls-verify=false",
         "--format", "{{.Digest}}", f"docker://{host}/{repo}:{tag}"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return out.stdout.strip()


def _tag(service: str, env: str, version: str, ts: int) -> str:
    return f"{env}-v{version}-{SHAS[(service, version)]}-{ts}"


def _author(who: tuple[str, str], at: int) -> dict[str, str]:
    name, email = who
    date = f"{at} +0000"
    return {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
    }  # fmt: skip


def _push_builds(host: str, t0: int) -> tuple[dict[tuple[str, str, str], str], dict[tuple[str, str], str]]:
    tags: dict[tuple[str, str, str], str] = {}
    digests: dict[tuple[str, str], str] = {}
    for svc in SERVICES:
        repo = f"acme/{svc}"
        for i, version in enumerate(VERSIONS):
            built = t0 + i * DAY
            dev = _tag(svc, "develop", version, built)
            image = push_image(host, repo, [dev, "develop"], seed=f"{svc}-{version}")
            tags[(svc, "develop", version)] = dev
            digests[(svc, version)] = image.manifest.digest
            if version != VERSIONS[-1]:  # the newest build is only in develop
                staging = _tag(svc, "staging", version, built + 3600)
                put_tags(host, repo, image.manifest, [staging, "staging"])
                tags[(svc, "staging", version)] = staging
            if version == VERSIONS[0]:
                prod = _tag(svc, "production", version, built + 7200)
                put_tags(host, repo, image.manifest, [prod, "production"])
                tags[(svc, "production", version)] = prod
    return tags, digests


def _push_strays(host: str, t0: int) -> tuple[str, str]:
    """Tags the gates must refuse. Their times keep every env's policy choice as it was, except that
    backend staging now has a newer build waiting (`never_deployed`)."""
    never = _tag("backend", "staging", "0.0.3", t0 + 2 * DAY + 3600)
    push_image(host, "acme/backend", [never], seed="backend-0.0.3")  # the same build as develop 0.0.3
    ambiguous = f"staging-v1.0.0-abcdef0-{t0 - DAY}"
    for svc in SERVICES:
        push_image(host, f"acme/{svc}", [ambiguous], seed=f"{svc}-stray")
    return never, ambiguous


def _seed_remote(base: Path, image_registry: str, tags: Mapping[tuple[str, str, str], str], t0: int) -> BareRemote:
    remote = make_bare_remote(base, {"README.md": "Fleet repository managed by Flux.\n"}, message="Create the fleet")
    current = {(s, e): tags[(s, e, VERSIONS[0])] for s in SERVICES for e in PIPELINE}
    remote.push(seed_files(image_registry, current, PIPELINE), "Add backend and frontend to the fleet",
                env=_author(PLATFORM, t0 + 7200))  # fmt: skip
    for env, version, at in (("develop", "0.0.2", t0 + DAY), ("staging", "0.0.2", t0 + DAY + 3600),
                             ("develop", "0.0.3", t0 + 2 * DAY)):  # fmt: skip
        for svc in SERVICES:
            current[(svc, env)] = tags[(svc, env, version)]
        files = seed_files(image_registry, current, PIPELINE)
        changed = {marker_file(s, env): files[marker_file(s, env)] for s in SERVICES}
        remote.push(changed, AUTOMATION, env=_author(FLUX, at + 60))
    return remote


def write_config(path: Path, *, repo_url: str, registry_host: str, state_dir: Path) -> Path:
    config = {
        "repo": {"url": repo_url, "branch": "main", "author": {"name": "gitops-bot", "email": "bot@acme.example"}},
        "state_dir": str(state_dir),
        "substitutions": {IMAGE_REGISTRY_VAR: f"{registry_host}/acme"},
        "registries": {registry_host: {"insecure": True}},
        "pipeline": list(PIPELINE),
        "environments": {"develop": {}, "staging": {}, "production": {"approvals": 0}},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def build_world(root: Path, registry: RegistryServer, daemon: GitDaemon, *, now: int | None = None) -> World:
    """Fill `registry` and a new bare repo under `daemon.base`; write the config under `root`."""
    t0 = (now or int(time.time())) - 3 * DAY
    tags, digests = _push_builds(registry.host, t0)
    never, ambiguous = _push_strays(registry.host, t0)
    remote = _seed_remote(daemon.base, f"{registry.host}/acme", tags, t0)
    layout_commit = remote.git("rev-list", "-n1", "--author=platform-team", remote.branch)
    (root / "docker").mkdir(parents=True, exist_ok=True)  # an empty DOCKER_CONFIG: no host credentials
    config = write_config(
        root / "config.yaml", repo_url=daemon.url(remote.name), registry_host=registry.host, state_dir=root / "state"
    )
    return World(root, config, remote, registry, daemon, t0, tags, digests, layout_commit, never, ambiguous)


@contextmanager
def running_world(root: Path) -> Iterator[World]:
    """A world with its own registry and git daemon, both stopped on exit."""
    remotes = root / "remotes"
    remotes.mkdir(parents=True)
    registry = start_registry(root / "registry")
    daemon = GitDaemon(remotes)
    try:
        daemon.start()
        yield build_world(root / "world", registry, daemon)
    finally:
        daemon.stop()
        registry.stop()
