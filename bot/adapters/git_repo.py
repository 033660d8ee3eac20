"""The Git remote: one persistent clone, commits pushed without force, and history read through `git log`.

This is the only module that imports GitPython. Every git child runs with the environment from
`git_credentials.git_env` (isolated config, no prompts, credentials in the environment only), network
commands are killed after `timeout` seconds, and GitPython's errors become our own with redacted text.
"""

from __future__ import annotations

import logging
import posixpath
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import git

from bot.adapters.git_credentials import (
    GitCredentials,
    Redactor,
    describe_failure,
    display_url,
    git_env,
    split_password,
)
from bot.adapters.git_log import LOG_ARGS, LogParser
from bot.core.history import CommitRecord
from bot.errors import BotError, GitError, InvalidInput, PushRetriesExhausted

if TYPE_CHECKING:
    from bot.core.plan import Edit

__all__ = ["GitCredentials", "GitRepo", "PushResult", "Snapshot"]

log = logging.getLogger(__name__)

# Re-entrant: a plan function runs under the lock and may itself read history (a rollback re-plan does).
_LOCKS: dict[tuple[str, str], threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
_MANIFEST_SUFFIXES = (".yaml", ".yml")
# A git killed by kill_after_timeout (SIGKILL) leaves its lock files behind; only ours can be running
# in this clone while we hold the lock, so any we find are stale.
_STALE_LOCKS = (
    "index.lock",
    "HEAD.lock",
    "config.lock",
    "shallow.lock",
    "packed-refs.lock",
    "objects/info/commit-graphs/commit-graph-chain.lock",
)
_TIMED_OUT = re.compile(r"did not complete in [0-9.]+ secs")
_RETRYABLE_REJECTIONS = (
    "[rejected]",
    "non-fast-forward",
    "fetch first",
    "stale info",
    "failed to update ref",
    "cannot lock ref",
    "incorrect old value",
)


def _lock_for(url: str, branch: str) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((url, branch), threading.RLock())


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


@dataclass(frozen=True)
class PushResult:
    sha: str | None  # the pushed commit; None for a no-op
    tries: int
    noop: bool


class _Pending:
    """One caller of commit_and_push waiting in the group-commit queue."""

    def __init__(self, plan: Callable[[Snapshot], Edit | None]) -> None:
        self.plan = plan
        self.finished = False  # read and written only under the repo lock
        self._outcome: PushResult | BaseException = GitError("The commit was never attempted.")

    def settle(self, outcome: PushResult | BaseException) -> None:
        if not self.finished:
            self._outcome = outcome
            self.finished = True

    def outcome(self) -> PushResult:
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


_SYMLINK = "120000"
_FILE_MODES = ("100644", "100755")
# fast-import updates a ref; a private one, so the branch itself only moves by the reset after the push.
_BATCH_REF = "refs/gitops-bot/batch"


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _quoted(path: str) -> str:
    """A path as fast-import reads it: C-style quoted when it has a quote, backslash, newline or leading space."""
    if not any(c in path for c in '"\\\n') and not path.startswith(" "):
        return path
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _clean_message(text: str) -> str:
    """What `git commit --cleanup=whitespace` keeps: no trailing blanks, no leading, trailing or repeated
    empty lines, one final newline."""
    lines: list[str] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped or (lines and lines[-1]):
            lines.append(stripped)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


_HISTORY_CACHE = 256  # path sets remembered (one per service/env view); the oldest is dropped first


@dataclass(frozen=True)
class _History:
    head: str
    limit: int | None
    records: list[CommitRecord]


def _checked_rev(rev: str) -> str:
    if not rev or rev.startswith("-") or any(c.isspace() for c in rev):
        raise InvalidInput(f"{rev!r} is not a Git revision.", hint="Use a commit sha, branch or HEAD.")
    return rev


def _checked_path(path: str) -> str:
    rel = posixpath.normpath(path)
    if not path or rel.startswith(("/", "../")) or rel in (".", "..") or ".git" in rel.split("/"):
        raise InvalidInput(f"{path!r} is not a file path inside the repository.")
    return rel


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
        # A busy branch (Flux automation committing every ~100 ms, other replicas) rejects most pushes, and
        # waiting longer between tries does not make a window more likely: many short, jittered tries do.
        max_tries: int = 40,
        backoff: tuple[float, float] = (0.02, 0.4),
        push_budget: float = 120.0,
        blobless: bool = False,
        on_push_retry: Callable[[], None] | None = None,
    ) -> None:
        if not branch or branch.startswith("-") or any(c.isspace() or c in "~^:?*[\\" for c in branch):
            raise InvalidInput(f"{branch!r} is not a branch name.")
        creds = credentials or GitCredentials()
        git_url, password = split_password(url)
        secret = creds.token or password
        self._url = git_url  # may keep a user name, never a password
        self.display_url = display_url(url)
        self.branch = branch
        self.workdir = Path(workdir)
        self._redact = Redactor(tuple(s for s in (creds.token, password) if s))
        self._env = git_env(creds, secret=secret, timeout=timeout)
        self._author = {
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name,
            "GIT_COMMITTER_EMAIL": author_email,
        }
        self._timeout = timeout
        self._max_tries = max(1, max_tries)
        self._backoff = backoff
        self._push_budget = push_budget
        self._blobless = blobless
        self._on_push_retry = on_push_retry  # the metrics hook: a rejected push about to be re-planned
        self._lock = _lock_for(git_url, branch)
        self._queue: list[_Pending] = []
        self._histories: dict[tuple[str, ...], _History] = {}
        self._queue_guard = threading.Lock()
        self._checked_out = False  # this instance has verified the clone's origin and branch
        self._tracking = f"refs/remotes/origin/{branch}"

    # --- running git ------------------------------------------------------------------------------

    def _run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        network: bool = False,
        sink: LogParser | None = None,
    ) -> tuple[int, str, str]:
        """(status, stdout, stderr) of one git child. GitPython kills it after `timeout` when it talks to
        the remote; in a blobless clone any command may (missing blobs are fetched on demand)."""
        limit = self._timeout if (network or self._blobless) else None
        status, out, err = git.Git(cwd or self.workdir).execute(
            ["git", *args],
            env={**self._env, **(env or {})},
            kill_after_timeout=limit,
            with_extended_output=True,
            with_exceptions=False,
            output_stream=sink,
        )
        return status, out if isinstance(out, str) else "", err

    def _git(
        self,
        *args: str,
        doing: str,
        network: bool = False,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        sink: LogParser | None = None,
    ) -> str:
        status, out, err = self._run(args, cwd=cwd, env=env, network=network, sink=sink)
        if status != 0:
            raise self._failure(f"{err}\n{out}", doing, network or self._blobless)
        return out

    def _failure(self, text: str, doing: str, network: bool) -> BotError:
        failure = describe_failure(
            text,
            doing=doing,
            url=self.display_url,
            timeout=self._timeout,
            network=network,
            redact=self._redact,
            branch=self.branch,
        )
        log.log(logging.WARNING if network else logging.DEBUG, "git failed while %s: %s", doing, failure)
        return failure

    # --- the clone --------------------------------------------------------------------------------

    def sync(self) -> Snapshot:
        """Clone on first use, then fetch and hard-reset to origin/<branch>; local edits and junk go."""
        with self._lock:
            return self._sync()

    def _sync(self) -> Snapshot:
        if not (self.workdir / ".git").is_dir():
            self._clone()
        else:
            self._clear_stale_locks()
            if not self._checked_out:
                self._git("remote", "set-url", "origin", self._url, doing="configuring the clone")
            self._fetch()
            if self._checked_out:
                self._git("reset", "-q", "--hard", self._tracking, doing="resetting the clone")
            else:
                self._git("checkout", "-q", "-f", "-B", self.branch, self._tracking, doing="checking out")
            self._git("clean", "-q", "-ffdx", doing="cleaning the clone")
        self._checked_out = True
        head = self._git("rev-parse", "HEAD", doing="reading HEAD")
        listed = self._git("ls-files", "-s", "-z", doing="listing files")
        modes = {}
        for entry in filter(None, listed.split("\0")):
            info, _, path = entry.partition("\t")
            modes[path] = info.split(" ", 1)[0]
        return Snapshot(head, self.workdir, modes)

    def _clone(self) -> None:
        if self.workdir.exists() and any(self.workdir.iterdir()):
            raise GitError(
                f"{self.workdir} exists and is not a Git clone; refusing to overwrite it.",
                hint="Point the workdir at an empty or missing directory.",
            )
        parent = self.workdir.parent
        parent.mkdir(parents=True, exist_ok=True)
        # Clone beside the target and rename, so a clone killed half-way never looks like a clone.
        staging = Path(tempfile.mkdtemp(prefix=f".{self.workdir.name}.cloning-", dir=parent))
        try:
            args = ["clone", "--quiet", "--no-tags", "--single-branch", "--branch", self.branch]
            if self._blobless:
                args.append("--filter=blob:none")
            self._git(*args, "--", self._url, str(staging), doing="cloning", network=True, cwd=parent)
            # fetch keeps the commit-graph (with changed-path filters) current, which is what keeps
            # `git log -- <paths>` fast on long histories.
            self._git("config", "fetch.writeCommitGraph", "true", doing="configuring the clone", cwd=staging)
            self._git(
                "commit-graph",
                "write",
                "--reachable",
                "--changed-paths",
                "--split",
                doing="writing the commit-graph",
                cwd=staging,
            )
            if self.workdir.exists():
                self.workdir.rmdir()
            staging.rename(self.workdir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _fetch(self) -> None:
        refspec = f"+refs/heads/{self.branch}:{self._tracking}"
        self._git("fetch", "--quiet", "--no-tags", "origin", refspec, doing="fetching", network=True)

    def _clear_stale_locks(self) -> None:
        dot_git = self.workdir / ".git"
        for name in (*_STALE_LOCKS, f"refs/heads/{self.branch}.lock", f"{self._tracking}.lock"):
            (dot_git / name).unlink(missing_ok=True)

    def _restore(self) -> None:
        """After any failure: back to origin/<branch>, so the next call starts from a clean clone."""
        if not (self.workdir / ".git").is_dir():
            return
        self._clear_stale_locks()
        try:
            self._git("reset", "-q", "--hard", self._tracking, doing="resetting the clone")
            self._git("clean", "-q", "-ffdx", doing="cleaning the clone")
        except GitError as err:  # the next sync resets again; this failure must not hide the first one
            log.warning("could not reset %s after a failure: %s", self.workdir, err)

    # --- committing -------------------------------------------------------------------------------

    def commit_and_push(self, plan: Callable[[Snapshot], Edit | None]) -> PushResult:
        """sync → plan → commit → push, re-planning on the new HEAD whenever the push is rejected.

        Group commit: callers that queue up while another holds the lock are planned, one commit each, on top
        of each other and pushed together by whichever of them gets the lock next. On a busy branch the race
        is lost per push, not per promotion, so ten queued promotions cost one window instead of ten.
        """
        mine = _Pending(plan)
        with self._queue_guard:
            self._queue.append(mine)
        with self._lock:
            if not mine.finished:
                with self._queue_guard:
                    batch, self._queue[:] = list(self._queue), []
                try:
                    self._push_batch(batch)
                except BaseException as err:
                    self._restore()
                    for p in batch:
                        p.settle(err)
                    raise
        return mine.outcome()

    @property
    def waiting(self) -> int:
        """Callers queued for the next group commit (not counting the one pushing now)."""
        with self._queue_guard:
            return len(self._queue)

    def _push_batch(self, batch: Sequence[_Pending]) -> None:
        deadline = time.monotonic() + self._push_budget
        for attempt in range(1, self._max_tries + 1):
            base = self._sync()
            synced = time.monotonic()
            snapshot = base
            outcomes: list[tuple[_Pending, PushResult | BaseException]] = []
            commits: list[tuple[_Pending, dict[str, str], str]] = []
            for p in batch:
                try:
                    edit = p.plan(snapshot)
                    changed = self._changes(snapshot, edit) if edit is not None else {}
                except Exception as err:  # this caller's refusal (a conflict, a bad edit); the others go on
                    outcomes.append((p, err))
                    continue
                if edit is None or not changed:
                    outcomes.append((p, PushResult(None, attempt, True)))
                    continue
                commits.append((p, changed, _clean_message(edit.message.render())))
                # The next plan in the batch sees this commit, exactly as if it had been pushed already.
                snapshot = replace(snapshot, overlay={**snapshot.overlay, **changed})
            # Outcomes count only once they are on the remote: a rejected push re-plans everyone, because a
            # no-op or a conflict may have been decided against a sibling commit that never landed.
            planned = time.monotonic()
            shas = self._import(base, commits) if commits else []
            if not commits or self._push(shas[-1]):
                if commits:  # leave the clone on what is now origin/<branch>, clean
                    self._git("reset", "-q", "--hard", shas[-1], doing="resetting the clone")
                results = {id(p): PushResult(sha, attempt, False) for (p, _, _), sha in zip(commits, shas, strict=True)}
                for p, outcome in outcomes:
                    p.settle(outcome)
                for p, _, _ in commits:
                    p.settle(results[id(p)])
                return
            if attempt < self._max_tries and time.monotonic() < deadline:
                if self._on_push_retry is not None:
                    self._on_push_retry()
                cap = min(self._backoff[1], self._backoff[0] * 2 ** (attempt - 1))
                delay = secrets.SystemRandom().uniform(cap / 2, cap)
                # The window (fetch done → push answered) is what has to be shorter than the others' cadence.
                log.info(
                    "push of %d commit(s) to %s %s rejected (try %d; planned in %.0f ms, window %.0f ms); "
                    "re-planning in %.2fs",
                    len(commits),
                    self.display_url,
                    self.branch,
                    attempt,
                    (planned - synced) * 1000,
                    (time.monotonic() - synced) * 1000,
                    delay,
                )
                time.sleep(delay)
                continue
            break
        raise PushRetriesExhausted(
            f"{self.branch} on {self.display_url} kept moving: {attempt} pushes were rejected.",
            hint="Something else is pushing to it constantly; try again in a minute.",
        )

    def _changes(self, snapshot: Snapshot, edit: Edit) -> dict[str, str]:
        """The edit's files that differ from the snapshot, checked: inside the repo and not over a symlink."""
        changed: dict[str, str] = {}
        for path, text in edit.files.items():
            rel = _checked_path(path)
            if snapshot.modes.get(rel) == _SYMLINK or any(
                snapshot.modes.get(parent) == _SYMLINK for parent in _parents(rel)
            ):
                raise InvalidInput(
                    f"{path!r} is a symbolic link in the repository; the bot does not write through links."
                )
            if snapshot.read(rel) != text:
                changed[rel] = text
        return changed

    def _import(self, base: Snapshot, commits: Sequence[tuple[_Pending, Mapping[str, str], str]]) -> list[str]:
        """The batch's commits as objects, one `git fast-import` for all of them: a git child per commit would
        keep the window between fetch and push open several times longer on a busy branch."""
        when = f"{int(time.time())} +0000"
        who = f"{self._author['GIT_COMMITTER_NAME']} <{self._author['GIT_COMMITTER_EMAIL']}>"
        out = bytearray()
        for n, (_, files, message) in enumerate(commits, start=1):
            data = message.encode("utf-8")
            out += f"commit {_BATCH_REF}\nmark :{n}\nauthor {who} {when}\ncommitter {who} {when}\n".encode()
            out += b"data %d\n%s\n" % (len(data), data)
            out += (f"from {base.head}\n" if n == 1 else f"from :{n - 1}\n").encode()
            for path, text in files.items():
                blob = text.encode("utf-8")
                mode = base.modes.get(path, "100644")
                out += f"M {mode if mode in _FILE_MODES else '100644'} inline {_quoted(path)}\n".encode()
                out += b"data %d\n%s\n" % (len(blob), blob)
        scratch = Path(tempfile.mkdtemp(prefix="batch-", dir=self.workdir / ".git"))
        try:
            (scratch / "stream").write_bytes(bytes(out))
            with (scratch / "stream").open("rb") as stream:
                status, _, err = git.Git(self.workdir).execute(
                    ["git", "fast-import", "--quiet", "--force", f"--export-marks={scratch / 'marks'}"],
                    env=self._env,
                    istream=stream,
                    with_extended_output=True,
                    with_exceptions=False,
                )
            if status != 0:
                raise self._failure(err, "writing the commits", network=False)
            found = dict(line.split(" ", 1) for line in (scratch / "marks").read_text().splitlines() if line)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return [found[f":{n}"].strip() for n in range(1, len(commits) + 1)]

    def _push(self, sha: str) -> bool:
        """True when the push landed; False when the branch moved under us (re-plan and retry)."""
        status, out, err = self._run(["push", "--porcelain", "origin", f"{sha}:refs/heads/{self.branch}"], network=True)
        if status == 0 or self._reported_updated(out, sha):
            return True
        text = f"{err}\n{out}"
        if not _TIMED_OUT.search(text) and any(r in text for r in _RETRYABLE_REJECTIONS):
            log.debug("push rejected: %s", self._redact(text.strip()))
            return False
        raise self._failure(text, "pushing", network=True)

    def _reported_updated(self, porcelain: str, sha: str) -> bool:
        """The remote said it moved the branch to `sha`, even though git push failed afterwards (the remote
        hung up during post-receive): the push landed. Porcelain lines are `<flag>\t<from>:<to>\t<summary>`;
        " " is a fast-forward, "*" a new ref, "=" already there."""
        target = f"{sha}:refs/heads/{self.branch}"
        for line in porcelain.splitlines():
            flag, _, rest = line.partition("\t")
            if flag in (" ", "*", "=") and rest.split("\t", 1)[0] == target:
                log.warning(
                    "push to %s reported the branch updated, then failed; counting it as landed", self.display_url
                )
                return True
        return False

    # --- reading history --------------------------------------------------------------------------

    def _ensure_clone(self) -> None:
        if not (self.workdir / ".git").is_dir():
            self._sync()

    def history(self, paths: Sequence[str], *, max_count: int | None = None, rev: str = "HEAD") -> list[CommitRecord]:
        """Commits reachable from `rev` that touch `paths`, newest first, with -U0 diffs of those paths.

        Incremental: the answer for a head is kept per path set, and a later head that descends from it only
        walks the commits in between. On a long history where few commits touch the paths, a full walk reads
        every commit (0.14 s at 50k); Flux moves HEAD every few minutes, so most requests walk a handful."""
        limit = None if max_count is None else max(0, max_count)
        pathspecs = tuple(p if p == "." else _checked_path(p) for p in paths)
        with self._lock:
            self._ensure_clone()
            head = self._git("rev-parse", "--verify", "--end-of-options", f"{_checked_rev(rev)}^{{commit}}",
                             doing="reading history")  # fmt: skip
            known = self._histories.get(pathspecs)
            covers = known is not None and (known.limit is None or (limit is not None and known.limit >= limit))
            if known is not None and covers and known.head == head:
                records = known.records
            elif known is not None and covers and self.is_ancestor(known.head, head):
                records = self._log([*LOG_ARGS, f"{known.head}..{head}"], list(pathspecs), doing="reading history")
                records = records + known.records
            else:
                args = [*LOG_ARGS, head] + ([f"--max-count={limit}"] if limit is not None else [])
                records = self._log(args, list(pathspecs), doing="reading history")
            if limit is not None:
                records = records[:limit]
            self._histories[pathspecs] = _History(head, limit, records)
            while len(self._histories) > _HISTORY_CACHE:
                self._histories.pop(next(iter(self._histories)))
        return list(records)

    def commits_between(self, old: str, new: str = "HEAD") -> list[CommitRecord]:
        """Commits in `new` that `old` lacks (e.g. Flux automation commits since a rev), newest first."""
        span = f"{_checked_rev(old)}..{_checked_rev(new)}"
        return self._log([*LOG_ARGS, span], [], doing="listing new commits")

    def _log(self, args: list[str], paths: list[str], doing: str) -> list[CommitRecord]:
        parser = LogParser()
        with self._lock:
            self._ensure_clone()
            self._git(*args, "--", *paths, doing=doing, sink=parser)
        return parser.close()

    def is_ancestor(self, ancestor: str, descendant: str = "HEAD") -> bool:
        args = ["merge-base", "--is-ancestor", _checked_rev(ancestor), _checked_rev(descendant)]
        with self._lock:
            self._ensure_clone()
            status, out, err = self._run(args)
        if status in (0, 1):
            return status == 0
        raise self._failure(f"{err}\n{out}", "comparing commits", self._blobless)
