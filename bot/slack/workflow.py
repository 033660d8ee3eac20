"""The life of a Slack request: preview → confirm → (approvals) → execute → report in a thread.

Every entry point runs after the listener acked (Slack's 3 s rule) on a worker thread, and checks
authorization again: at the command, at each click and right before execution. State transitions are
compare-and-set in the state store, so Slack retries, double clicks and two racing approvers act once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot import request_id as request_ids
from bot.core import commit_message as cm
from bot.core.plan import PromotionPlan, ResumePlan, RollbackPlan
from bot.errors import BotError, Refused
from bot.promotion import promote as promote_uc
from bot.promotion import release as release_uc
from bot.promotion import resume as resume_uc
from bot.promotion import rollback as rollback_uc
from bot.promotion.ports import Context
from bot.promotion.versions import versions
from bot.settings import Settings
from bot.slack import blocks
from bot.slack.authz import Authorizer, Denied
from bot.slack.durable import DurableSlack
from bot.slack.fingerprint import fingerprint
from bot.slack.parse import PromoteCmd, ReleaseCmd, ResumeCmd, RollbackCmd, VersionsCmd

log = logging.getLogger(__name__)

Respond = Callable[..., Any]
ActionCmd = PromoteCmd | ReleaseCmd | RollbackCmd | ResumeCmd
_KINDS: dict[str, type[Any]] = {
    "promote": PromoteCmd,
    "release": ReleaseCmd,
    "rollback": RollbackCmd,
    "resume": ResumeCmd,
}


class Store(Protocol):
    """The slice of the state store the workflow uses (bot/adapters/state_store.py implements it)."""

    def create_request(
        self,
        *,
        id: str,
        kind: str,
        env: str,
        service: str,
        requester: str,
        payload: str,
        plan_hash: str,
        expires_at: float,
        origin_channel: str,
    ) -> None: ...

    def get_request(self, id: str) -> Any: ...

    def transition(self, id: str, expected: set[str], to: str, **fields: Any) -> bool: ...

    def add_approval(self, id: str, approver: str, plan_hash: str) -> bool: ...

    def approvers(self, id: str) -> list[str]: ...

    def claim(self, key: str, ttl: float) -> bool: ...

    def release(self, key: str) -> None: ...

    def record_thread(self, request_id: str, *, channel: str, ts: str, env: str, service: str) -> None: ...

    def thread_of(self, request_id: str) -> Any: ...

    def thread_committed(self, request_id: str, sha: str) -> bool: ...

    def thread_failed(self, request_id: str) -> bool: ...

    def enqueue(self, channel: str, payload: str, dedupe_key: str) -> int | None: ...

    def waiting_before(self, key_prefix: str, id: int | None = None) -> float | None: ...

    def requests_in(self, status: str) -> list[Any]: ...


@dataclass(frozen=True)
class Summary:
    text: str
    env: str
    service: str


def _summary(cmd: ActionCmd, service: str) -> Summary:
    if isinstance(cmd, ReleaseCmd):
        return Summary(f"release *{service}* from *{cmd.source}* → *{cmd.env}* in one commit", cmd.env, service)
    if isinstance(cmd, PromoteCmd):
        return Summary(f"promote *{service}* `{cmd.tag}` → *{cmd.env}*", cmd.env, service)
    if isinstance(cmd, RollbackCmd):
        target = f" to `{cmd.to_tag}`" if cmd.to_tag else ""
        return Summary(f"roll back *{service}* in *{cmd.env}*{target}", cmd.env, service)
    return Summary(f"resume automation for *{service}* in *{cmd.env}*", cmd.env, service)


def _payload(cmd: ActionCmd) -> str:
    kind = next(k for k, cls in _KINDS.items() if isinstance(cmd, cls))
    return json.dumps({"kind": kind, **cmd.__dict__})


def _command(payload: str) -> ActionCmd:
    data = json.loads(payload)
    cls = _KINDS[data.pop("kind")]
    if cls is ReleaseCmd:
        data["services"] = tuple(data["services"])
    cmd: ActionCmd = cls(**data)
    return cmd


def _request(
    cmd: PromoteCmd | RollbackCmd | ResumeCmd, who: str, approved: tuple[str, ...], thread: str, request_id: str
) -> promote_uc.PromoteRequest | rollback_uc.RollbackRequest | resume_uc.ResumeRequest:
    """The use-case request for a Slack command: the one place Slack values become use-case values."""
    if isinstance(cmd, PromoteCmd):
        return promote_uc.PromoteRequest(
            tag=cmd.tag,
            target_env=cmd.env,
            who=who,
            service=cmd.service,
            reason=cmd.reason,
            approved_by=approved,
            slack_thread=thread,
            request_id=request_id,
        )
    if isinstance(cmd, RollbackCmd):
        return rollback_uc.RollbackRequest(
            env=cmd.env, who=who, service=cmd.service, to_tag=cmd.to_tag, slack_thread=thread, request_id=request_id
        )
    return resume_uc.ResumeRequest(env=cmd.env, who=who, service=cmd.service, force=cmd.force, request_id=request_id)


class Workflow:
    def __init__(
        self,
        ctx: Context,
        settings: Settings,
        *,
        store: Store,
        authz: Authorizer,
        client: Any,
        clock: Callable[[], float] = time.time,
        request_ttl: float = 1800.0,
        observe: Callable[[str, str, str, float], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.store = store
        self.authz = authz
        self.client = client
        self.clock = clock
        self.request_ttl = request_ttl
        self.observe = observe  # metrics hook: (action, env, committed|noop|failed, seconds)
        self._durable = DurableSlack(client, store)

    # --- /versions ------------------------------------------------------------------------------
    def show_versions(self, user: str, cmd: VersionsCmd, respond: Respond) -> None:
        try:
            report = versions(self.ctx, cmd.service)
        except BotError as err:
            respond(text=f"⚠️ {err}", response_type="ephemeral")
            return
        respond(
            text=f"Versions at {report.revision[:7]}",
            blocks=blocks.versions(report, self.clock()),
            response_type="ephemeral",
        )

    def examples(self, command: str, respond: Respond) -> None:
        """Usage examples built from what the repository runs now (sent after the static usage ack)."""
        report = versions(self.ctx)
        lines = []
        for svc in report.services:
            for src, dst in zip(report.pipeline, report.pipeline[1:], strict=False):
                a, b = svc.environments.get(src), svc.environments.get(dst)
                if command == "/promote" and a and b and a.tag and a.tag != b.tag and a.version != b.version:
                    lines.append(f"`/promote {a.tag} to {dst}`  ({svc.name} v{a.version} → {dst})")
            last = report.pipeline[-1]
            if command == "/rollback" and svc.environments.get(last) and svc.environments[last].last_change:
                lines.append(f"`/rollback {last} {svc.name}`  (undo {svc.name}'s last change in {last})")
        if lines:
            respond(
                text="For example, right now:\n" + "\n".join(lines[:5]),
                response_type="ephemeral",
                replace_original=False,
            )

    # --- preview --------------------------------------------------------------------------------
    def preview(self, user: str, cmd: ActionCmd, respond: Respond, channel: str = "") -> str | None:
        """Plan without writing and show it with Confirm / Cancel. Returns the request id."""
        verb = {PromoteCmd: "promote", ReleaseCmd: "promote", RollbackCmd: "roll back", ResumeCmd: "resume"}[type(cmd)]
        try:
            person = self.authz.check(user, cmd.env, verb)
            plan, fp, service = self._plan(cmd, user_name=person.name, user=user)
        except BotError as err:
            respond(text=f"🚫 {err}" if isinstance(err, Refused) else f"⚠️ {err}", response_type="ephemeral")
            return None
        env = self.settings.env(cmd.env)
        # The id this Slack request logs under becomes the request's key, its buttons' value and its commit's
        # Request-id trailer: one id from the slash command to the Flux reconcile.
        request_id = request_ids.current() or uuid.uuid4().hex
        if isinstance(plan, PromotionPlan) and plan.noop:
            respond(text=f"Nothing to do: {plan.noop_reason}", response_type="ephemeral")
            return None
        if isinstance(plan, ResumePlan) and plan.edit is None:
            respond(text=f"Nothing to do: {plan.automation} is not held.", response_type="ephemeral")
            return None
        self.store.create_request(
            id=request_id,
            kind=json.loads(_payload(cmd))["kind"],
            env=cmd.env,
            service=service,
            requester=user,
            payload=_payload(cmd),
            plan_hash=fp,
            expires_at=self.clock() + self.request_ttl,
            origin_channel=channel,
        )
        dialog = cmd.env == self.settings.pipeline[-1]
        if isinstance(cmd, ReleaseCmd):
            body = blocks.release_preview(plan, request_id, needs_confirm_dialog=dialog, approvals=env.approvals)
        elif isinstance(plan, PromotionPlan):
            body = blocks.promotion_preview(plan, request_id, needs_confirm_dialog=dialog, approvals=env.approvals)
        elif isinstance(plan, RollbackPlan):
            body = blocks.rollback_preview(plan, request_id, needs_confirm_dialog=dialog, approvals=env.approvals)
        else:
            body = blocks.resume_preview(plan, request_id)
        respond(text=f"Preview: {_summary(cmd, service).text}", blocks=body, response_type="ephemeral")
        return request_id

    def _plan(
        self,
        cmd: ActionCmd,
        *,
        user_name: str,
        user: str,
        approved_by: tuple[str, ...] = (),
        thread: str = "",
        request_id: str = "",
    ) -> tuple[Any, str, str]:
        who = cm.person(user_name or user, f"slack:{user}")
        if isinstance(cmd, ReleaseCmd):
            res = release_uc.release(
                self.ctx, source=cmd.source, target=cmd.env, who=who, services=cmd.services, dry_run=True
            )
            live = [p for p in res.plans if not p.noop]
            facts = json.dumps([[p.service, p.source_tag, p.digest, p.current_tag] for p in live])
            return live, hashlib.sha256(facts.encode()).hexdigest(), ",".join(p.service for p in live)
        req = _request(cmd, who, approved_by, thread, request_id)
        if isinstance(req, promote_uc.PromoteRequest):
            ws, plan = promote_uc.prepare(self.ctx, req)
            return plan, fingerprint(plan, ws.files), plan.service
        if isinstance(req, rollback_uc.RollbackRequest):
            ws, rplan = rollback_uc.prepare(self.ctx, req)
            return rplan, fingerprint(rplan, ws.files), rplan.service
        ws, splan = resume_uc.prepare(self.ctx, req)
        return splan, fingerprint(splan, ws.files), splan.service

    # --- clicks ---------------------------------------------------------------------------------
    def confirm(self, user: str, request_id: str, respond: Respond) -> None:
        if not self.store.claim(f"confirm:{request_id}", self.request_ttl):
            respond(text="This request is already being handled.", response_type="ephemeral", replace_original=False)
            return
        req = self.store.get_request(request_id)
        if req is None or req.status != "pending":
            respond(text="This request is no longer pending.", replace_original=False, response_type="ephemeral")
            return
        if req.requester != user:
            respond(text="Only the person who asked can confirm it.", replace_original=False, response_type="ephemeral")
            return
        if self.clock() > req.expires_at:
            self.store.transition(request_id, {"pending"}, "expired")
            respond(text="⌛ This preview expired; run the command again.", replace_original=True)
            return
        cmd = _command(req.payload)
        try:
            person = self.authz.check(user, req.env)
        except Denied as err:
            respond(text=f"🚫 {err}", replace_original=False, response_type="ephemeral")
            return
        summary = _summary(cmd, req.service)
        opened = self._open_or_explain(request_id, req, summary, respond)
        if opened is None:
            return
        channel, ts = opened
        needed = self.settings.env(req.env).approvals
        if needed:
            self.store.transition(request_id, {"pending"}, "pending", channel=channel, message_ts=ts)
            self._update(
                channel,
                ts,
                blocks.approval_request(summary.text, request_id, user, needed, []),
                f"{summary.text}: awaiting approval",
            )
            respond(text=f"✋ Waiting for {needed} approval(s) in <#{channel}>.", replace_original=True)
        else:
            respond(text=f"⏳ Working on it; follow along in <#{channel}>.", replace_original=True)
            self._execute(request_id, cmd, person.name, user, approvers=())

    def _open_or_explain(self, request_id: str, req: Any, summary: Summary, respond: Respond) -> tuple[str, str] | None:
        try:
            return self._open_thread(request_id, req, summary, "pending")
        except Exception as err:  # Slack refused or rate limited the thread's first message: nothing started
            self.store.release(f"confirm:{request_id}")
            log.warning("opening the thread for %s failed: %s", request_id, type(err).__name__)
            respond(
                text="⚠️ Slack did not accept the bot's message (it may be rate limiting). Nothing was changed; "
                "click Confirm again in a minute.",
                replace_original=False,
                response_type="ephemeral",
            )
            return None

    def cancel(self, user: str, request_id: str, respond: Respond) -> None:
        req = self.store.get_request(request_id)
        if req is None or req.requester != user:
            respond(text="Only the person who asked can cancel it.", replace_original=False, response_type="ephemeral")
            return
        if self.store.transition(request_id, {"pending"}, "cancelled"):
            respond(text="🚫 Cancelled.", replace_original=True)
            self._set_status(request_id, req, "cancelled")
        else:
            respond(text="It is too late to cancel this request.", replace_original=False, response_type="ephemeral")

    def approve(self, user: str, request_id: str, respond: Respond) -> None:  # noqa: PLR0911 - one exit per refusal
        req = self.store.get_request(request_id)
        if req is None or req.status != "pending":
            respond(
                text="This request is no longer waiting for approval.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        if user == req.requester:
            respond(
                text="🚫 You cannot approve your own request; another promoter has to.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        try:
            self.authz.check(user, req.env, "approve")
        except Denied as err:
            respond(text=f"🚫 {err}", replace_original=False, response_type="ephemeral")
            return
        ttl = self.settings.env(req.env).approval_ttl
        if self.clock() > req.created_at + ttl:
            self.store.transition(request_id, {"pending"}, "expired")
            self._set_status(request_id, req, "expired", f"approvals expire after {ttl // 60} min; ask again")
            respond(
                text=f"⌛ This request is older than {ttl // 60} min, so approvals no longer count.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        cmd = _command(req.payload)
        requester = self.authz.check(req.requester, req.env)
        try:
            _plan, fp, _svc = self._plan(cmd, user_name=requester.name, user=req.requester)
        except BotError as err:
            respond(text=f"⚠️ The plan no longer holds: {err}", replace_original=False, response_type="ephemeral")
            return
        if fp != req.plan_hash:
            self.store.transition(request_id, {"pending"}, "expired")
            self._set_status(request_id, req, "expired", "the repository or registry moved since the preview")
            respond(
                text="⚠️ Stale: the tag, digest or files changed since this was requested, so the approval "
                "was refused. Ask the requester to run the command again.",
                replace_original=False,
                response_type="ephemeral",
            )
            return
        if not self.store.add_approval(request_id, user, fp):
            respond(text="You already approved this.", replace_original=False, response_type="ephemeral")
            return
        approvers = self.store.approvers(request_id)
        needed = self.settings.env(req.env).approvals
        thread = self.store.thread_of(request_id)
        summary = _summary(cmd, req.service)
        if len(approvers) < needed:
            self._update(
                thread.channel,
                thread.ts,
                blocks.approval_request(summary.text, request_id, req.requester, needed, approvers),
                f"{summary.text}: awaiting approval",
            )
            respond(text="👍 Approval recorded.", replace_original=False, response_type="ephemeral")
            return
        if self.store.transition(request_id, {"pending"}, "approved"):
            self._execute(request_id, cmd, requester.name, req.requester, approvers=tuple(approvers))

    def reject(self, user: str, request_id: str, respond: Respond) -> None:
        req = self.store.get_request(request_id)
        if req is None:
            return
        try:
            self.authz.check(user, req.env, "reject")
        except Denied as err:
            respond(text=f"🚫 {err}", replace_original=False, response_type="ephemeral")
            return
        if self.store.transition(request_id, {"pending"}, "rejected"):
            self._set_status(request_id, req, "rejected", f"by <@{user}>")

    # --- execution ------------------------------------------------------------------------------
    def _execute(self, request_id: str, cmd: ActionCmd, name: str, user: str, approvers: tuple[str, ...]) -> None:
        if not self.store.transition(request_id, {"pending", "approved"}, "running"):
            return  # someone else's click won the race
        req = self.store.get_request(request_id)
        thread = self.store.thread_of(request_id)
        summary = _summary(cmd, req.service)
        try:
            approved = tuple(cm.person(self.authz.check(a, req.env).name, f"slack:{a}") for a in approvers)
            self.authz.check(user, req.env)
            link = self._permalink(thread.channel, thread.ts)
            who = cm.person(name or user, f"slack:{user}")
            sha = self._observed_run(cmd, who, approved, link, request_id, req.env)
        except BotError as err:
            self.store.transition(request_id, {"running"}, "failed", result=str(err))
            self.store.thread_failed(request_id)
            self._update(
                thread.channel,
                thread.ts,
                blocks.status_message(summary.text, "failed", str(err)),
                f"{summary.text}: failed",
            )
            self._reply(thread.channel, thread.ts, f"❌ {err}", broadcast=True)
            return
        self.store.transition(request_id, {"running"}, "done", result=sha or "")
        if sha:
            self.store.thread_committed(request_id, sha)
        detail = f"commit `{(sha or '')[:12]}` by <@{user}>" + (
            f", approved by {', '.join(f'<@{a}>' for a in approvers)}" if approvers else ""
        )
        self._update(
            thread.channel,
            thread.ts,
            blocks.status_message(summary.text, "committed" if sha else "done", detail),
            f"{summary.text}: committed",
        )
        if isinstance(cmd, RollbackCmd):
            self._reply(
                thread.channel,
                thread.ts,
                f"⏸ Image automation is held for {req.service} in {req.env}. "
                f"Resume with `/resume {req.env} {req.service}` once a fixed build is ready.",
            )

    def recover_interrupted(self, scan: int = 2000) -> int:
        """After a restart: settle every request a killed process left "running". Git decides: a commit with
        the request's Request-id trailer means it landed (the bot died after the push); none means Git was
        never changed, whatever the registry got. Either way the thread says so. Returns how many."""
        running = self.store.requests_in("running")
        if not running:
            return 0
        self.ctx.repo.sync()
        landed = {rec.trailers.get("Request-id"): rec.sha for rec in self.ctx.repo.history(["."], max_count=scan)}
        for req in running:
            thread = self.store.thread_of(req.id)
            summary = _summary(_command(req.payload), req.service)
            sha = landed.get(req.id)
            with request_ids.bound(req.id):
                if sha is not None and self.store.transition(req.id, {"running"}, "done", result=sha):
                    log.warning("found the commit of an interrupted request after a restart", extra={"commit": sha})
                    self.store.thread_committed(req.id, sha)
                    if thread is not None:
                        detail = f"commit `{sha[:12]}` (confirmed from Git after the bot restarted)"
                        body = blocks.status_message(summary.text, "committed", detail)
                        self._update(thread.channel, thread.ts, body, f"{summary.text}: committed")
                    continue
                if not self.store.transition(req.id, {"running"}, "failed", result="interrupted by a restart"):
                    continue
                log.warning("a request was interrupted by a restart before its commit reached Git")
                self.store.thread_failed(req.id)
                if thread is not None:
                    self._update(thread.channel, thread.ts,
                                 blocks.status_message(summary.text, "interrupted", "the bot restarted mid-way"),
                                 f"{summary.text}: interrupted")  # fmt: skip
                    self._reply(
                        thread.channel,
                        thread.ts,
                        f"⚠️ The bot restarted while this was running, before its commit reached Git, so nothing "
                        f"changed in {req.env}. The registry may already hold the new tag: that is harmless (the "
                        "same image, and Flux only deploys what Git says). Run the command again if it is still "
                        "wanted.",
                        broadcast=True,
                    )
        return len(running)

    def _observed_run(  # noqa: PLR0917 - _run's arguments plus the env label
        self, cmd: ActionCmd, who: str, approved: tuple[str, ...], link: str, request_id: str, env: str
    ) -> str | None:
        """`_run` under the request's own id (a click that approved it has another), timed for the metrics."""
        action = next(k for k, cls in _KINDS.items() if isinstance(cmd, cls))
        started, result = time.monotonic(), "failed"
        with request_ids.bound(request_id):
            try:
                sha = self._run(cmd, who, approved, link, request_id)
                result = "committed" if sha else "noop"
                return sha
            finally:
                seconds = time.monotonic() - started
                log.info("%s in %s: %s", action, env, result, extra={"seconds": round(seconds, 3)})
                if self.observe is not None:
                    self.observe(action, env, result, seconds)

    def _run(self, cmd: ActionCmd, who: str, approved: tuple[str, ...], link: str, request_id: str) -> str | None:
        if isinstance(cmd, ReleaseCmd):
            return release_uc.release(
                self.ctx, source=cmd.source, target=cmd.env, who=who, services=cmd.services, request_id=request_id
            ).commit
        req = _request(cmd, who, approved, link, request_id)
        if isinstance(req, promote_uc.PromoteRequest):
            return promote_uc.promote(self.ctx, req).commit
        if isinstance(req, rollback_uc.RollbackRequest):
            return rollback_uc.rollback(self.ctx, req).commit
        return resume_uc.resume(self.ctx, req).commit

    # --- Slack plumbing -------------------------------------------------------------------------
    def _channel(self, env: str, fallback: str = "") -> str:
        return self.settings.env(env).channel or fallback

    def _open_thread(self, request_id: str, req: Any, summary: Summary, status: str) -> tuple[str, str]:
        channel = self._channel(req.env, getattr(req, "origin_channel", "") or "")
        resp = self.client.chat_postMessage(
            channel=channel,
            text=f"{summary.text}: {status}",
            blocks=blocks.status_message(summary.text, status, f"requested by <@{req.requester}>"),
            metadata={"event_type": "gitops_request", "event_payload": {"id": request_id, "env": req.env}},
        )
        ts = str(resp["ts"])
        channel = str(resp.get("channel") or channel)
        self.store.record_thread(request_id, channel=channel, ts=ts, env=req.env, service=req.service)
        return channel, ts

    def _set_status(self, request_id: str, req: Any, status: str, detail: str = "") -> None:
        thread = self.store.thread_of(request_id)
        if thread is not None:
            summary = _summary(_command(req.payload), req.service)
            self._update(
                thread.channel,
                thread.ts,
                blocks.status_message(summary.text, status, detail),
                f"{summary.text}: {status}",
            )

    def _update(self, channel: str, ts: str, body: list[blocks.Block], text: str) -> None:
        # Durable: a status that says how a promotion ended must reach Slack, 429 storm or not.
        self._durable.call("chat_update", channel=channel, ts=ts, text=text, blocks=body)

    def _reply(self, channel: str, ts: str, text: str, broadcast: bool = False) -> None:
        self._durable.call("chat_postMessage", channel=channel, ts=ts, text=text, reply_broadcast=broadcast)

    def _permalink(self, channel: str, ts: str) -> str:
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception:
            return ""
