"""The request id: one opaque id per piece of work, carried in a contextvar so every log line can name it.

Set where work enters (an HTTP request in `bot.http_server.Router`, a Socket Mode request in the Bolt app,
an outbox item in the Flux deliverer) and copied into worker threads with the contextvars context
(`Workers.submit`). A Slack promotion adopts one id for its whole life - the preview's id is the stored
request id, the commit's `Request-id` trailer and what the Flux deliverer binds when it closes the thread -
so one grep follows a promotion from Slack to Git to Flux.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("gitops_bot_request_id", default=None)


def new() -> str:
    """A fresh id: 32 hex digits, safe in a log line, a URL, a Slack button value and a commit trailer."""
    return uuid.uuid4().hex


def current() -> str | None:
    return _CURRENT.get()


@contextmanager
def bound(value: str | None) -> Iterator[str | None]:
    """Bind `value` (None or "" clears it) for the body of the `with`, then restore what was there."""
    token = _CURRENT.set(value or None)
    try:
        yield value or None
    finally:
        _CURRENT.reset(token)


def bind(value: str | None) -> None:
    """Bind without restoring: only for code that runs inside a context it owns (a copied context, or
    a pool thread where every task binds its own id first)."""
    _CURRENT.set(value or None)
