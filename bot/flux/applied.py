"""Kustomization events → what each environment has applied, in the state store (bot/promotion/applied.py).

Called by delivery for every event it handles, before any Slack work, so what Flux applied is kept even while
Slack is down. A retried event is recorded again; the store ignores an event older than what it holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.errors import BotError
from bot.flux.events import FluxEvent, Reconciled, ReconcileFailed, classify

log = logging.getLogger(__name__)


class AppliedWriter(Protocol):
    def record_applied(self, env: str, kustomization: str, revision: str, at: str) -> None: ...

    def record_failed(self, env: str, kustomization: str, revision: str, at: str, message: str) -> None: ...


def utc(timestamp: str) -> str:
    """An RFC 3339 time as UTC `YYYY-MM-DDTHH:MM:SSZ`, so the store can order events by comparing text."""
    at = datetime.fromisoformat(timestamp.replace("z", "Z"))
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at.tzinfo else at.strftime("%Y-%m-%dT%H:%M:%SZ")


class AppliedRecorder:
    def __init__(self, store: AppliedWriter, place: Callable[[FluxEvent], str | None]) -> None:
        self._store = store
        self._place = place

    def __call__(self, event: FluxEvent) -> None:
        if event.involved.kind != "Kustomization":
            return
        kind = classify(event)
        if not isinstance(kind, Reconciled | ReconcileFailed):
            return
        try:
            env = self._place(event)
        except BotError as err:  # Git unreachable: the event still reaches Slack; the applied column waits
            log.warning("cannot place Kustomization %s/%s for the applied state: %s", kind.namespace, kind.name,
                        err.message)  # fmt: skip
            return
        if env is None:
            return
        name, at = f"{kind.namespace}/{kind.name}", utc(event.timestamp)
        if isinstance(kind, Reconciled):
            self._store.record_applied(env, name, kind.sha, at)
        else:
            self._store.record_failed(env, name, kind.sha or "", at, kind.message)
