"""One HTTP listener for everything: Slack (HTTP mode), the Flux receiver, health and metrics.

A tiny WSGI router in front of route handlers, served by waitress: a pure-Python, production-grade,
multi-threaded WSGI server that embeds in-process (so the scheduler and Socket Mode client share it)
and needs no fork - Bolt's own `app.start()` is a development server.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.server import create_server

from bot import request_id

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
# waitress's defaults (100 connections, 120 s idle timeout, 1 GB bodies) let 100 idle or half-open peers
# lock everyone out, /healthz included, and let one POST fill memory. Idle connections cost waitress no
# thread (its threads serve complete requests only), so many are allowed but each only briefly.
CONNECTION_LIMIT = 1000
IDLE_TIMEOUT = 15


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    query: str = ""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain; charset=utf-8"),)

    @classmethod
    def json(cls, status: int, value: Any) -> Response:
        return cls(status, json.dumps(value).encode(), (("Content-Type", "application/json"),))

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, text.encode())


Handler = Callable[[Request], Response]
WsgiApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Router:
    """Exact-path routes to plain handlers, plus whole WSGI apps mounted at a path (Bolt's handler)."""

    def __init__(self, max_body: int = MAX_BODY) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        self._mounts: dict[str, WsgiApp] = {}
        self._guards: dict[str, Callable[[Request], Response | None]] = {}
        self._max_body = max_body

    def route(self, method: str, path: str, handler: Handler) -> None:
        self._routes[(method, path)] = handler

    def mount(self, path: str, app: WsgiApp, guard: Callable[[Request], Response | None] | None = None) -> None:
        """A whole WSGI app at `path`, behind the same body limit as the routes; `guard` sees the request
        first and refuses it (returns a Response) or lets it through (returns None)."""
        self._mounts[path] = app
        if guard is not None:
            self._guards[path] = guard

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # Every request gets its own id (never the caller's: a Slack preview stores it as the request's key),
        # bound for everything this thread does for it and echoed in X-Request-Id.
        with request_id.bound(request_id.new()) as rid:

            def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                return start_response(status, [*headers, ("X-Request-Id", rid or "")], exc_info)

            return self._serve(environ, start)

    def _serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in self._mounts:
            resp = self._guarded(path, method, environ)
            if resp is None:
                # Bolt's handler answers in full before returning (a list of bytes), so the id is still bound.
                return self._mounts[path](environ, start_response)
        else:
            handler = self._routes.get((method, path))
            if handler is None:
                known = any(p == path for _, p in self._routes)
                resp = Response.text(405 if known else 404, "method not allowed" if known else "not found")
            else:
                resp = self._dispatch(handler, method, path, environ)
        start_response(f"{resp.status} {_REASONS.get(resp.status, '')}".strip(), list(resp.headers))
        return [resp.body]

    def _read(self, method: str, path: str, environ: WSGIEnvironment) -> Request | Response:
        """The request with its body, or the refusal: a body over the limit is refused by its declared length,
        before a byte of it is read (waitress refuses one without a length at the same limit)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return Response.text(400, "bad content-length")
        if length > self._max_body or length < 0:
            log.info("refused %s %s: body of %d bytes over the %d limit", method, path, length, self._max_body)
            return Response.text(413, f"body larger than {self._max_body} bytes")
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        if "CONTENT_TYPE" in environ:
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        return Request(method, path, headers, body, environ.get("QUERY_STRING", ""))

    def _guarded(self, path: str, method: str, environ: WSGIEnvironment) -> Response | None:
        req = self._read(method, path, environ)
        if isinstance(req, Response):
            return req
        environ["wsgi.input"] = io.BytesIO(req.body)  # the mounted app reads the body we already hold
        guard = self._guards.get(path)
        return guard(req) if guard is not None else None

    def _dispatch(self, handler: Handler, method: str, path: str, environ: WSGIEnvironment) -> Response:
        req = self._read(method, path, environ)
        if isinstance(req, Response):
            return req
        try:
            return handler(req)
        except Exception:
            log.exception("handler for %s %s failed", method, path)
            return Response.text(500, "internal error")


class Server:
    """waitress on a background thread; `.port` is known once started (port 0 picks a free one)."""

    def __init__(self, app: WsgiApp, host: str = "127.0.0.1", port: int = 0, threads: int = 8) -> None:
        self._server = create_server(app, host=host, port=port, threads=threads, ident="gitops-bot",
                                     max_request_body_size=MAX_BODY, connection_limit=CONNECTION_LIMIT,
                                     channel_timeout=IDLE_TIMEOUT, cleanup_interval=5)  # fmt: skip
        self.host = host
        self.port: int = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    def start(self) -> Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        # Closing waitress's sockets from this thread races its select() (EBADF in the loop thread); a thunk
        # pulled through its trigger closes everything from inside the loop, which then ends on an empty map.
        server = self._server
        if self._thread.is_alive():
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            self._thread.join(timeout=5)
        else:
            server.close()
        server.task_dispatcher.shutdown()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
