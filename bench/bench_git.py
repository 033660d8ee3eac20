"""GitRepo against plain `git` on local bare remotes: one promotion push, and how both scale to 50k commits.

Histories are built with `git fast-import` (seconds for 50k commits). Everything runs in a temporary
directory that is removed at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.table import Row, best_of
from bot.adapters.git_repo import GitRepo, Snapshot
from bot.core.commit_message import CommitMessage, Trailers
from bot.core.plan import Edit

SERVICES = [f"svc-{i:02d}" for i in range(10)]
ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def _git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, env=ENV, input=stdin, capture_output=True, check=True)
    return out.stdout.decode().strip()


def _path(svc: str) -> str:
    return f"apps/staging/{svc}/deployment.yaml"


def _manifest(svc: str, n: int) -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {svc}\nspec:\n  template:\n    spec:\n"
        f"      containers:\n        - name: app\n"
        f"          image: ghcr.io/acme/{svc}:staging-v0.0.{n}-a1b2c3d-{1738860000 + n}"
        f' # {{"$imagepolicy": "flux-system:{svc}-staging"}}\n'
    )


def build_remote(path: Path, commits: int) -> None:
    """A bare repo whose main has `commits` commits, each bumping one service's tag (round-robin)."""
    _git("init", "-q", "--bare", "-b", "main", str(path))
    chunks: list[bytes] = []
    for n in range(1, commits + 1):
        svc = SERVICES[n % len(SERVICES)]
        msg = f"promote({svc}): v0.0.{n}\n\nPromoted-by: Bench <slack:U0BENCH>\n".encode()
        body = _manifest(svc, n).encode()
        parent = f"from :{n - 1}\n".encode() if n > 1 else b""
        files = b"".join(
            b"M 100644 inline " + _path(s).encode() + b"\ndata " + str(len(t)).encode() + b"\n" + t + b"\n"
            for s, t in ([(s, _manifest(s, 0).encode()) for s in SERVICES] if n == 1 else [(svc, body)])
        )
        chunks.append(
            f"commit refs/heads/main\nmark :{n}\ncommitter bench <bench@example.com> {1738000000 + n} +0000\n"
            f"data {len(msg)}\n".encode()
            + msg
            + parent
            + files
            + b"\n"
        )
    _git("fast-import", "--quiet", cwd=path, stdin=b"".join(chunks))


def _bump(text: str) -> str:
    return re.sub(r"staging-v0\.0\.(\d+)-", lambda m: f"staging-v0.0.{int(m.group(1)) + 1}-", text, count=1)


def _plan(svc: str) -> Callable[[Snapshot], Edit | None]:
    message = CommitMessage(
        f"promote({svc}): bench", "One marker line.", Trailers((("Promoted-by", "Bench <slack:U0BENCH>"),))
    )

    def plan(snapshot: Snapshot) -> Edit | None:
        text = snapshot.read(_path(svc))
        assert text is not None
        return Edit({_path(svc): _bump(text)}, message)

    return plan


def _ours(remote: Path, workdir: Path) -> Callable[[], object]:
    repo = GitRepo(str(remote), "main", workdir, author_name="gitops-bot", author_email="bot@example.com")
    repo.sync()
    plan = _plan(SERVICES[0])
    return lambda: repo.commit_and_push(plan)


def _plain(remote: Path, workdir: Path) -> Callable[[], object]:
    _git("clone", "-q", "--branch", "main", str(remote), str(workdir))
    target = workdir / _path(SERVICES[0])

    def push() -> None:
        _git("fetch", "-q", "origin", cwd=workdir)
        _git("reset", "-q", "--hard", "origin/main", cwd=workdir)
        target.write_text(_bump(target.read_text()))
        _git("commit", "-q", "-am", "promote: bench", cwd=workdir)
        _git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=workdir)

    return push


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-git-") as tmp:
        root = Path(tmp)
        for name, commits in (("small-ours", 100), ("small-plain", 100), ("big-ours", 50_000)):
            build_remote(root / f"{name}.git", commits)

        ours_small = _ours(root / "small-ours.git", root / "w-small-ours")
        plain_small = _plain(root / "small-plain.git", root / "w-small-plain")
        ours_small(), plain_small()  # warm caches
        t_ours_small = best_of(ours_small, 15)
        t_plain_small = best_of(plain_small, 15)
        rows.append(
            Row(
                "promotion edit+commit+push (sync included), 100 commits",
                t_ours_small,
                t_plain_small,
                "plain git fetch/reset/commit/push",
                2.0,
            )
        )

        ours_big = _ours(root / "big-ours.git", root / "w-big-ours")
        ours_big()
        t_ours_big = best_of(ours_big, 15)
        rows.append(Row("same at 50k commits vs 100", t_ours_big, t_ours_small, "ours at 100 commits", 1.3))

        def cold_repo() -> GitRepo:
            # A new instance has nothing remembered: this is the full walk a first request after start pays.
            return GitRepo(str(root / "big-ours.git"), "main", root / "w-big-ours",
                           author_name="gitops-bot", author_email="bot@example.com")  # fmt: skip

        path = _path(SERVICES[3])
        found = cold_repo().history([path])
        assert len(found) >= 50_000 // len(SERVICES), len(found)
        t_history = best_of(lambda: cold_repo().history([path]), 5)
        t_log = best_of(lambda: _git("log", "--format=%H", "--", path, cwd=root / "w-big-ours"), 5)
        rows.append(
            Row(
                f"history() of one service at 50k commits ({len(found)} hits), cold",
                t_history,
                t_log,
                "git log --format=%H -- path",
                3.0,
            )
        )
    return rows


if __name__ == "__main__":
    from bench.table import format_table

    print(format_table(run()))
