"""Slack calls that report an outcome, made so that the outcome reaches Slack even through a 429 storm.

A thread's status update or reply is tried at once; when Slack is rate limiting, failing or unreachable it
goes to the durable outbox (SQLite) instead, and the Deliverer posts it later, at Slack's pace, after a
restart if need be. Once a thread has anything waiting, later calls for it queue behind, so a stale
"working on it" can never overwrite a "committed" that went out first.

Errors Slack means (`channel_not_found`, `invalid_blocks`, ...) are not retried: they would fail forever.
The stored form ({"slack": {"method", "args"}, "thread"}) is what earlier versions wrote too.
"""

from __future__ import annotations

import json
import logging
import uuid

from bot.errors import SlackError
from bot.slack.port import SlackPort
from bot.slack.store import Outbox

log = logging.getLogger(__name__)

METHODS = ("chat_update", "chat_postMessage")
PAYLOAD_KEY = "slack"


def thread_key(channel: str, ts: str) -> str:
    return f"thread:{channel}:{ts}:"


def payload(method: str, args: dict[str, object], thread: str) -> str:
    return json.dumps({PAYLOAD_KEY: {"method": method, "args": args}, "thread": thread})


class DurableSlack:
    def __init__(self, slack: SlackPort, outbox: Outbox) -> None:
        self.slack = slack
        self.outbox = outbox

    def call(self, method: str, *, channel: str, ts: str, **args: object) -> bool:
        """Make the call now if nothing for this thread waits; else (or on a retryable failure) queue it.
        True when Slack has it now; False when it was queued or dropped."""
        if method not in METHODS:
            raise ValueError(f"not a durable Slack method: {method}")
        key = thread_key(channel, ts)
        # chat.update names the message by `ts`; a thread reply names its parent by `thread_ts`.
        full = {"channel": channel, **({"ts": ts} if method == "chat_update" else {"thread_ts": ts}), **args}
        if self.outbox.waiting_before(key) is None:
            try:
                self.slack.call(method, full)
                return True
            except SlackError as err:
                if not err.retryable:
                    log.warning("%s in %s refused by Slack (%s); not retried", method, channel, err.code)
                    return False
                log.warning("%s in %s failed (%s); queued for retry", method, channel, err.code)
        self.outbox.enqueue(channel, payload(method, full, key), key + uuid.uuid4().hex)
        return False
