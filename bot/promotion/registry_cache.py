"""A short-lived cache in front of the registries: `/versions` in a busy channel must not hammer them.

Only reads are cached, for `ttl` seconds; a retag invalidates the repository's entries so the
next read sees the new tags.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.promotion.ports import Registries, Registry

T = TypeVar("T")


class CachedRegistry:
    def __init__(self, inner: Registry, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], tuple[float, object]] = {}

    def _cached(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]  # type: ignore[return-value]
        value = load()
        with self._lock:
            self._entries[key] = (now, value)
        return value

    def list_tags(self, repo: str) -> list[str]:
        return list(self._cached(("tags", repo), lambda: self._inner.list_tags(repo)))

    def digest(self, repo: str, tag: str) -> str | None:
        return self._cached(("digest", repo, tag), lambda: self._inner.digest(repo, tag))

    def retag(self, repo: str, source_tag: str, new_tags: Sequence[str], *, expect_digest: str | None = None) -> str:
        with self._lock:
            for key in [k for k in self._entries if k[1] == repo]:
                del self._entries[key]
        return self._inner.retag(repo, source_tag, new_tags, expect_digest=expect_digest)


class CachedRegistries:
    def __init__(self, inner: Registries, ttl: float = 30.0) -> None:
        self._inner = inner
        self._ttl = ttl
        self._by_backend: dict[int, CachedRegistry] = {}
        self._lock = threading.Lock()

    def for_image(self, image: str) -> tuple[Registry, str]:
        backend, repo = self._inner.for_image(image)
        with self._lock:
            cached = self._by_backend.setdefault(id(backend), CachedRegistry(backend, self._ttl))
        return cached, repo


def uncached(registries: Registries) -> Registries:
    """The registries behind the cache: for a decision that must see the registry as it is now (an
    approval is bound to the digest the source tag has at the moment of the click, not 30 s ago)."""
    return registries._inner if isinstance(registries, CachedRegistries) else registries
