"""Real Git remotes on this machine: bare repositories on disk, `git daemon` on 127.0.0.1, and an HTTPS-style
smart-HTTP server (`git http-backend` behind Basic auth) for credential tests.

Every helper git runs with the host's global/system config switched off, so a developer's ~/.gitconfig
cannot change what the tests see. Every server is stopped at teardown, with its whole process group.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.canaries import GIT_TOKEN

GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Someone Else",
    "GIT_AUTHOR_EMAIL": "someone@example.com",
    "GIT_COMMITTER_NAME": "Someone Else",
    "GIT_COMMITTER_EMAIL": "someone@example.com",
}


def git(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run git for a test and return its stdout (stripped); raise with stderr on failure."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True, text=True, timeout=60, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))


@dataclass
class BareRemote:
    """A bare repository on disk; `push` plays another person (or Flux) writing to it."""

    path: Path
    branch: str = "main"
    _other: Path | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def git(self, *args: str) -> str:
        return git(*args, cwd=self.path)

    def head(self) -> str:
        return self.git("rev-parse", f"refs/heads/{self.branch}")

    def show(self, path: str, rev: str | None = None) -> str:
        return self.git("show", f"{rev or self.branch}:{path}")

    def push(self, files: Mapping[str, str], message: str = "someone else's change",
             env: Mapping[str, str] | None = None) -> str:
        """Commit `files` on top of the branch from a separate clone and push it; returns the new sha."""
        if self._other is None:
            self._other = self.path.parent.parent / "others" / self.path.name
            git("clone", "-q", "--branch", self.branch, str(self.path), str(self._other))
        git("fetch", "-q", "origin", cwd=self._other)
        git("reset", "-q", "--hard", f"origin/{self.branch}", cwd=self._other)
        _write(self._other, files)
        git("add", "-A", cwd=self._other)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self._other, env=env)
        git("push", "-q", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self._other)
        return git("rev-parse", "HEAD", cwd=self._other)


MakeRemote = Callable[..., BareRemote]

# Every remote made in this process, in order; tests/secrets_guard.py takes them after each test and reads
# their history (messages and diffs) for canaries.
MADE: list[BareRemote] = []


def make_bare_remote(base: Path, files: Mapping[str, str] | None = None, name: str = "fleet.git",
                     branch: str = "main", message: str = "initial layout") -> BareRemote:
    """A bare repo at base/name whose `branch` has one commit holding `files`."""
    path = base / name
    git("init", "-q", "--bare", "-b", branch, str(path))
    seed = base.parent / "seeds" / name  # beside the daemon's base path, not under it
    git("init", "-q", "-b", branch, str(seed))
    _write(seed, files or {"README.md": "fleet\n"})
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", message, cwd=seed)
    git("push", "-q", str(path), f"HEAD:refs/heads/{branch}", cwd=seed)
    remote = BareRemote(path, branch)
    MADE.append(remote)
    return remote


@pytest.fixture
def remotes_dir(tmp_path: Path) -> Path:
    path = tmp_path / "remotes"
    path.mkdir()
    return path


@pytest.fixture
def bare_remote(remotes_dir: Path) -> MakeRemote:
    """`bare_remote({"path": "text"}, name="fleet.git")` → a BareRemote under the daemon's base path."""

    def make(files: Mapping[str, str] | None = None, name: str = "fleet.git", branch: str = "main",
             message: str = "initial layout") -> BareRemote:
        return make_bare_remote(remotes_dir, files, name, branch, message)

    return make


# --- git daemon -----------------------------------------------------------------------------------


class GitDaemon:
    """`git daemon` serving `base` (read and push) on 127.0.0.1; stop() and start() keep the port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self._proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--informative-errors",
             f"--base-path={self.base}", "--listen=127.0.0.1", f"--port={self.port}", str(self.base)],
            env={**os.environ, **GIT_ENV}, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,  # its own group: stop() reaches the children
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"git daemon exited with {self._proc.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"git daemon did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            except ProcessLookupError:
                proc.wait(timeout=5)
        # Connections it forked may outlive the parent for a moment; they are in its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def git_daemon(remotes_dir: Path) -> Iterator[GitDaemon]:
    daemon = GitDaemon(remotes_dir)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


# --- smart HTTP with Basic auth ---------------------------------------------------------------------


class GitHTTP(ThreadingHTTPServer):
    """`git http-backend` behind Basic auth that accepts exactly one user/token pair."""

    daemon_threads = True

    def __init__(self, base: Path, username: str, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _GitHTTPHandler)
        self.base = base
        self.username = username
        self.token = token
        self.accepted = 0
        self.denied = 0
        self.seen_paths: list[str] = []
        self.seen_auth: list[str] = []

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
        return header == f"Basic {expected}"


class _GitHTTPHandler(BaseHTTPRequestHandler):
    server: GitHTTP
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        return

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while (size := int(self.rfile.readline().strip() or b"0", 16)) > 0:
                out += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return out
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        self.server.seen_paths.append(self.path)
        auth = self.headers.get("Authorization")
        if auth:
            self.server.seen_auth.append(auth)
        if not self.server.authorised(auth):
            self.server.denied += 1
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.accepted += 1
        body = self._body()
        path, _, query = self.path.partition("?")
        env = {
            **os.environ, **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.server.base), "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.username, "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                             timeout=60, check=False).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextlib.contextmanager
def serving_git_http(base: Path) -> Iterator[GitHTTP]:
    """The remotes under `base` over smart HTTP, accepting only GIT_TOKEN, until the block ends."""
    server = GitHTTP(base, "x-access-token", GIT_TOKEN)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def git_http(remotes_dir: Path) -> Iterator[GitHTTP]:
    with serving_git_http(remotes_dir) as server:
        yield server


# --- a port that accepts and then never answers -------------------------------------------------------


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A listening port whose connections are accepted and then ignored (a stalled remote)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()
