"""Ack latency of `/promote` while the Git remote answers slowly, against Slack's 3 s budget.

The bot runs in HTTP mode on 127.0.0.1 with the fake Slack Web API; its Git remote is the real
`git daemon` behind a loopback TCP proxy that holds every new connection for ~2 s. Signed
`/promote` commands go over real HTTP; we time until the HTTP answer (the ack) arrives.
Goal: p99 ≤ 3 % of 3 s (90 ms).
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import yaml

from bench.table import Row
from bot import settings as settings_mod
from bot.wiring import assemble
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.integration.slack_bot import SlackBot, populate, slack_config
from tests.integration.world import running_world

BUDGET = 3.0
COMMANDS = 60


class SlowProxy:
    """Forwards 127.0.0.1:<port> to a target, after holding each new connection for `delay` seconds."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        with client, socket.create_connection(self.target, timeout=30) as upstream:
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            self._pipe(client, upstream)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp, running_world(Path(tmp)) as world, FakeSlack(token=BOT_TOKEN) as fake:
        proxy = SlowProxy(("127.0.0.1", world.daemon.port), delay=2.0)
        populate(fake)
        cfg = slack_config(world, fake, approvals=0, groups=[])
        data = yaml.safe_load(cfg.read_text())
        data["repo"]["url"] = data["repo"]["url"].replace(f":{world.daemon.port}/", f":{proxy.port}/")
        cfg.write_text(yaml.safe_dump(data))
        bot = assemble(settings_mod.load(cfg), bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET)
        bot.server.start()
        try:
            sb = SlackBot(bot, fake, world)
            tag = world.tags[("backend", "staging", "0.0.2")]
            acks = []
            for i in range(COMMANDS):
                reply = sb.command("/promote", f"{tag} to production", response_id=f"b{i}")
                assert reply.status == 200, reply.text
                acks.append(reply.seconds)
        finally:
            bot.stop()
            proxy.close()
    acks.sort()
    p50 = statistics.median(acks)
    p99 = acks[min(len(acks) - 1, int(len(acks) * 0.99))]
    return [
        Row("Slack /promote ack p50, Git remote +2 s per connection", p50, BUDGET, "Slack 3 s budget", 0.03),
        Row("Slack /promote ack p99, Git remote +2 s per connection", p99, BUDGET, "Slack 3 s budget", 0.03),
    ]
