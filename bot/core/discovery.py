"""Discovery: from the repository's YAML text to the promotion topology, by Flux's own rules.

Input is plain text (path → content) so the same function serves a Git checkout, a test fixture and a fuzzer.
Output maps each (service, environment) to the ImagePolicy that chooses its tag, the ImageRepository it reads,
the marker sites an automation writes (bot/core/automations.py: the automation's update.path, namespace and
policySelector) and that automation. Markers no automation writes are kept apart as `stale`: named in the
problems, never read as "now", never edited. Problems are collected, never raised: one broken file must not
hide every other service.

Every ImagePolicy is its own target, as in Flux, several per image and namespace. Its environment comes from
bot/core/placement.py. Its service is the ImageRepository's name when it is the only policy on that image in
that environment, else the policy's own name without its environment affix (`app-1-28`), unless the config
names it (`policies."<ns>/<name>".service`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.core import flux_objects, setters, yamldocs
from bot.core.automations import Automation
from bot.core.flux_objects import ObjectRef, labels_of, ref_of
from bot.core.holds import HoldKind, kind_of
from bot.core.imageref import ImageRef
from bot.core.placement import Placement, env_of_path, policy_envs, service_base
from bot.core.policy import PolicySpec
from bot.core.substitute import substitute
from bot.errors import BotError, NotFound

__all__ = ["Automation", "ObjectRef", "Placement", "Target", "Topology", "discover"]


@dataclass(frozen=True)
class Target:
    """One service in one environment: one ImagePolicy and the markers of it that land there."""

    service: str
    env: str
    policy: ObjectRef
    spec: PolicySpec
    image: str  # ImageRepository.spec.image, substituted: what Flux copies into latestRef.name
    repository: ObjectRef
    exclusion_list: tuple[str, ...] | None
    digest_reflection: str
    sites: tuple[setters.MarkerSite, ...]  # the markers an automation writes (all of them when none exists)
    automation: Automation | None
    policy_file: str = ""
    stale: tuple[setters.MarkerSite, ...] = ()  # markers of this policy that no automation writes

    @property
    def setter(self) -> str:
        return f"{self.policy.namespace}:{self.policy.name}"

    @property
    def hold(self) -> HoldKind:
        return kind_of(self)

    @property
    def held(self) -> bool:
        return kind_of(self) is not HoldKind.NONE

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

    @functools.cached_property
    def ref(self) -> ObjectRef:
        return ref_of(self.body)

    @property
    def spec(self) -> Mapping[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, Mapping) else {}


# A `${var}` left after substitution: the config does not set it and it has no default.
_UNSET_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

def _documents(files: Mapping[str, str], substitutions: Mapping[str, str], problems: list[str]) -> list[_Doc]:
    docs: list[_Doc] = []
    for file in sorted(files):
        text = files[file]
        if not setters.is_candidate_file(file) or not flux_objects.may_hold_image_objects(text):
            continue  # the screen: most manifests, and every CRD bundle, are not Flux image objects
        try:
            loaded = _image_objects(substitute(text, substitutions))
        except (yaml.YAMLError, RecursionError, ValueError) as err:
            mark = getattr(err, "problem_mark", None)
            problems.append(f"{file}: not valid YAML" + (f" (line {mark.line + 1})" if mark else ""))
            continue
        for body in loaded:
            doc = _Doc(file, body)
            if doc.kind in flux_objects.KINDS:
                why = flux_objects.api_version_problem(str(body.get("apiVersion")), doc.kind)
                if why:
                    problems.append(f"{file}: {doc.kind} {doc.ref}: {why}")
                docs.append(doc)
    return docs


# Parsing dominates discovery, which runs per command and per push re-plan over mostly unchanged files.
# Memoised on the text; the bodies are shared between calls, so nothing here may mutate them.
@functools.lru_cache(maxsize=4096)
def _image_objects(text: str) -> tuple[Mapping[str, Any], ...]:
    return tuple(
        body
        for body in yamldocs.load_all(text)
        if isinstance(body, Mapping) and flux_objects.is_image_api(body.get("apiVersion"))
    )


@dataclass
class _Placed:
    """A policy placed in one environment, before services are named."""

    doc: _Doc
    spec: PolicySpec
    repo: _Doc
    env: str
    sites: list[setters.MarkerSite]
    stale: list[setters.MarkerSite]
    automation: Automation | None


def _access_problem(policy: _Doc, repo: _Doc) -> str:
    """Flux refuses a cross-namespace imageRepositoryRef unless the repository's spec.accessFrom lets the
    policy's namespace in (IRC imagepolicy_controller.go `hasAccessToRepository`)."""
    if repo.ref.namespace == policy.ref.namespace:
        return ""
    access = repo.spec.get("accessFrom")
    selectors = access.get("namespaceSelectors") if isinstance(access, Mapping) else None
    if not isinstance(selectors, list):
        return f"ImageRepository {repo.ref} has no spec.accessFrom, so Flux refuses this cross-namespace reference"
    for sel in selectors:
        labels = sel.get("matchLabels") if isinstance(sel, Mapping) else None
        name = labels.get("kubernetes.io/metadata.name") if isinstance(labels, Mapping) else None
        if name is None or str(name) == policy.ref.namespace:
            return ""  # other namespace labels live in the cluster; assume they match
    return f"ImageRepository {repo.ref} spec.accessFrom does not admit namespace {policy.ref.namespace}"


