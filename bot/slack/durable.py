"""Slack calls that report an outcome, made so that the outcome reaches Slack even through a 429 storm.

A thread's status update or reply is tried at once; when Slack is rate limiting, failing or unreachable it
goes to the durable outbox (SQLite) instead, and the Deliverer posts it later, at Slack's pace, after a
restart if need be. Once a thread has anything waiting, later calls for it queue behind, so a stale
"working on it" can never overwrite a "committed" that went out first.

Errors Slack means (`channel_not_found`, `invalid_blocks`, ...) are not retried: they would fail forever.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Protocol

log = logging.getLogger(__name__)

METHODS = ("chat_update", "chat_postMessage")
PAYLOAD_KEY = "slack"


class Outbox(Protocol):
    def enqueue(self, channel: str, payload: str, dedupe_key: str) -> int | None: ...

    def waiting_before(self, key_prefix: str, id: int | None = None) -> float | None: ...


def thread_key(channel: str, ts: str) -> str:
    return f"thread:{channel}:{ts}:"


def retryable(err: Exception) -> bool:
    """429s, 5xx and transport errors pass; an `ok: false` answer with 200 is Slack saying no."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if status is None:
        return True  # no HTTP answer at all: connection refused, reset, timed out
    return bool(status == 429 or status >= 500)


def payload(method: str, args: dict[str, Any], thread: str) -> str:
    return json.dumps({PAYLOAD_KEY: {"method": method, "args": args}, "thread": thread})


class DurableSlack:
    def __init__(self, client: Any, outbox: Outbox) -> None:
        self.client = client
        self.outbox = outbox

    def call(self, method: str, *, channel: str, ts: str, **args: Any) -> bool:
        """Make the call now if nothing for this thread waits; else (or on a retryable failure) queue it.
        True when Slack has it now; False when it was queued or dropped."""
        if method not in METHODS:
            raise ValueError(f"not a durable Slack method: {method}")
        key = thread_key(channel, ts)
        # chat.update names the message by `ts`; a thread reply names its parent by `thread_ts`.
        full = {"channel": channel, **({"ts": ts} if method == "chat_update" else {"thread_ts": ts}), **args}
        if self.outbox.waiting_before(key) is None:
            try:
                getattr(self.client, method)(**full)
                return True
            except Exception as err:
                if not retryable(err):
                    log.warning("%s in %s refused by Slack (%s); not retried", method, channel, type(err).__name__)
                    return False
                log.warning("%s in %s failed (%s); queued for retry", method, channel, type(err).__name__)
        self.outbox.enqueue(channel, payload(method, full, key), key + uuid.uuid4().hex)
        return False
