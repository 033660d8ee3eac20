"""Which environment (and service name) an ImagePolicy's markers belong to.

Flux has no notion of an environment: names are opaque and a marker names `ns:policy` exactly. People say
which environment a policy serves in one of four ways (LAYOUTS §1, §2, §13), read here in this order:
  1. the config: `policies."<ns>/<name>".env` (or `envs`, when one policy feeds several environments);
  2. the policy's namespace is an environment (`staging/app`);
  3. the policy's name starts with `<env>-` or ends with `-<env>` (`staging-app`, `app-prod`), or its
     filterTags pattern starts with `<env>-` (`^staging-v...`);
  4. the path of the marker file: under `environments.<env>.paths`, else a directory named like the
     environment (`apps/staging/app/kustomization.yaml`).
Ways 1-3 name the policy's environment outright; way 4 places each marker file on its own, which is how one
policy feeds several environments (one cluster per environment, the same namespace in each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.flux_objects import ObjectRef
from bot.core.setters import in_update_path

__all__ = ["Placement", "PolicyPlacement", "env_of_name", "env_of_path", "policy_envs", "service_base"]


@dataclass(frozen=True)
class PolicyPlacement:
    """`policies."<ns>/<name>"` in the config."""

    envs: tuple[str, ...] = ()  # () = discover
    service: str = ""  # "" = discover


@dataclass(frozen=True)
class Placement:
    policies: Mapping[str, PolicyPlacement] = field(default_factory=dict)  # "ns/name" → placement
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # env → repository paths


def env_of_name(name: str, pipeline: Sequence[str]) -> str | None:
    """`staging-app` / `app-staging` → staging; the longest environment wins (`prod` vs `prod-eu`)."""
    found = [e for e in pipeline if name.startswith(e + "-") or name.endswith("-" + e)]
    return max(found, key=len) if found else None


def _env_of_filter(pattern: str | None, pipeline: Sequence[str]) -> str | None:
    body = (pattern or "").removeprefix("^")
    found = [e for e in pipeline if body.startswith(e + "-")]
    return max(found, key=len) if found else None


def policy_envs(
    ref: ObjectRef, filter_pattern: str | None, pipeline: Sequence[str], placement: Placement
) -> tuple[tuple[str, ...], str]:
    """(environments, how they were found) from ways 1-3; ((), "") when only the marker paths can tell."""
    namespace, name = ref.namespace, ref.name
    configured = placement.policies.get(str(ref))
    if configured is not None and configured.envs:
        return configured.envs, f'config policies."{ref}"'
    if namespace in pipeline:
        return (namespace,), "namespace"
    by_name = env_of_name(name, pipeline)
    if by_name is not None:
        return (by_name,), "name"
    by_filter = _env_of_filter(filter_pattern, pipeline)
    if by_filter is not None:
        return (by_filter,), "filterTags.pattern"
    return (), ""


def env_of_path(file: str, pipeline: Sequence[str], placement: Placement) -> str | None:
    """The environment a marker file's path places it in: configured paths first (the longest wins), then the
    deepest directory named like an environment."""
    best: tuple[int, str] | None = None
    for env, paths in placement.paths.items():
        for p in paths:
            if in_update_path(file, p):
                size = len(p.strip("./"))
                if best is None or size > best[0]:
                    best = (size, env)
    if best is not None:
        return best[1]
    for part in reversed(file.split("/")[:-1]):
        if part in pipeline:
            return part
    return None


def service_base(name: str, env: str) -> str:
    """A policy's name without its environment affix: `staging-app` → app."""
    if name.startswith(env + "-"):
        return name[len(env) + 1 :] or name
    if name.endswith("-" + env):
        return name[: -len(env) - 1] or name
    return name