def _writer(automations: Sequence[Automation], doc: _Doc, file: str) -> Automation | None:
    labels = labels_of(doc.body)
    return next((a for a in automations if a.writes(doc.ref, labels, file)), None)


def _place(
    doc: _Doc,
    *,
    spec: PolicySpec,
    repo: _Doc,
    sites: Sequence[setters.MarkerSite],
    automations: Sequence[Automation],
    pipeline: Sequence[str],
    placement: Placement,
    problems: list[str],
    copies: int = 1,
) -> list[_Placed]:
    """The policy's targets. `copies` > 1: the same ns/name is defined once per cluster directory (one cluster
    per environment, the same namespace in each), and this definition serves only its own directory's env."""
    labels = labels_of(doc.body)
    applying = [a for a in automations if a.applies_to(doc.ref, labels)]
    writers = {id(s): _writer(applying, doc, s.file) for s in sites}
    if applying:
        live = [s for s in sites if writers[id(s)] is not None]
        stale = [s for s in sites if writers[id(s)] is None]
    else:  # no automation in Git sets this policy: the bot is the only writer of its markers
        live, stale = list(sites), []
        if sites:
            problems.append(
                f"{doc.file}: ImagePolicy {doc.ref}: no ImageUpdateAutomation in namespace {doc.ref.namespace} "
                f"selects it, so Flux writes none of its {len(sites)} marker(s); the bot edits them itself"
            )
    envs, _how = policy_envs(doc.ref, spec.filter_pattern, pipeline, placement)
    own = env_of_path(doc.file, pipeline, placement) if copies > 1 else None
    if own is not None:
        groups: dict[str, tuple[list[setters.MarkerSite], list[setters.MarkerSite]]] = {
            own: (
                [s for s in live if env_of_path(s.file, pipeline, placement) == own],
                [s for s in stale if env_of_path(s.file, pipeline, placement) == own],
            )
        }
    elif len(envs) == 1:
        groups = {envs[0]: (live, stale)}
    else:
        allowed = envs or tuple(pipeline)
        groups = {}
        for kind, group in (("live", live), ("stale", stale)):
            for s in group:
                env = env_of_path(s.file, pipeline, placement)
                if env in allowed:
                    groups.setdefault(env, ([], []))[0 if kind == "live" else 1].append(s)
                elif kind == "live":
                    problems.append(
                        f"{s.file}:{s.line}: marker for {doc.ref} sits in no environment's directory "
                        f'({", ".join(allowed)}); set environments.<env>.paths or policies."{doc.ref}".env'
                    )
        if not groups and not live:
            problems.append(
                f"{doc.file}: ImagePolicy {doc.ref}: cannot tell its environment (its namespace and name name none "
                f"of {list(pipeline)} and no marker file sits under an environment's directory); set "
                f'policies."{doc.ref}".env or environments.<env>.paths in the config'
            )
    out = []
    for env, (env_live, env_stale) in groups.items():
        auto = writers[id(env_live[0])] if env_live else None
        out.append(_Placed(doc, spec, repo, env, env_live, env_stale, auto))
    return out


def _sites_by_policy(files: Mapping[str, str]) -> dict[str, list[setters.MarkerSite]]:
    by_policy: dict[str, list[setters.MarkerSite]] = {}
    for file in sorted(files):
        if setters.is_candidate_file(file):
            for site in setters.find_markers(file, files[file]):
                by_policy.setdefault(site.policy, []).append(site)
    return by_policy


