"""The Git remote as the use cases see it: one persistent clone, commits pushed without force, history read
through `git log`.

A facade over the parts, each in its own module: the clone and its lock (git_clone), group commit with retry
(group_commit), the fast-import stream it writes (fast_import), and the history cache (git_history).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapters.fast_import import Ident
from bot.adapters.git_clone import GitClone
from bot.adapters.git_credentials import GitCredentials
from bot.adapters.git_history import GitHistory
from bot.adapters.git_snapshot import Snapshot
from bot.adapters.group_commit import GroupCommit, PushResult, Retry
from bot.core.history import CommitRecord
from bot.errors import InvalidInput

if TYPE_CHECKING:
    from bot.core.plan import Edit

__all__ = ["GitCredentials", "GitRepo", "PushResult", "Snapshot"]


class GitRepo:
    def __init__(
        self,
        url: str,
        branch: str,
        workdir: Path,
        *,
        author_name: str,
        author_email: str,
        credentials: GitCredentials | None = None,
        timeout: float = 60.0,
        max_tries: int | None = None,
        backoff: tuple[float, float] = (0.02, 0.4),
        push_budget: float = 120.0,
        blobless: bool = False,
        on_push_retry: Callable[[], None] | None = None,
    ) -> None:
        if not branch or branch.startswith("-") or any(c.isspace() or c in "~^:?*[\\" for c in branch):
            raise InvalidInput(f"{branch!r} is not a branch name.")
        self._clone = GitClone(url, branch, workdir, credentials=credentials, timeout=timeout, blobless=blobless)
        self.display_url = self._clone.display_url
        self.branch = branch
        self.workdir = self._clone.workdir
        self._history = GitHistory(self._clone)
        self._commits = GroupCommit(
            self._clone,
            ident=Ident(author_name, author_email),
            retry=Retry(max_tries=max_tries and max(1, max_tries), backoff=backoff, budget=push_budget),
            on_retry=on_push_retry,
        )

    def reachable(self) -> None:
        """Raise a GitError unless the remote answers for the branch; cheap enough for a readiness probe."""
        self._clone.reachable()

    def sync(self) -> Snapshot:
        """Clone on first use, then fetch and hard-reset to origin/<branch>; local edits and junk go."""
        return self._clone.sync()

    def commit_and_push(self, plan: Callable[[Snapshot], Edit | None]) -> PushResult:
        """sync → plan → commit → push, re-planning on the new HEAD whenever the push is rejected; callers
        queued behind a push are planned on top of each other and pushed together (see GroupCommit)."""
        return self._commits.commit_and_push(plan)

    @property
    def waiting(self) -> int:
        """Callers queued for the next group commit (not counting the one pushing now)."""
        return self._commits.waiting

    def history(self, paths: Sequence[str], *, max_count: int | None = None, rev: str = "HEAD") -> list[CommitRecord]:
        """Commits reachable from `rev` that touch `paths`, newest first, with -U0 diffs of those paths."""
        return self._history.history(paths, max_count=max_count, rev=rev)

    def commits_between(self, old: str, new: str = "HEAD") -> list[CommitRecord]:
        """Commits in `new` that `old` lacks (e.g. Flux automation commits since a rev), newest first."""
        return self._history.commits_between(old, new)

    def is_ancestor(self, ancestor: str, descendant: str = "HEAD") -> bool:
        return self._history.is_ancestor(ancestor, descendant)

    def files_on(self, branch: str, under: str = ".") -> dict[str, str]:
        """The manifest files under `under` on another branch of the remote (fetched now); read-only."""
        if not branch or branch.startswith("-") or any(c.isspace() or c in "~^:?*[\\" for c in branch):
            raise InvalidInput(f"{branch!r} is not a branch name.")
        return self._clone.read_branch(branch, under)
