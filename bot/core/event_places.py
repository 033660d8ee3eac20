"""Which environment a Flux event is about, from the objects in Git.

notification-controller names the object an event is about (`involvedObject`: kind, namespace, name) and
nothing else; the objects it applied appear only in the message (FLUX-FACTS §3.1-3.3). A Kustomization sits
in `flux-system` and applies a path (`./clusters/production`), so its namespace says nothing. Its
environment is read, in this order:
  1. the environment of the markers among the files it applies (bot/core/kustomizations.py), when they all
     belong to one;
  2. its `spec.path`, as a marker file's path is placed (bot/core/placement.py: configured paths, else a
     directory named like an environment);
  3. its `targetNamespace`, when that is an environment;
  4. its name (`apps-production`, `staging-apps`).
An ImagePolicy or ImageUpdateAutomation is placed by the targets it chooses or writes. An Alert's `summary`
(arriving as metadata `summary`) saying `env=<env>` names the environment outright (LAYOUTS §13, Fleet G).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.discovery import Topology
from bot.core.kustomizations import FluxKustomization, applied_files
from bot.core.placement import Placement, env_of_name, env_of_path

__all__ = ["Places", "kustomization_env", "places"]

_SUMMARY_ENV = re.compile(r"(?:^|[\s,;])env(?:ironment)?\s*[=:]\s*([a-z0-9][a-z0-9-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Places:
    """(kind, namespace, name) → environment, for the objects Git can place."""

    objects: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    pipeline: tuple[str, ...] = ()
    how: Mapping[tuple[str, str, str], str] = field(default_factory=dict)  # why, for logs and `check`

    def env_of(self, kind: str, namespace: str, name: str, summary: str = "") -> str | None:
        if summary:
            m = _SUMMARY_ENV.search(summary)
            if m and m.group(1) in self.pipeline:
                return m.group(1)
            if summary.strip() in self.pipeline:
                return summary.strip()
        return self.objects.get((kind, namespace, name))


def _one(envs: set[str]) -> str | None:
    return next(iter(envs)) if len(envs) == 1 else None


def kustomization_env(
    k: FluxKustomization, files: Mapping[str, str], topology: Topology, placement: Placement
) -> tuple[str | None, str]:
    """(environment or None, how it was found)."""
    pipeline = topology.pipeline
    if k.from_this_repository:
        applied = applied_files(k.path, files)
        by_markers = _one({t.env for t in topology.targets.values() for s in t.sites if s.file in applied})
        if by_markers is not None:
            return by_markers, f"the markers under {k.shown_path}"
        if k.path and (by_path := env_of_path(k.path + "/", pipeline, placement)) is not None:
            return by_path, f"spec.path {k.shown_path}"
    if k.target_namespace in pipeline:
        return k.target_namespace, "spec.targetNamespace"
    by_name = env_of_name(k.ref.name, pipeline) or (k.ref.name if k.ref.name in pipeline else None)
    if by_name is not None:
        return by_name, "its name"
    return None, ""


def places(
    files: Mapping[str, str],
    topology: Topology,
    kustomizations: Sequence[FluxKustomization],
    placement: Placement | None = None,
) -> Places:
    placement = placement or Placement()
    objects: dict[tuple[str, str, str], str] = {}
    how: dict[tuple[str, str, str], str] = {}
    for k in kustomizations:
        env, why = kustomization_env(k, files, topology, placement)
        if env is not None:
            key = ("Kustomization", k.ref.namespace, k.ref.name)
            objects[key], how[key] = env, why
    by_policy: dict[tuple[str, str], set[str]] = {}
    by_automation: dict[tuple[str, str], set[str]] = {}
    for t in topology.targets.values():
        by_policy.setdefault((t.policy.namespace, t.policy.name), set()).add(t.env)
        if t.automation is not None:
            by_automation.setdefault((t.automation.ref.namespace, t.automation.ref.name), set()).add(t.env)
    for kind, table in (("ImagePolicy", by_policy), ("ImageUpdateAutomation", by_automation)):
        for (ns, name), envs in table.items():
            if (env := _one(envs)) is not None:
                objects[(kind, ns, name)], how[(kind, ns, name)] = env, "the targets it serves"
    return Places(objects, tuple(topology.pipeline), how)
