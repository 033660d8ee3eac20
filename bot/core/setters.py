"""Flux's Setters update strategy: find `# {"$imagepolicy": ...}` markers and write policy values into them.

Ported from image-automation-controller internal/update (setters.go, filter.go, filereader.go) and kyaml
fieldmeta. What matters, and what a naive port gets wrong:
  - A marker is the line comment of a scalar VALUE at any depth (never a key). All leading `#` are stripped
    and the rest must be a JSON object of string values with a non-empty "$imagepolicy" (trailing text → no).
  - Only files named *.yaml / *.yml or exactly `Kustomization` whose raw text holds `"$imagepolicy"` (with
    the quotes) are read; a file Flux cannot parse is skipped silently.
  - Setters are `ns:name` (name:tag[@digest]), `ns:name:tag`, `ns:name:name`, `ns:name:digest` ("" when
    the policy reflects no digest, which blanks the field), only for policies in the automation's namespace.
  - A change is recorded only when a value changes, and only files with a change are written. In a written
    file every marked field is set again, so kyaml's quoting applies to unchanged ones too.
  - We replace scalar text in place; Flux re-emits the whole file, which is byte-identical for files already
    in kyaml's canonical form (all of Flux's fixtures are).
  - A held marker (bot/core/holds.py) names `HELD:<setter>`, a setter no automation can know, so `rewrite`
    (Flux's lookup by the name in the comment) leaves it alone; the bot reads it as its setter, held.
"""

from __future__ import annotations

import functools
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core import yamltext
from bot.core.imageref import ImageRef
from bot.core.yamlscalar import flux_style, render
from bot.core.yamltext import ObjectId, Scalar
from bot.errors import NotFound, PolicyError, PushConflict

__all__ = [
    "Change",
    "MarkerSite",
    "ObjectId",
    "SetterResult",
    "apply_setters",
    "find_markers",
    "in_update_path",
    "is_candidate_file",
    "parse_marker",
    "rewrite",
    "rewrite_sites",
    "setter_values",
    "validate_update_strategy",
    "write_sites",
]

TOKEN = '"$imagepolicy"'  # noqa: S105  (the file screen, not a secret)
SUFFIXES = ("tag", "name", "digest")
# Setter names are `<namespace>:<policy>[:suffix]` and a namespace is a lowercase RFC 1123 label, so a name
# starting with `HELD:` can never be a setter of any automation (see bot/core/holds.py for why this form).
HELD_PREFIX = "HELD:"


@dataclass(frozen=True)
class MarkerSite:
    """One marked field: where it is, what it says and which setter names it."""

    file: str
    line: int  # 1-based
    object: ObjectId
    setter: str  # the full marker value, e.g. "flux-system:backend-production:tag"
    policy: str  # "flux-system:backend-production"
    suffix: str  # "" | "tag" | "name" | "digest"
    value: str  # the field's current value, unquoted
    path: str  # e.g. "spec.template.spec.containers[0].image" or "images[0].newTag"
    held: bool = False  # the comment names HELD:<setter>: no automation writes it

    @property
    def marker(self) -> str:
        """The name in the comment, which is what Flux looks the setter up by."""
        return HELD_PREFIX + self.setter if self.held else self.setter


def bare_setter(name: str) -> str:
    """The setter a (possibly held) marker name stands for."""
    return name.removeprefix(HELD_PREFIX)


@dataclass(frozen=True)
class Change:
    file: str
    object: ObjectId
    old: str
    new: str
    setter: str


@dataclass(frozen=True)
class SetterResult:
    files: dict[str, str]  # only the files that changed → their new text
    changes: list[Change]  # file order (as Flux walks the tree), then document order


def is_candidate_file(path: str) -> bool:
    """Flux's file screen by name: Go filepath.Ext is `.yaml`/`.yml` (case-sensitive), or the base name is
    exactly `Kustomization`."""
    base = path.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base == "Kustomization" or (dot >= 0 and base[dot:] in (".yaml", ".yml"))


