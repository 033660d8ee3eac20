"""Git history as data: commits with their marker-line diffs, and the tag bumps they record.

The Git adapter runs one `git log -p -U0 -- <marker files>` and hands over `CommitRecord`s; this module
reads the setter marker lines out of the diffs (pure text work), so rollback, `/versions` and
`/history` never walk Git objects in Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from bot.core.commit_message import REVERTS, ROLLED_BACK_BY, ChangeKind, Trailers, change_kind, parse_trailers
from bot.core.discovery import Target
from bot.core.flux_commits import automation_kind
from bot.core.imageref import ImageRef
from bot.core.setters import bare_setter

# `<indent>[- ]key: value # {"$imagepolicy": "..."}` - the value is what sits between the key and the marker.
_MARKER_LINE = re.compile(
    r"^(?P<head>\s*(?:-\s+)?)(?:(?P<key>[^\s#'\"][^:#]*?):\s+)?(?P<value>.*?)\s+#+\s*(?P<json>\{.*\})\s*$"
)


@dataclass(frozen=True)
class FileDiff:
    path: str
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommitRecord:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: int
    message: str
    diffs: tuple[FileDiff, ...] = ()

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    @cached_property
    def trailers(self) -> Trailers:
        return parse_trailers(self.message)

    @property
    def kind(self) -> ChangeKind:
        """From the message alone; a bump's `kind` also knows the automation that writes its markers."""
        return change_kind(self.message, self.trailers)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            out = json.loads(value)
            return out if isinstance(out, str) else value
        except ValueError:
            return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def marker_value(line: str) -> tuple[str, str] | None:
    """(setter, value) for a YAML line carrying a setter marker, else None."""
    if "$imagepolicy" not in line:
        return None
    m = _MARKER_LINE.match(line)
    if m is None:
        return None
    try:
        marker = json.loads(m.group("json"))
    except ValueError:
        return None
    if not isinstance(marker, dict) or not isinstance(marker.get("$imagepolicy"), str):
        return None
    # A held marker (bot/core/holds.py) still stands for its setter: holding or lifting is not a bump.
    return bare_setter(marker["$imagepolicy"]), _unquote(m.group("value").strip())


def tag_of(setter: str, value: str) -> str:
    """The tag a marker value carries: the value itself for `:tag`, the ref's tag for a plain marker."""
    return value if setter.endswith(":tag") else ImageRef.parse(value).tag


@dataclass(frozen=True)
class SiteChange:
    file: str
    setter: str
    old: str | None  # None: the line was added (first deploy)
    new: str | None  # None: the line was removed


@dataclass(frozen=True)
class Bump:
    """A commit that changed the tag of one target."""

    commit: CommitRecord
    changes: tuple[SiteChange, ...]
    old_tag: str | None
    new_tag: str | None
    reverted_by: tuple[str, ...] = field(default=())
    kind: ChangeKind = ChangeKind.OTHER


def bump_kind(target: Target, commit: CommitRecord) -> ChangeKind:
    """The commit's kind for this target: an automation commit is known by the author (or, without one, the
    message template) of the automation that writes the target's markers."""
    auto = target.automation
    writers = [(auto.author, auto.message_template)] if auto is not None else []
    return automation_kind(commit.message, commit.author_name, commit.author_email, writers=writers)


def _tag_setters(target: Target) -> set[str]:
    return {s.setter for s in target.sites if s.suffix in ("", "tag")}


def bumps(target: Target, commits: Sequence[CommitRecord]) -> list[Bump]:
    """Commits (newest first, as git log gives them) that changed this target's tag, newest first."""
    setters_ = {s.setter for s in target.sites}
    files = {s.file for s in target.sites}
    tag_setters = _tag_setters(target)
    out: list[Bump] = []
    for c in commits:
        changes: list[SiteChange] = []
        # Callers often pass one history for every service (/versions); reading only this target's files
        # keeps that linear instead of services × all diff lines.
        for d in (d for d in c.diffs if d.path in files):
            olds: dict[str, str] = {}
            news: dict[str, str] = {}
            for line in d.removed:
                mv = marker_value(line)
                if mv and mv[0] in setters_:
                    olds.setdefault(mv[0], mv[1])
            for line in d.added:
                mv = marker_value(line)
                if mv and mv[0] in setters_:
                    news.setdefault(mv[0], mv[1])
            for setter in sorted(olds.keys() | news.keys()):
                if olds.get(setter) != news.get(setter):
                    changes.append(SiteChange(d.path, setter, olds.get(setter), news.get(setter)))
        tag_changes = [ch for ch in changes if ch.setter in tag_setters]
        if not tag_changes:
            continue
        first = tag_changes[0]
        out.append(
            Bump(
                commit=c,
                changes=tuple(changes),
                old_tag=tag_of(first.setter, first.old) if first.old is not None else None,
                new_tag=tag_of(first.setter, first.new) if first.new is not None else None,
                kind=bump_kind(target, c),
            )
        )
    return out


def effective_bumps(history: Sequence[Bump]) -> list[Bump]:
    """Bumps that still stand: rollback commits and the bumps they reverted are left out, newest first.

    Rolling back twice should step back twice (v3 → v2 → v1), not undo the first rollback.
    """
    reverted = {c.commit.trailers.get(REVERTS) for c in history if c.commit.trailers.get(ROLLED_BACK_BY)}
    return [b for b in history if not b.commit.trailers.get(ROLLED_BACK_BY) and b.commit.sha not in reverted]


def deployed_tags(history: Sequence[Bump]) -> set[str]:
    """Every tag the target has run according to Git (the new side of each bump)."""
    return {b.new_tag for b in history if b.new_tag}
