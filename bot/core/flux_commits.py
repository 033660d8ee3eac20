"""Which commits Flux's image automation made: known by the author each automation declares.

Image-automation-controller writes its commits with `spec.git.commit.author` (name optional, email required
in every served version) and a message rendered from `spec.git.commit.messageTemplate`, or exactly
`Update from image update automation` when the template is empty (IAC `internal/source/source.go`). Real
fleets set the author and usually a template of their own (LAYOUTS §10: `v1.0.7 -> v1.0.8`, one `image:tag`
per line, `[ci skip] An automated update from FluxBot`), so the default wording alone misses most of them.

The author is what Flux controls; the committer is not (a PR bot merging Flux's side branch is the committer,
LAYOUTS §5), so only the author is compared. A template cannot be rendered without the run's data, so it is
read as a shape: its literal text in order, anything where an action was. That shape is the fallback when
an automation declares no author. `flux bootstrap` commits ("Add Flux v2.3.0 component manifests", author
`Flux <>`) are Flux's too but never image bumps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.core.commit_message import ChangeKind, change_kind

__all__ = ["DEFAULT_MESSAGE", "CommitAuthor", "automation_kind", "is_bootstrap", "template_shape"]

DEFAULT_MESSAGE = "Update from image update automation"
# `flux bootstrap` / `flux install --export` commit wording (flux2 `cmd/flux/bootstrap*.go`).
_BOOTSTRAP = re.compile(r"Add Flux v?[0-9][^\n]* component manifests")
# `{{- … -}}`: the dashes (with a space beside them) trim the neighbouring whitespace (Go text/template).
_ACTION = re.compile(r"\{\{(-?)(?:\s.*?|.*?)(-?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class CommitAuthor:
    """`spec.git.commit.author`: Flux requires the email; the name may be left out."""

    name: str
    email: str

    def wrote(self, name: str, email: str) -> bool:
        # Git keeps the email as written; people and hosts treat it case-insensitively.
        if not self.email or self.email.lower() != email.strip().lower():
            return False
        return not self.name or self.name == name.strip()

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else f"<{self.email}>"


def is_bootstrap(message: str) -> bool:
    return _BOOTSTRAP.match(message.strip()) is not None


@lru_cache(maxsize=256)
def template_shape(template: str) -> re.Pattern[str]:
    """A pattern for every message `template` can render: literal text kept, each `{{…}}` action any text.

    `{{-` and `-}}` trim the whitespace beside them (Go text/template), so that whitespace becomes optional.
    An empty template is Flux's default message.
    """
    if not template.strip():
        return re.compile(re.escape(DEFAULT_MESSAGE))
    template = template.strip()  # the message is compared stripped too
    actions = list(_ACTION.finditer(template))
    bounds = [0, *(x for m in actions for x in (m.start(), m.end())), len(template)]
    parts: list[str] = []
    for i in range(len(actions) + 1):
        literal = template[bounds[2 * i] : bounds[2 * i + 1]]
        trim_before = i > 0 and actions[i - 1].group(2) == "-"
        trim_after = i < len(actions) and actions[i].group(1) == "-"
        if trim_before:
            literal = literal.lstrip()
        if trim_after:
            literal = literal.rstrip()
        parts.append((r"\s*" if trim_before else "") + re.escape(literal) + (r"\s*" if trim_after else ""))
        if i < len(actions):
            parts.append(r"[\s\S]*?")
    return re.compile("".join(parts))


def _shaped(message: str, template: str) -> bool:
    # Git and Flux differ on the final newline (a block-scalar template ends with one), so compare stripped.
    return template_shape(template).fullmatch(message.strip()) is not None


def automation_kind(
    message: str,
    author_name: str,
    author_email: str,
    *,
    writers: Sequence[tuple[CommitAuthor | None, str]],
) -> ChangeKind:
    """The kind of a commit that changed markers written by `writers` ((author, messageTemplate) each).

    The bot's own trailers win; then a bootstrap commit is `other`; then the commit is `automation` when a
    writer declares its author and that author wrote it, or declares none and the message has the writer's
    template shape. With no writer known (the objects are not in Git), Flux's default wording decides.
    """
    kind = change_kind(message)
    if kind not in (ChangeKind.AUTOMATION, ChangeKind.OTHER):
        return kind
    if is_bootstrap(message):
        return ChangeKind.OTHER
    if not writers:
        return kind
    for author, template in writers:
        if author is not None and author.wrote(author_name, author_email):
            return ChangeKind.AUTOMATION
        if author is None and _shaped(message, template):
            return ChangeKind.AUTOMATION
    return ChangeKind.OTHER
