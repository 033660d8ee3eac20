"""The composition root: builds adapters from settings. The only module that imports every layer."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapters.git_repo import GitCredentials, GitRepo
from bot.adapters.oci_layout import OciLayoutRegistry
from bot.adapters.registry import RegistryClient
from bot.adapters.registry_auth import RequestObserver
from bot.core.imageref import locate
from bot.promotion.freeze import Window
from bot.promotion.ports import Context, Env, Registry
from bot.promotion.registry_cache import CachedRegistries
from bot.settings import RegistrySettings, Settings

if TYPE_CHECKING:
    from bot.observability import Metrics


class RegistryRouter:
    """Image name → the backend for its host (HTTP client or on-disk OCI layout), one per host."""

    def __init__(
        self,
        registries: Mapping[str, RegistrySettings],
        env: Mapping[str, str] | None = None,
        *,
        on_request: RequestObserver | None = None,
    ) -> None:
        self._settings = registries
        self._env = env if env is not None else os.environ
        self._on_request = on_request
        self._backends: dict[str, Registry] = {}
        self._lock = threading.Lock()

    def for_image(self, image: str) -> tuple[Registry, str]:
        host, repo = locate(image)
        with self._lock:
            backend = self._backends.get(host)
            if backend is None:
                conf = self._settings.get(host, RegistrySettings())
                if conf.layout is not None:
                    backend = OciLayoutRegistry(conf.layout)
                else:
                    backend = RegistryClient.for_host(
                        host, insecure=conf.insecure, env=self._env, on_request=self._on_request, timeout=conf.timeout
                    )
                self._backends[host] = backend
        return backend, repo


def git_repo(settings: Settings, *, on_push_retry: Callable[[], None] | None = None) -> GitRepo:
    return GitRepo(
        settings.repo.url,
        settings.repo.branch,
        settings.state_dir / "repo",
        author_name=settings.repo.author.name,
        author_email=settings.repo.author.email,
        credentials=GitCredentials.from_env(),
        timeout=settings.repo.timeout,
        on_push_retry=on_push_retry,
    )


def context(
    settings: Settings,
    *,
    clock: Callable[[], int] | None = None,
    cache_ttl: float = 30.0,
    metrics: Metrics | None = None,
) -> Context:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    registries = RegistryRouter(settings.registries, on_request=metrics.registry_request if metrics else None)
    return Context(
        repo=git_repo(settings, on_push_retry=metrics.push_retried if metrics else None),
        registries=CachedRegistries(registries, ttl=cache_ttl) if cache_ttl > 0 else registries,
        pipeline=settings.pipeline,
        repo_path=settings.repo.path,
        substitutions=dict(settings.substitutions),
        environments={
            name: Env(
                require_deployed_in_source=e.require_deployed_in_source,
                rollback=e.rollback,
                freezes=tuple(Window(w.cron, w.duration, w.reason) for w in e.freezes),
                break_glass=e.break_glass,
            )
            for name, e in settings.environments.items()
        },
        clock=clock,
    )


def state_path(settings: Settings, name: str) -> Path:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return settings.state_dir / name
