"""One persistent clone of one branch: running git in it, its lifecycle (clone, fetch, reset, push), its lock.

This is the only module that imports GitPython. Every git child runs with the environment from
`git_credentials.git_env` (isolated config, no prompts, credentials in the environment only), network
commands are killed after `timeout` seconds, and GitPython's errors become our own with redacted text.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import git

from bot.adapters.git_credentials import (
    GitCredentials,
    Redactor,
    describe_failure,
    display_url,
    git_env,
    split_password,
)
from bot.adapters.git_snapshot import Snapshot
from bot.errors import BotError, GitError

__all__ = ["GitClone", "workdir_lock"]

log = logging.getLogger(__name__)

# Keyed by the resolved working directory, because that is what two git children must not share: two
# instances (or two spellings of one path) over one directory take turns; clones elsewhere do not wait.
# Re-entrant: a plan function runs under the lock and may itself read history (a rollback re-plan does).
_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
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


def workdir_lock(workdir: Path) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(Path(workdir).resolve(), threading.RLock())


class OutputSink(Protocol):
    """GitPython's output_stream: the child's stdout is written here as it arrives instead of returned."""

    def write(self, chunk: bytes) -> int: ...


class GitClone:
    def __init__(
        self,
        url: str,
        branch: str,
        workdir: Path,
        *,
        credentials: GitCredentials | None = None,
        timeout: float = 60.0,
        blobless: bool = False,
    ) -> None:
        creds = credentials or GitCredentials()
        git_url, password = split_password(url)
        self.url = git_url  # may keep a user name, never a password
        self.display_url = display_url(url)
        self.branch = branch
        self.workdir = Path(workdir)
        self.tracking = f"refs/remotes/origin/{branch}"
        self.lock = workdir_lock(self.workdir)
        self._redact = Redactor(tuple(s for s in (creds.token, password) if s))
        self._env = git_env(creds, secret=creds.token or password, timeout=timeout)
        self._timeout = timeout
        self.blobless = blobless
        self._checked_out = False  # this instance has verified the clone's origin and branch
        self._branch_files: dict[str, tuple[str, dict[str, str]]] = {}  # other branches, by their head

    # --- running git ------------------------------------------------------------------------------

    def run(
        self, args: Sequence[str], *, cwd: Path | None = None, network: bool = False, sink: OutputSink | None = None
    ) -> tuple[int, str, str]:
        """(status, stdout, stderr) of one git child. GitPython kills it after `timeout` when it talks to
        the remote; in a blobless clone any command may (missing blobs are fetched on demand)."""
        limit = self._timeout if (network or self.blobless) else None
        status, out, err = git.Git(cwd or self.workdir).execute(
            ["git", *args],
            env=self._env,
            kill_after_timeout=limit,
            with_extended_output=True,
            with_exceptions=False,
            output_stream=sink,
        )
        return status, out if isinstance(out, str) else "", err

    def git(
        self,
        *args: str,
        doing: str,
        network: bool = False,
        cwd: Path | None = None,
        sink: OutputSink | None = None,
    ) -> str:
        status, out, err = self.run(args, cwd=cwd, network=network, sink=sink)
        if status != 0:
            raise self.failure(f"{err}\n{out}", doing, network or self.blobless)
        return out

    def failure(self, text: str, doing: str, network: bool) -> BotError:
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

    # --- the lifecycle ----------------------------------------------------------------------------

    def sync(self) -> Snapshot:
        """Clone on first use, then fetch and hard-reset to origin/<branch>; local edits and junk go."""
        with self.lock:
            if not (self.workdir / ".git").is_dir():
                self._clone()
            else:
                self._clear_stale_locks()
                if not self._checked_out:
                    self.git("remote", "set-url", "origin", self.url, doing="configuring the clone")
                refspec = f"+refs/heads/{self.branch}:{self.tracking}"
                self.git("fetch", "--quiet", "--no-tags", "origin", refspec, doing="fetching", network=True)
                if self._checked_out:
                    self.git("reset", "-q", "--hard", self.tracking, doing="resetting the clone")
                else:
                    self.git("checkout", "-q", "-f", "-B", self.branch, self.tracking, doing="checking out")
                self.git("clean", "-q", "-ffdx", doing="cleaning the clone")
            self._checked_out = True
            head = self.git("rev-parse", "HEAD", doing="reading HEAD")
            listed = self.git("ls-files", "-s", "-z", doing="listing files")
        modes = {}
        for entry in filter(None, listed.split("\0")):
            info, _, path = entry.partition("\t")
            modes[path] = info.split(" ", 1)[0]
        return Snapshot(head, self.workdir, modes)

    def reachable(self) -> None:
        """Raise unless the remote answers for the branch (`git ls-remote`: no clone lock, no objects)."""
        out = self.git("ls-remote", "--heads", self.url, self.branch, doing="checking the remote",
                       network=True, cwd=self.workdir if self.workdir.is_dir() else self.workdir.parent)  # fmt: skip
        if not out.strip():
            raise self.failure(f"the remote has no branch {self.branch}", "checking the remote", network=True)

    def read_branch(self, branch: str, under: str = ".") -> dict[str, str]:
        """Every *.yaml / *.yml file under `under` on `branch` of the remote, fetched into its own tracking ref
        (the checked-out branch is untouched). One `git archive` child reads them all."""
        ref = f"refs/remotes/origin/{branch}"
        with self.lock:
            self.ensure()
            self.git("fetch", "--quiet", "--no-tags", "origin", f"+refs/heads/{branch}:{ref}",
                     doing=f"fetching {branch}", network=True)  # fmt: skip
            head = self.git("rev-parse", ref, doing=f"reading {branch}")
            cached = self._branch_files.get(branch)
            if cached is not None and cached[0] == head:
                return dict(cached[1])
            sink = io.BytesIO()
            status, _out, err = self.run(["archive", "--format=tar", ref, "--", under], sink=sink)
        if status != 0:
            if "did not match" in err:  # `under` does not exist on that branch: nothing there
                return {}
            raise self.failure(err, f"reading {branch}", False)
        files: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(sink.getvalue())) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith((".yaml", ".yml")):
                    data = tar.extractfile(member)
                    if data is not None:
                        files[member.name] = data.read().decode("utf-8", errors="replace")
        self._branch_files[branch] = (head, files)
        return dict(files)

    def ensure(self) -> None:
        """A clone to read from: the first read clones; later ones read what the last sync fetched."""
        with self.lock:
            if not (self.workdir / ".git").is_dir():
                self.sync()

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
            if self.blobless:
                args.append("--filter=blob:none")
            self.git(*args, "--", self.url, str(staging), doing="cloning", network=True, cwd=parent)
            # fetch keeps the commit-graph (with changed-path filters) current, which is what keeps
            # `git log -- <paths>` fast on long histories.
            self.git("config", "fetch.writeCommitGraph", "true", doing="configuring the clone", cwd=staging)
            self.git(
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

    def _clear_stale_locks(self) -> None:
        dot_git = self.workdir / ".git"
        for name in (*_STALE_LOCKS, f"refs/heads/{self.branch}.lock", f"{self.tracking}.lock"):
            (dot_git / name).unlink(missing_ok=True)

    def land(self, sha: str) -> None:
        """Leave the clone on `sha` (what the push made origin/<branch>), clean."""
        with self.lock:
            self.git("reset", "-q", "--hard", sha, doing="resetting the clone")

    def restore(self) -> None:
        """After any failure: back to origin/<branch>, so the next call starts from a clean clone."""
        with self.lock:
            if not (self.workdir / ".git").is_dir():
                return
            self._clear_stale_locks()
            try:
                self.git("reset", "-q", "--hard", self.tracking, doing="resetting the clone")
                self.git("clean", "-q", "-ffdx", doing="cleaning the clone")
            except GitError as err:  # the next sync resets again; this failure must not hide the first one
                log.warning("could not reset %s after a failure: %s", self.workdir, err)

    def fast_import(self, stream: bytes) -> str:
        """Feed a fast-import stream to the clone's object store; the exported marks file's text."""
        with self.lock:
            scratch = Path(tempfile.mkdtemp(prefix="batch-", dir=self.workdir / ".git"))
            try:
                (scratch / "stream").write_bytes(stream)
                with (scratch / "stream").open("rb") as stdin:
                    status, _, err = git.Git(self.workdir).execute(
                        ["git", "fast-import", "--quiet", "--force", f"--export-marks={scratch / 'marks'}"],
                        env=self._env,
                        istream=stdin,
                        with_extended_output=True,
                        with_exceptions=False,
                    )
                if status != 0:
                    raise self.failure(err, "writing the commits", network=False)
                return (scratch / "marks").read_text()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

    # --- pushing ----------------------------------------------------------------------------------

    def push(self, sha: str) -> bool:
        """True when the push landed; False when the branch moved under us (re-plan and retry)."""
        with self.lock:
            status, out, err = self.run(["push", "--porcelain", "origin", f"{sha}:refs/heads/{self.branch}"],
                                        network=True)  # fmt: skip
        if status == 0 or self._reported_updated(out, sha):
            return True
        text = f"{err}\n{out}"
        if not _TIMED_OUT.search(text) and any(r in text for r in _RETRYABLE_REJECTIONS):
            log.debug("push rejected: %s", self._redact(text.strip()))
            return False
        raise self.failure(text, "pushing", network=True)

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
