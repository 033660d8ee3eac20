"""Reading the config document into Settings: every key checked, every problem collected.

Each problem is reported as `key.path: expected ..., got ...`, all at once. An unknown key is refused at
every level (a misspelt or misplaced key would otherwise do nothing, silently), and when the key is known
elsewhere the message says where. Secrets are never read from the document: a key that looks like one is
refused and the message names the environment variable to use instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.core import names
from bot.core.clock_text import parse_duration
from bot.core.cron import validate_cron
from bot.core.imageref import canonical_host
from bot.core.placement import PolicyPlacement
from bot.core.routes import Route
from bot.errors import BotError, ConfigError, InvalidInput
from bot.settings_checker import SCHEMA, Checker
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


def _environment(c: Checker, path: str, raw: object) -> EnvironmentSettings:
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
        paths=_paths(c, f"{path}.paths", m.get("paths")),
    )


def _paths(c: Checker, path: str, raw: object) -> tuple[str, ...]:
    out = []
    for i, p in enumerate(_strings(c, path, raw)):
        if ".." in p.split("/") or not re.fullmatch(r"[A-Za-z0-9._/-]{1,200}", p):
            c.bad(f"{path}[{i}]", "a directory inside the repository, like apps/staging", p)
        else:
            out.append(p)
    return tuple(out)


def _repo(c: Checker, top: dict[str, Any]) -> RepoSettings:
    raw = c.mapping("repo", top.get("repo"), SCHEMA["repo"])
    if "repo" not in top:
        c.problems.append("repo: expected a mapping with at least `url`, got nothing")
    url = c.string("repo.url", raw.get("url"), "")
    if "repo" in top and not url:  # a repo without a url fails later as "repository '' does not exist"
        c.problems.append("repo.url: required: the GitOps repository (https://, ssh://, git://, file:// or a path)")
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
        objects_branch=c.string("repo.objects_branch", raw.get("objects_branch"), "", r"[A-Za-z0-9._/-]{1,100}")
        or None,
    )
    if ".." in Path(repo.path).parts:
        c.bad("repo.path", "a path inside the repository", repo.path)
    return repo


def _substitutions(c: Checker, raw: object) -> dict[str, str]:
    subs = {}
    for k, v in c.mapping("substitutions", raw, frozenset()).items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
            c.bad(f"substitutions.{k}", "a variable name like image_registry", k)
        elif not isinstance(v, str | int | float) or isinstance(v, bool):
            c.bad(f"substitutions.{k}", "a string", v)
        else:
            subs[k] = str(v)
    return subs


def _registries(c: Checker, raw: object, base_dir: Path) -> dict[str, RegistrySettings]:
    """Keyed by the host Flux resolves (`docker.io` is `index.docker.io`), so a setting is never silently unused."""
    regs: dict[str, RegistrySettings] = {}
    spelled: dict[str, str] = {}
    for host, value in c.mapping("registries", raw, frozenset()).items():
        if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", host):
            c.bad(f"registries.{host}", "a registry host like ghcr.io or 127.0.0.1:5000", host)
            continue
        real = canonical_host(host)
        if real in spelled:
            c.problems.append(
                f"registries.{host}: the same registry as registries.{spelled[real]} ({real}); keep one of them"
            )
            continue
        spelled[real] = host
        r = c.mapping(f"registries.{host}", value, SCHEMA["registries.<host>"])
        layout = c.string(f"registries.{host}.layout", r.get("layout"), "")
        endpoint = c.string(f"registries.{host}.endpoint", r.get("endpoint"), "", r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
        if layout and endpoint:
            c.problems.append(f"registries.{host}: give layout or endpoint, not both")
        regs[real] = RegistrySettings(
            insecure=c.boolean(f"registries.{host}.insecure", r.get("insecure"), False),
            layout=(base_dir / layout) if layout else None,
            timeout=c.seconds(f"registries.{host}.timeout", r.get("timeout"), 10.0),
            endpoint=endpoint.lower(),
        )
    return regs


def _policies(c: Checker, raw: object, pipeline: list[str]) -> dict[str, PolicyPlacement]:
    out = {}
    for key, value in c.mapping("policies", raw, frozenset()).items():
        path = f'policies."{key}"'
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?", key):
            c.bad(path, "an ImagePolicy as <namespace>/<name>, like flux-system/staging-app", key)
            continue
        m = c.mapping(path, value, SCHEMA["policies.<ns/name>"])
        one = c.string(f"{path}.env", m.get("env"), "")
        many = _strings(c, f"{path}.envs", m.get("envs"))
        if one and many:
            c.problems.append(f"{path}: give env or envs, not both")
        envs = (one,) if one else many
        for env in envs:
            if pipeline and env not in pipeline:
                c.problems.append(f"{path}: unknown environment {env!r} (pipeline: {', '.join(pipeline)})")
        service = c.string(f"{path}.service", m.get("service"), "")
        if service:
            try:
                names.service_name(service)
            except BotError as err:
                c.problems.append(f"{path}.service: {err.message}")
        out[key] = PolicyPlacement(envs=envs, service=service)
    return out


def _pipeline(c: Checker, raw: object) -> list[str]:
    """The environments in promotion order. `environments:` need not list them all: an environment it leaves
    out takes the defaults (discovery finds its policies all the same)."""
    pipeline: list[str] = []
    if not isinstance(raw, list) or not raw:
        c.bad("pipeline", "a list of environments, in promotion order", raw)
        return pipeline
    for i, env in enumerate(raw):
        try:
            names.env_name(str(env))
        except BotError:
            c.bad(f"pipeline[{i}]", "an environment name (lowercase letters, digits, dashes)", env)
            continue
        if env in pipeline:
            c.problems.append(f"pipeline[{i}]: {env!r} appears twice")
        else:
            pipeline.append(str(env))
    return pipeline


def _strings(c: Checker, path: str, raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        c.bad(path, "a list of strings", raw)
        return ()
    return tuple(raw)


def _flux(c: Checker, raw: object) -> FluxSettings:
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
        default_channel=c.string("flux.default_channel", m.get("default_channel"), "", r"[A-Za-z0-9_#-]{1,80}"),
        **durations,
    )


def parse(data: object, *, base_dir: Path, source: str = "config") -> Settings:
    """Validate a loaded YAML document. Relative paths are resolved against `base_dir`."""
    c = Checker()
    top = c.mapping("", data, SCHEMA[""])
    repo = _repo(c, top)
    subs = _substitutions(c, top.get("substitutions"))
    regs = _registries(c, top.get("registries"), base_dir)
    envs_raw = c.mapping("environments", top.get("environments"), frozenset())
    pipeline = _pipeline(c, top.get("pipeline", list(DEFAULT_PIPELINE)))
    envs = {}
    for env, raw in envs_raw.items():
        if pipeline and env not in pipeline:
            c.problems.append(f"environments.{env}: not in pipeline (pipeline: {', '.join(pipeline)})")
        envs[env] = _environment(c, f"environments.{env}", raw)
    policies = _policies(c, top.get("policies"), pipeline)
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
        policies=policies,
        slack_api_url=c.string("slack.api_url", slack.get("api_url"), "https://slack.com/api/"),
        flux=flux,
        source=source,
    )
