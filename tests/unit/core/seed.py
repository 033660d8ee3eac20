"""A seed repository as text, shared by the core's table tests."""

from __future__ import annotations

from bot.seed_layout import seed_files

PIPELINE = ("develop", "staging", "production")
REGISTRY = "ghcr.io/acme"


def tag(env: str, version: str, ts: int) -> str:
    sha = {"0.0.1": "a1b2c3d", "0.0.2": "b2c3d4e", "0.0.3": "c3d4e5f"}[version]
    return f"{env}-v{version}-{sha}-{ts}"


def files(versions: dict[tuple[str, str], str] | None = None) -> dict[str, str]:
    current = {(s, e): tag(e, "0.0.1", 100) for s in ("backend", "frontend") for e in PIPELINE}
    current.update(versions or {})
    return seed_files("${image_registry}", current, PIPELINE)
