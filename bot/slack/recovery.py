"""After a restart: settle every request a killed process left "running", saying only what is known.

Git decides, when it can: a commit with the request's Request-id trailer means it landed (the bot died
during or after the push). No such commit does NOT mean nothing will land: a push the dead process
started may still be inside the remote (a slow pre-receive hook) and move the branch seconds later, and
the registry copy that precedes every push may already have created the new tag, which Flux's image
automation picks up on its own unless it is held. So such a request stays `running`, its thread says
the outcome is not known yet, and `recheck` (a scheduler job) looks at Git again until the commit shows
(→ committed) or `give_up` seconds pass (→ failed, saying Git did not change and what the registry may hold).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot import request_id as request_ids
from bot.promotion.ports import Context
from bot.promotion.states import RequestStatus as S
from bot.slack import blocks
from bot.slack import messages as say
from bot.slack.blocks import Shown
from bot.slack.request_flow import RequestFlow
from bot.slack.store import RequestRecord

log = logging.getLogger(__name__)

GIVE_UP = 600.0  # a push still in flight after ten minutes has been cut off by the remote's own timeouts


class Recovery:
    def __init__(self, flow: RequestFlow, ctx: Context, *, give_up: float = GIVE_UP, scan: int = 2000,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.flow = flow
        self.ctx = ctx
        self.give_up = give_up
        self.scan = scan
        self.clock = clock
        self._orphans: dict[str, float] = {}  # request id → when to stop waiting for its commit

    def at_start(self) -> int:
        """Settle what the last process left running (every `running` request is an orphan at start);
        returns how many there were."""
        running = list(self.flow.store.requests_in(S.RUNNING))
        if not running:
            return 0
        landed = self._landed()
        for req in running:
            with request_ids.bound(req.id):
                if req.id in landed:
                    self._committed(req, landed[req.id])
                    continue
                log.warning("a request was interrupted by a restart; no commit of it in Git yet")
                self._orphans[req.id] = self.clock() + self.give_up
                if self.flow.store.claim(f"interrupted:{req.id}", 30 * 86400):  # once, across restarts
                    self._say(req, Shown.INTERRUPTED, say.INTERRUPTED_DETAIL, say.interrupted(req.env))
        return len(running)

    def recheck(self) -> int:
        """Look at Git again for the orphans' commits; returns how many were settled."""
        if not self._orphans:
            return 0
        landed = self._landed()
        settled = 0
        for rid, deadline in list(self._orphans.items()):
            req = self.flow.store.get_request(rid)
            with request_ids.bound(rid):
                if req is None or req.status != S.RUNNING:
                    del self._orphans[rid]
                elif rid in landed:
                    del self._orphans[rid]
                    settled += self._committed(req, landed[rid])
                elif self.clock() > deadline and self.flow.store.transition(
                    rid, {S.RUNNING}, S.FAILED, result="interrupted by a restart"
                ):
                    del self._orphans[rid]
                    log.warning("no commit of an interrupted request reached Git; settled as not landed")
                    self.flow.store.thread_failed(rid)
                    minutes = int(self.give_up // 60)
                    reply = say.interrupted_not_landed(req.env, minutes)
                    self._say(req, Shown.INTERRUPTED, say.NOT_LANDED_DETAIL, reply)
                    settled += 1
        return settled

    def _landed(self) -> dict[str | None, str]:
        self.ctx.repo.sync()
        return {rec.trailers.get("Request-id"): rec.sha for rec in self.ctx.repo.history(["."], max_count=self.scan)}

    def _committed(self, req: RequestRecord, sha: str) -> int:
        store = self.flow.store
        if not store.transition(req.id, {S.RUNNING}, S.DONE, result=sha):
            return 0
        log.warning("found the commit of an interrupted request after a restart", extra={"commit": sha})
        store.thread_committed(req.id, sha)
        self._say(req, Shown.COMMITTED, say.settled_committed(sha))
        return 1

    def _say(self, req: RequestRecord, status: Shown, detail: str, reply: str = "") -> None:
        thread = self.flow.store.thread_of(req.id)
        if thread is None:
            return
        summary = self.flow.summary(req)
        durable = self.flow.durable
        durable.call("chat_update", channel=thread.channel, ts=thread.ts, text=say.with_status(summary, status),
                     blocks=blocks.status_message(summary, status, detail))  # fmt: skip
        if reply:
            durable.call("chat_postMessage", channel=thread.channel, ts=thread.ts, text=reply, reply_broadcast=True)

