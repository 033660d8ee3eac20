"""Configuration: the YAML file plus secrets from the environment, into frozen, validated objects.

This module is the one import for callers; the values live in bot/settings_values.py and the checks that
build them in bot/settings_parse.py. Secrets are never read from the file: they come from `NAME` or
`NAME_FILE` (the latter for mounted Secrets), see `secret`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from bot.core.clock_text import parse_duration
from bot.errors import ConfigError
from bot.settings_checker import SECRET_ENV
from bot.settings_parse import parse
from bot.settings_values import (
    DEFAULT_PIPELINE,
    Author,
    EnvironmentSettings,
    FluxSettings,
    FreezeWindow,
    Promoters,
    RegistrySettings,
    RepoSettings,
    Settings,
)

__all__ = [
    "DEFAULT_PIPELINE", "ENV_CONFIG", "SECRET_ENV",
    "Author", "EnvironmentSettings", "FluxSettings", "FreezeWindow", "Promoters", "RegistrySettings", "RepoSettings",
    "Settings",
    "load", "parse", "parse_duration", "secret",
]  # fmt: skip

ENV_CONFIG = "GITOPS_BOT_CONFIG"


def load(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load from `path`, else $GITOPS_BOT_CONFIG. There is no implicit default: ./config/bot.yaml is the
    commented example, and reading it by accident would send a newcomer's first command to its example hosts."""
    named = path or os.environ.get(ENV_CONFIG)
    if not named:
        raise ConfigError(
            [f"no config file named: pass -c FILE or set {ENV_CONFIG} (config/bot.yaml is a commented example to copy)"]
        )
    chosen = Path(named)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as err:
        how = "-c FILE" if path else ENV_CONFIG
        problem = f"cannot read {chosen}: {err.strerror} (it was named by {how})"
        raise ConfigError([problem], source=str(chosen)) from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"not valid YAML{where}"], source=str(chosen)) from err
    return parse(data, base_dir=chosen.resolve().parent, source=str(chosen))


def secret(name: str, *, required: bool = False) -> str | None:
    """A secret from `$NAME`, or from the file named by `$NAME_FILE` (a mounted Kubernetes Secret)."""
    value = os.environ.get(name)
    file = os.environ.get(f"{name}_FILE")
    if value is None and file:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError([f"{name}_FILE: cannot read the file it names ({err.strerror})"]) from err
    if required and not value:
        raise ConfigError([f"{name}: required; set {name} or {name}_FILE"])
    return value or None
