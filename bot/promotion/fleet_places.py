"""The environment of a Flux event's object, read from the repository's current head and kept for a while.

Delivery asks once per event it cannot route by config or namespace; reading Git each time would fetch per
event, so the map is kept for `max_age` seconds, and re-read early (at most every `retry_after` seconds)
when an object is missing from it: a Kustomization added a minute ago should not wait out the cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.core import kustomizations
from bot.core.event_places import Places, places
from bot.promotion.ports import Context
from bot.promotion.workspace import Workspace

log = logging.getLogger(__name__)


class FleetPlaces:
    def __init__(
        self,
        ctx: Context,
        *,
        max_age: float = 300.0,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx = ctx
        self._max_age = max_age
        self._retry_after = retry_after
        self._clock = clock
        self._lock = threading.Lock()
        self._places: Places | None = None
        self._read_at = float("-inf")

    def _refresh(self) -> Places:
        ws = Workspace.sync(self._ctx)
        found, problems = kustomizations.find(ws.files)
        for p in problems:
            log.info("flux kustomizations: %s", p)
        self._places = places(ws.files, ws.topology, found, self._ctx.placement)
        self._read_at = self._clock()
        return self._places

    def env_of(self, kind: str, namespace: str, name: str, summary: str = "") -> str | None:
        with self._lock:
            age = self._clock() - self._read_at
            stale = self._places is None or age >= self._max_age
            current = self._refresh() if stale or self._places is None else self._places
            env = current.env_of(kind, namespace, name, summary)
            if env is None and not stale and age >= self._retry_after:
                env = self._refresh().env_of(kind, namespace, name, summary)
            return env
