"""/versions, `/promote help` and the live examples shown with a command's usage: read-only answers.

Answers replace the "⏳ Reading versions…" acknowledgement (`replace_original`) where Slack allows it, so the
person sees one message, not a spinner left above the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.errors import BotError
from bot.promotion.applied import AppliedReader
from bot.promotion.ports import Context
from bot.promotion.versions import versions
from bot.slack import messages as say
from bot.slack import versions_blocks
from bot.slack.parse import VersionsCmd
from bot.slack.store import Respond


class Queries:
    def __init__(
        self, ctx: Context, clock: Callable[[], float] = time.time, applied: AppliedReader | None = None
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.applied = applied  # the state store: what Flux applied, beside what Git desires

    def versions(self, user: str, cmd: VersionsCmd, respond: Respond, page: int = 0) -> None:
        try:
            report = versions(self.ctx, cmd.service, applied=self.applied)
        except BotError as err:
            respond(text=say.problem(str(err)), response_type="ephemeral", replace_original=True)
            return
        if cmd.env is not None:
            body = versions_blocks.env_column(report, cmd.env, self.clock())
        else:
            body = versions_blocks.versions(report, self.clock(), page)
        respond(text=say.versions_title(report.revision), blocks=body, response_type="ephemeral",
                replace_original=True)  # fmt: skip

    def examples(self, command: str, respond: Respond) -> None:
        """Usage examples built from what the repository runs now (sent after the static usage ack)."""
        lines = self.example_lines(command)
        if lines:
            respond(text=say.examples(lines[:5]), response_type="ephemeral", replace_original=False)

    def help(self, command: str, respond: Respond) -> None:
        """`/promote help`: every way to promote, with examples from the repository as it is now."""
        respond(text=say.promote_help(self.example_lines(command)[:5]), response_type="ephemeral",
                replace_original=True)  # fmt: skip

    def example_lines(self, command: str) -> list[str]:
        report = versions(self.ctx)
        lines = []
        for svc in report.services:
            for src, dst in zip(report.pipeline, report.pipeline[1:], strict=False):
                a, b = svc.environments.get(src), svc.environments.get(dst)
                if command == "/promote" and a and b and a.tag and a.tag != b.tag and a.version != b.version:
                    lines.append(say.example_promote(a.tag, dst, svc.name, str(a.version)))
            last = report.pipeline[-1]
            if command == "/rollback" and svc.environments.get(last) and svc.environments[last].last_change:
                lines.append(say.example_rollback(last, svc.name))
        return lines
