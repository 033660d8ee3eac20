"""The Bolt app: Web API client with rate-limit retries, request verification, listeners, worker pool."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import request_id
from bot.slack.listeners import register
from bot.slack.queries import Queries
from bot.slack.request_flow import RequestFlow
from bot.slack.timed import TimedCommands


def web_client(token: str, api_url: str, timeout: int = 10) -> WebClient:
    client = WebClient(token=token, base_url=api_url, timeout=timeout)
    # 429 is not retried by default; honour Retry-After twice before giving up (SLACK-FACTS §5).
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


class Workers:
    """The bounded pool slow work runs on after the ack."""

    def __init__(self, size: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="slack-work")
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], None]) -> None:
        # A copy of the caller's context: the slow work logs under the request id of the request that asked.
        future = self._pool.submit(contextvars.copy_context().run, fn)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    def shutdown(self, timeout: float | None = None) -> int:
        """Take no more work, let what runs finish for up to `timeout` seconds (None: as long as it takes);
        returns how many are still running then."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = set(self._running)
        _, pending = wait(running, timeout=timeout)
        return len(pending)


def build_app(
    flow: RequestFlow,
    queries: Queries,
    timed: TimedCommands,
    client: WebClient,
    workers: Workers,
    *,
    signing_secret: str | None,
    socket_mode: bool = False,
) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret or "unused-in-socket-mode",
        # Listeners ack and return at once; the real work is on `workers`, so the HTTP answer is never
        # held behind a slow Git remote or a full pool.
        process_before_response=True,
        request_verification_enabled=not socket_mode,
        raise_error_for_unhandled_request=False,
        # Bolt would call auth.test here and crash the process when Slack is unreachable at start;
        # the bot starts anyway and /readyz reports "slack failing" until auth.test succeeds.
        token_verification_enabled=False,
    )
    if socket_mode:
        # Socket Mode requests do not pass through the HTTP router, which binds the id in HTTP mode.
        app.use(_fresh_request_id)
    register(app, flow, queries, timed, workers.submit)
    return app


def _fresh_request_id(next_: Callable[[], None]) -> None:  # Bolt injects arguments by name
    request_id.bind(request_id.new())  # a pool thread: every request binds its own id first
    next_()
