"""Holds: stop Flux from writing exactly one service's markers in one environment, on any automation layout.

A hold renames each of the target's markers from `<ns>:<policy>[:suffix]` to `HELD:<ns>:<policy>[:suffix]`
and touches nothing else: not the ImageUpdateAutomation (shared by other services and envs, LAYOUTS §4), not
the ImagePolicy (applied from the cluster, maybe by hand, maybe feeding several envs; older controllers ignore
policySelector). Why Flux then leaves the field alone, from its source (tests/conformance/test_holds_flux.py
runs it):
  - kyaml `fieldmeta.go` `Read` (kyaml/v0.21.1, l.53-98) decodes the comment into map[string]string and takes
    its "$imagepolicy" value as the setter name; IAC `internal/update/filter.go` (l.79-86) sets a field only
    when that name is one of the automation's setters. An unknown name is left unwritten: Flux's own executed
    fixture `otherns.yaml` (TestUpdateWithSetters) shows it.
  - IAC `internal/update/setters.go` names setters `<policy.Namespace>:<policy.Name>` plus `:tag`/`:name`/
    `:digest`, for policies of the automation's namespace only. A namespace is a lowercase RFC 1123 label, so
    no setter of any automation can start with `HELD:`.
Forms Flux still honours are not holds, and the bot never writes them: `##{…}` (kyaml strips every leading
`#`), extra JSON keys (the map decode keeps "$imagepolicy"), a `$ref` schema comment (the OpenAPI retry).

Holds written by earlier versions set `spec.suspend: true` on the automation (`SUSPENDED`): every target that
automation writes reads as held, because Flux writes none of them. Lifting one migrates: the automation is
resumed and each other target it writes whose policy would now move it gets a marker hold in the same commit,
so only the service asked for is released.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.core import setters, yamltext
from bot.errors import NotFound

if TYPE_CHECKING:
    from bot.core.discovery import Target, Topology

__all__ = ["HoldKind", "kind_of", "lift_suspend", "push_branch_problem", "suspended_siblings", "write_markers"]


class HoldKind(enum.Enum):
    NONE = "none"
    MARKER = "marker"  # HELD: markers (this version)
    SUSPENDED = "suspended"  # spec.suspend: true on the automation (earlier versions, or by hand)


def kind_of(target: Target) -> HoldKind:
    if any(s.held for s in target.sites):
        return HoldKind.MARKER
    if target.automation is not None and target.automation.suspended:
        return HoldKind.SUSPENDED
    return HoldKind.NONE


def write_markers(
    files: Mapping[str, str], edited: dict[str, str], target: Target, values: Mapping[str, str], hold: bool | None
) -> list[setters.Change]:
    """Write `values` into `target`'s markers (held or not) into `edited`, holding (True), lifting (False) or
    keeping (None) the hold. Stale copies outside every automation's scope are never touched."""
    changes: list[setters.Change] = []
    for file in sorted({s.file for s in target.sites}):
        text = edited.get(file, files.get(file))
        if text is None:
            raise NotFound(f"{file} is named by a marker but is not in the repository any more.")
        new, ch = setters.write_sites(file, text, values, policy=target.setter, hold=hold)
        if new != text:
            edited[file] = new
        changes.extend(ch)
    return changes


def suspended_siblings(topology: Topology, target: Target) -> list[Target]:
    """The other targets a suspended automation writes (in every env): lifting its suspend releases them."""
    a = target.automation
    if a is None or not a.suspended:
        return []
    return [t for t in topology.targets.values() if t is not target and t.automation == a]


def lift_suspend(
    files: Mapping[str, str],
    edited: dict[str, str],
    topology: Topology,
    target: Target,
    latest: Mapping[tuple[str, str], str | None],
) -> list[str]:
    """Resume `target`'s suspended automation; marker-hold each sibling Flux would otherwise move (its policy's
    latest tag differs from Git's, or is not known). Returns "service/env" of the siblings kept held."""
    a = target.automation
    if a is None:
        return []
    text = edited.get(a.file, files.get(a.file))
    if text is None:
        raise NotFound(f"{a.file} (ImageUpdateAutomation {a.ref}) is not in the repository any more.")
    edited[a.file] = yamltext.set_field(
        text, kind="ImageUpdateAutomation", name=a.ref.name, namespace=a.ref.namespace,
        path=("spec", "suspend"), value="false",
    )  # fmt: skip
    kept = []
    for t in sorted(suspended_siblings(topology, target), key=lambda t: (t.service, t.env)):
        now = latest.get((t.service, t.env))
        if now is None or now != t.current_tag():
            write_markers(files, edited, t, {}, hold=True)
            kept.append(f"{t.service}/{t.env}")
    return kept


def push_branch_problem(target: Target) -> str:
    """Why a hold committed to the checkout branch would not stop Flux (LAYOUTS §5), or ""."""
    a = target.automation
    if a is None or not a.pushes_elsewhere:
        return ""
    return (
        f"ImageUpdateAutomation {a.ref} pushes to branch {a.push_branch!r}, not to the branch it checks out, and "
        f"builds on that branch while it exists: a hold committed to the checkout branch does not stop the bump "
        f"already waiting on {a.push_branch!r}, which would bring the tag back when it is merged"
    )
