"""Issue 17, items 4-7, 10, 11 and 15, on real `gitops-bot serve` processes: limits in front of every route,
honest outcomes across SIGKILL and SIGTERM, readiness that follows the present, and pushes that keep trying
while the remote keeps moving.

The remote's receive hooks are the instruments: `pre-receive` holds a push (a slow hook) or lets another
commit land first (contention), exactly where a real remote would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack import blocks
from tests.canaries import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import command_body
from tests.reliability.cluster import PROD_CHANNEL, BotProcess, Cluster, running_cluster
from tests.reliability.test_contention import _confirm_value

SERVICES = ("svc-00",)
HOLD = """#!/bin/sh
# Hold this push until the test says go; the go file holds the exit status.
cat > /dev/null
touch "{dir}/{name}.entered"
while [ ! -e "{dir}/{name}.go" ]; do sleep 0.05; done
exit "$(cat "{dir}/{name}.go")"
"""
# Someone else's push lands first, {n} times: the hook moves the branch itself (objects written outside the
# push's quarantine), so git then refuses the bot's ref update as it would after a lost race.
RACE = """#!/bin/sh
cat > /dev/null
n=$(( $(cat "{dir}/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "{dir}/count"
if [ "$n" -le {n} ]; then
  unset GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_QUARANTINE_PATH
  head=$(git rev-parse refs/heads/main)
  c=$(GIT_AUTHOR_NAME=fluxcdbot GIT_AUTHOR_EMAIL=flux@example GIT_COMMITTER_NAME=fluxcdbot \\
      GIT_COMMITTER_EMAIL=flux@example git commit-tree -p "$head" -m "Update from image update automation $n" \\
      "$head^{{tree}}")
  git update-ref refs/heads/main "$c" "$head"
fi
exit 0
"""


def _hook(c: Cluster, name: str, script: str, **fmt: object) -> Path:
    d = c.root / "hooks"
    d.mkdir(exist_ok=True)
    path = c.remote.path / "hooks" / name
    path.write_text(script.format(dir=d, name=name, **fmt))
    path.chmod(0o755)
    return d


def _wait(predicate: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _start(fake: FakeSlack, bot: BotProcess, tag: str, n: int = 1) -> str:
    assert bot.command(fake, f"{tag} to production", f"preview-{n}").status == 200
    [call] = fake.wait_for(lambda c: c.response_id == f"preview-{n}", timeout=60)
    rid = _confirm_value(call)
    assert bot.click(fake, blocks.CONFIRM, rid, f"confirm-{n}").status == 200
    return rid


def _everything(fake: FakeSlack) -> str:
    return json.dumps([m.as_json() for m in fake.messages(PROD_CHANNEL)], ensure_ascii=False)


def _parent(fake: FakeSlack) -> str:
    """The thread's parent as Slack shows it now ("" before the thread is open)."""
    return json.dumps([m.as_json() for m in fake.messages(PROD_CHANNEL) if not m.is_reply], ensure_ascii=False)


def _request_ids(c: Cluster) -> list[str]:
    out = c.remote.git("log", "--format=%(trailers:key=Request-id,valueonly,separator=)", f"{c.seeded}..main")
    return [line for line in out.splitlines() if line]


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, FakeSlack]]:
    with FakeSlack(token=BOT_TOKEN) as fake, running_cluster(tmp_path, fake, SERVICES, bots=1, flux_period=None) as c:
        yield c, fake


# --- 6 ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_item6_after_sigkill_mid_push_the_thread_never_claims_nothing_changed_and_settles_from_git(
    cluster: tuple[Cluster, FakeSlack],
) -> None:
    c, fake = cluster
    [release] = c.releases
    d = _hook(c, "pre-receive", HOLD)
    rid = _start(fake, c.bots[0], release.staging)
    _wait((d / "pre-receive.entered").exists, "the push to reach the hook")
    c.bots[0].kill()
    again = c.bots[0].restarted(c.root / "bot0" / "serve-2.log")
    try:
        again.wait_ready()
        _wait(lambda: any(m.is_reply and "restarted" in m.text for m in fake.messages(PROD_CHANNEL)),
              "the thread's reply about the restart")  # fmt: skip
        assert "nothing changed" not in _everything(fake)
        (d / "pre-receive.go").write_text("0")  # the orphaned push lands after all
        _wait(lambda: _request_ids(c) == [rid], "the orphaned push to land")
        _wait(lambda: "committed" in _parent(fake), "the thread to settle as committed", 60)
        assert "nothing changed" not in _everything(fake)
    finally:
        again.stop()


