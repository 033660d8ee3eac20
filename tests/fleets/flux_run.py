"""A Flux-like image automation run over a repository's files, built from the project's own engines.

What image-automation-controller does on one reconcile of every ImageUpdateAutomation (FLUX-FACTS §2.1-2.3):
skip it when `spec.suspend` is true or it stalls; its setters are the ImagePolicies of its own namespace that
match its `policySelector` (bot/core/automations.py `Automation.applies_to`), each valued by the tag the policy
selects from the registry now (bot/core/policy.py `select` over Flux's database order); then the Setters
strategy runs over the files under `update.path` (bot/core/setters.py `apply_setters`, which looks each marker up
by the name in its comment). Policies are read as the cluster would see them, after the config's substitutions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.core import flux_objects, yamldocs
from bot.core.automations import Automation
from bot.core.flux_objects import ObjectRef, labels_of, ref_of
from bot.core.imageref import ImageRef
from bot.core.policy import PolicySpec, database_order, select
from bot.core.setters import apply_setters, is_candidate_file
from bot.core.substitute import substitute


def _objects(files: Mapping[str, str], subs: Mapping[str, str]) -> list[tuple[str, Mapping[str, Any]]]:
    out = []
    for path, text in sorted(files.items()):
        if is_candidate_file(path) and flux_objects.may_hold_image_objects(text):
            for body in yamldocs.load_all(substitute(text, subs)):
                if isinstance(body, Mapping) and flux_objects.is_image_api(body.get("apiVersion")):
                    out.append((path, body))
    return out


def automation_run(
    files: Mapping[str, str],
    tags_of: Callable[[str], Sequence[str]],
    substitutions: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The repository after one run of every automation; `tags_of(image)` is the registry's tag list."""
    objects = _objects(files, substitutions or {})
    repos = {ref_of(b): b for _, b in objects if b.get("kind") == "ImageRepository"}
    latest: dict[str, tuple[ImageRef, Mapping[str, str]]] = {}
    for _, body in objects:
        if body.get("kind") != "ImagePolicy":
            continue
        ref = ref_of(body)
        spec = PolicySpec.from_manifest({**body, "apiVersion": flux_objects.GROUP + "/v1"})
        raw = body["spec"]["imageRepositoryRef"]
        repo = repos[ObjectRef(str(raw.get("namespace") or ref.namespace), str(raw["name"]))]
        image = str(repo["spec"]["image"])
        tag = select(spec, database_order(tags_of(image), repo["spec"].get("exclusionList")))
        latest[f"{ref.namespace}:{ref.name}"] = (ImageRef(image, tag, ""), labels_of(body))
    out = dict(files)
    for path, body in objects:
        if body.get("kind") != "ImageUpdateAutomation":
            continue
        a = Automation.from_manifest(path, body)
        if a.suspended or a.stalled:
            continue
        own = {key: ref for key, (ref, labels) in latest.items() if a.applies_to(ObjectRef(*key.split(":", 1)), labels)}
        result = apply_setters(out, own, automation_namespace=a.ref.namespace, update_path=a.update_path)
        out.update(result.files)
    return out


def with_newer_builds(images: Mapping[str, Sequence[str]], ts: int) -> Callable[[str], Sequence[str]]:
    """`tags_of` for a fleet's registry (repository → tags) where each build also has a copy stamped `ts`, so
    every policy has a newer build to select. Image names resolve as Flux resolves them (Docker Hub's `library/`)."""

    def tags_of(image: str) -> list[str]:
        first, _, rest = image.partition("/")
        repo = rest if rest and ("." in first or ":" in first) else image
        repo = repo if "/" in repo else f"library/{repo}"
        return [t for old in images[repo] for t in (old, f"{old.rsplit('-', 1)[0]}-{ts}")]

    return tags_of
