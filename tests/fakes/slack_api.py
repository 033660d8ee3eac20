"""A fake of Slack's Web API on 127.0.0.1, for tests that drive the real slack_sdk `WebClient` over HTTP.

slack_sdk talks through urllib, so request-mocking libraries cannot intercept it; a real server behind
`WebClient(base_url=fake.base_url)` can. Routes:

    /api/<method>      the Web API (JSON body, form body, or query string, merged in that order of precedence)
    /respond/<id>      response_url posts from `WebhookClient` / bolt's `respond()`; 5 uses each, then 404

Every request is recorded as a `Call` before it is answered, so tests assert on what the bot sent and wait for
asynchronous listeners with `wait_for` instead of sleeping. `fail_next` and `set_latency` inject the failures
that matter to a Slack bot: HTTP 429 with `Retry-After`, Slack error codes, HTTP 500, and slowness.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.slack_workspace import JSON, ApiRefusal, Workspace

RESPOND_METHOD = "respond"  # the `Call.method` of a response_url post, and its key for fail_next/set_latency
# Every fake made in this process, in order; tests/secrets_guard.py takes them after each test to read what
# the bot sent, so a fake a test builds itself is checked as well as the fixture's.
MADE: list[FakeSlack] = []
# Called with every `Call` any fake records, on the server thread, before the caller gets its answer;
# tests/blockkit_guard.py checks each payload against Slack's models this way.
WATCHERS: list[Callable[[Call], None]] = []


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it, with the answer it gave."""

    method: str  # "chat.postMessage", …, or RESPOND_METHOD
    params: dict[str, Any]  # query, form and JSON body merged
    json: dict[str, Any] | None  # the JSON body as sent, when there was one
    headers: dict[str, str]  # lower-cased names
    time: float  # time.monotonic() on arrival
    http_method: str
    path: str
    status: int
    answer: dict[str, Any]
    response_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.answer.get("ok") is True

    @property
    def error(self) -> str | None:
        error = self.answer.get("error")
        return error if isinstance(error, str) else None


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int
    times: int


