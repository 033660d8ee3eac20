"""ImageUpdateAutomations and their scope, computed as image-automation-controller computes it.

A marker is written by an automation when all of these hold (IAC `imageupdateautomation_controller.go`
`getPolicies`, `internal/update/filereader.go`; FLUX-FACTS §2.1-2.3):
  - its file is under the automation's `spec.update.path` (securejoin'ed under the repository root; absent or
    "" means the root),
  - the policy it names lives in the automation's own namespace (a marker naming another namespace is never
    a setter: Flux's `otherns.yaml` fixture),
  - the policy matches `spec.policySelector` when one is set (absent: every policy of the namespace),
  - the automation can run at all: `spec.update` absent defaults to Setters, an explicit null or another
    strategy stalls it, and then it writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.flux_objects import LabelSelector, ObjectRef, ref_of
from bot.core.setters import in_update_path, validate_update_strategy
from bot.errors import PolicyError

__all__ = ["Automation"]


@dataclass(frozen=True)
class Automation:
    ref: ObjectRef
    file: str
    suspended: bool
    update_path: str  # "" = the repository root
    selector: LabelSelector | None  # None: no policySelector (all policies in the namespace)
    stalled: str = ""  # why Flux would stall it ("" when it runs); a stalled automation writes nothing
    push_branch: str = ""  # spec.git.push.branch when it differs from the checkout branch (LAYOUTS §5), else ""

    @classmethod
    def from_manifest(cls, file: str, body: Mapping[str, Any]) -> Automation:
        raw_spec = body.get("spec")
        spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, Mapping) else {}
        stalled = ""
        path = ""
        update = spec.get("update", {})  # the CRD defaults an absent `update` to {strategy: Setters}
        if update is not None and not isinstance(update, Mapping):
            stalled = "spec.update must be a mapping"
        else:
            try:
                path = validate_update_strategy(update)
            except PolicyError as err:
                stalled = err.message
        raw_selector = spec.get("policySelector")
        return cls(
            push_branch=_push_branch(spec.get("git")),
            ref=ref_of(body),
            file=file,
            suspended=spec.get("suspend") is True,
            update_path=path,
            selector=LabelSelector.parse(raw_selector) if isinstance(raw_selector, Mapping) else None,
            stalled=stalled,
        )

    @property
    def shown_path(self) -> str:
        return self.update_path or "(repository root)"

    def covers(self, file: str) -> bool:
        """Whether Flux reads `file` (repo-relative) for this automation."""
        return in_update_path(file, self.update_path)

    def applies_to(self, policy: ObjectRef, labels: Mapping[str, str]) -> bool:
        """Whether this automation sets `policy`'s markers at all (namespace and selector)."""
        if self.stalled or policy.namespace != self.ref.namespace:
            return False
        return self.selector is None or self.selector.matches(labels)

    def writes(self, policy: ObjectRef, labels: Mapping[str, str], file: str) -> bool:
        return self.applies_to(policy, labels) and self.covers(file)


def _get(node: object, *path: str) -> object:
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _push_branch(git: object) -> str:
    """Flux pushes to `push.branch` (default: the checkout branch; IAC internal/source/git.go configurePush).
    Only a known, different branch is reported: without `checkout.ref.branch` the GitRepository's ref decides,
    which is not in the automation."""
    push, checkout = _get(git, "push", "branch"), _get(git, "checkout", "ref", "branch")
    if isinstance(push, str) and push and isinstance(checkout, str) and push != checkout:
        return push
    return ""