def discover(
    files: Mapping[str, str],
    *,
    pipeline: Sequence[str],
    substitutions: Mapping[str, str] | None = None,
    placement: Placement | None = None,
) -> Topology:
    problems: list[str] = []
    placement = placement or Placement()
    docs = _documents(files, substitutions or {}, problems)
    repos = {d.ref: d for d in docs if d.kind == "ImageRepository"}
    automations = [Automation.from_manifest(d.file, d.body) for d in docs if d.kind == "ImageUpdateAutomation"]
    for a in automations:
        if a.stalled:
            problems.append(f"{a.file}: ImageUpdateAutomation {a.ref}: Flux stalls it ({a.stalled}); it writes nothing")
    by_policy = _sites_by_policy(files)
    placed: list[_Placed] = []
    defined: set[str] = set()
    policy_docs = [d for d in docs if d.kind == "ImagePolicy"]
    copies = Counter(d.ref for d in policy_docs)
    for doc in policy_docs:
        defined.add(f"{doc.ref.namespace}:{doc.ref.name}")
        try:
            spec = PolicySpec.from_manifest({**doc.body, "apiVersion": flux_objects.GROUP + "/v1"})
        except BotError as err:
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: {err.message}")
            continue
        repo_ref_raw = doc.spec.get("imageRepositoryRef") or {}
        if not isinstance(repo_ref_raw, Mapping) or not repo_ref_raw.get("name"):
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: spec.imageRepositoryRef.name is missing")
            continue
        repo_ref = ObjectRef(str(repo_ref_raw.get("namespace") or doc.ref.namespace), str(repo_ref_raw["name"]))
        repo = repos.get(repo_ref)
        if repo is None:
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: ImageRepository {repo_ref} not found")
            continue
        denied = _access_problem(doc, repo)
        if denied:
            problems.append(f"{doc.file}: ImagePolicy {doc.ref}: {denied}")
        unset = _UNSET_VAR.findall(str(repo.spec.get("image", "")))
        if unset:  # Flux's postBuild would fill it in; without the value the image cannot be named
            keys = ", ".join(f"substitutions.{v}" for v in sorted(set(unset)))
            problems.append(f"{repo.file}: ImageRepository {repo.ref}: spec.image uses {', '.join(sorted(set(unset)))}"
                            f" with no value: set {keys} in the config")  # fmt: skip
            continue
        sites = by_policy.get(f"{doc.ref.namespace}:{doc.ref.name}", [])
        placed += _place(
            doc,
            spec=spec,
            repo=repo,
            sites=sites,
            automations=automations,
            pipeline=pipeline,
            placement=placement,
            problems=problems,
            copies=copies[doc.ref],
        )
    for policy, sites in sorted(by_policy.items()):
        if policy not in defined:
            where = ", ".join(sorted({f"{s.file}:{s.line}" for s in sites}))
            problems.append(
                f"{where}: marker names {policy}, which no ImagePolicy in the repository defines; not automated"
                " (if the Flux objects live on another branch, name it in repo.objects_branch)"
            )
    targets = _name_services(placed, placement, problems)
    return Topology(targets=targets, pipeline=tuple(pipeline), automations=tuple(automations), problems=tuple(problems))


def _name_services(
    placed: Sequence[_Placed], placement: Placement, problems: list[str]
) -> dict[tuple[str, str], Target]:
    per_image: dict[tuple[ObjectRef, str], int] = {}
    for p in placed:
        per_image[(p.repo.ref, p.env)] = per_image.get((p.repo.ref, p.env), 0) + 1
    targets: dict[tuple[str, str], Target] = {}
    for p in placed:
        configured = placement.policies.get(str(p.doc.ref))
        if configured is not None and configured.service:
            service = configured.service
        elif per_image[(p.repo.ref, p.env)] == 1:
            service = p.repo.ref.name
        else:
            service = service_base(p.doc.ref.name, p.env)
        other = targets.get((service, p.env))
        if other is not None:
            problems.append(
                f"{p.doc.file}: ImagePolicy {p.doc.ref}: {other.policy} already is {service} in {p.env}; name one "
                f'of them with policies."{p.doc.ref}".service in the config'
            )
            continue
        excl = p.repo.spec.get("exclusionList")
        t = Target(
            service=service,
            env=p.env,
            policy=p.doc.ref,
            spec=p.spec,
            image=str(p.repo.spec.get("image", "")),
            repository=p.repo.ref,
            exclusion_list=tuple(str(x) for x in excl) if isinstance(excl, list) else None,
            digest_reflection=str(p.doc.spec.get("digestReflectionPolicy") or "Never"),
            sites=tuple(p.sites),
            automation=p.automation,
            policy_file=p.doc.file,
            stale=tuple(p.stale),
        )
        targets[(service, p.env)] = t
        where = f"{service}/{p.env}"
        if p.stale:
            copies = ", ".join(f"{s.file}:{s.line}" for s in p.stale)
            problems.append(
                f"{where}: not automated: {copies} name(s) {t.setter} outside every ImageUpdateAutomation's "
                "update.path; stale copies, never read or edited"
            )
        if not p.sites:
            problems.append(f"{where}: no automated marker names {t.setter}; promotions have nothing to edit")
        elif len(t.current_tags()) > 1:
            problems.append(f"{where}: marker sites disagree on the tag: {sorted(t.current_tags())}")
    return targets