@dataclass(frozen=True)
class _Reply:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        cast(_Server, self.server).fake._serve(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:  # the test output stays quiet
        pass


def _decode(query: str, raw: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    body_json: dict[str, Any] | None = None
    if content_type.startswith("application/json") and raw:
        loaded = json.loads(raw)
        body_json = loaded if isinstance(loaded, dict) else {"_": loaded}
        params.update(body_json)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(raw.decode(), keep_blank_values=True))
    return params, body_json


class FakeSlack(Workspace):
    """A `Workspace` served over HTTP. Use as a context manager or `start()`/`stop()`.

    `token`: the one accepted bot token; None accepts any `xoxb-` token.
    """

    def __init__(self, *, token: str | None = None, **workspace: str) -> None:
        super().__init__(**workspace)
        self.token = token
        self._changed = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._latency: dict[str, float] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # The ws:// URL `apps.connections.open` hands out (tests/servers/socket_mode.py sets it); None: no
        # Socket Mode server is up, and the method answers as Slack does when it cannot open one.
        self.socket_url: str | None = None
        MADE.append(self)

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fake-slack", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """For `WebClient(base_url=…)`; slack_sdk joins method names onto it, so it ends in a slash."""
        return f"{self.url}/api/"

    def response_url(self, response_id: str) -> str:
        return f"{self.url}/respond/{response_id}"

    # -- failure injection -----------------------------------------------------------------------------------------
    def fail_next(self, method: str, error: str = "ratelimited", status: int | None = None, retry_after: int = 1,
                  times: int = 1) -> None:
        """The next `times` calls of `method` fail with `error`. Status defaults to 429 for "ratelimited" (with a
        `Retry-After: <retry_after>` header, as Slack sends) and to 200 otherwise (Slack's `ok: false`); pass
        status=500 for a server error. Queued failures run in the order given."""
        failure = _Failure(error, status or (429 if error == "ratelimited" else 200), retry_after, times)
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def clear_failures(self) -> None:
        """End every injected failure still queued (a storm given `times=` it did not use up)."""
        with self._lock:
            self._failures.clear()

    def set_latency(self, method: str, seconds: float) -> None:
        """Sleep this long before answering each call of `method` (0 removes it)."""
        with self._lock:
            self._latency[method] = seconds

    # -- recording -------------------------------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, what: str | Callable[[Call], bool], count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until `count` recorded calls match (a method name, or a predicate on `Call`); return all that
        match. Raises AssertionError naming what was seen when `timeout` passes first."""
        matches: Callable[[Call], bool] = (lambda c: c.method == what) if isinstance(what, str) else what
        with self._changed:
            if self._changed.wait_for(lambda: sum(map(matches, self._calls)) >= count, timeout):
                return [c for c in self._calls if matches(c)]
            seen = [f"{c.method}→{c.status}{'' if c.ok else ' ' + str(c.error)}" for c in self._calls]
        raise AssertionError(f"waited {timeout}s for {count} call(s) matching {what!r}; the fake saw: {seen}")

    def reset(self) -> None:
        """Forget calls, injected failures, latency and traffic; keep users, channels and groups."""
        with self._lock:
            super().reset()
            self._calls.clear()
            self._failures.clear()
            self._latency.clear()

    # -- serving ---------------------------------------------------------------------------------------------------
    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        url = urlsplit(request.path)
        raw = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in request.headers.items()}
        params, body_json = _decode(url.query, raw, headers.get("content-type", ""))
        response_id = None
        if url.path.startswith("/respond/"):
            method, response_id = RESPOND_METHOD, url.path.removeprefix("/respond/")
        else:
            method = url.path.removeprefix("/api/")
        with self._lock:
            delay = self._latency.get(method, 0.0)
        if delay:
            time.sleep(delay)
        with self._changed:
            if response_id is not None:
                reply = self._failure(method) or _Reply(*self.post_response(response_id, body_json))
            elif method == "apps.connections.open":
                reply = self._failure(method) or self._open_connection(headers)
            elif url.path.startswith("/api/"):
                reply = self._refuse_auth(headers, params) or self._failure(method) or self._web_api(method, params)
            else:
                reply = _Reply(404, {"ok": False, "error": "unknown_path"})
            call = Call(method, params, body_json, headers, arrived, request.command, url.path, reply.status,
                        reply.body, response_id)
            self._calls.append(call)
            self._changed.notify_all()
        for watch in WATCHERS:
            watch(call)
        payload = json.dumps(reply.body).encode()
        request.send_response(reply.status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    def _refuse_auth(self, headers: dict[str, str], params: dict[str, Any]) -> _Reply | None:
        # Slack answers auth errors with HTTP 200 and ok:false, like any other method error.
        bearer = headers.get("authorization", "")
        token = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else str(params.get("token") or "")
        if not token:
            return _Reply(200, {"ok": False, "error": "not_authed"})
        valid = token == self.token if self.token is not None else token.startswith("xoxb-")
        return None if valid else _Reply(200, {"ok": False, "error": "invalid_auth"})

    def _open_connection(self, headers: dict[str, str]) -> _Reply:
        # Only an app-level token may open a socket; a bot token gets Slack's `not_allowed_token_type`.
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if not token.startswith("xapp-"):
            return _Reply(200, {"ok": False, "error": "not_allowed_token_type" if token else "not_authed"})
        if self.socket_url is None:
            return _Reply(200, {"ok": False, "error": "internal_error"})
        return _Reply(200, {"ok": True, "url": self.socket_url})

    def _failure(self, method: str) -> _Reply | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
        return _Reply(failure.status, {"ok": False, "error": failure.error}, headers)

    def _web_api(self, method: str, params: dict[str, Any]) -> _Reply:
        try:
            return _Reply(200, self.call(method, params))
        except ApiRefusal as refusal:
            return _Reply(200, {"ok": False, "error": refusal.error})
