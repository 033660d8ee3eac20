"""Slack mrkdwn text for Flux events: one concise line per event, image-update notices, bursts coalesced.

Pure: values in, strings out. Event text comes from the cluster and from commit
messages anyone who can push writes, so `&`, `<` and `>` are escaped as Slack requires: left as they
are, a `<!channel>` in a commit message would ping a whole channel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.imageref import tag_or_ref
from bot.core.mrkdwn import escape
from bot.flux.events import FluxEvent, ImageUpdated, PolicyResolved

__all__ = ["coalesce", "escape", "render", "render_image_update"]

LINE_CHARS = 300  # one message line; a Flux error message may run to 39000 characters
LIST_LINES = 10  # change-set lines and image changes shown before "…and N more"
REVISION_CHARS = 40
_SUCCEEDED = frozenset(
    {"ReconciliationSucceeded", "Succeeded", "InstallSucceeded", "UpgradeSucceeded", "TestSucceeded"}
)
# fluxcd/pkg/ssa ChangeSetEntry.String: `<Kind>/<namespace>/<name> <action>` (no namespace when cluster-scoped).
_CHANGE_SET_LINE = re.compile(r"[A-Za-z0-9]+/\S+ [a-z]+")


def _cap(text: str, limit: int = LINE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _more(count: int) -> str:
    return f"\n…and {count} more" if count else ""


def _icon(event: FluxEvent) -> str:
    if event.severity == "error":
        return "❌"
    if event.reason == "RollbackSucceeded":
        return "↩️"
    if event.reason in _SUCCEEDED:
        return "✅"
    return "🔄" if event.reason == "Progressing" else "ℹ️"


def _short_revision(event: FluxEvent) -> str:
    short = (sha[:7] if (sha := event.commit_sha) else None) or event.revision
    # The revision sits inside `code`; Slack has no escape for a backtick, so it is swapped out.
    return f" `{escape(_cap(short, REVISION_CHARS)).replace('`', chr(39))}`" if short else ""


def _message(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    if len(lines) > 1 and all(_CHANGE_SET_LINE.fullmatch(line) for line in lines):
        # An apply change-set: every line is an object that changed, so the lines are the message.
        kept = lines[:LIST_LINES]
        return "\n" + "\n".join(escape(_cap(line)) for line in kept) + _more(len(lines) - len(kept))
    return f": {escape(_cap(lines[0]))}" if lines else ""


def render(event: FluxEvent) -> str:
    """`✅ *Kustomization/flux-system/apps* ReconciliationSucceeded `3ebb95c`: Reconciliation finished…`:
    the first line of the message only (an IUA push puts its whole commit message after it), except an
    apply change-set, whose lines are kept up to LIST_LINES."""
    o = event.involved
    head = f"{_icon(event)} *{escape(o.kind)}/{escape(o.namespace)}/{escape(o.name)}* {escape(_cap(event.reason, 80))}"
    return head + _short_revision(event) + _message(event.message)


def _who(name: str, env: str | None) -> str:
    return " ".join(escape(_cap(part, 80)) for part in (name, env) if part)


def _image_name(ref: str) -> str:
    """`backend` for `ghcr.io/acme/backend:1.2@sha256:…`; empty for a bare tag."""
    name = ref.partition("@")[0]
    last = name.rpartition("/")[2]
    return last.partition(":")[0] if ":" in last else ""


def render_image_update(u: ImageUpdated | PolicyResolved, service: str | None, env: str | None) -> str:
    """`🔄 backend develop → develop-v0.0.3-c3d4e5f-1738860123 (automation flux-system, commit 3ebb95c on main)`.

    Without a service name the policy, the changed image's name or the automation stands in for it.
    """
    if isinstance(u, PolicyResolved):
        was = u.previous_tag
        was_text = f", was {escape(_cap(was, 128))}" if was and was != u.tag else ""
        return f"🔄 {_who(service or u.policy, env)} → {escape(_cap(u.tag, 128))} (policy {escape(u.policy)}{was_text})"
    where = (
        f"automation {escape(_cap(u.automation, 80))}, commit {escape(_cap(u.sha7, 40))} on {escape(_cap(u.branch))}"
    )
    if not u.changes:
        return f"🔄 {_who(service or u.automation, env)}: {where}"
    if len(u.changes) == 1:
        new = u.changes[0][1]
        who = _who(service or _image_name(new) or u.automation, env)
        return f"🔄 {who} → {escape(_cap(tag_or_ref(new), 128))} ({where})"
    lines = [f"🔄 {_who(service or u.automation, env)} ({where})"]
    for old, new in u.changes[:LIST_LINES]:
        name = _image_name(new)
        change = f"{tag_or_ref(old)} → {tag_or_ref(new)}"
        lines.append(f"• {escape(_cap(f'{name} {change}' if name else change))}")
    return "\n".join(lines) + _more(len(u.changes) - LIST_LINES if len(u.changes) > LIST_LINES else 0)


def coalesce(texts: Sequence[str], limit: int = 3900) -> str:
    """A burst as one message: as many whole texts as fit, one per line, then `…and N more`.

    3900 keeps the message under the 4000 characters Slack recommends for `text` (it truncates at 40000).
    A first text that alone is too long is cut. The result never exceeds `limit`.
    """
    total = len(texts)
    if limit <= 0 or not texts:
        return ""
    best, size = 0, -1
    for count, text in enumerate(texts, start=1):
        size += len(text) + 1
        if size > limit:
            break
        if size + len(_more(total - count)) <= limit:
            best = count
    if best:
        return "\n".join(texts[:best]) + _more(total - best)
    tail = _more(total - 1)
    room = limit - len(tail)
    if room < 2:
        return texts[0][:limit] if total == 1 else tail.lstrip("\n")[:limit]
    return _cap(texts[0], room) + tail