def in_update_path(path: str, update_path: str) -> bool:
    """Whether Flux scans `path` (repo-relative) for an automation with spec.update.path `update_path`.

    The update path is securejoin'ed under the repository root, so `..` cannot leave it and "" means the root.
    """
    root = posixpath.normpath("/" + update_path).lstrip("/")
    return root in ("", path) or path.startswith(root + "/")


def parse_marker(comment: str) -> str | None:
    """The setter a line comment names, as kyaml fieldmeta reads it; None when the comment is no marker."""
    try:
        data = json.loads(comment.lstrip("#"))
    except (ValueError, RecursionError):
        return None
    # Go's json.Unmarshal into map[string]string: a null value is allowed (it reads as ""), others are not.
    if not isinstance(data, dict) or not all(v is None or isinstance(v, str) for v in data.values()):
        return None
    name = data.get("$imagepolicy")
    return name or None


def _split_setter(setter: str) -> tuple[str, str] | None:
    parts = setter.split(":")
    if len(parts) == 2 and all(parts):
        return setter, ""
    if len(parts) == 3 and parts[0] and parts[1] and parts[2] in SUFFIXES:
        return f"{parts[0]}:{parts[1]}", parts[2]
    return None


# Discovery runs on every command and on every re-plan of a push, over files that rarely change between
# two runs; the answer depends on (file, text) alone and is immutable, so it is memoised.
@functools.lru_cache(maxsize=8192)
def _marked(file: str, text: str) -> tuple[tuple[MarkerSite, Scalar], ...]:
    if not is_candidate_file(file) or TOKEN not in text:
        return ()
    scalars = yamltext.value_scalars(text, commented_only=True)
    out: list[tuple[MarkerSite, Scalar]] = []
    for s in scalars or ():
        name = parse_marker(s.comment)
        setter = bare_setter(name) if name else None
        split = _split_setter(setter) if setter else None
        if name and setter and split:
            held = name != setter
            out.append((MarkerSite(file, s.line, s.object, setter, split[0], split[1], s.value, s.path, held), s))
    return tuple(out)


def find_markers(file: str, text: str) -> list[MarkerSite]:
    """Every marker Flux would honour in this file, in document order. Never raises; [] if Flux skips it.

    A marker is reported whatever policy it names; `rewrite` decides which ones have values.
    """
    return [site for site, _ in _marked(file, text)]


def setter_values(policies: Mapping[str, ImageRef]) -> dict[str, str]:
    """The value each setter writes, for policies keyed "ns:name"."""
    out: dict[str, str] = {}
    for key, ref in policies.items():
        out[key] = str(ref)
        out[f"{key}:tag"] = ref.tag
        out[f"{key}:name"] = ref.name
        out[f"{key}:digest"] = ref.digest
    return out


def _edit(scalar: Scalar, value: str) -> tuple[int, int, str]:
    return scalar.start, scalar.end, render(value, flux_style(value, scalar.style))


def rewrite(file: str, text: str, values: Mapping[str, str]) -> tuple[str, list[Change]]:
    """Apply setter `values` (setter name → value) to one file, as Flux would.

    Returns the text unchanged and no changes when no marked value changes.
    """
    edits: list[tuple[int, int, str]] = []
    changes: list[Change] = []
    for site, scalar in _marked(file, text):
        new = values.get(site.marker)  # Flux's lookup: a held marker names no setter it knows
        if new is None:
            continue
        if new != site.value:
            changes.append(Change(file, site.object, site.value, new, site.setter))
        edits.append(_edit(scalar, new))
    if not changes:
        return text, []
    return yamltext.replace_spans(text, edits), changes


def _rename(text: str, scalar: Scalar, old: str, new: str) -> tuple[int, int, str]:
    """The edit that makes the marker comment after `scalar` name `new` instead of `old` (nothing else moves)."""
    at = text.find(scalar.comment, scalar.end)
    key = scalar.comment.find('"$imagepolicy"')
    quoted = json.dumps(old)
    inner = scalar.comment.find(quoted, key + len('"$imagepolicy"')) if at >= 0 and key >= 0 else -1
    if inner < 0:  # an escaped spelling of the name: refuse rather than guess where it is
        raise PolicyError(f"The marker on line {scalar.line} spells {old!r} in a way the bot cannot rewrite.")
    return at + inner, at + inner + len(quoted), json.dumps(new)


