"""The configuration's values: frozen, validated, and all a running bot reads from the config file.

bot/settings_parse.py builds them (checking every key), bot/settings.py loads the file and is the one
import for callers (`from bot.settings import Settings, load, ...`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.placement import Placement, PolicyPlacement
from bot.core.routes import Route

DEFAULT_PIPELINE = ("develop", "staging", "production")


@dataclass(frozen=True)
class Author:
    name: str = "gitops-bot"
    email: str = "gitops-bot@localhost"


@dataclass(frozen=True)
class RepoSettings:
    url: str
    branch: str = "main"
    path: str = "."
    author: Author = field(default_factory=Author)
    timeout: float = 60.0  # seconds any one git network command may take before it is killed
    # Where the Flux objects live when not on `branch` (LAYOUTS §6: policies applied from `main`, markers on
    # `release`): discovery reads the objects there and the markers on `branch`; the bot commits to `branch` only.
    objects_branch: str | None = None


@dataclass(frozen=True)
class RegistrySettings:
    insecure: bool = False
    layout: Path | None = None  # serve this host's images from an on-disk OCI image layout
    timeout: float = 10.0  # seconds per HTTP attempt (connect, then each read); failed attempts are retried
    endpoint: str = ""  # send this host's requests to another server (a mirror, a local registry); "" = the host


@dataclass(frozen=True)
class Promoters:
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @property
    def anyone(self) -> bool:
        return not self.users and not self.groups


@dataclass(frozen=True)
class FreezeWindow:
    cron: str
    duration: int
    reason: str


@dataclass(frozen=True)
class EnvironmentSettings:
    require_deployed_in_source: bool = True
    rollback: str = "hold"  # hold | retag
    channel: str = ""
    promoters: Promoters = field(default_factory=Promoters)
    approvals: int = 0
    approval_ttl: int = 1800
    freezes: tuple[FreezeWindow, ...] = ()
    break_glass: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # marker files under these repository paths belong to this environment


@dataclass(frozen=True)
class FluxSettings:
    path: str = "/flux/events"
    routes: tuple[Route, ...] = ()
    reconcile_timeout: int = 900
    dedupe_window: int = 300
    git_poll: int = 60  # seconds between looks for new automation commits in Git
    default_channel: str = ""  # where Flux events that nothing places go ("" = only logged as unrouted)


@dataclass(frozen=True)
class Settings:
    repo: RepoSettings
    state_dir: Path
    substitutions: Mapping[str, str] = field(default_factory=dict)
    registries: Mapping[str, RegistrySettings] = field(default_factory=dict)
    pipeline: tuple[str, ...] = DEFAULT_PIPELINE
    environments: Mapping[str, EnvironmentSettings] = field(default_factory=dict)
    policies: Mapping[str, PolicyPlacement] = field(default_factory=dict)  # "ns/name" → where it belongs
    slack_api_url: str = "https://slack.com/api/"
    flux: FluxSettings = field(default_factory=FluxSettings)
    source: str = "<embedded>"

    def env(self, name: str) -> EnvironmentSettings:
        return self.environments.get(name) or EnvironmentSettings()

    @property
    def placement(self) -> Placement:
        """What discovery needs from the config to place policies the Flux objects do not place."""
        paths = {env: e.paths for env, e in self.environments.items() if e.paths}
        return Placement(policies=dict(self.policies), paths=paths)
