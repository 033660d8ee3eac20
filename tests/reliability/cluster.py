"""Several real `gitops-bot serve` processes on one Git remote, with a Flux-like committer pushing beside them.

registry  <host>/acme/svc-NN: build 0.0.1 tagged staging + production, build 0.0.2 tagged staging only
remote    fleet.git in the seed layout (staging and production only): staging at 0.0.2, production at
          0.0.1, so every service has one promotion waiting; reflogs on, so a forced update would show
bots      `python -m bot -c <cfg> serve` children, each with its own state_dir (clone + SQLite) and
          its own process group, so teardown reaches whatever git they forked
flux      a thread committing "Update from image update automation" every ~100 ms, through the same git
          daemon as the bots, to a file that is
          no promotion's marker, retrying when a bot's push got in first, as Flux does
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.seed_layout import IMAGE_REGISTRY_VAR, seed_files
from tests.canaries import FLUX_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_body, command_body, signed_headers
from tests.images import push_image
from tests.secrets_guard import check_output, secret_env
from tests.servers.git_daemon import BareRemote, GitDaemon, free_port, git, make_bare_remote
from tests.servers.registry import RegistryServer, start_registry

PROJECT = Path(__file__).resolve().parents[2]
PIPELINE = ("staging", "production")
REQUESTER = "U0REQUESTER"
REQUESTER_NAME = "Alice Requester"
PROD_CHANNEL = "C0PROD"
ORIGIN = "C0DEPLOYS"
AUTOMATION = "Update from image update automation"
FLUX_ENV = {
    "GIT_AUTHOR_NAME": "fluxcdbot", "GIT_AUTHOR_EMAIL": "fluxcdbot@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "fluxcdbot", "GIT_COMMITTER_EMAIL": "fluxcdbot@users.noreply.github.com",
}  # fmt: skip
FLUX_FILE = "flux/apps/automation-status.txt"  # no ImagePolicy marker lives here
DAY = 86400


@dataclass(frozen=True)
class Release:
    """One service's waiting promotion: its staging tag (deployed in Git) and production's current tag."""

    service: str
    sha: str
    staging: str
    production: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


class BotProcess:
    """One `gitops-bot serve` child in HTTP mode; `stop()` ends its whole process group."""

    def __init__(self, config: Path, log: Path, registry_host: str | None = None) -> None:
        self.config = config
        self.registry_host = registry_host
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        # Every secret the bot reads is a canary (tests/secrets_guard.py scans serve.log for them); the registry
        # login is never sent, since this registry asks for none.
        env = {**os.environ, **secret_env(registry_host), "DOCKER_CONFIG": str(config.parent / "docker")}
        with log.open("wb") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "-c", str(config), "serve", "--listen", f"127.0.0.1:{self.port}"],
                cwd=PROJECT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AssertionError(f"bot exited with {self._proc.returncode}: {self.log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as resp,  # noqa: S310 - loopback
            ):
                if resp.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"bot not ready in {timeout}s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole group at once: no shutdown code runs, as when a node dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=10)

    def restarted(self, log: Path) -> BotProcess:
        """A new process on the same config (so the same clone and SQLite), logging to `log`."""
        return BotProcess(self.config, log, self.registry_host)

    def flux_event(self, body: bytes) -> int:
        sig = "sha256=" + hmac.new(FLUX_TOKEN.encode(), body, hashlib.sha256).hexdigest()
        req = urllib.request.Request(f"{self.url}/flux/events", data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json", "X-Signature": sig})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - loopback only
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return err.code

    def stop(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)  # git children it left behind

    def _post(self, body: str) -> Answer:
        headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        req = urllib.request.Request(f"{self.url}/slack/events", data=body.encode(), headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - loopback only
                return Answer(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.read().decode())

    def command(self, fake: FakeSlack, text: str, response_id: str) -> Answer:
        return self._post(command_body("/promote", text, user_id=REQUESTER, channel_id=ORIGIN,
                                       response_url=fake.response_url(response_id)))  # fmt: skip

    def click(self, fake: FakeSlack, action_id: str, value: str, response_id: str) -> Answer:
        return self._post(action_body(action_id, value, user_id=REQUESTER, channel_id=ORIGIN,
                                      response_url=fake.response_url(response_id)))  # fmt: skip


class FluxCommitter:
    """A thread playing image-automation over the same `git daemon` as the bots: fetch, commit, push, and on a
    rejected push try again on the next tick, as Flux does."""

    def __init__(self, remote: BareRemote, url: str, workdir: Path, period: float = 0.1) -> None:
        self.remote = remote
        self.period = period
        self.pushed: list[str] = []
        self.rejected = 0
        self._url = url
        self._clone = workdir
        self._stop = threading.Event()
        self._started = False
        self._thread = threading.Thread(target=self._run, name="flux-committer", daemon=True)

    def start(self) -> None:
        self._started = True
        git("clone", "-q", "--branch", self.remote.branch, self._url, str(self._clone))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._started:
            self._thread.join(timeout=30)

    def _push(self, n: int) -> str:
        branch = self.remote.branch
        git("fetch", "-q", "origin", cwd=self._clone)
        git("reset", "-q", "--hard", f"origin/{branch}", cwd=self._clone)
        (self._clone / FLUX_FILE).parent.mkdir(parents=True, exist_ok=True)
        (self._clone / FLUX_FILE).write_text(f"reconciled {n}\n")
        git("add", "-A", cwd=self._clone)
        git("commit", "-q", "-m", AUTOMATION, cwd=self._clone, env=FLUX_ENV)
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=self._clone)
        return git("rev-parse", "HEAD", cwd=self._clone)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self.pushed.append(self._push(n))
            except AssertionError:  # git's "rejected … fetch first": a bot pushed in between
                self.rejected += 1
            self._stop.wait(self.period)


@dataclass(frozen=True)
class Cluster:
    root: Path
    remote: BareRemote
    registry: RegistryServer
    releases: Sequence[Release]
    bots: Sequence[BotProcess]
    flux: FluxCommitter
    seeded: str  # the remote's head before anything ran


def _releases(host: str, services: Sequence[str], t0: int) -> list[Release]:
    out = []
    for i, svc in enumerate(services):
        old, new = f"{i:03x}a1b2", f"{i:03x}c3d4"
        prod = f"production-v0.0.1-{old}-{t0 + 7200}"
        push_image(host, f"acme/{svc}", [f"staging-v0.0.1-{old}-{t0 + 3600}", prod], seed=f"{svc}-0.0.1")
        staging = f"staging-v0.0.2-{new}-{t0 + DAY}"
        push_image(host, f"acme/{svc}", [staging], seed=f"{svc}-0.0.2")
        out.append(Release(svc, new, staging, prod))
    return out


def _config(root: Path, name: str, repo_url: str, registry_host: str, fake: FakeSlack) -> Path:
    data: dict[str, Any] = {
        "repo": {"url": repo_url, "branch": "main", "author": {"name": "gitops-bot", "email": "bot@acme.example"}},
        "state_dir": str(root / name / "state"),
        "substitutions": {IMAGE_REGISTRY_VAR: f"{registry_host}/acme"},
        "registries": {registry_host: {"insecure": True}},
        "pipeline": list(PIPELINE),
        "slack": {"api_url": fake.base_url},
        "environments": {"staging": {}, "production": {"channel": PROD_CHANNEL, "approvals": 0}},
    }
    path = root / name / "config.yaml"
    (root / name / "docker").mkdir(parents=True)  # an empty DOCKER_CONFIG: no host credentials
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def running_cluster(
    root: Path, fake: FakeSlack, services: Sequence[str], *, bots: int = 2, flux_period: float | None = 0.1
) -> Iterator[Cluster]:
    """Registry, git daemon, `bots` serve processes (ready) and a Flux committer (running unless `flux_period` is
    None); all stopped on exit."""
    fake.add_user(REQUESTER, real_name=REQUESTER_NAME)
    for ch in (PROD_CHANNEL, ORIGIN):
        fake.add_channel(ch)
    (root / "remotes").mkdir(parents=True)
    registry = start_registry(root / "registry")
    daemon = GitDaemon(root / "remotes")
    procs: list[BotProcess] = []
    flux: FluxCommitter | None = None
    try:
        daemon.start()
        t0 = int(time.time()) - 3 * DAY
        releases = _releases(registry.host, services, t0)
        host = f"{registry.host}/acme"
        tags = {(r.service, "staging"): r.staging for r in releases}
        tags |= {(r.service, "production"): r.production for r in releases}
        remote = make_bare_remote(root / "remotes", seed_files(host, tags, PIPELINE), message="Seed the fleet")
        remote.git("config", "core.logAllRefUpdates", "always")  # bare repos keep no reflog unless told
        for i in range(bots):
            cfg = _config(root, f"bot{i}", daemon.url(remote.name), registry.host, fake)
            procs.append(BotProcess(cfg, root / f"bot{i}" / "serve.log", registry.host))
        for proc in procs:
            proc.wait_ready()
        seeded = remote.head()
        flux = FluxCommitter(remote, daemon.url(remote.name), root / "flux-clone", flux_period or 0.1)
        if flux_period is not None:
            flux.start()
        yield Cluster(root, remote, registry, releases, procs, flux, seeded)
    finally:
        if flux is not None:
            flux.stop()
        for proc in procs:
            proc.stop()
            check_output(f"serve {proc.log}", proc.log.read_text(errors="replace"))
        daemon.stop()
        registry.stop()


def reflog_updates(remote: BareRemote) -> list[tuple[str, str]]:
    """(old, new) for every update of the branch the remote accepted, oldest first."""
    log = remote.path / "logs" / "refs" / "heads" / remote.branch
    return [(line.split()[0], line.split()[1]) for line in log.read_text().splitlines() if line]


def is_ancestor(remote: BareRemote, older: str, newer: str) -> bool:
    try:
        git("merge-base", "--is-ancestor", older, newer, cwd=remote.path)
    except AssertionError:
        return False
    return True
