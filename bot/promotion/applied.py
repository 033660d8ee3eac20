"""What each environment has really applied, from Flux's Kustomization events, beside what Git desires.

An environment may be applied by several Kustomizations (a flux-system one applying `./clusters/production`,
an apps one...): its applied revision is the newest any of them applied, and it is failed while any of them
failed after its last success. The state of one service there compares the tag Git had at that revision with
the tag Git has now. Nothing is guessed: no event yet is `unknown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core import history as hist
from bot.core.discovery import Target
from bot.errors import BotError
from bot.promotion.ports import Repo

HISTORY_DEPTH = 300


class AppliedState(StrEnum):
    LIVE = "live"  # Flux applied the revision that carries Git's tag, and its last reconcile succeeded
    DEPLOYING = "deploying"  # Git desires a tag Flux has not applied yet
    FAILED = "failed"  # the last reconcile failed
    UNKNOWN = "unknown"  # no event from Flux yet


@dataclass(frozen=True)
class AppliedRow:
    """One Kustomization's last success and last failure in an environment (times are UTC ISO 8601)."""

    env: str
    kustomization: str
    revision: str
    applied_at: str
    failed_revision: str
    failed_at: str
    message: str


@dataclass(frozen=True)
class EnvApplied:
    revision: str | None  # the newest revision applied; None when only failures were seen
    at: str | None
    failed: bool
    message: str = ""


@dataclass(frozen=True)
class Applied:
    """One service in one environment: what Flux applied, and how that compares with Git."""

    tag: str | None  # the tag Git had at `revision`; None when unknown
    revision: str | None
    at: str | None
    state: AppliedState

    def to_json(self) -> dict[str, str | None]:
        return {"tag": self.tag, "revision": self.revision, "at": self.at, "state": self.state.value}


class AppliedReader(Protocol):
    def applied_rows(self) -> list[AppliedRow]: ...


def by_env(rows: Sequence[AppliedRow]) -> dict[str, EnvApplied]:
    out: dict[str, EnvApplied] = {}
    for env in sorted({r.env for r in rows}):
        mine = [r for r in rows if r.env == env]
        ok = max((r for r in mine if r.revision), key=lambda r: r.applied_at, default=None)
        failing = [r for r in mine if r.failed_at and r.failed_at > r.applied_at]
        message = max(failing, key=lambda r: r.failed_at).message if failing else ""
        out[env] = EnvApplied(ok.revision if ok else None, ok.applied_at if ok else None, bool(failing), message)
    return out


class TagsAt:
    """The tag each target had at a revision, from the history reachable from it (one `git log` per revision)."""

    def __init__(self, repo: Repo, files: Sequence[str]) -> None:
        self._repo = repo
        self._files = list(files)
        self._records: dict[str, list[hist.CommitRecord] | None] = {}

    def _history(self, revision: str) -> list[hist.CommitRecord] | None:
        if revision not in self._records:
            try:
                self._records[revision] = self._repo.history(self._files, max_count=HISTORY_DEPTH, rev=revision)
            except BotError:
                self._records[revision] = None  # a revision this clone does not know (yet): its tag is unknown
        return self._records[revision]

    def tag(self, target: Target, revision: str, head_bumps: Sequence[hist.Bump]) -> str | None:
        records = self._history(revision)
        if records is None:
            return None
        bumps = hist.bumps(target, records)
        if bumps:
            return bumps[0].new_tag
        # No change of this tag reachable from the revision: it is the value before the oldest change Git
        # knows, or today's value when it never changed.
        return head_bumps[-1].old_tag if head_bumps else target.current_tag()


def applied(target: Target, env: EnvApplied | None, tags: TagsAt, head_bumps: Sequence[hist.Bump]) -> Applied | None:
    """None when no event from Flux was seen for the environment (the state is unknown)."""
    if env is None:
        return None
    tag = tags.tag(target, env.revision, head_bumps) if env.revision else None
    if env.failed:
        state = AppliedState.FAILED
    elif tag is not None and tag == target.current_tag():
        state = AppliedState.LIVE
    else:
        state = AppliedState.DEPLOYING
    return Applied(tag, env.revision, env.at, state)


def state_of(value: Applied | None) -> AppliedState:
    return value.state if value is not None else AppliedState.UNKNOWN


__all__ = ["Applied", "AppliedReader", "AppliedRow", "AppliedState", "EnvApplied", "TagsAt", "applied", "by_env",
           "state_of"]  # fmt: skip
