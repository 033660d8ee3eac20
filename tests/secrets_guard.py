"""A pytest plugin: no canary (tests/canaries.py) may reach a log, a Slack message, a commit or the CLI's output.

Loaded for the whole suite from tests/conftest.py. Four channels, each read where the bot's words end up:

    logs      a handler on the root logger sees every record (message, `extra=` fields, traceback) before any
              other handler's filter could mask it: the bot must not log a secret at all, redaction is the net
    Slack     what each FakeSlack received as content (form, query and JSON fields; not the `token` field nor
              the Authorization header, which carry the bot token by design)
    commits   `git log --all -p` of every remote `make_bare_remote` made: messages, trailers and diffs
    output    the CLI's stdout and stderr (`check_output`), every `*.log` file under the test's tmp_path (the
              serve logs of tests/reliability/cluster.py), and a BotError that escapes a test

What a channel finds is held until the test's teardown, where the test fails with one line per leak naming
the canary and where it went. Records below WARNING are only made when the root logger lets them through,
so the root logger is set to DEBUG for the session; handlers keep their own levels.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.adapters.registry_auth import env_prefix
from bot.errors import BotError, ConfigError
from tests import canaries
from tests.canaries import BOT_TOKEN, FLUX_TOKEN, GIT_TOKEN, REGISTRY_PASSWORD, SIGNING_SECRET
from tests.fakes import slack_api
from tests.fakes.slack_api import FakeSlack
from tests.servers import git_daemon
from tests.servers.git_daemon import BareRemote

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset((*logging.makeLogRecord({}).__dict__, "message", "asctime", "taskName"))
_AUTH_FIELDS = frozenset({"token"})  # Slack accepts the token as a form field, like the header


@dataclass(frozen=True)
class Leak:
    channel: str  # "log", "Slack", "commit", "output", "error"
    where: str  # the logger, Slack method, remote, command or file
    canary: str

    def __str__(self) -> str:
        return f"{self.canary!r} reached {self.channel}: {self.where}"


class _Ledger:
    """Leaks found since the last teardown; log handlers write from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leaks: list[Leak] = []

    def scan(self, channel: str, where: str, text: str) -> None:
        found = canaries.find(text)
        if found:
            with self._lock:
                self._leaks += [Leak(channel, where, c) for c in found]

    def take(self) -> list[Leak]:
        with self._lock:
            leaks, self._leaks = self._leaks, []
        return list(dict.fromkeys(leaks))


LEDGER = _Ledger()


def check_output(where: str, *texts: str) -> None:
    """File what a bot child process printed (stdout, stderr, a log file) with the guard."""
    for text in texts:
        LEDGER.scan("output", where, text)


def secret_env(registry_host: str | None = None) -> dict[str, str]:
    """Every secret variable the bot reads, set to a canary, and a registry login for `registry_host`. Not
    SLACK_APP_TOKEN: with it `serve` would switch to Socket Mode."""
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "FLUX_WEBHOOK_TOKEN": FLUX_TOKEN,
           "GIT_TOKEN": GIT_TOKEN}  # fmt: skip
    if registry_host is not None:
        prefix = env_prefix(registry_host)
        env |= {f"{prefix}_USERNAME": "promoter", f"{prefix}_PASSWORD": REGISTRY_PASSWORD}
    return env


# --- logs -------------------------------------------------------------------------------------------------------


def record_text(record: logging.LogRecord) -> str:
    """What any formatter could print of `record`: message, `extra=` fields, traceback and stack."""
    try:
        parts = [record.getMessage()]
    except Exception:  # a bad format string: the arguments are still printable, so still a leak
        parts = [f"{record.msg} {record.args}"]
    parts += [f"{k}={v!r}" for k, v in record.__dict__.items() if k not in _STANDARD]
    if record.exc_text:
        parts.append(record.exc_text)
    elif record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


