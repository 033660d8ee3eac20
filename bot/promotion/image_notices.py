"""Image-update notices from Git alone: new automation commits since the last look.

For clusters whose Flux events cannot reach the bot, a periodic fetch finds the commits Flux's image
automation pushed and says, per service and environment, which tag it moved to. The same dedupe key
as the Flux-event path ("image-tag:<tag>") makes a change announced once, whichever path saw it first.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import history as hist
from bot.core.commit_message import ChangeKind
from bot.promotion.ports import Context
from bot.promotion.workspace import Workspace


@dataclass(frozen=True)
class ImageNotice:
    service: str
    env: str
    old_tag: str | None
    new_tag: str
    commit: str

    @property
    def dedupe_key(self) -> str:
        return f"image-tag:{self.new_tag}"

    def text(self) -> str:
        was = f", was {self.old_tag}" if self.old_tag else ""
        return f"🔄 {self.service} {self.env} → {self.new_tag} (automation, commit {self.commit[:7]}{was})"


def new_automation_bumps(ctx: Context, since: str | None) -> tuple[str, list[ImageNotice]]:
    """(new HEAD, notices for automation commits in since..HEAD). With no `since`, just remember HEAD."""
    ws = Workspace.sync(ctx)
    head = ws.snapshot.head
    if since is None or since == head:
        return head, []
    records = ctx.repo.commits_between(since, head)
    notices = []
    for target in ws.topology.targets.values():
        # Automation commits are known per target, by the author its automation declares (flux_commits.py).
        for bump in reversed(hist.bumps(target, records)):  # oldest first, as they happened
            if bump.kind is ChangeKind.AUTOMATION and bump.new_tag:
                notices.append(ImageNotice(target.service, target.env, bump.old_tag, bump.new_tag, bump.commit.sha))
    return head, notices
