"""The life of a Slack request: preview → confirm → (approvals) → execute → report in a thread.

Every entry point runs after the listener acked (Slack's 3 s rule) on a worker thread, and checks
authorization again: at the command, at each click and right before execution. State transitions are
compare-and-set in the state store (legal moves: bot/promotion/states.py), so Slack retries, double
clicks and two racing approvers act once. Nothing here knows one kind of request from another: the
Action (bot/actions) plans and runs it, the View (bot/slack/views.py) words it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable

from bot import request_id as request_ids
from bot.actions.base import Actions, Args, Run, dump
from bot.core import commit_message as cm
from bot.core.mrkdwn import escape
from bot.errors import BotError, NothingToDo, Refused, SlackError
from bot.promotion.ports import Context
from bot.promotion.registry_cache import uncached
from bot.promotion.states import RequestStatus as S
from bot.settings import Settings
from bot.slack import blocks, modals
from bot.slack import messages as say
from bot.slack.authz import Authorizer, Denied
from bot.slack.blocks import Shown
from bot.slack.durable import DurableSlack
from bot.slack.port import SlackPort
from bot.slack.store import RequestRecord, RequestStore, Respond
from bot.slack.views import VIEWS

log = logging.getLogger(__name__)
Observe = Callable[[str, str, str, float], None]  # metrics hook: (action, env, committed|noop|failed, seconds)


class RequestFlow:
    def __init__(
        self,
        ctx: Context,
        settings: Settings,
        actions: Actions,
        *,
        store: RequestStore,
        authz: Authorizer,
        slack: SlackPort,
        clock: Callable[[], float] = time.time,
        request_ttl: float = 1800.0,
        observe: Observe | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.actions = actions
        self.store = store
        self.authz = authz
        self.slack = slack
        self.clock = clock
        self.request_ttl = request_ttl
        self.observe = observe
        self.durable = DurableSlack(slack, store)

    def summary(self, req: RequestRecord) -> str:
        return VIEWS[self.actions.load(req.payload).kind].summary(self.actions.load(req.payload), req.service)

    # --- preview --------------------------------------------------------------------------------
    def preview(self, user: str, args: Args, respond: Respond, channel: str = "") -> str | None:
        """Plan without writing and show it with Confirm / Cancel. Returns the request id."""
        action = self.actions.of(args)
        try:
            person = self.authz.check(user, args.env, action.verb)
            planned = action.plan(self.ctx, args, cm.person(person.name or user, f"slack:{user}"))
        except NothingToDo as err:
            respond(text=say.nothing_to_do(err.message), response_type="ephemeral")
            return None
        except BotError as err:
            respond(text=say.refused(str(err)) if isinstance(err, Refused) else say.problem(str(err)),
                    response_type="ephemeral")  # fmt: skip
            return None
        if planned.noop is not None:
            respond(text=say.nothing_to_do(planned.noop), response_type="ephemeral")
            return None
        # The id this Slack request logs under becomes the request's key, its buttons' value and its commit's
        # Request-id trailer: one id from the slash command to the Flux reconcile.
        request_id = request_ids.current() or uuid.uuid4().hex
        self.store.create_request(
            id=request_id,
            kind=str(action.kind),
            env=args.env,
            service=planned.service,
            requester=user,
            payload=dump(args),
            plan_hash=planned.fingerprint,
            expires_at=self.clock() + self.request_ttl,
            origin_channel=channel,
        )
        view = VIEWS[action.kind]
        dialog = args.env == self.settings.pipeline[-1]
        body = view.preview(planned, request_id, dialog, self.settings.env(args.env).approvals)
        # A preview longer than one message arrives as several, in order, the buttons in the last: every item
        # is on screen before Confirm (a response_url takes 5 posts, 250 blocks).
        for part in blocks.messages(body):
            respond(text=say.preview(view.summary(args, planned.service)), blocks=part, response_type="ephemeral",
                    replace_original=False)  # fmt: skip
        return request_id

    # --- clicks ---------------------------------------------------------------------------------
    def confirm(self, user: str, request_id: str, respond: Respond) -> None:  # noqa: PLR0911 - one exit per refusal
        req = self.store.get_request(request_id)
        if req is None:
            respond(text=say.NO_LONGER_PENDING, replace_original=False, response_type="ephemeral")
            return
        # Who clicked is checked before the claim: another person's click must not use the request up.
        if req.requester != user:
            respond(text=say.ONLY_REQUESTER_CONFIRMS, replace_original=False, response_type="ephemeral")
            return
        if not self.store.claim(f"confirm:{request_id}", self.request_ttl):
            respond(text=say.ALREADY_HANDLED, response_type="ephemeral", replace_original=False)
            return
        if req.status != S.PENDING:
            respond(text=say.NO_LONGER_PENDING, replace_original=False, response_type="ephemeral")
            return
        if self.clock() > req.expires_at:
            self.store.transition(request_id, {S.PENDING}, S.EXPIRED)
            respond(text=say.PREVIEW_EXPIRED, replace_original=True)
            return
        try:
            person = self.authz.check(user, req.env)
        except Denied as err:
            self.store.release(f"confirm:{request_id}")  # a person whose rights come back may click again
            respond(text=say.refused(str(err)), replace_original=False, response_type="ephemeral")
            return
        summary = self.summary(req)
        opened = self._open_or_explain(request_id, req, summary, respond)
        if opened is None:
            return
        channel, ts = opened
        needed = self.settings.env(req.env).approvals
        if needed:
            self.store.transition(request_id, {S.PENDING}, S.PENDING, channel=channel, message_ts=ts)
            self._show_approval(req, channel, ts, [], overflow=True)
            respond(text=say.waiting_for_approvals(needed, channel), replace_original=True)
        else:
            respond(text=say.working(channel), replace_original=True)
            self._execute(request_id, person.name, user, approvers=())

    def _open_or_explain(self, request_id: str, req: RequestRecord, summary: str,
                         respond: Respond) -> tuple[str, str] | None:  # fmt: skip
        channel = self.settings.env(req.env).channel or req.origin_channel
        try:
            posted = self.slack.post(
                channel,
                say.with_status(summary, Shown.PENDING),
                blocks=blocks.status_message(summary, Shown.PENDING, say.requested_by(req.requester)),
                metadata={"event_type": "gitops_request", "event_payload": {"id": request_id, "env": req.env}},
            )
        except SlackError as err:  # Slack refused the thread's first message: nothing started
            self.store.release(f"confirm:{request_id}")
            log.warning("opening the thread for %s failed: %s", request_id, err.code or type(err).__name__)
            respond(text=say.thread_not_opened(err.message, err.retryable), replace_original=False,
                    response_type="ephemeral")  # fmt: skip
            return None
        self.store.record_thread(request_id, channel=posted.channel, ts=posted.ts, env=req.env, service=req.service)
        return posted.channel, posted.ts

    def _show_approval(self, req: RequestRecord, channel: str, ts: str, have: list[str],
                       overflow: bool = False) -> None:  # fmt: skip
        """The thread parent while approvals are wanted: everything the requester saw, planned again now (what
        the approver approves is checked against the request's fingerprint at the click anyway)."""
        args = self.actions.load(req.payload)
        view = VIEWS[args.kind]
        try:
            who = cm.person(req.requester, f"slack:{req.requester}")
            details = view.details(self.actions.of(args).plan(self.ctx, args, who))
        except BotError as err:  # the plan stopped holding: the approver reads why, and Approve will refuse
            details = [blocks.section(say.plan_no_longer_holds(str(err)))]
        summary = self.summary(req)
        body = blocks.approval_request(summary, req.id, req.requester, self.settings.env(req.env).approvals, have,
                                       details=details, reason=view.reason(args), env=req.env,
                                       approvers=self.authz.approvers(req.env, besides=req.requester))  # fmt: skip
        parent, rest = blocks.keep_last(body)
        self._update(channel, ts, parent, say.awaiting_approval(summary))
        for part in rest if overflow else ():
            self.durable.call("chat_postMessage", channel=channel, ts=ts, text=say.DETAILS_CONTINUED, blocks=part)

    def cancel(self, user: str, request_id: str, respond: Respond) -> None:
        req = self.store.get_request(request_id)
        if req is None or req.requester != user:
            respond(text=say.ONLY_REQUESTER_CANCELS, replace_original=False, response_type="ephemeral")
            return
        if self.store.transition(request_id, {S.PENDING}, S.CANCELLED):
            respond(text=say.CANCELLED, replace_original=True)
            self._set_status(req, Shown.CANCELLED)
        else:
            respond(text=say.TOO_LATE_TO_CANCEL, replace_original=False, response_type="ephemeral")

    def approve(self, user: str, request_id: str, respond: Respond) -> None:  # noqa: PLR0911 - one exit per refusal
        req = self.store.get_request(request_id)
        if req is None or req.status != S.PENDING:
            respond(text=say.NOT_WAITING_FOR_APPROVAL, replace_original=False, response_type="ephemeral")
            return
        if user == req.requester:
            respond(text=say.NO_SELF_APPROVAL, replace_original=False, response_type="ephemeral")
            return
        # Approvals count only once the requester confirmed (the thread is open): an earlier click, from a
        # copied button or a replay, must neither run the request nor leave it stuck in `running`.
        if self.store.thread_of(request_id) is None:
            respond(text=say.NOT_CONFIRMED_YET, replace_original=False, response_type="ephemeral")
            return
        try:
            self.authz.check(user, req.env, "approve")
        except Denied as err:
            respond(text=say.refused(str(err)), replace_original=False, response_type="ephemeral")
            return
        ttl = self.settings.env(req.env).approval_ttl
        if self.clock() > req.created_at + ttl:
            self.store.transition(request_id, {S.PENDING}, S.EXPIRED)
            self._set_status(req, Shown.EXPIRED, say.approvals_expired_detail(ttl // 60))
            respond(text=say.approvals_expired(ttl // 60), replace_original=False, response_type="ephemeral")
            return
        args = self.actions.load(req.payload)
        try:
            requester = self.authz.check(req.requester, req.env)
            who = cm.person(requester.name or req.requester, f"slack:{req.requester}")
            # The registry as it is now, not as cached: an approval binds the digest the source tag has now.
            now = dataclasses.replace(self.ctx, registries=uncached(self.ctx.registries))
            fp = self.actions.of(args).plan(now, args, who).fingerprint
        except BotError as err:
            respond(text=say.plan_no_longer_holds(str(err)), replace_original=False, response_type="ephemeral")
            return
        if fp != req.plan_hash:
            self.store.transition(request_id, {S.PENDING}, S.EXPIRED)
            self._set_status(req, Shown.EXPIRED, say.STALE_DETAIL)
            respond(text=say.STALE_APPROVAL, replace_original=False, response_type="ephemeral")
            return
        if not self.store.add_approval(request_id, user, fp):
            respond(text=say.ALREADY_APPROVED, replace_original=False, response_type="ephemeral")
            return
        approvers = self.store.approvers(request_id)
        needed = self.settings.env(req.env).approvals
        if len(approvers) < needed:
            thread = self.store.thread_of(request_id)
            if thread is not None:
                self._show_approval(req, thread.channel, thread.ts, approvers)
            respond(text=say.APPROVAL_RECORDED, replace_original=False, response_type="ephemeral")
            return
        if self.store.transition(request_id, {S.PENDING}, S.APPROVED):
            self._execute(request_id, requester.name, req.requester, approvers=tuple(approvers))

    def ask_reject_reason(self, user: str, request_id: str, trigger_id: str, respond: Respond) -> None:
        """Reject opens a modal asking why (a trigger lives 3 s: this runs first thing after the ack). When Slack
        will not open it, the click rejects without a reason rather than doing nothing."""
        req = self.store.get_request(request_id)
        if req is None:
            return
        try:
            self.authz.check(user, req.env, "reject")  # checked again on submit; this spares a dialog in vain
        except Denied as err:
            respond(text=say.refused(str(err)), replace_original=False, response_type="ephemeral")
            return
        try:
            self.slack.call("views_open", {"trigger_id": trigger_id,
                                           "view": modals.reject_reason(request_id, self.summary(req))})  # fmt: skip
        except SlackError as err:
            log.warning("could not open the reject dialog for %s: %s", request_id, err.code or type(err).__name__)
            self.reject(user, request_id, respond)

    def reject(self, user: str, request_id: str, respond: Respond, reason: str = "") -> None:
        req = self.store.get_request(request_id)
        if req is None:
            return
        try:
            self.authz.check(user, req.env, "reject")
        except Denied as err:
            respond(text=say.refused(str(err)), replace_original=False, response_type="ephemeral")
            return
        if self.store.transition(request_id, {S.PENDING}, S.REJECTED):
            self._set_status(req, Shown.REJECTED, say.rejected_by(user, escape(reason)))
            thread = self.store.thread_of(request_id)
            if reason and thread is not None:
                self._reply(thread.channel, thread.ts, say.rejected_reply(user, escape(reason)))

    # --- execution ------------------------------------------------------------------------------
    def _execute(self, request_id: str, name: str, user: str, approvers: tuple[str, ...]) -> None:
        if not self.store.transition(request_id, {S.PENDING, S.APPROVED}, S.RUNNING):
            return  # someone else's click won the race
        req = self.store.get_request(request_id)
        thread = self.store.thread_of(request_id)
        if req is None or thread is None:
            return
        args = self.actions.load(req.payload)
        try:
            approved = tuple(cm.person(self.authz.check(a, req.env).name, f"slack:{a}") for a in approvers)
            self.authz.check(user, req.env)
            run = Run(
                who=cm.person(name or user, f"slack:{user}"),
                approved_by=approved,
                request_id=request_id,
                thread=self.slack.permalink(thread.channel, thread.ts),
            )
            sha = self._observed_run(args, run, req.env)
        except BotError as err:
            self.store.transition(request_id, {S.RUNNING}, S.FAILED, result=str(err))
            self.store.thread_failed(request_id)
            self._set_status(req, Shown.FAILED, escape(str(err)))
            self._reply(thread.channel, thread.ts, say.failed_reply(str(err)), broadcast=True)
            return
        self.store.transition(request_id, {S.RUNNING}, S.DONE, result=sha or "")
        if sha:
            self.store.thread_committed(request_id, sha)
        # "committed" only with a commit: a run that wrote nothing says so.
        self._set_status(req, Shown.COMMITTED if sha else Shown.DONE, "" if sha else say.NO_COMMIT_DETAIL)
        note = VIEWS[args.kind].after_commit(req.env, req.service)
        if note:
            self._reply(thread.channel, thread.ts, note)

    def _observed_run(self, args: Args, run: Run, env: str) -> str | None:
        """The action run under the request's own id (a click that approved it has another), timed."""
        action = self.actions.of(args)
        started, result = time.monotonic(), "failed"
        with request_ids.bound(run.request_id):
            try:
                sha = action.run(self.ctx, args, run).commit
                result = Shown.COMMITTED if sha else "noop"
                return sha
            finally:
                seconds = time.monotonic() - started
                log.info("%s in %s: %s", action.kind, env, result, extra={"seconds": round(seconds, 3)})
                if self.observe is not None:
                    self.observe(str(action.kind), env, result, seconds)

    # --- thread plumbing ------------------------------------------------------------------------
    def story(self, request_id: str) -> tuple[str, list[str]] | None:
        """(summary, what happened so far) of a request: every status update of its thread keeps these lines,
        the outbox's reconciled/failed ones too."""
        req = self.store.get_request(request_id)
        if req is None:
            return None
        args = self.actions.load(req.payload)
        lines = [say.requested_by(req.requester)]
        if reason := VIEWS[args.kind].reason(args):
            lines.append(say.reason_line(reason))
        if approvers := self.store.approvers(request_id):
            lines.append(say.approved_by(approvers))
        thread = self.store.thread_of(request_id)
        if thread is not None and thread.commit_sha:
            lines.append(say.commit_line(thread.commit_sha))
        return self.summary(req), lines

    def _set_status(self, req: RequestRecord, status: Shown, detail: str = "") -> None:
        thread = self.store.thread_of(req.id)
        story = self.story(req.id)
        if thread is not None and story is not None:
            summary, history = story
            self._update(thread.channel, thread.ts, blocks.status_message(summary, status, detail, history),
                         say.with_status(summary, status))  # fmt: skip

    def _update(self, channel: str, ts: str, body: list[blocks.Block], text: str) -> None:
        # Durable: a status that says how a promotion ended must reach Slack, 429 storm or not.
        self.durable.call("chat_update", channel=channel, ts=ts, text=text, blocks=body)

    def _reply(self, channel: str, ts: str, text: str, broadcast: bool = False) -> None:
        self.durable.call("chat_postMessage", channel=channel, ts=ts, text=text, reply_broadcast=broadcast)

