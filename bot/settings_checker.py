"""The config checker: the schema of allowed keys, secret-looking keys refused, problems collected.

`bot/settings_parse.py` walks the document with it; every problem reads `key.path: …`, all at once.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from bot.core.clock_text import parse_duration
from bot.errors import BotError

_SECRETISH = re.compile(r"(token|secret|password|passwd|credential|private[_-]?key|api[_-]?key)", re.I)
# Where each kind of secret must come from instead of the file.
SECRET_ENV = {
    "slack": "SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET / SLACK_APP_TOKEN",
    "flux": "FLUX_WEBHOOK_TOKEN",
    "repo": "GIT_TOKEN (HTTPS) or GIT_SSH_KEY_FILE (SSH)",
    "registries": "REGISTRY_<HOST>_USERNAME / REGISTRY_<HOST>_PASSWORD or DOCKER_CONFIG",
}


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _unknown(key: str, allowed: frozenset[str]) -> str:
    elsewhere = _ELSEWHERE.get(key)
    if elsewhere:
        return f"unknown key; did you mean {' or '.join(elsewhere)}?"
    return f"unknown key (known: {', '.join(sorted(allowed))})"


# Every mapping the document may hold, by its key path (`<env>`, `<host>` and `[]` stand for any
# environment, registry host and list index), and the keys each may hold. The checks below take their
# allowed keys from here and `_ELSEWHERE` is derived from it, so a key is known in exactly one table.
SCHEMA: dict[str, frozenset[str]] = {
    "": frozenset(
        {"repo", "state_dir", "substitutions", "registries", "pipeline", "environments", "policies", "slack", "flux"}
    ),
    "repo": frozenset({"url", "branch", "objects_branch", "path", "author", "timeout"}),
    "repo.author": frozenset({"name", "email"}),
    "registries.<host>": frozenset({"insecure", "layout", "timeout", "endpoint"}),
    "environments.<env>": frozenset(
        {
            "require_deployed_in_source",
            "rollback",
            "channel",
            "promoters",
            "approvals",
            "approval_ttl",
            "freezes",
            "break_glass",
            "paths",
        }
    ),
    "policies.<ns/name>": frozenset({"env", "envs", "service"}),
    "environments.<env>.promoters": frozenset({"users", "groups"}),
    "environments.<env>.freezes[]": frozenset({"cron", "duration", "reason"}),
    "slack": frozenset({"api_url"}),
    "flux": frozenset({"path", "routes", "reconcile_timeout", "dedupe_window", "git_poll", "default_channel"}),
    "flux.routes[]": frozenset({"channel", "kinds", "namespaces", "names", "severities", "reasons", "mention"}),
}
# key → every path where it is known, to point a misplaced key (top-level `routes:`) at its place.
_ELSEWHERE: dict[str, list[str]] = {}
for _path, _keys in SCHEMA.items():
    for _key in _keys:
        _ELSEWHERE.setdefault(_key, []).append(join_path(_path, _key))


class Checker:
    """Collects problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, path: str, expected: str, got: object) -> None:
        shown = got if isinstance(got, str | int | float | bool) or got is None else type(got).__name__
        self.problems.append(f"{path}: expected {expected}, got {shown!r}")

    def mapping(self, path: str, value: object, allowed: frozenset[str]) -> dict[str, Any]:
        """`value` as a dict of its string keys; any other key is a problem. An empty `allowed` takes any
        key (maps whose keys are names: substitutions, registries, environments)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad(path, "a mapping", value)
            return {}
        for key in value:
            if not isinstance(key, str):
                self.bad(path, "string keys", key)
            elif _SECRETISH.search(key):
                top = path.split(".", maxsplit=1)[0].split("[", maxsplit=1)[0] or key
                where = SECRET_ENV.get(top, "an environment variable or a *_FILE path")
                self.problems.append(
                    f"{join_path(path, key)}: secrets are never read from the config file; set {where} instead"
                )
            elif allowed and key not in allowed:
                self.problems.append(f"{join_path(path, key)}: {_unknown(key, allowed)}")
        return {k: v for k, v in value.items() if isinstance(k, str) and not _SECRETISH.search(k)}

    def string(self, path: str, value: object, default: str, pattern: str | None = None) -> str:
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.bad(path, "a non-empty string", value)
            return default
        if pattern and not re.fullmatch(pattern, value):
            self.bad(path, f"a string matching {pattern}", value)
        return value

    def boolean(self, path: str, value: object, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.bad(path, "true or false", value)
            return default
        return value

    def name_list(self, path: str, value: object, check: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.bad(path, "a list", value)
            return ()
        out = []
        for i, item in enumerate(value):
            try:
                out.append(check(item) if isinstance(item, str) else check(str(item)))
            except BotError as err:
                self.problems.append(f"{path}[{i}]: {err.message}")
        return tuple(out)

    def seconds(self, path: str, value: object, default: float) -> float:
        """A timeout: a duration like `10s` or `2m`, or a number of seconds; at most ten minutes."""
        if value is None:
            return default
        got = -1.0
        if isinstance(value, int | float) and not isinstance(value, bool):
            got = float(value)
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                got = float(parse_duration(value))
        if not 0 < got <= 600:
            self.bad(path, "a duration like 10s (above 0, at most 10m)", value)
            return default
        return got
