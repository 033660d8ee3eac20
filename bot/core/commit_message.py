"""Commit messages the bot writes, and the parser that reads their trailers back.

The commit is the audit record: who promoted what, from where, approved by whom. Git trailers
(`Key: value` lines in the last paragraph) keep that machine-readable for `/versions`, `/history`
and rollback, and readable for a person running `git log`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.names import one_line

PROMOTED_BY = "Promoted-by"
APPROVED_BY = "Approved-by"
SOURCE_TAG = "Source-tag"
TARGET_TAG = "Target-tag"
DIGEST = "Digest"
REQUEST_ID = "Request-id"
SLACK_THREAD = "Slack-thread"
ROLLED_BACK_BY = "Rolled-back-by"
REVERTS = "Reverts"
RESUMED_BY = "Resumed-by"
SERVICE = "Service"
ENVIRONMENT = "Environment"

# Git's own trailer token grammar (alphanumerics and dashes) followed by ": ".
_TRAILER = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*): (.*)")


@dataclass(frozen=True)
class Trailers:
    """Trailers in order; a key may repeat (several approvers)."""

    items: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        for k, v in self.items:
            if k.lower() == key.lower():
                return v
        return None

    def all(self, key: str) -> list[str]:
        return [v for k, v in self.items if k.lower() == key.lower()]

    def render(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.items)


def person(name: str, ident: str) -> str:
    """`Alice <slack:U123ABC>` - the form used in every *-by trailer. The identity is `ident` (the Slack user
    id, never a name): a display name is the person's to choose, so anything in it that looks like an
    identity (`Alice <slack:U0ADMIN>`) is dropped, and so are stray angle brackets."""
    shown = " ".join(re.sub(r"<[^<>]*>|[<>]", " ", one_line(name, "person name", 80)).split())
    return f"{shown or ident} <{one_line(ident, 'person id', 120)}>"


def parse_trailers(message: str) -> Trailers:
    """Read trailers the way `git interpret-trailers --parse` does for our messages: the last paragraph,
    when every non-empty line in it is `Token: value`."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return Trailers()
    lines = [ln for ln in paragraphs[-1].splitlines() if ln.strip()]
    pairs = []
    for ln in lines:
        m = _TRAILER.fullmatch(ln.strip())
        if m is None:
            return Trailers()
        pairs.append((m.group(1), m.group(2).strip()))
    return Trailers(tuple(pairs))


@dataclass(frozen=True)
class CommitMessage:
    subject: str
    body: str = ""
    trailers: Trailers = field(default_factory=Trailers)

    def render(self) -> str:
        parts = [self.subject]
        if self.body:
            parts.append(self.body.rstrip("\n"))
        if self.trailers.items:
            parts.append(self.trailers.render())
        return "\n\n".join(parts) + "\n"


def _trailers(pairs: Sequence[tuple[str, str | None]]) -> Trailers:
    return Trailers(tuple((k, one_line(v, k, 500)) for k, v in pairs if v))


def promotion_message(
    *,
    service: str,
    version: str,
    sha: str,
    source_env: str,
    target_env: str,
    source_tag: str,
    target_tag: str,
    digest: str,
    promoted_by: str,
    approved_by: Sequence[str] = (),
    reason: str = "",
    request_id: str = "",
    slack_thread: str = "",
    lifted_hold: str = "",
) -> CommitMessage:
    subject = f"promote({service}): v{version} {sha[:7]} {source_env} → {target_env}"
    body = [f"Promote {service} {source_tag} to {target_env} as {target_tag} (same image, {digest})."]
    if reason:
        body.append(f"Reason: {one_line(reason, 'reason', 300)}")
    if lifted_hold:
        body.append(lifted_hold)  # a whole sentence: what the promotion lifts (bot/core/plan.py says which)
    pairs: list[tuple[str, str | None]] = [(PROMOTED_BY, promoted_by)]
    pairs += [(APPROVED_BY, a) for a in approved_by]
    pairs += [
        (SERVICE, service),
        (ENVIRONMENT, target_env),
        (SOURCE_TAG, source_tag),
        (TARGET_TAG, target_tag),
        (DIGEST, digest),
        (REQUEST_ID, request_id),
        (SLACK_THREAD, slack_thread),
    ]
    return CommitMessage(subject, "\n".join(body), _trailers(pairs))


def rollback_message(
    *,
    service: str,
    env: str,
    reverted_subject: str,
    reverted_sha: str,
    from_value: str,
    to_value: str,
    rolled_back_by: str,
    hold: str = "",
    request_id: str = "",
    slack_thread: str = "",
) -> CommitMessage:
    """git's revert format (`Revert "<subject>"` / `This reverts commit <sha>.`), plus our trailers."""
    subject = f'Revert "{reverted_subject}"'
    body = [
        f"This reverts commit {reverted_sha}.",
        "",
        f"Roll back {service} in {env}: {from_value} → {to_value}.",
    ]
    if hold:
        body.append(
            f"Held: the markers of {hold} now name HELD:{hold}, a setter no ImageUpdateAutomation knows, so Flux "
            f"leaves them alone and cannot bump the tag straight back; every other marker stays automated. "
            f"Lift it with `gitops-bot resume {env} {service}`."
        )
    pairs: list[tuple[str, str | None]] = [
        (ROLLED_BACK_BY, rolled_back_by),
        (SERVICE, service),
        (ENVIRONMENT, env),
        (REVERTS, reverted_sha),
        (TARGET_TAG, to_value),
        (REQUEST_ID, request_id),
        (SLACK_THREAD, slack_thread),
    ]
    return CommitMessage(subject, "\n".join(body), _trailers(pairs))


def resume_message(*, service: str, env: str, lifted: str, resumed_by: str, request_id: str = "") -> CommitMessage:
    """`lifted`: the sentence saying what is lifted (bot/core/plan.py `plan_resume`)."""
    subject = f"resume({service}): image automation in {env}"
    body = lifted
    pairs: list[tuple[str, str | None]] = [
        (RESUMED_BY, resumed_by),
        (SERVICE, service),
        (ENVIRONMENT, env),
        (REQUEST_ID, request_id),
    ]
    return CommitMessage(subject, body, _trailers(pairs))


class ChangeKind(StrEnum):
    """What a commit that moved a tag was, as `/versions` and `/history` show it."""

    PROMOTE = "promote"
    ROLLBACK = "rollback"
    RESUME = "resume"
    AUTOMATION = "automation"
    OTHER = "other"


def change_kind(message: str, trailers: Mapping[str, str] | Trailers | None = None) -> ChangeKind:
    """Classify a commit from its message alone: our trailers, else Flux's default wording.

    Only a fallback for automation commits: bot/core/flux_commits.py knows them by their automation's author.
    """
    t = trailers if isinstance(trailers, Trailers) else parse_trailers(message)
    if t.get(PROMOTED_BY):
        return ChangeKind.PROMOTE
    if t.get(ROLLED_BACK_BY):
        return ChangeKind.ROLLBACK
    if t.get(RESUMED_BY):
        return ChangeKind.RESUME
    # Flux's default automation message, or a template that kept its usual wording.
    if message.startswith("Update from image update automation") or "image update automation" in message[:200]:
        return ChangeKind.AUTOMATION
    return ChangeKind.OTHER
