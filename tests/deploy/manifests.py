"""The chart rendered through Helm's own Go SDK (helm-python-sdk; no `helm` binary), parsed into objects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "gitops-bot"
# A release named like the chart gives objects named plain `gitops-bot` (see _helpers.tpl).
RELEASE = "gitops-bot"
NAMESPACE = "gitops-bot"

Obj = dict[str, Any]

# The variants the task names, plus the SSH/registry wiring; tests over VARIANTS run on each.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "http-ingress": {
        "slack": {"mode": "http"},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "bot.example.org",
            "tls": [{"secretName": "bot-tls", "hosts": ["bot.example.org"]}],
        },
    },
    "servicemonitor": {"serviceMonitor": {"enabled": True}},
    "no-persistence": {"persistence": {"enabled": False}},
    "ssh-registries": {
        "existingSecret": "bot-credentials",
        "git": {"ssh": {"enabled": True}},
        "registries": ["ghcr.io", "127.0.0.1:5000"],
    },
}
# What real credentials look like: Slack bot/app/user tokens, GitHub tokens, private keys.
SECRET_SHAPES = re.compile(r"xox[abpr]-|xapp-|gh[pousr]_[A-Za-z0-9]|-----BEGIN [A-Z ]*PRIVATE KEY", re.I)


@dataclass(frozen=True)
class Manifests:
    objects: tuple[Obj, ...]
    text: str  # every rendered template, NOTES.txt included
    notes: str

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self.objects}

    def all(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str) -> Obj:
        found = self.all(kind)
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    @property
    def pod(self) -> Obj:
        spec: Obj = self.one("Deployment")["spec"]["template"]
        return spec

    @property
    def container(self) -> Obj:
        containers: list[Obj] = self.pod["spec"]["containers"]
        assert len(containers) == 1
        return containers[0]

    def env(self) -> dict[str, Obj]:
        entries: list[Obj] = self.container.get("env", [])
        names = [e["name"] for e in entries]
        assert len(names) == len(set(names)), f"duplicate env entries: {names}"
        return {e["name"]: e for e in entries}

    def volume(self, name: str) -> Obj:
        volumes: list[Obj] = self.pod["spec"]["volumes"]
        (found,) = [v for v in volumes if v["name"] == name]
        return found

    def mount(self, path: str) -> Obj:
        mounts: list[Obj] = self.container["volumeMounts"]
        (found,) = [m for m in mounts if m["mountPath"] == path]
        return found


def render(
    chart: helm.Chart, values: Mapping[str, Any] | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE
) -> Manifests:
    rendered = chart.render(dict(values or {}), name=name, namespace=namespace)
    objects: list[Obj] = []
    notes = ""
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc is not None)
    return Manifests(tuple(objects), "\n".join(rendered.values()), notes)


def default_values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    return loaded
