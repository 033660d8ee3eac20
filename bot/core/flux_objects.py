"""The Flux image objects discovery reads, one model for every served API version.

ImageRepository, ImagePolicy and ImageUpdateAutomation have the same spec shape in v1beta1, v1beta2 and v1
(IRC `api/v1beta1`, `api/v1beta2`, `api/v1`; IAC likewise); only their status differs, and the bot never reads
status from Git. Fleets keep old versions in Git long after a controller upgrade (LAYOUTS §7), so every
served version is read the same way and an unknown one is read too, with a warning, never refused.

Documents are chosen by their top-level `apiVersion` + `kind`, the way Flux's controllers see objects: a CRD
that merely mentions `kind: ImagePolicy` under `names:` is not one. `may_hold_image_objects` screens a file's
raw text before any YAML is parsed, so a 14,000-line `gotk-components.yaml` costs one regex search.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GROUP",
    "KINDS",
    "SERVED_VERSIONS",
    "LabelSelector",
    "ObjectRef",
    "api_version_problem",
    "is_image_api",
    "labels_of",
    "may_hold_image_objects",
    "ref_of",
]

GROUP = "image.toolkit.fluxcd.io"
SERVED_VERSIONS = ("v1beta1", "v1beta2", "v1")
KINDS = ("ImageRepository", "ImagePolicy", "ImageUpdateAutomation")
# A top-level `apiVersion: image.toolkit.fluxcd.io/...` line (block style, or the first key of a flow mapping).
# Indented occurrences belong to nested objects (a CRD's schema, a List item) that Flux does not read as objects.
_SCREEN = re.compile(r"""^(?:\{\s*)?["']?apiVersion["']?[ \t]*:[ \t]*["']?image\.toolkit\.fluxcd\.io/""", re.M)


def may_hold_image_objects(text: str) -> bool:
    """Cheap screen on raw text: False means no document in it can be a Flux image object."""
    return _SCREEN.search(text) is not None


def is_image_api(api_version: object) -> bool:
    return isinstance(api_version, str) and api_version.startswith(GROUP + "/")


def api_version_problem(api_version: str, kind: str) -> str:
    """ "" for a served version; otherwise why it is read anyway (Flux itself would not serve it)."""
    version = api_version.removeprefix(GROUP + "/")
    if version in SERVED_VERSIONS:
        return ""
    return (
        f"apiVersion {api_version!r} is served by no Flux release "
        f"(served: {', '.join(GROUP + '/' + v for v in SERVED_VERSIONS)}); read with the same spec shape"
    )


@dataclass(frozen=True, order=True)
class ObjectRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def ref_of(body: Mapping[str, Any]) -> ObjectRef:
    """metadata.namespace/name; a namespace left out is `default`, as `kubectl apply` would place it."""
    meta = _mapping(body.get("metadata"))
    return ObjectRef(str(meta.get("namespace") or "default"), str(meta.get("name") or ""))


def labels_of(body: Mapping[str, Any]) -> dict[str, str]:
    labels = _mapping(_mapping(body.get("metadata")).get("labels"))
    return {str(k): str(v) for k, v in labels.items()}


@dataclass(frozen=True)
class LabelSelector:
    """A Kubernetes label selector (an automation's `spec.policySelector`): matchLabels AND matchExpressions.

    An empty selector matches every object, as metav1.LabelSelectorAsSelector makes it.
    """

    match_labels: Mapping[str, str]
    expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LabelSelector:
        labels = _mapping(raw.get("matchLabels"))
        exprs: list[tuple[str, str, tuple[str, ...]]] = []
        raw_exprs = raw.get("matchExpressions")
        for item in raw_exprs if isinstance(raw_exprs, Sequence) and not isinstance(raw_exprs, str) else ():
            e = _mapping(item)
            values = e.get("values")
            vals = tuple(str(v) for v in values) if isinstance(values, Sequence) and not isinstance(values, str) else ()
            exprs.append((str(e.get("key", "")), str(e.get("operator", "")), vals))
        return cls({str(k): str(v) for k, v in labels.items()}, tuple(exprs))

    def matches(self, labels: Mapping[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for key, op, values in self.expressions:
            ok = {
                "In": key in labels and labels[key] in values,
                "NotIn": key not in labels or labels[key] not in values,
                "Exists": key in labels,
                "DoesNotExist": key not in labels,
            }.get(op, False)  # an unknown operator is an invalid selector: Flux applies nothing
            if not ok:
                return False
        return True

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        parts += [f"{k} {op} ({','.join(v)})" if v else f"{op} {k}" for k, op, v in self.expressions]
        return ", ".join(parts) or "everything"
