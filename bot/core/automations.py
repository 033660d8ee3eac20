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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.flux_commits import CommitAuthor
from bot.core.flux_objects import LabelSelector, ObjectRef, ref_of
from bot.core.setters import in_update_path, validate_update_strategy
from bot.errors import PolicyError

__all__ = ["Automation", "branch_notes"]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Automation:
    ref: ObjectRef
    file: str
    suspended: bool
    update_path: str  # "" = the repository root
    selector: LabelSelector | None  # None: no policySelector (all policies in the namespace)
    stalled: str = ""  # why Flux would stall it ("" when it runs); a stalled automation writes nothing
    author: CommitAuthor | None = None  # spec.git.commit.author: who Flux's commits are by
    message_template: str = ""  # spec.git.commit.messageTemplate ("" = Flux's default message)
    checkout_branch: str = ""  # spec.git.checkout.ref.branch ("" = the GitRepository's own ref)
    push_branch: str = ""  # spec.git.push.branch ("" = the checkout branch)

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
        git = _mapping(spec.get("git"))
        commit = _mapping(git.get("commit"))
        raw_author = _mapping(commit.get("author"))
        author = (
            CommitAuthor(str(raw_author.get("name") or ""), str(raw_author.get("email")))
            if raw_author.get("email")
            else None
        )
        return cls(
            ref=ref_of(body),
            file=file,
            suspended=spec.get("suspend") is True,
            update_path=path,
            selector=LabelSelector.parse(raw_selector) if isinstance(raw_selector, Mapping) else None,
            stalled=stalled,
            author=author,
            message_template=str(commit.get("messageTemplate") or ""),
            checkout_branch=str(_mapping(_mapping(git.get("checkout")).get("ref")).get("branch") or ""),
            push_branch=str(_mapping(git.get("push")).get("branch") or ""),
        )

    @property
    def pushes_elsewhere(self) -> bool:
        """Flux pushes to a known branch other than the one it checks out (LAYOUTS §5). Without
        `checkout.ref.branch` the GitRepository's ref decides, which is not in the automation: not known."""
        return bool(self.push_branch and self.checkout_branch and self.push_branch != self.checkout_branch)

    @property
    def writes_to(self) -> str:
        """The branch Flux pushes to: `push.branch`, else the checkout branch ("" when Git cannot tell: the
        GitRepository's ref lives in the cluster)."""
        return self.push_branch or self.checkout_branch

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


def branch_notes(automations: Sequence[Automation], branch: str) -> list[str]:
    """Where each automation writes, when that is not simply the branch the bot reads (LAYOUTS §5-6).

    The push branch is `git.push.branch`, else the checkout branch (IAC `internal/source/git.go`
    `configurePush`); a different push branch is force-pushed and reaches the checkout branch only when merged.
    An automation checking out another branch than the bot reads keeps its markers there.
    """
    notes = []
    for a in automations:
        checkout = a.checkout_branch or "the GitRepository's ref"
        if a.push_branch and a.push_branch != a.checkout_branch:
            notes.append(
                f"{a.file}: ImageUpdateAutomation {a.ref} checks out {checkout} and pushes to {a.push_branch}: "
                f"Flux's bumps land on {a.push_branch} and reach {checkout} only when merged"
            )
        if branch and a.checkout_branch and a.checkout_branch != branch:
            notes.append(
                f"{a.file}: ImageUpdateAutomation {a.ref} checks out {a.checkout_branch}, but the bot reads {branch}: "
                f"its markers and bumps are on {a.checkout_branch}; set repo.branch to {a.checkout_branch}"
            )
    return notes
