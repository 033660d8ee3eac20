"""Which tag Flux's ImagePolicy picks, computed the way image-reflector-controller computes it.

The pipeline (imagerepository_controller.go `scan`, imagepolicy_controller.go `applyPolicy`):
  1. database_order: the registry's tags minus the exclusion list, sorted byte-wise descending.
  2. select: no tags -> DependencyNotReady; with filterTags, each tag is searched (unanchored) and the
     key is the expanded `extract` template (or the tag); keys go into a map, a later tag overwriting
     an earlier one with the same key; the policer runs on the keys and the winner is mapped back to
     its ORIGINAL tag. Without filterTags the policer sees the database order itself.
Go iterates that map in random order, so Flux's answer is only defined when the keys hold no ties;
here the keys keep their first-insertion order (a Python dict), which is deterministic and is one of
the orders Go could have produced.

Errors are PolicyError with Flux's message and condition reason: InvalidPolicy (Stalled) for a bad
policy or filter regex, DependencyNotReady for an empty database, Failure for the policer's runtime
errors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core import policer
from bot.core.flux_objects import GROUP, SERVED_VERSIONS
from bot.core.goregex import GoRegexError, compile_go, expand, reference_groups
from bot.core.imageref import ImageRef
from bot.core.semver import Constraints, InvalidConstraint
from bot.errors import InvalidInput, PolicyError

INVALID_POLICY = "InvalidPolicy"
DEPENDENCY_NOT_READY = "DependencyNotReady"
KINDS = ("semver", "alphabetical", "numerical")
# Every served version has the same spec shape (IRC api/v1beta1, api/v1beta2, api/v1); only status differs.
API_VERSIONS = tuple(f"{GROUP}/{v}" for v in reversed(SERVED_VERSIONS))
DEFAULT_EXCLUSION_LIST = ("^.*\\.sig$",)
MAX_EXCLUSIONS = 25  # the CRD's maxItems


def _invalid(message: str) -> PolicyError:
    return PolicyError(f"invalid policy: {message}", reason=INVALID_POLICY)


@dataclass(frozen=True)
class PolicySpec:
    """spec.policy and spec.filterTags of an ImagePolicy; the constructor validates as Flux's factory does.

    `order` is normalised like Flux's (upper-cased, "" -> "ASC"). `filter_pattern=None` means no
    filterTags; `filter_pattern=""` is a filter that keeps every tag.
    """

    kind: str
    range: str = ""
    order: str = ""
    filter_pattern: str | None = None
    extract: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise _invalid("given ImagePolicyChoice object is invalid")
        if self.kind == "semver":
            if self.order:
                raise InvalidInput("The semver policy takes a range, not an order.")
            try:
                Constraints.parse(self.range)
            except InvalidConstraint as err:
                raise _invalid(err.message) from err
        else:
            if self.range:
                raise InvalidInput(f"The {self.kind} policy takes an order, not a range.")
            order = self.order.upper() or "ASC"
            if order not in ("ASC", "DESC"):
                raise _invalid(f"invalid order argument provided: '{order}', must be one of: ASC, DESC")
            object.__setattr__(self, "order", order)
        if self.filter_pattern is None and self.extract:
            raise InvalidInput("filterTags.extract needs filterTags (give a pattern, even an empty one).")

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any]) -> PolicySpec:
        """Read an ImagePolicy object (image.toolkit.fluxcd.io/v1, v1beta2 or v1beta1: one spec shape)."""
        api, kind = doc.get("apiVersion"), doc.get("kind")
        if kind != "ImagePolicy" or api not in API_VERSIONS:
            raise InvalidInput(
                f"Not an ImagePolicy: apiVersion {api!r}, kind {kind!r}.",
                hint=f"Expected kind ImagePolicy with apiVersion {', '.join(API_VERSIONS)}.",
            )
        spec = _mapping(doc.get("spec"), "spec") or {}
        choice = _mapping(spec.get("policy"), "spec.policy") or {}
        semver, alpha, numeric = (_mapping(choice.get(k), f"spec.policy.{k}") for k in KINDS)
        filter_tags = _mapping(spec.get("filterTags"), "spec.filterTags")
        pattern = None if filter_tags is None else _string(filter_tags, "pattern", "spec.filterTags")
        extract = "" if filter_tags is None else _string(filter_tags, "extract", "spec.filterTags")
        # Flux's factory tries semver, then alphabetical, then numerical.
        if semver is not None:
            rng = _string(semver, "range", "spec.policy.semver")
            return cls("semver", range=rng, filter_pattern=pattern, extract=extract)
        for name, params in (("alphabetical", alpha), ("numerical", numeric)):
            if params is not None:
                order = _string(params, "order", f"spec.policy.{name}")
                return cls(name, order=order, filter_pattern=pattern, extract=extract)
        raise _invalid("given ImagePolicyChoice object is invalid")

    def compile(self) -> Selector:
        return Selector.compile(self)


def _mapping(value: object, path: str) -> Mapping[str, Any] | None:
    """A YAML mapping, or None for an absent or null field (Go's nil pointer)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{path} must be a mapping, not {type(value).__name__}.")
    return value


def _string(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{path}.{key} must be a string, not {type(value).__name__}.")
    return value


@dataclass(frozen=True)
class TagFilter:
    """Flux's RegexFilter: keep tags the pattern finds anything in; key them by the expanded `extract`."""

    pattern: str
    extract: str = ""
    _search: Callable[[str], re.Match[str] | None] = field(init=False, repr=False, compare=False)
    _groups: tuple[int, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            rx = compile_go(self.pattern)
        except GoRegexError as err:
            raise PolicyError(
                f"failed to filter tags: invalid regular expression pattern '{self.pattern}': {err.message}",
                reason=INVALID_POLICY,
            ) from err
        object.__setattr__(self, "_search", rx.search)
        object.__setattr__(self, "_groups", reference_groups(self.extract, rx) if self.extract else None)

    def apply(self, tags: Iterable[str]) -> dict[str, str]:
        """{key: original tag}, later tags overwriting earlier ones with the same key."""
        search = self._search
        found: dict[str, str] = {}
        if not self.extract:
            for tag in tags:
                if search(tag) is not None:
                    found[tag] = tag
        elif self._groups is not None and len(self._groups) == 1:
            # The usual `$ts`: one group lookup instead of template expansion; unmatched gives "".
            group = self._groups[0]
            for tag in tags:
                m = search(tag)
                if m is not None:
                    found[m[group] or ""] = tag
        else:
            template = self.extract
            for tag in tags:
                m = search(tag)
                if m is not None:
                    found[expand(template, m)] = tag
        return found


class Selector:
    """A PolicySpec compiled once (regex, template, semver range) for repeated selection."""

    __slots__ = ("_constraints", "_descending", "filter", "spec")

    def __init__(self, spec: PolicySpec) -> None:
        self.spec = spec
        pattern = spec.filter_pattern
        self.filter = None if pattern is None else TagFilter(pattern, spec.extract)
        self._constraints = Constraints.parse(spec.range) if spec.kind == "semver" else None
        self._descending = spec.order == "DESC"

    @classmethod
    def compile(cls, spec: PolicySpec) -> Selector:
        return _compiled(spec)

    def latest(self, versions: Sequence[str]) -> str:
        """The policer alone (Flux's Policer.Latest) on `versions`, in the order given."""
        if self._constraints is not None:
            return policer.latest_semver(versions, self._constraints)
        if self.spec.kind == "numerical":
            return policer.latest_numerical(versions, descending=self._descending)
        return policer.latest_alphabetical(versions, descending=self._descending)

    def candidates(self, tags: Sequence[str]) -> dict[str, str]:
        """What the policer will see, as {key: original tag}; every tag is its own key without filterTags."""
        return {t: t for t in tags} if self.filter is None else self.filter.apply(tags)

    def select(self, tags: Sequence[str]) -> str:
        """Flux's applyPolicy on tags in database order (see database_order); returns the original tag."""
        if not tags:
            raise PolicyError("no tags in database", reason=DEPENDENCY_NOT_READY)
        if self.filter is None:
            return self.latest(tags)
        found = self.filter.apply(tags)
        return found[self.latest(list(found))]


@functools.lru_cache(maxsize=256)
def _compiled(spec: PolicySpec) -> Selector:
    return Selector(spec)


def select(spec: PolicySpec, tags: Sequence[str]) -> str:
    """The tag Flux resolves for `spec` given the repository's tags in database order."""
    if not tags:
        # Flux reads the database before it compiles filterTags, so an empty one wins over a bad regex.
        raise PolicyError("no tags in database", reason=DEPENDENCY_NOT_READY)
    return Selector.compile(spec).select(tags)


def database_order(tags: Iterable[str], exclusion_list: Sequence[str] | None = None) -> list[str]:
    """ImageRepository's stored tag list: tags matching no exclusion pattern, byte-wise descending.

    `None` means the field is absent and Flux's default (`^.*\\.sig$`) applies; a given list replaces
    the default rather than extending it, so `[]` excludes nothing.
    """
    patterns = DEFAULT_EXCLUSION_LIST if exclusion_list is None else tuple(exclusion_list)
    if len(patterns) > MAX_EXCLUSIONS:
        raise InvalidInput(f"spec.exclusionList has {len(patterns)} entries; Flux allows at most {MAX_EXCLUSIONS}.")
    searches = []
    for pattern in patterns:
        try:
            searches.append(compile_go(pattern).search)
        except GoRegexError as err:
            raise PolicyError(f"failed to compile regex {pattern}: {err.message}") from err
    if len(searches) == 1:
        search = searches[0]
        kept = [t for t in tags if search(t) is None]
    else:
        kept = [t for t in tags if not any(s(t) for s in searches)]
    kept.sort(reverse=True)  # stable, and str order is UTF-8 byte order, as Go's strings.Compare
    return kept


def ready_message(latest: ImageRef, previous: ImageRef | None = None) -> str:
    """Flux's composeImagePolicyReadyMessage (no quotes around the name, whatever the docs show)."""
    message = f"Latest image tag for {latest.name} resolved to {latest.tag}"
    if latest.digest:
        message += f" with digest {latest.digest}"
    if previous is not None and previous != latest:
        message += f" (previously {previous})"
    return message
