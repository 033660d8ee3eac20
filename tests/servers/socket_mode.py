"""Slack's side of Socket Mode on loopback (SLACK-FACTS §3a), for tests that run the bot as the chart does.

A real WebSocket server (the `websockets` package, threaded): the fake Web API's `apps.connections.open`
hands its `ws://` URL to the bot's slack_sdk client, the server greets each connection with `hello`, and a
test sends envelopes (slash commands, clicks) the way Slack does, then waits for the bot's acks by
envelope id. `refresh()` asks the bot to reconnect (`refresh_requested`); `stop()` makes the server vanish,
and `start()` brings it back on a new port, which `apps.connections.open` then hands out.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_payload, command_body


@dataclass(frozen=True)
class Acked:
    envelope_id: str
    payload: dict[str, Any] | None  # what the bot put in its ack (a command's ack text), if anything
    seconds: float  # from sending the envelope to receiving the ack


class SocketModeServer:
    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self._lock = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._open: list[ServerConnection] = []
        self._sent: dict[str, float] = {}
        self._acks: list[Acked] = []
        self.connections = 0  # connections ever accepted (reconnects count)
        self._ids = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> SocketModeServer:
        self._server = serve(self._handle, "127.0.0.1", 0)
        port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode", daemon=True)
        self._thread.start()
        self.fake.socket_url = f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4()}"
        return self

    def stop(self) -> None:
        """The server vanishes: no more URLs, the listening socket and every connection closed."""
        self.fake.socket_url = None
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- Slack's side of a connection ------------------------------------------------------------------------------
    def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            self._open.append(ws)
            self.connections += 1
            self._lock.notify_all()
        try:
            ws.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "loopback"},
                                "connection_info": {"app_id": "A0FAKE"}}))
            for raw in ws:
                message = json.loads(raw)
                envelope_id = message.get("envelope_id")
                if envelope_id:
                    with self._lock:
                        started = self._sent.get(envelope_id, time.perf_counter())
                        self._acks.append(Acked(envelope_id, message.get("payload"), time.perf_counter() - started))
                        self._lock.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.remove(ws)
                self._lock.notify_all()

    def wait_connected(self, count: int = 1, timeout: float = 20.0) -> None:
        """Until at least `count` connections were ever accepted and exactly one is open now: after a refresh
        the client drops the old socket only once its reader lets go (up to slack_sdk's 3 s receive timeout),
        and an envelope sent in that handover waits for it."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.connections >= count and len(self._open) == 1, timeout):
                raise AssertionError(f"the bot did not connect (#{count}) within {timeout}s")

    def refresh(self) -> None:
        """Slack's periodic `disconnect: refresh_requested`: the client must fetch a new URL and reconnect."""
        for ws in self._current():
            ws.send(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                                "debug_info": {"host": "loopback"}}))

    def _current(self) -> list[ServerConnection]:
        with self._lock:
            return list(self._open)

    # -- envelopes -------------------------------------------------------------------------------------------------
    def send(self, kind: str, payload: dict[str, Any], *, envelope_id: str | None = None,
             accepts_response_payload: bool = False, retry_attempt: int = 0) -> str:
        envelope_id = envelope_id or f"e{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        envelope = {"envelope_id": envelope_id, "type": kind, "accepts_response_payload": accepts_response_payload,
                    "payload": payload, "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt
                    else ""}  # fmt: skip
        open_now = self._current()
        if not open_now:
            raise AssertionError("no Socket Mode connection is open")
        with self._lock:
            self._sent.setdefault(envelope_id, time.perf_counter())
        open_now[-1].send(json.dumps(envelope))
        return envelope_id

    def command(self, command: str, text: str, *, user: str, channel: str, response_id: str,
                envelope_id: str | None = None) -> str:
        form = command_body(command, text, user_id=user, channel_id=channel,
                            response_url=self.fake.response_url(response_id))
        return self.send("slash_commands", dict(parse_qsl(form)), envelope_id=envelope_id,
                         accepts_response_payload=True)

    def click(self, action_id: str, value: str, *, user: str, channel: str, response_id: str,
              envelope_id: str | None = None, retry_attempt: int = 0) -> str:
        payload = action_payload(action_id, value, user_id=user, channel_id=channel,
                                 response_url=self.fake.response_url(response_id))
        return self.send("interactive", payload, envelope_id=envelope_id, retry_attempt=retry_attempt)

    def wait_ack(self, envelope_id: str, count: int = 1, timeout: float = 10.0) -> list[Acked]:
        with self._lock:
            def done() -> bool:
                return sum(a.envelope_id == envelope_id for a in self._acks) >= count

            if not self._lock.wait_for(done, timeout):
                raise AssertionError(f"no ack for envelope {envelope_id} within {timeout}s; acks: {self._acks}")
            return [a for a in self._acks if a.envelope_id == envelope_id]
