"""A read view of the clone at one commit, and the check that turns an Edit into the files a commit writes."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import InvalidInput

if TYPE_CHECKING:
    from bot.core.plan import Edit

__all__ = ["Snapshot", "changed_files", "checked_path"]

_MANIFEST_SUFFIXES = (".yaml", ".yml")
_SYMLINK = "120000"


@dataclass(frozen=True)
class Snapshot:
    """The tree at `head`, read from the clone's working copy; valid until the next sync of that clone.

    `overlay` holds files written by earlier commits of the same group commit, which exist only as Git
    objects until the push: reads see them first, exactly as if those commits were checked out."""

    head: str
    root: Path
    modes: Mapping[str, str] = field(default_factory=dict, repr=False)  # tracked path → git file mode
    overlay: Mapping[str, str] = field(default_factory=dict, repr=False)

    def read(self, path: str) -> str | None:
        rel = posixpath.normpath(path.lstrip("/")) if path else ""
        if rel in self.overlay:
            return self.overlay[rel]
        if rel not in self.modes:
            return None
        try:
            return (self.root / rel).read_bytes().decode("utf-8", errors="replace")
        except OSError:
            return None

    def files(self, under: str = ".") -> dict[str, str]:
        """Every tracked *.yaml, *.yml and `Kustomization` file under `under`, keyed by repo-relative path."""
        prefix = posixpath.normpath(under.strip("/") or ".")
        out: dict[str, str] = {}
        for rel in sorted({*self.modes, *self.overlay}):  # a sibling commit may have added a file
            if prefix != "." and not rel.startswith(prefix + "/"):
                continue
            name = posixpath.basename(rel)
            if not (name.endswith(_MANIFEST_SUFFIXES) or name == "Kustomization"):
                continue
            text = self.read(rel)
            if text is not None:
                out[rel] = text
        return out


def checked_path(path: str) -> str:
    rel = posixpath.normpath(path)
    if not path or rel.startswith(("/", "../")) or rel in (".", "..") or ".git" in rel.split("/"):
        raise InvalidInput(f"{path!r} is not a file path inside the repository.")
    return rel


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def changed_files(snapshot: Snapshot, edit: Edit) -> dict[str, str]:
    """The edit's files that differ from the snapshot, checked: inside the repo and not over a symlink."""
    changed: dict[str, str] = {}
    for path, text in edit.files.items():
        rel = checked_path(path)
        if snapshot.modes.get(rel) == _SYMLINK or any(
            snapshot.modes.get(parent) == _SYMLINK for parent in _parents(rel)
        ):
            raise InvalidInput(f"{path!r} is a symbolic link in the repository; the bot does not write through links.")
        if snapshot.read(rel) != text:
            changed[rel] = text
    return changed