def write_sites(
    file: str, text: str, values: Mapping[str, str], *, policy: str, hold: bool | None = None
) -> tuple[str, list[Change]]:
    """The bot's own write of one policy's markers: `values` by setter name, held or not.

    Unlike `rewrite` (Flux's lookup), held markers are written too, and `hold` True/False holds or lifts
    every marker of `policy` in the file (None leaves the form as it is).
    """
    edits: list[tuple[int, int, str]] = []
    renames: list[tuple[int, int, str]] = []
    changes: list[Change] = []
    for site, scalar in _marked(file, text):
        if site.policy != policy:
            continue
        new = values.get(site.setter)
        if new is not None:
            if new != site.value:
                changes.append(Change(file, site.object, site.value, new, site.setter))
            edits.append(_edit(scalar, new))  # as `rewrite`: kyaml's quoting applies to every set field
        if hold is not None and hold != site.held:
            want = HELD_PREFIX + site.setter if hold else site.setter
            renames.append(_rename(text, scalar, site.marker, want))
    if not changes and not renames:
        return text, []
    edits += renames
    return yamltext.replace_spans(text, edits), changes


SiteKey = MarkerSite | tuple[int, str]


def rewrite_sites(file: str, text: str, targets: Mapping[SiteKey, str]) -> tuple[str, list[Change]]:
    """Write values into specific marker sites, whatever policy they name (a rollback restores old values).

    A site is given as a MarkerSite or as (line, path). A MarkerSite must still hold the value it had when
    it was found, otherwise PushConflict says what is there now; a site that is gone is NotFound. Only sites
    whose value changes are touched.
    """
    found = {(site.line, site.path): (site, scalar) for site, scalar in _marked(file, text)}
    edits: list[tuple[int, int, str]] = []
    changes: list[tuple[int, Change]] = []
    for key, new in targets.items():
        line, path = (key.line, key.path) if isinstance(key, MarkerSite) else key
        if (line, path) not in found:
            raise NotFound(
                f"{file} has no image marker at line {line} ({path}).",
                hint="The file changed since the plan was made; plan again.",
            )
        site, scalar = found[(line, path)]
        if isinstance(key, MarkerSite) and key.value != site.value:
            now = f"{file} line {line} ({path}) now holds {site.value!r}, not {key.value!r}."
            raise PushConflict(now, current=site.value)
        if new != site.value:
            edits.append(_edit(scalar, new))
            changes.append((scalar.start, Change(file, site.object, site.value, new, site.setter)))
    return yamltext.replace_spans(text, edits), [c for _, c in sorted(changes, key=lambda p: p[0])]


def _walk_order(path: str) -> list[str]:
    # filepath.Walk visits a directory's entries by name, so "a/b.yaml" comes before "a.yaml".
    return path.split("/")


def apply_setters(
    files: Mapping[str, str],
    policies: Mapping[str, ImageRef],
    *,
    automation_namespace: str,
    update_path: str = "",
) -> SetterResult:
    """One Flux Setters run over repo files (path → text).

    Only policies in `automation_namespace` are setters, and only files under `update_path` are scanned.
    """
    own = {k: ref for k, ref in policies.items() if k.split(":", 1)[0] == automation_namespace}
    values = setter_values(own)
    out: dict[str, str] = {}
    changes: list[Change] = []
    for file in sorted(files, key=_walk_order):
        if not in_update_path(file, update_path):
            continue
        text, ch = rewrite(file, files[file], values)
        if ch:
            out[file] = text
            changes.extend(ch)
    return SetterResult(out, changes)


def validate_update_strategy(update: Mapping[str, object] | None) -> str:
    """spec.update of an ImageUpdateAutomation → the update path; Flux's Stalled message when it cannot run.

    The CRD defaults an absent `update` to {strategy: Setters}; an explicit null is an error in Flux.
    """
    if update is None:
        raise PolicyError("no update strategy", reason="Stalled")
    strategy = update.get("strategy") or "Setters"
    if strategy != "Setters":
        raise PolicyError(f"unsupported update strategy: {strategy}", reason="Stalled")
    return str(update.get("path") or "")
