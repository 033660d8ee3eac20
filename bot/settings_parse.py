"""Reading the config document into Settings: every key checked, every problem collected.

Each problem is reported as `key.path: expected ..., got ...`, all at once. An unknown key is refused at
every level (a misspelt or misplaced key would otherwise do nothing, silently), and when the key is known
elsewhere the message says where. Secrets are never read from the document: a key that looks like one is
refused and the message names the environment variable to use instead.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from bot.core import names
from bot.core.clock_text import parse_duration
from bot.core.cron import validate_cron
from bot.core.routes import Route
from bot.errors import BotError, ConfigError, InvalidInput
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

_SECRETISH = re.compile(r"(token|secret|password|passwd|credential|private[_-]?key|api[_-]?key)", re.I)
# Where each kind of secret must come from instead of the file.
SECRET_ENV = {
    "slack": "SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET / SLACK_APP_TOKEN",
    "flux": "FLUX_WEBHOOK_TOKEN",
    "repo": "GIT_TOKEN (HTTPS) or GIT_SSH_KEY_FILE (SSH)",
    "registries": "REGISTRY_<HOST>_USERNAME / REGISTRY_<HOST>_PASSWORD or DOCKER_CONFIG",
}


def _join(path: str, key: str) -> str:
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
    "": frozenset({"repo", "state_dir", "substitutions", "registries", "pipeline", "environments", "slack", "flux"}),
    "repo": frozenset({"url", "branch", "path", "author", "timeout"}),
    "repo.author": frozenset({"name", "email"}),
    "registries.<host>": frozenset({"insecure", "layout", "timeout"}),
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
        }
    ),
    "environments.<env>.promoters": frozenset({"users", "groups"}),
    "environments.<env>.freezes[]": frozenset({"cron", "duration", "reason"}),
    "slack": frozenset({"api_url"}),
    "flux": frozenset({"path", "routes", "reconcile_timeout", "dedupe_window", "git_poll"}),
    "flux.routes[]": frozenset({"channel", "kinds", "namespaces", "names", "severities", "reasons", "mention"}),
}
# key → every path where it is known, to point a misplaced key (top-level `routes:`) at its place.
_ELSEWHERE: dict[str, list[str]] = {}
for _path, _keys in SCHEMA.items():
    for _key in _keys:
        _ELSEWHERE.setdefault(_key, []).append(_join(_path, _key))


class _Checker:
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
                    f"{_join(path, key)}: secrets are never read from the config file; set {where} instead"
                )
            elif allowed and key not in allowed:
                self.problems.append(f"{_join(path, key)}: {_unknown(key, allowed)}")
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


def _environment(c: _Checker, path: str, raw: object) -> EnvironmentSettings:
    m = c.mapping(path, raw, SCHEMA["environments.<env>"])
    rollback = c.string(f"{path}.rollback", m.get("rollback"), "hold")
    if rollback not in ("hold", "retag"):
        c.bad(f"{path}.rollback", "hold or retag", rollback)
    prom = c.mapping(f"{path}.promoters", m.get("promoters"), SCHEMA["environments.<env>.promoters"])
    approvals = m.get("approvals", 0)
    if not isinstance(approvals, int) or isinstance(approvals, bool) or not 0 <= approvals <= 5:
        c.bad(f"{path}.approvals", "a whole number from 0 to 5", approvals)
        approvals = 0
    ttl_raw = m.get("approval_ttl", "30m")
    try:
        ttl = parse_duration(str(ttl_raw))
    except ValueError:
        c.bad(f"{path}.approval_ttl", "a duration like 30m or 1h", ttl_raw)
        ttl = 1800
    windows = []
    raw_windows = m.get("freezes") or []
    if not isinstance(raw_windows, list):
        c.bad(f"{path}.freezes", "a list of {cron, duration, reason}", raw_windows)
        raw_windows = []
    for i, w in enumerate(raw_windows):
        wp = f"{path}.freezes[{i}]"
        wm = c.mapping(wp, w, SCHEMA["environments.<env>.freezes[]"])
        cron = c.string(f"{wp}.cron", wm.get("cron"), "")
        try:
            validate_cron(cron)
        except InvalidInput as err:
            c.problems.append(f"{wp}.cron: expected a crontab expression like '0 16 * * FRI'; {err.message}")
        try:
            duration = parse_duration(str(wm.get("duration", "")))
        except ValueError:
            c.bad(f"{wp}.duration", "a duration like 64h", wm.get("duration"))
            duration = 0
        windows.append(FreezeWindow(cron, duration, c.string(f"{wp}.reason", wm.get("reason"), "freeze window")))
    return EnvironmentSettings(
        freezes=tuple(windows),
        break_glass=c.name_list(f"{path}.break_glass", m.get("break_glass"), lambda s: names.one_line(s, "user")),
        require_deployed_in_source=c.boolean(
            f"{path}.require_deployed_in_source", m.get("require_deployed_in_source"), True
        ),
        rollback=rollback,
        channel=c.string(f"{path}.channel", m.get("channel"), ""),
        promoters=Promoters(
            users=c.name_list(f"{path}.promoters.users", prom.get("users"), names.slack_id),
            groups=c.name_list(f"{path}.promoters.groups", prom.get("groups"), lambda s: names.one_line(s, "group")),
        ),
        approvals=approvals,
        approval_ttl=ttl,
    )


def _repo(c: _Checker, top: dict[str, Any]) -> RepoSettings:
    raw = c.mapping("repo", top.get("repo"), SCHEMA["repo"])
    if "repo" not in top:
        c.problems.append("repo: expected a mapping with at least `url`, got nothing")
    url = c.string("repo.url", raw.get("url"), "")
    if "://" in url and not url.startswith("ssh://") and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        c.problems.append("repo.url: credentials in the URL are not allowed; set GIT_TOKEN instead")
    if "://" in url and ("?" in url or "#" in url):
        # A query string is where tokens hide (`?access_token=…`); it would reach .git/config, logs, /readyz
        # and Slack replies. Git remotes take none, so refusing costs nothing.
        c.problems.append("repo.url: a query string or fragment is not allowed (tokens in URLs leak); set GIT_TOKEN")
    author = c.mapping("repo.author", raw.get("author"), SCHEMA["repo.author"])
    repo = RepoSettings(
        url=url,
        branch=c.string("repo.branch", raw.get("branch"), "main", r"[A-Za-z0-9._/-]{1,100}"),
        path=c.string("repo.path", raw.get("path"), ".", r"[A-Za-z0-9._/-]{1,200}"),
        author=Author(
            name=c.string("repo.author.name", author.get("name"), "gitops-bot"),
            email=c.string("repo.author.email", author.get("email"), "gitops-bot@localhost", r"[^\s<>]+@[^\s<>]*"),
        ),
        timeout=c.seconds("repo.timeout", raw.get("timeout"), 60.0),
    )
    if ".." in Path(repo.path).parts:
        c.bad("repo.path", "a path inside the repository", repo.path)
    return repo


def _substitutions(c: _Checker, raw: object) -> dict[str, str]:
    subs = {}
    for k, v in c.mapping("substitutions", raw, frozenset()).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            c.bad(f"substitutions.{k}", "a variable name like image_registry", k)
        elif not isinstance(v, str | int | float) or isinstance(v, bool):
            c.bad(f"substitutions.{k}", "a string", v)
        else:
            subs[k] = str(v)
    return subs


def _registries(c: _Checker, raw: object, base_dir: Path) -> dict[str, RegistrySettings]:
    regs = {}
    for host, value in c.mapping("registries", raw, frozenset()).items():
        if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", host):
            c.bad(f"registries.{host}", "a registry host like ghcr.io or 127.0.0.1:5000", host)
        r = c.mapping(f"registries.{host}", value, SCHEMA["registries.<host>"])
        layout = c.string(f"registries.{host}.layout", r.get("layout"), "")
        regs[host] = RegistrySettings(
            insecure=c.boolean(f"registries.{host}.insecure", r.get("insecure"), False),
            layout=(base_dir / layout) if layout else None,
            timeout=c.seconds(f"registries.{host}.timeout", r.get("timeout"), 10.0),
        )
    return regs


def _pipeline(c: _Checker, raw: object, known: list[str]) -> list[str]:
    pipeline: list[str] = []
    if not isinstance(raw, list) or len(raw) < 2:
        c.bad("pipeline", "a list of at least two environments", raw)
        return pipeline
    for i, env in enumerate(raw):
        try:
            names.env_name(str(env))
        except BotError:
            c.bad(f"pipeline[{i}]", "an environment name (lowercase letters, digits, dashes)", env)
            continue
        if known and env not in known:
            c.problems.append(f"pipeline[{i}]: unknown environment {env!r} (known: {', '.join(known)})")
        elif env in pipeline:
            c.problems.append(f"pipeline[{i}]: {env!r} appears twice")
        else:
            pipeline.append(str(env))
    return pipeline


def _strings(c: _Checker, path: str, raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        c.bad(path, "a list of strings", raw)
        return ()
    return tuple(raw)


def _flux(c: _Checker, raw: object) -> FluxSettings:
    m = c.mapping("flux", raw, SCHEMA["flux"])
    routes = []
    raw_routes = m.get("routes") or []
    if not isinstance(raw_routes, list):
        c.bad("flux.routes", "a list of routes", raw_routes)
        raw_routes = []
    for i, r in enumerate(raw_routes):
        p = f"flux.routes[{i}]"
        rm = c.mapping(p, r, SCHEMA["flux.routes[]"])
        routes.append(
            Route(
                channel=c.string(f"{p}.channel", rm.get("channel"), ""),
                kinds=_strings(c, f"{p}.kinds", rm.get("kinds")),
                namespaces=_strings(c, f"{p}.namespaces", rm.get("namespaces")),
                names=_strings(c, f"{p}.names", rm.get("names")),
                severities=_strings(c, f"{p}.severities", rm.get("severities")),
                reasons=_strings(c, f"{p}.reasons", rm.get("reasons")),
                mention=c.string(f"{p}.mention", rm.get("mention"), ""),
            )
        )
        if not routes[-1].channel:
            c.bad(f"{p}.channel", "a Slack channel id", rm.get("channel"))
    durations = {}
    for key, default in (("reconcile_timeout", "15m"), ("dedupe_window", "5m"), ("git_poll", "1m")):
        try:
            durations[key] = parse_duration(str(m.get(key, default)))
        except ValueError:
            c.bad(f"flux.{key}", "a duration like 15m", m.get(key))
            durations[key] = parse_duration(default)
    return FluxSettings(
        path=c.string("flux.path", m.get("path"), "/flux/events", r"/[A-Za-z0-9/_-]{1,100}"),
        routes=tuple(routes),
        **durations,
    )


def parse(data: object, *, base_dir: Path, source: str = "config") -> Settings:
    """Validate a loaded YAML document. Relative paths are resolved against `base_dir`."""
    c = _Checker()
    top = c.mapping("", data, SCHEMA[""])
    repo = _repo(c, top)
    subs = _substitutions(c, top.get("substitutions"))
    regs = _registries(c, top.get("registries"), base_dir)
    envs_raw = c.mapping("environments", top.get("environments"), frozenset())
    pipeline = _pipeline(c, top.get("pipeline", list(DEFAULT_PIPELINE)), list(envs_raw))
    envs = {}
    for env, raw in envs_raw.items():
        if pipeline and env not in pipeline:
            c.problems.append(f"environments.{env}: not in pipeline (pipeline: {', '.join(pipeline)})")
        envs[env] = _environment(c, f"environments.{env}", raw)
    slack = c.mapping("slack", top.get("slack"), SCHEMA["slack"])
    flux = _flux(c, top.get("flux"))
    state_dir = Path(c.string("state_dir", top.get("state_dir"), ".gitops-bot"))
    if c.problems:
        raise ConfigError(c.problems, source=source)
    return Settings(
        repo=repo,
        state_dir=state_dir if state_dir.is_absolute() else (base_dir / state_dir),
        substitutions=subs,
        registries=regs,
        pipeline=tuple(pipeline),
        environments=envs,
        slack_api_url=c.string("slack.api_url", slack.get("api_url"), "https://slack.com/api/"),
        flux=flux,
        source=source,
    )