class CanaryHandler(logging.Handler):
    """Files every record that carries a canary; prints nothing."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            LEDGER.scan("log", f"logger {record.name} ({record.levelname})", record_text(record))
        except Exception:
            self.handleError(record)


# --- Slack and commits: what the fakes and remotes made since the last check ------------------------------------


class _Watch:
    """The fakes and remotes to read. Those made during the test are held until its teardown, so a local
    variable's fake is still read; after that only while something else (a module's fixture) keeps them."""

    def __init__(self) -> None:
        self._slack: list[tuple[weakref.ref[FakeSlack], int]] = []  # (fake, calls already read)
        self._remotes: list[tuple[weakref.ref[BareRemote], object]] = []  # (remote, refs when last read)

    def check(self) -> None:
        fresh_fakes, slack_api.MADE[:] = list(slack_api.MADE), []
        fakes = [(f, 0) for f in fresh_fakes] + [(f, n) for ref, n in self._slack if (f := ref()) is not None]
        self._slack = [(weakref.ref(f), self._read_slack(f, n)) for f, n in fakes]
        fresh_remotes, git_daemon.MADE[:] = list(git_daemon.MADE), []
        remotes: list[tuple[BareRemote, object]] = [(r, None) for r in fresh_remotes]
        remotes += [(r, seen) for ref, seen in self._remotes if (r := ref()) is not None]
        self._remotes = [(weakref.ref(r), self._read_remote(r, seen)) for r, seen in remotes]

    @staticmethod
    def _read_slack(fake: FakeSlack, already: int) -> int:
        calls = fake.calls()
        for call in calls[already if already <= len(calls) else 0 :]:  # reset() forgets calls
            content = {k: v for k, v in call.params.items() if k not in _AUTH_FIELDS}
            LEDGER.scan("Slack", f"{call.method} to FakeSlack", json.dumps(content, ensure_ascii=False, default=str))
        return len(calls)

    @staticmethod
    def _read_remote(remote: BareRemote, seen: object) -> object:
        if not remote.path.is_dir():
            return seen
        refs = _refs_signature(remote.path)
        if refs != seen:
            LEDGER.scan("commit", f"remote {remote.path}", remote.git("log", "--all", "-p", "--format=fuller"))
        return refs


def _refs_signature(path: Path) -> tuple[int | None, ...]:
    # git moves a lock file over a ref to update it, which touches the directory that holds the ref.
    def mtime(p: Path) -> int | None:
        return p.stat().st_mtime_ns if p.exists() else None

    return tuple(mtime(path / p) for p in ("refs/heads", "refs/tags", "packed-refs"))


WATCH = _Watch()


# --- pytest hooks -----------------------------------------------------------------------------------------------

_HANDLER = CanaryHandler()
_ROOT_LEVEL: list[int] = []


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    _ROOT_LEVEL.append(root.level)
    root.addHandler(_HANDLER)
    root.setLevel(logging.DEBUG)


def pytest_unconfigure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.removeHandler(_HANDLER)
    if _ROOT_LEVEL:
        root.setLevel(_ROOT_LEVEL.pop())


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, BotError):  # what a person would have read in Slack or on stderr
        problems = "\n".join(error.problems) if isinstance(error, ConfigError) else ""
        LEDGER.scan("error", f"{type(error).__name__} escaping {item.nodeid}", f"{error}\n{problems}")


def _report(leaks: list[Leak]) -> str:
    lines = "\n".join(f"  - {leak}" for leak in leaks)
    return f"secrets guard: {len(leaks)} canary leak(s) (see tests/secrets_guard.py):\n{lines}"


@pytest.fixture(autouse=True)
def secrets_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every other function-scoped fixture has gone: fail the test if any channel saw a canary."""
    yield
    WATCH.check()
    tmp_path = request.node.funcargs.get("tmp_path") if isinstance(request.node, pytest.Function) else None
    if isinstance(tmp_path, Path):
        for log in sorted(tmp_path.rglob("*.log")):
            if log.is_file() and not log.is_symlink():
                check_output(f"file {log}", log.read_text(encoding="utf-8", errors="replace"))
    leaks = LEDGER.take()
    if leaks:
        pytest.fail(_report(leaks), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Records logged after the last test (threads still winding down) would otherwise go unread."""
    WATCH.check()
    leaks = LEDGER.take()
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(_report(leaks), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
