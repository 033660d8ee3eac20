"""Discovery: from the repository's YAML text to the promotion topology.

Input is plain text (path → content) so the same function serves a Git checkout, a test fixture and
a fuzzer. Output maps each (service, environment) to the ImagePolicy that chooses its tag, the
ImageRepository it reads, the setter marker sites that carry the tag in Git, and the
ImageUpdateAutomation that writes them. Problems are collected, never raised: one broken file must
not hide every other service.

Service = the policy's `imageRepositoryRef.name`. Environment = the policy's namespace when it is in
the pipeline, else the literal prefix of its filter pattern (`^staging-v...` → staging).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.core import setters, yamldocs
from bot.core.imageref import ImageRef
from bot.core.policy import PolicySpec
from bot.core.substitute import substitute
from bot.errors import BotError, NotFound

IMAGE_GROUP = "image.toolkit.fluxcd.io/"
_PREFIX = re.compile(r"\^?([a-z][a-z0-9-]*?)-v")


@dataclass(frozen=True)
class ObjectRef:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Automation:
    ref: ObjectRef
    file: str
    suspended: bool
    update_path: str
    match_labels: Mapping[str, str] | None  # None: no policySelector (all policies in the namespace)

    def covers(self, file: str) -> bool:
        base = self.update_path.strip("./").rstrip("/")
        return not base or file == base or file.startswith(base + "/")


@dataclass(frozen=True)
class Target:
    """One service in one environment."""

    service: str
    env: str
    policy: ObjectRef
    spec: PolicySpec
    image: str  # ImageRepository.spec.image, substituted: what Flux copies into latestRef.name
    repository: ObjectRef
    exclusion_list: tuple[str, ...] | None
    digest_reflection: str
    sites: tuple[setters.MarkerSite, ...]
    automation: Automation | None
    policy_file: str = ""

    @property
    def setter(self) -> str:
        return f"{self.policy.namespace}:{self.policy.name}"

    @property
    def held(self) -> bool:
        return self.automation is not None and self.automation.suspended

    def current_tags(self) -> set[str]:
        """Every tag the marker sites name now (one, unless the repo disagrees with itself)."""
        tags = set()
        for s in self.sites:
            if s.suffix == "tag":
                tags.add(s.value)
            elif s.suffix == "":
                tags.add(ImageRef.parse(s.value).tag)
        return {t for t in tags if t}

    def current_tag(self) -> str | None:
        tags = self.current_tags()
        return next(iter(tags)) if len(tags) == 1 else None


@dataclass(frozen=True)
class Topology:
    targets: Mapping[tuple[str, str], Target]
    pipeline: tuple[str, ...]
    automations: tuple[Automation, ...] = ()
    problems: tuple[str, ...] = field(default=())

    def services(self) -> list[str]:
        return sorted({s for s, _ in self.targets})

    def envs_of(self, service: str) -> list[str]:
        return [e for e in self.pipeline if (service, e) in self.targets]

    def in_env(self, env: str) -> list[Target]:
        return [t for (s, e), t in sorted(self.targets.items()) if e == env]

    def target(self, service: str, env: str) -> Target:
        t = self.targets.get((service, env))
        if t is None:
            if service not in self.services():
                known = ", ".join(self.services()) or "none"
                raise NotFound(f"There is no service {service!r} in the repository (services: {known}).")
            raise NotFound(f"{service} has no ImagePolicy for {env!r} (it has: {', '.join(self.envs_of(service))}).")
        return t


@dataclass
class _Doc:
    file: str
    body: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def ref(self) -> ObjectRef:
        meta = self.body.get("metadata") or {}
        meta = meta if isinstance(meta, Mapping) else {}
        return ObjectRef(str(meta.get("namespace") or "default"), str(meta.get("name") or ""))

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, Mapping) else {}


def _documents(files: Mapping[str, str], substitutions: Mapping[str, str], problems: list[str]) -> list[_Doc]:
    docs: list[_Doc] = []
    for file in sorted(files):
        text = files[file]
        if "image.toolkit.fluxcd.io" not in text:  # cheap screen: most manifests are not Flux image objects
            continue
        try:
            loaded = _image_objects(substitute(text, substitutions))
        except (yaml.YAMLError, RecursionError, ValueError) as err:
            mark = getattr(err, "problem_mark", None)
            problems.append(f"{file}: not valid YAML" + (f" (line {mark.line + 1})" if mark else ""))
            continue
        docs.extend(_Doc(file, body) for body in loaded)
    return docs


# Parsing dominates discovery, which runs per command and per push re-plan over mostly unchanged files.
# Memoised on the text; the bodies are shared between calls, so nothing here may mutate them.
@functools.lru_cache(maxsize=4096)
def _image_objects(text: str) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        body
        for body in yamldocs.load_all(text)
        if isinstance(body, Mapping) and str(body.get("apiVersion", "")).startswith(IMAGE_GROUP)
    )


def _env_of(policy_ns: str, spec: PolicySpec, pipeline: Sequence[str]) -> str | None:
    if policy_ns in pipeline:
        return policy_ns
    m = _PREFIX.match(spec.filter_pattern or "")
    if m and m.group(1) in pipeline:
        return m.group(1)
    return None


def _automation(doc: _Doc) -> Automation:
    spec = doc.spec
    update = spec.get("update") if isinstance(spec.get("update"), Mapping) else {}
    selector = spec.get("policySelector")
    labels = None
    if isinstance(selector, Mapping):
        ml = selector.get("matchLabels") or {}
        labels = {str(k): str(v) for k, v in ml.items()} if isinstance(ml, Mapping) else {}
    return Automation(
        ref=doc.ref,
        file=doc.file,
        suspended=spec.get("suspend") is True,
        update_path=str((update or {}).get("path") or "."),
        match_labels=labels,
    )


def _labels(doc: _Doc) -> Mapping[str, str]:
    meta = doc.body.get("metadata") or {}
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}


def discover(
    files: Mapping[str, str],
    *,
    pipeline: Sequence[str],
    substitutions: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> Topology:
    """Build the topology. `overrides` maps "namespace/policy" → {"service": ..., "env": ...}."""
    problems: list[str] = []
    subs = substitutions or {}
    docs = _documents(files, subs, problems)
    repos = {d.ref: d for d in docs if d.kind == "ImageRepository"}
    automations = [_automation(d) for d in docs if d.kind == "ImageUpdateAutomation"]
    sites_by_setter: dict[str, list[setters.MarkerSite]] = {}
    for file in sorted(files):
        if setters.is_candidate_file(file):
            for site in setters.find_markers(file, files[file]):
                sites_by_setter.setdefault(site.policy, []).append(site)

    targets: dict[tuple[str, str], Target] = {}
    for doc in (d for d in docs if d.kind == "ImagePolicy"):
        try:
            spec = PolicySpec.from_manifest(doc.body)
        except BotError as err:
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: {err.message}")
            continue
        repo_ref_raw = doc.spec.get("imageRepositoryRef") or {}
        if not isinstance(repo_ref_raw, Mapping) or not repo_ref_raw.get("name"):
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: spec.imageRepositoryRef.name is missing")
            continue
        repo_ref = ObjectRef(str(repo_ref_raw.get("namespace") or doc.ref.namespace), str(repo_ref_raw["name"]))
        override = (overrides or {}).get(str(doc.ref), {})
        service = override.get("service", repo_ref.name)
        env = override.get("env") or _env_of(doc.ref.namespace, spec, pipeline)
        if env is None:
            problems.append(
                f"{doc.file}: ImagePolicy {doc.ref}: cannot tell its environment (namespace and filter prefix "
                f"are not in the pipeline {list(pipeline)}); set an override in the config"
            )
            continue
        repo = repos.get(repo_ref)
        if repo is None:
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: ImageRepository {repo_ref} not found")
            continue
        excl = repo.spec.get("exclusionList")
        setter = f"{doc.ref.namespace}:{doc.ref.name}"
        sites = tuple(sites_by_setter.get(setter, ()))
        writer = _writer(automations, doc, sites)
        if (service, env) in targets:
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: a second policy for {service} in {env}; ignored")
            continue
        targets[(service, env)] = Target(
            service=service,
            env=env,
            policy=doc.ref,
            spec=spec,
            image=str(repo.spec.get("image", "")),
            repository=repo_ref,
            exclusion_list=tuple(str(x) for x in excl) if isinstance(excl, list) else None,
            digest_reflection=str(doc.spec.get("digestReflectionPolicy") or "Never"),
            sites=sites,
            automation=writer,
            policy_file=doc.file,
        )
        if not sites:
            problems.append(f"{service}/{env}: no setter marker names {setter}; promotions have nothing to edit")
        elif len(targets[(service, env)].current_tags()) > 1:
            problems.append(
                f"{service}/{env}: marker sites disagree on the tag: {sorted(targets[(service, env)].current_tags())}"
            )
    return Topology(targets=targets, pipeline=tuple(pipeline), automations=tuple(automations), problems=tuple(problems))


def _writer(automations: Iterable[Automation], policy: _Doc, sites: Sequence[setters.MarkerSite]) -> Automation | None:
    """The ImageUpdateAutomation that writes this policy's markers: same namespace, selector matches, path covers."""
    labels = _labels(policy)
    for a in automations:
        if a.ref.namespace != policy.ref.namespace:
            continue
        if a.match_labels is not None and any(labels.get(k) != v for k, v in a.match_labels.items()):
            continue
        if all(a.covers(s.file) for s in sites):
            return a
    return None
