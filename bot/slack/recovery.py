"""After a restart: settle every request a killed process left "running".

Git decides: a commit with the request's Request-id trailer means it landed (the bot died after the
push); none means Git was never changed, whatever the registry got. Either way the thread says so.
"""

from __future__ import annotations

import logging

from bot import request_id as request_ids
from bot.promotion.ports import Context
from bot.promotion.states import RequestStatus as S
from bot.slack import blocks
from bot.slack import messages as say
from bot.slack.blocks import Shown
from bot.slack.request_flow import RequestFlow

log = logging.getLogger(__name__)


def recover_interrupted(flow: RequestFlow, ctx: Context, scan: int = 2000) -> int:
    """Settle the requests left running; returns how many there were."""
    store = flow.store
    running = store.requests_in(S.RUNNING)
    if not running:
        return 0
    ctx.repo.sync()
    landed = {rec.trailers.get("Request-id"): rec.sha for rec in ctx.repo.history(["."], max_count=scan)}
    for req in running:
        thread = store.thread_of(req.id)
        summary = flow.summary(req)
        sha = landed.get(req.id)
        with request_ids.bound(req.id):
            if sha is not None and store.transition(req.id, {S.RUNNING}, S.DONE, result=sha):
                log.warning("found the commit of an interrupted request after a restart", extra={"commit": sha})
                store.thread_committed(req.id, sha)
                if thread is not None:
                    body = blocks.status_message(summary, Shown.COMMITTED, say.settled_committed(sha))
                    flow.durable.call("chat_update", channel=thread.channel, ts=thread.ts,
                                      text=say.with_status(summary, Shown.COMMITTED), blocks=body)  # fmt: skip
                continue
            if not store.transition(req.id, {S.RUNNING}, S.FAILED, result="interrupted by a restart"):
                continue
            log.warning("a request was interrupted by a restart before its commit reached Git")
            store.thread_failed(req.id)
            if thread is not None:
                body = blocks.status_message(summary, Shown.INTERRUPTED, say.INTERRUPTED_DETAIL)
                flow.durable.call("chat_update", channel=thread.channel, ts=thread.ts,
                                  text=say.with_status(summary, Shown.INTERRUPTED), blocks=body)  # fmt: skip
                flow.durable.call("chat_postMessage", channel=thread.channel, ts=thread.ts,
                                  text=say.interrupted(req.env), reply_broadcast=True)  # fmt: skip
    return len(running)
