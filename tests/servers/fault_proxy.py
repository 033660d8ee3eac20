"""A fault injector on 127.0.0.1 in front of a real HTTP server (the docker-registry): not a fake registry.

Every request is forwarded as it came (method, path, query, headers, body; Host kept, so the registry builds
its upload Locations for the proxy's address) unless a fault is armed. Faults, set while the proxy runs:

    fail(n)      the next n requests (None: all) are answered with a 500 and never reach the server
    stall(s, n)  the next n requests (None: all) are held for s seconds, then the connection is closed unanswered;
                 with forward=True the server gets them first (a write lands, its answer is lost)
    pass_through()  back to forwarding everything

Both take `when=(method, path) -> bool`: only the requests it matches count and are hit; the others pass.

`take_over(registry)` moves a running RegistryServer to a fresh port and puts a proxy on the address it had,
so a world already seeded with that address (image names in Git, the bot's config) reaches it only through
the proxy, while `registry.host` still reaches the server directly for the test's own checks.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal

from tests.servers.registry import RegistryServer, free_port

Outcome = Literal["forwarded", "failed", "stalled", "unreachable"]
Match = Callable[[str, str], bool]  # (method, path with query)
# RFC 9110 §7.6.1: meaningful for one connection only, so never forwarded in either direction.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
     "upgrade", "proxy-connection"}
)  # fmt: skip


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # with its query
    outcome: Outcome
    status: int | None  # what the client was answered; None when it was not answered at all


@dataclass
class _Fault:
    kind: Literal["fail", "stall"]
    remaining: int | None  # None: every request
    seconds: float = 0.0
    status: int = 500
    when: Match | None = None
    forward: bool = False


class FaultProxy:
    """A threaded reverse proxy to `upstream` ("host:port"); `port=0` picks a free one."""

    def __init__(self, upstream: str, *, port: int = 0, upstream_timeout: float = 30.0) -> None:
        self.upstream = upstream
        self.upstream_timeout = upstream_timeout
        self.seen: list[Seen] = []
        self.on_request: Callable[[str, str], None] | None = None  # (method, path), before the fault is applied
        self._fault: _Fault | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()  # set at stop(): stalled handlers let go at once
        self._server = _Server(self, port)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # --- control --------------------------------------------------------------------------------------------------
    def pass_through(self) -> None:
        with self._lock:
            self._fault = None

    def fail(self, times: int | None = None, *, status: int = 500, when: Match | None = None) -> None:
        with self._lock:
            self._fault = _Fault("fail", times, status=status, when=when)

    def stall(
        self, seconds: float, times: int | None = None, *, when: Match | None = None, forward: bool = False
    ) -> None:
        with self._lock:
            self._fault = _Fault("stall", times, seconds=seconds, when=when, forward=forward)

    def outcomes(self, outcome: Outcome) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.outcome == outcome]

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            fault = self._fault
            if fault is None or (fault.when is not None and not fault.when(method, path)):
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._fault = None
            return fault

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    # --- lifecycle ------------------------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"fault-proxy-{self.port}", daemon=True)  # fmt: skip
            self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._server.shutdown()
            thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.proxy = proxy


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like the registry itself; every answer carries Content-Length

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                out += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailer fields, up to the blank line
                pass
            return bytes(out)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._body()  # read even when failing, so a kept-alive connection stays in step
        if proxy.on_request is not None:
            proxy.on_request(self.command, self.path)
        fault = proxy._take_fault(self.command, self.path)
        if fault is not None and fault.kind == "stall":
            if fault.forward:
                with contextlib.suppress(OSError):
                    self._forward(body)
            proxy._record(Seen(self.command, self.path, "stalled", None))
            proxy._released.wait(fault.seconds)
            self.close_connection = True
            return
        if fault is not None:
            proxy._record(Seen(self.command, self.path, "failed", fault.status))
            payload = b'{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}'
            self._answer(fault.status, [("Content-Type", "application/json")], payload)
            return
        try:
            status, reason, headers, payload = self._forward(body)
        except OSError:
            proxy._record(Seen(self.command, self.path, "unreachable", 502))
            self._answer(502, [("Content-Type", "text/plain")], b"upstream unreachable\n")
            return
        proxy._record(Seen(self.command, self.path, "forwarded", status))
        self._answer(status, headers, payload, reason=reason)

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        upstream = http.client.HTTPConnection(proxy.upstream, timeout=proxy.upstream_timeout)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    upstream.putheader(key, value)
            if body or self.command in ("PUT", "POST", "PATCH"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body or None)
            resp = upstream.getresponse()
            payload = resp.read()  # b"" for HEAD; a chunked answer arrives whole
            length = resp.getheader("Content-Length")
            headers = [(k, self._rewrite(k, v)) for k, v in resp.getheaders()
                       if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]  # fmt: skip
            # HEAD keeps the length of the body it describes; anything else gets the length actually sent.
            headers.append(("Content-Length", length if self.command == "HEAD" and length else str(len(payload))))
            return resp.status, resp.reason, headers, payload
        finally:
            upstream.close()

    def _rewrite(self, key: str, value: str) -> str:
        """An absolute Location that names the server directly would send the client around the proxy."""
        direct = f"http://{self.server.proxy.upstream}"
        if key.lower() == "location" and value.startswith(direct):
            return self.server.proxy.url + value[len(direct) :]
        return value

    def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes, reason: str | None = None) -> None:
        self.send_response_only(status, reason)
        for key, value in headers:
            self.send_header(key, value)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def take_over(registry: RegistryServer) -> FaultProxy:
    """Restart `registry` on a fresh port (its storage survives) and start a proxy on the address it had."""
    address = registry.port
    registry.stop()
    registry.port = free_port()
    registry.start()
    return FaultProxy(registry.host, port=address).start()
