"""Flux Kustomizations (kustomize.toolkit.fluxcd.io) and the repository files each one applies.

A Kustomization builds `spec.path` of its source (KC `api/v1/kustomization_types.go`: "Defaults to 'None',
which translates to the root path of the SourceRef") with kustomize. When that directory has no
kustomization file, Flux generates one (PKG `kustomize/kustomize_generator.go` `generateKustomization`): every
`*.yaml`/`*.yml` below it, except that a sub-directory holding its own kustomization file is taken whole as one
resource and not descended into. A kustomization file's `resources` (and `components`, and the deprecated
`bases`) are followed: a file is applied, a directory is built by its own kustomization file, a URL is
outside the repository. The kustomization file itself is applied too: its `images:` entries carry markers.

Only a `GitRepository` source can be this repository; an OCIRepository or Bucket path names another artifact.
v1beta1, v1beta2 and v1 have the same spec shape for everything read here; an unknown version is read the same
way with a warning, as the image objects are (bot/core/flux_objects.py).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from bot.core import yamldocs
from bot.core.flux_objects import ObjectRef, ref_of

__all__ = ["GROUP", "KUSTOMIZATION_FILES", "SERVED_VERSIONS", "FluxKustomization", "applied_files", "find"]

GROUP = "kustomize.toolkit.fluxcd.io"
SERVED_VERSIONS = ("v1beta1", "v1beta2", "v1")
# kustomize `konfig.RecognizedKustomizationFileNames`, in kustomize's order of preference.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_SCREEN = re.compile(r"""^(?:\{\s*)?["']?apiVersion["']?[ \t]*:[ \t]*["']?kustomize\.toolkit\.fluxcd\.io/""", re.M)
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@|^(github|gitlab|bitbucket)\.(com|org)/")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dir(path: str) -> str:
    """A repository directory as a plain relative path: `./clusters/prod/` → clusters/prod, root → ""."""
    norm = posixpath.normpath("/" + path.strip()).lstrip("/")
    return "" if norm in ("", ".") else norm


@dataclass(frozen=True)
class FluxKustomization:
    ref: ObjectRef
    file: str
    path: str  # "" = the source root
    source_kind: str
    source: ObjectRef
    target_namespace: str = ""

    @property
    def from_this_repository(self) -> bool:
        return self.source_kind == "GitRepository"

    @property
    def shown_path(self) -> str:
        return f"./{self.path}" if self.path else "(source root)"


def find(files: Mapping[str, str]) -> tuple[list[FluxKustomization], list[str]]:
    """Every Flux Kustomization in the files, and problems (unreadable files, unserved API versions)."""
    out: list[FluxKustomization] = []
    problems: list[str] = []
    for file in sorted(files):
        if not file.endswith((".yaml", ".yml")) or not _SCREEN.search(files[file]):
            continue
        try:
            bodies = yamldocs.load_all(files[file])
        except (yaml.YAMLError, RecursionError, ValueError):
            problems.append(f"{file}: not valid YAML; its Flux Kustomizations are not read")
            continue
        for body in bodies:
            if not isinstance(body, Mapping) or body.get("kind") != "Kustomization":
                continue
            api = str(body.get("apiVersion", ""))
            if not api.startswith(GROUP + "/"):
                continue  # kustomize.config.k8s.io: a kustomization file, not a Flux object
            if api.removeprefix(GROUP + "/") not in SERVED_VERSIONS:
                problems.append(f"{file}: Kustomization {ref_of(body)}: apiVersion {api!r} is served by no Flux "
                                "release; read with the same spec shape")  # fmt: skip
            spec = _mapping(body.get("spec"))
            source = _mapping(spec.get("sourceRef"))
            ref = ref_of(body)
            out.append(
                FluxKustomization(
                    ref=ref,
                    file=file,
                    path=_dir(str(spec.get("path") or "")),
                    source_kind=str(source.get("kind") or ""),
                    source=ObjectRef(str(source.get("namespace") or ref.namespace), str(source.get("name") or "")),
                    target_namespace=str(spec.get("targetNamespace") or ""),
                )
            )
    return out, problems


def _kustomization_file(directory: str, files: Mapping[str, str]) -> str | None:
    for name in KUSTOMIZATION_FILES:
        path = posixpath.join(directory, name) if directory else name
        if path in files:
            return path
    return None


def _entries(text: str) -> list[str]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    m = _mapping(doc)
    out: list[str] = []
    for key in ("resources", "components", "bases"):
        items = m.get(key)
        if isinstance(items, Sequence) and not isinstance(items, str):
            out += [str(x) for x in items if isinstance(x, str)]
    return out


def _build(directory: str, files: Mapping[str, str], seen: set[str], out: set[str]) -> None:
    """Add what kustomize builds for `directory` (which has a kustomization file) to `out`."""
    if directory in seen:
        return
    seen.add(directory)
    kfile = _kustomization_file(directory, files)
    if kfile is None:
        return  # kustomize refuses a resource directory without one; nothing of it is applied
    out.add(kfile)
    for entry in _entries(files[kfile]):
        if _REMOTE.search(entry):
            continue
        resolved = _dir(posixpath.join(directory, entry))
        if resolved in files:
            out.add(resolved)
        elif any(f.startswith(resolved + "/") for f in files) or not resolved:
            _build(resolved, files, seen, out)


def _generated(directory: str, files: Mapping[str, str], seen: set[str], out: set[str]) -> None:
    """What the kustomization Flux generates for a directory without one applies."""
    prefix = directory + "/" if directory else ""
    for file in sorted(f for f in files if f.startswith(prefix)):
        parts = file[len(prefix) :].split("/")
        # The shallowest sub-directory with its own kustomization file is one resource, not descended into.
        nested = next(
            (d for i in range(1, len(parts)) if _kustomization_file(d := prefix + "/".join(parts[:i]), files)),
            None,
        )
        if nested is not None:
            _build(nested, files, seen, out)
        elif file.endswith((".yaml", ".yml")):
            out.add(file)


def applied_files(path: str, files: Mapping[str, str]) -> frozenset[str]:
    """The repository files a Kustomization with `spec.path` = `path` applies."""
    directory = _dir(path)
    seen: set[str] = set()
    out: set[str] = set()
    if _kustomization_file(directory, files) is not None:
        _build(directory, files, seen, out)
    else:
        _generated(directory, files, seen, out)
    return frozenset(out)
