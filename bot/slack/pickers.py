"""Promotion without typing a tag: `/promote <service> [to <env>]` and the Promote picker.

Both end in `RequestFlow.preview` with an ordinary `PromoteCmd`, so they pass the same gates as a typed tag
(authorization, freezes, approvals, the plan and its fingerprint); here they only choose the tag.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from bot.actions.promote import PromoteCmd
from bot.core.clock_text import age
from bot.core.names import env_name, service_name
from bot.core.tags import BuildTag
from bot.errors import InvalidInput
from bot.promotion.ports import Context
from bot.promotion.versions import ServiceVersions, versions
from bot.slack import messages as say
from bot.slack import picker_blocks
from bot.slack.parse import PromoteServiceCmd
from bot.slack.request_flow import RequestFlow
from bot.slack.store import Respond
from bot.slack.versions_blocks import ahead


class Pickers:
    def __init__(self, ctx: Context, flow: RequestFlow, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.flow = flow
        self.clock = clock

    @property
    def pipeline(self) -> tuple[str, ...]:
        return tuple(self.ctx.pipeline)

    def promote_service(self, user: str, cmd: PromoteServiceCmd, respond: Respond, channel: str = "") -> None:
        """What the source env runs, previewed as if its tag had been typed."""
        svc = versions(self.ctx, cmd.service).services[0]
        if cmd.env is None:
            step = ahead(self.pipeline, svc.environments)
            if step is None:
                respond(text=say.nothing_to_do(say.nothing_ahead(svc.name)), response_type="ephemeral")
                return
            source, target = step
        else:
            target = cmd.env
            if target not in self.pipeline:
                raise InvalidInput(f"There is no environment {target!r}.", hint=f"Expected one of {self.pipeline}.")
            at = self.pipeline.index(target)
            if at == 0:
                raise InvalidInput(say.first_env(target))
            source = self.pipeline[at - 1]
        running = svc.environments.get(source)
        if running is None or not running.tag:
            respond(text=say.nothing_to_do(say.nothing_in_source(svc.name, source)), response_type="ephemeral")
            return
        self.preview(user, running.tag, target, svc.name, respond, channel, cmd.reason)

    def preview(self, user: str, tag: str, env: str, service: str, respond: Respond,  # noqa: PLR0917
                channel: str = "", reason: str = "") -> None:  # fmt: skip
        cmd = PromoteCmd(str(BuildTag.parse(tag)), env_name(env), service_name(service), reason, None)
        self.flow.preview(user, cmd, respond, channel)

    # --- the picker -------------------------------------------------------------------------------
    def start(self, user: str, respond: Respond) -> None:
        names = [s.name for s in versions(self.ctx).services]
        respond(text=say.PICK_HEAD, blocks=picker_blocks.services(names), response_type="ephemeral",
                replace_original=True)  # fmt: skip

    def service_chosen(self, user: str, service: str, respond: Respond) -> None:
        svc = versions(self.ctx, service_name(service)).services[0]
        steps = [(src, dst, self._builds(svc, src)) for src, dst in itertools.pairwise(self.pipeline)]
        respond(text=say.pick_build_head(svc.name), blocks=picker_blocks.builds(svc.name, steps),
                response_type="ephemeral", replace_original=True)  # fmt: skip

    def _builds(self, svc: ServiceVersions, source: str) -> Sequence[picker_blocks.Build]:
        here = svc.environments.get(source)
        if here is None:
            return ()
        registry, repo = self.ctx.registries.for_image(here.image)
        tags = sorted((BuildTag.parse(t) for t in registry.list_tags(repo) if BuildTag.is_valid(t)),
                      key=lambda b: b.ts, reverse=True)  # fmt: skip
        now = self.clock()
        out = []
        for b in (b for b in tags if b.env == source):
            runs = tuple(e for e, v in svc.environments.items() if (v.sha, v.version) == (b.sha, b.version))
            out.append(picker_blocks.Build(str(b), f"v{b.version} {b.short_sha} · {age(b.ts, now)}", runs))
            if len(out) == picker_blocks.PICKED:
                break
        return out