# --- 7 ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_item7_sigterm_mid_push_lets_the_push_finish_and_report_then_exits_in_time(
    cluster: tuple[Cluster, FakeSlack],
) -> None:
    c, fake = cluster
    [release] = c.releases
    bot = c.bots[0]
    d = _hook(c, "pre-receive", HOLD)
    rid = _start(fake, bot, release.staging)
    _wait((d / "pre-receive.entered").exists, "the push to reach the hook")
    proc = bot._proc  # Kubernetes signals the main process only, not its group
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    _wait(lambda: _refused(bot.url), "the listener to stop taking requests", 20)
    (d / "pre-receive.go").write_text("0")
    proc.wait(timeout=30)
    assert time.monotonic() - sent < 30
    assert proc.returncode == 0
    assert _request_ids(c) == [rid]
    _wait(lambda: "committed" in _parent(fake), "the thread to say committed", 10)
    said = _everything(fake)
    assert "state database" not in said and "ProgrammingError" not in said and "/state" not in said, said


def _refused(url: str) -> bool:
    try:
        _get(f"{url}/healthz", timeout=1)
    except OSError:
        return True
    return False


# --- 15 -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_item15_a_promotion_keeps_trying_while_other_pushes_keep_landing(cluster: tuple[Cluster, FakeSlack]) -> None:
    c, fake = cluster
    [release] = c.releases
    _hook(c, "pre-receive", RACE, n=45)  # more lost races than the old fixed count of 40
    rid = _start(fake, c.bots[0], release.staging)
    _wait(lambda: "committed" in _parent(fake) or "failed" in _parent(fake), "the outcome", 150)
    assert "committed" in _parent(fake), _everything(fake)
    assert rid in _request_ids(c)


# --- 4, 5, 10, 11: limits and probes ------------------------------------------------------------------
def _raw(bot: BotProcess) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", bot.port), timeout=10)
    s.settimeout(10)
    return s


def test_item4_an_oversized_slack_body_is_refused_before_it_is_read(cluster: tuple[Cluster, FakeSlack]) -> None:
    c, _ = cluster
    with _raw(c.bots[0]) as s:
        s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 100000000\r\n\r\n" + b"a" * (1 << 20))  # fmt: skip
        try:
            answer = s.recv(200)
        except TimeoutError:
            answer = b"(no answer while the body is still coming)"
    assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 413 Request Entity Too Large", b"HTTP/1.1 413 Payload Too Large")


def test_item5_idle_half_open_connections_do_not_starve_healthz(cluster: tuple[Cluster, FakeSlack]) -> None:
    c, _ = cluster
    idle = []
    try:
        for _ in range(120):
            s = _raw(c.bots[0])
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            idle.append(s)
        assert _get(f"{c.bots[0].url}/healthz", timeout=5) == (200, b"ok")
    finally:
        for s in idle:
            s.close()


def test_item10_bad_slack_headers_and_bodies_get_4xx_and_no_traceback(cluster: tuple[Cluster, FakeSlack]) -> None:
    c, fake = cluster
    bot = c.bots[0]
    body = command_body("/promote", "x to production", user_id="U1", channel_id="C1",
                        response_url=fake.response_url("r")).encode()  # fmt: skip
    cases = [
        (body, {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64}),
        (b"\xff\xfe\xfa text=\xff", {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0="}),
    ]
    for data, headers in cases:
        req = urllib.request.Request(f"{bot.url}/slack/events", data=data, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
                status = int(resp.status)
        except urllib.error.HTTPError as err:
            status = err.code
        assert status in (400, 401), status
    assert _get(f"{bot.url}/healthz") == (200, b"ok")  # (the requests above were handled before this one)
    assert "Traceback" not in bot.log.read_text(errors="replace")
    assert SIGNING_SECRET not in bot.log.read_text(errors="replace")


def test_item11_readyz_follows_the_git_remote_going_away_and_coming_back(
    cluster: tuple[Cluster, FakeSlack],
) -> None:
    c, _ = cluster
    bot = c.bots[0]
    assert _get(f"{bot.url}/readyz")[0] == 200
    gone = c.remote.path.with_name("gone.git")
    c.remote.path.rename(gone)
    try:
        _wait(lambda: _get(f"{bot.url}/readyz")[0] == 503, "/readyz to notice the remote is gone", 45)
        _, body = _get(f"{bot.url}/readyz")
        assert json.loads(body)["checks"]["git"].startswith("failing")
    finally:
        with contextlib.suppress(OSError):
            gone.rename(c.remote.path)
    _wait(lambda: _get(f"{bot.url}/readyz")[0] == 200, "/readyz to recover", 45)
