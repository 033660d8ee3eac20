"""The narrow ports the use cases need. Adapters implement them; tests use the real adapters.

Owned by the use-case layer so that dependencies point one way: slack, flux, jobs and cli call
use cases; use cases call these Protocols; `bot/wiring.py` hands in the concrete adapters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.history import CommitRecord
from bot.core.placement import Placement
from bot.core.plan import Edit


class Snapshot(Protocol):
    @property
    def head(self) -> str: ...

    def files(self, under: str = ".") -> dict[str, str]: ...

    def read(self, path: str) -> str | None: ...


class PushOutcome(Protocol):
    @property
    def sha(self) -> str | None: ...

    @property
    def tries(self) -> int: ...

    @property
    def noop(self) -> bool: ...


class Repo(Protocol):
    def sync(self) -> Snapshot: ...

    def commit_and_push(self, plan: Callable[[Snapshot], Edit | None]) -> PushOutcome: ...

    def history(
        self, paths: Sequence[str], *, max_count: int | None = None, rev: str = "HEAD"
    ) -> list[CommitRecord]: ...

    def commits_between(self, old: str, new: str = "HEAD") -> list[CommitRecord]: ...

    def is_ancestor(self, ancestor: str, descendant: str = "HEAD") -> bool:
        """Does `descendant` contain `ancestor`? NotFound when Git does not know one of them."""
        ...

    def files_on(self, branch: str, under: str = ".") -> dict[str, str]:
        """The manifest files under `under` on another branch of the remote (fetched now); read-only."""
        ...


class Registry(Protocol):
    def list_tags(self, repo: str) -> list[str]: ...

    def digest(self, repo: str, tag: str) -> str | None: ...

    def retag(
        self, repo: str, source_tag: str, new_tags: Sequence[str], *, expect_digest: str | None = None
    ) -> str: ...


class Registries(Protocol):
    def for_image(self, image: str) -> tuple[Registry, str]:
        """The backend that serves `image` and the repository path inside it."""
        ...


@dataclass(frozen=True)
class Env:
    """Per-environment rules the use cases read (a projection of the settings)."""

    require_deployed_in_source: bool = True
    rollback: str = "hold"
    freezes: tuple[Any, ...] = ()  # bot.promotion.freeze.Window values (recurring freeze windows)
    break_glass: tuple[str, ...] = ()  # who may force through a freeze ("U123", "slack:U123", "cli:alice")


@dataclass(frozen=True)
class Context:
    repo: Repo
    registries: Registries
    pipeline: tuple[str, ...]
    repo_path: str = "."
    substitutions: Mapping[str, str] | None = None
    placement: Placement | None = None  # where policies belong when the Flux objects do not say
    environments: Mapping[str, Env] | None = None
    clock: Callable[[], int] | None = None
    branch: str = ""  # the branch the bot reads and writes (repo.branch); "" when unknown
    objects_branch: str | None = None  # where the Flux objects are read when not on `branch` (repo.objects_branch)

    def env(self, name: str) -> Env:
        return (self.environments or {}).get(name) or Env()

    def now(self) -> int:
        return self.clock() if self.clock is not None else int(time.time())
