"""From the outbox to Slack: thread replies for our promotions, notices for the rest, at Slack's pace.

- A Kustomization "Applied revision" whose commit descends from a promotion or rollback commit of ours
  (ancestry, not equality: Flux may skip commits) closes that promotion's thread: a ✅ reply and the
  parent updated to deployed. Other successful reconciles stay quiet.
- A failed reconcile replies in the thread of each promotion it includes and alerts the channel.
- Image-update events become one 🔄 notice per change.
- An event no route or namespace placed goes to its object's environment as Git tells it (a Kustomization
  by what it applies), else to `flux.default_channel`, and is logged as unrouted: never dropped silently.
- Per channel at most one message per `interval` (Slack's ~1 msg/s); a burst for one channel is coalesced
  into one message; a 429 waits `Retry-After`; an item leaves the outbox only after Slack accepted it.
- The watchdog warns in a thread when no reconcile arrived `reconcile_timeout` after the commit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot import request_id
from bot.errors import BotError, NotFound, SlackError, SlackRateLimited
from bot.flux.events import (
    FluxEvent,
    ImageUpdated,
    PolicyResolved,
    Reconciled,
    ReconcileFailed,
    classify,
    parse_event,
)
from bot.promotion.image_notices import new_automation_bumps
from bot.promotion.ports import Context
from bot.slack import blocks, durable
from bot.slack import messages as say
from bot.slack.flux_text import coalesce, render, render_image_update
from bot.slack.port import SlackPort
from bot.slack.store import Outbox, ThreadRecord

log = logging.getLogger(__name__)
LAST_SEEN = "git.last_seen_head"


class Ancestry(Protocol):
    def is_ancestor(self, ancestor: str, descendant: str = "HEAD") -> bool: ...

    def sync(self) -> object: ...


@dataclass
class Pace:
    """Per-channel send clock: one message per `interval` seconds, later if Slack said Retry-After."""

    interval: float = 1.0
    next_at: dict[str, float] = field(default_factory=dict)

    def ready(self, channel: str, now: float) -> bool:
        return now >= self.next_at.get(channel, 0.0)

    def sent(self, channel: str, now: float, wait: float | None = None) -> None:
        self.next_at[channel] = now + (self.interval if wait is None else wait)


def _retry_after(err: SlackError) -> float | None:
    return err.retry_after if isinstance(err, SlackRateLimited) else None


class OutboxItem(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def payload(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class DeliveryStore(Outbox, Protocol):
    """The outbox, the promotion threads and two keys: what the Deliverer reads and writes."""

    def due(self, now: float | None = None, limit: int = 50) -> Sequence[OutboxItem]: ...

    def delivered(self, id: int) -> bool: ...

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> bool: ...

    def committed_threads(self) -> Sequence[ThreadRecord]: ...

    def thread_reconciled(self, request_id: str) -> bool: ...

    def thread_failed(self, request_id: str) -> bool: ...

    def thread_warned(self, request_id: str) -> bool: ...

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


class Deliverer:
    def __init__(
        self,
        store: DeliveryStore,
        slack: SlackPort,
        repo: Ancestry,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = 1.0,
        reconcile_timeout: float = 900.0,
        env_channel: Callable[[str], str | None] = lambda _e: None,
        rollback_button: Callable[[str], bool] = lambda _e: False,
        watch: bool = True,
        story: Callable[[str], tuple[str, list[str]] | None] = lambda _id: None,
        place: Callable[[FluxEvent], str | None] = lambda _e: None,
        unrouted_channel: str = "",
        observe: Callable[[FluxEvent], None] = lambda _e: None,
    ) -> None:
        self.store = store
        self.slack = slack
        self.repo = repo
        self.clock = clock
        self.pace = Pace(interval)
        self.reconcile_timeout = reconcile_timeout
        self.env_channel = env_channel
        self.rollback_button = rollback_button
        self.watch = watch  # the reconcile watchdog; off when no Flux events can arrive
        self.story = story  # request id → (summary, who asked/approved, commit): kept through every update
        self.place = place  # event → the environment of its object, from Git (bot/promotion/fleet_places.py)
        self.unrouted_channel = unrouted_channel  # flux.default_channel: where events nothing places go
        self.observe = observe  # every event, before any Slack work: the applied state (bot/flux/applied.py)
        self._durable = durable.DurableSlack(slack, store)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the loop -------------------------------------------------------------------------------
    def start(self, period: float = 0.2) -> None:
        """Deliver every `period` seconds (and run the promotion watchdog) until `stop()`."""

        def loop() -> None:
            while not self._stop.wait(period):
                try:
                    self.run_once()
                    if self.watch:
                        self.watchdog()
                except Exception:
                    log.exception("delivery round failed; retrying")

        self._thread = threading.Thread(target=loop, name="flux-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def run_once(self, limit: int = 500) -> int:
        """One pass over the due items; returns how many left the outbox."""
        now = self.clock()
        notices: dict[str, list[tuple[int, str]]] = {}
        done = 0
        for item in self.store.due(now, limit):
            data = json.loads(item.payload)
            if durable.PAYLOAD_KEY in data:  # a thread's status or reply that Slack refused earlier
                done += self._replay(item, data[durable.PAYLOAD_KEY], str(data.get("thread", "")))
                continue
            if "blocks" in data:  # a ready-made message with buttons: posted on its own, never coalesced
                done += self._post_message(item.id, item.channel, data)
                continue
            if "text" in data:  # a ready-made notice (image updates seen in Git)
                notices.setdefault(item.channel, []).append((item.id, str(data["text"])))
                continue
            try:
                event = parse_event(data["event"].encode("utf-8"))
            except BotError:
                self.store.delivered(item.id)  # cannot happen for what the receiver accepted; never loop on it
                continue
            with request_id.bound(data.get("request_id")):  # the id the receiver logged when it accepted it
                text = self._handle(event, item.channel, data.get("mention", ""))
                channel = item.channel or (self._placed(event) if text is not None else "")
            if text is None or not channel:  # handled without a notice, or unroutable (logged by _placed)
                self.store.delivered(item.id)
                done += 1
            else:
                notices.setdefault(channel, []).append((item.id, text))
        for channel, entries in notices.items():
            done += self._post_notices(channel, entries)
        return done

    def _post_message(self, item_id: int, channel: str, data: dict[str, object]) -> int:
        now = self.clock()
        if not self.pace.ready(channel, now):
            return 0
        try:
            self.slack.call("chat_postMessage", {"channel": channel, "text": str(data["text"]),
                                                 "blocks": data["blocks"]})  # fmt: skip
        except SlackError as err:
            wait = _retry_after(err)
            self.pace.sent(channel, now, wait if wait is not None else 5.0)
            self.store.retry_later(item_id, now + (wait or 5.0), err.code or type(err).__name__)
            return 0
        self.pace.sent(channel, self.clock())
        self.store.delivered(item_id)
        return 1

    def _replay(self, item: OutboxItem, call: dict[str, object], thread: str) -> int:
        now = self.clock()
        method, args = str(call.get("method")), dict(call.get("args") or {})  # type: ignore[call-overload]
        earlier = self.store.waiting_before(thread, item.id)
        if earlier is not None:  # an older message of the same thread still waits: keep the thread's order
            self.store.retry_later(item.id, max(earlier, now), "waiting for an earlier message")
            return 0
        if method not in durable.METHODS:
            self.store.delivered(item.id)  # not ours to replay; never loop on it
            return 0
        paced = method == "chat_postMessage"  # Slack's one-per-second is about posting, not editing
        if paced and not self.pace.ready(item.channel, now):
            return 0
        try:
            self.slack.call(method, args)
        except SlackError as err:
            if not err.retryable:
                log.warning("%s in %s refused by Slack (%s); dropped", method, item.channel, err.code)
                self.store.delivered(item.id)
                return 0
            wait = _retry_after(err)
            backoff = wait if wait is not None else min(300.0, 2.0 ** min(item.attempts, 8))
            if paced:
                self.pace.sent(item.channel, now, backoff)
            self.store.retry_later(item.id, now + backoff, err.code or type(err).__name__)
            return 0
        if paced:
            self.pace.sent(item.channel, self.clock())
        self.store.delivered(item.id)
        return 1

    def _post_notices(self, channel: str, entries: list[tuple[int, str]]) -> int:
        # Pace from the moment of posting, not the start of the round: reading a big batch takes time.
        now = self.clock()
        if not self.pace.ready(channel, now):
            return 0
        text = coalesce([t for _, t in entries])
        try:
            self.slack.call("chat_postMessage", {"channel": channel, "text": text})
        except SlackError as err:
            wait = _retry_after(err)
            self.pace.sent(channel, now, wait if wait is not None else 5.0)
            for item_id, _ in entries:
                self.store.retry_later(item_id, now + (wait or 5.0), err.code or type(err).__name__)
            log.warning("posting to %s failed (%s); retrying later", channel, err.code)
            return 0
        self.pace.sent(channel, self.clock())
        for item_id, _ in entries:
            self.store.delivered(item_id)
        return len(entries)

    # --- what each event means ------------------------------------------------------------------
    def _handle(self, event: FluxEvent, channel: str, mention: str) -> str | None:
        """Do thread work now; return the channel notice text, or None when the event needs no notice."""
        self.observe(event)
        kind = classify(event)
        if isinstance(kind, Reconciled):
            self._close_threads(kind.sha)
            return None
        if isinstance(kind, ReconcileFailed):
            return self._failed(event, kind, channel, mention)
        if isinstance(kind, ImageUpdated | PolicyResolved):
            return render_image_update(kind, None, None)
        return render(event)

    def _placed(self, event: FluxEvent) -> str:
        """The channel for an event no route and no namespace placed: its object's environment as Git tells it
        (a Kustomization by what it applies), else the default channel. Never dropped without a log line."""
        o = event.involved
        try:
            env = self.place(event)
        except BotError as err:  # Git unreachable: the event still goes to the default channel
            log.warning("cannot read the fleet to place a Flux event: %s", err.message)
            env = None
        channel = self.env_channel(env) if env else None
        if channel:
            return channel
        where = f"sent to {self.unrouted_channel}" if self.unrouted_channel else "not posted (set flux.default_channel)"
        why = f"environment {env} has no channel" if env else "no route, namespace or Flux object in Git places it"
        log.warning("unrouted Flux event %s %s/%s (%s, %s): %s; %s", o.kind, o.namespace, o.name, event.severity,
                    event.reason, why, where)  # fmt: skip
        return self.unrouted_channel

    def _includes(self, commit: str, revision: str) -> bool:
        """Does `revision` (what Flux applied) contain our `commit`? Fetch once if Git does not know it yet."""
        try:
            return self.repo.is_ancestor(commit, revision)
        except NotFound:
            self.repo.sync()
        try:
            return self.repo.is_ancestor(commit, revision)
        except NotFound:
            return False

    def _close_threads(self, sha: str) -> None:
        for thread in self.store.committed_threads():
            if (
                thread.commit_sha
                and self._includes(thread.commit_sha, sha)
                and self.store.thread_reconciled(thread.request_id)
            ):
                # Under the promotion's own id (its commit's Request-id trailer), naming the event's id too.
                event_id = request_id.current()
                with request_id.bound(thread.request_id):
                    log.info("%s reconciled in %s at %s", thread.service, thread.env, sha[:12],
                             extra={"commit": thread.commit_sha, "flux_request_id": event_id})  # fmt: skip
                self._reply(thread.channel, thread.ts, f"✅ reconciled in {thread.env} at `{sha[:7]}`")
                self._settle(thread, blocks.Shown.RECONCILED, say.reconciled_line(thread.env, sha),
                             f"✅ {thread.service} deployed to {thread.env} at `{sha[:7]}` — *reconciled*")  # fmt: skip

    def _failed(self, event: FluxEvent, kind: ReconcileFailed, channel: str, mention: str) -> str:
        envs = set()
        for thread in self.store.committed_threads():
            if kind.sha and thread.commit_sha and self._includes(thread.commit_sha, kind.sha):
                envs.add(thread.env)
                self.store.thread_failed(thread.request_id)
                event_id = request_id.current()
                with request_id.bound(thread.request_id):
                    log.warning("%s failed to reconcile in %s at %s", thread.service, thread.env, kind.sha[:12],
                                extra={"commit": thread.commit_sha, "flux_request_id": event_id})  # fmt: skip
                self._reply(thread.channel, thread.ts, say.flux_failed_reply(kind.message), broadcast=True)
                self._settle(thread, blocks.Shown.FAILED, say.reconcile_failed_line(thread.env, kind.sha),
                             f"❌ {thread.service} in {thread.env} — *failed*")  # fmt: skip
                if self.rollback_button(thread.env):
                    self._rollback_offer(thread.channel, thread.env, thread.service)
        prefix = f"{mention} " if mention else ""
        return f"{prefix}{render(event)}"

    def _rollback_offer(self, channel: str, env: str, service: str) -> None:
        body: list[blocks.Block] = [blocks.section(f"🚨 {service} failed in {env}. Roll back?"),
                {"type": "actions", "elements": [blocks.button("Roll back", blocks.ROLLBACK_FROM_ALERT,
                                                               json.dumps({"env": env, "service": service}),
                                                               "danger")]}]  # fmt: skip
        try:
            self.slack.post(channel, f"{service} failed in {env}", blocks=body)
        except SlackError as err:
            log.warning("rollback offer in %s failed: %s", channel, err.code)

    # --- image updates seen in Git --------------------------------------------------------------
    def git_notices(self, ctx: Context) -> int:
        """Queue a notice per automation bump since the last look (the first look only remembers HEAD)."""
        head, notices = new_automation_bumps(ctx, self.store.get(LAST_SEEN))
        queued = 0
        for n in notices:
            channel = self.env_channel(n.env)
            if channel and self.store.enqueue(channel, json.dumps({"text": n.text()}), n.dedupe_key) is not None:
                queued += 1
        self.store.put(LAST_SEEN, head)
        return queued

    # --- watchdog -------------------------------------------------------------------------------
    def watchdog(self) -> int:
        now = self.clock()
        warned = 0
        for thread in self.store.committed_threads():
            late = thread.committed_at is not None and now - thread.committed_at > self.reconcile_timeout
            if late and not thread.watchdog_warned and self.store.thread_warned(thread.request_id):
                minutes = int(self.reconcile_timeout // 60)
                self._reply(thread.channel, thread.ts,
                            f"⚠️ No reconcile event from Flux within {minutes} min of commit "
                            f"`{thread.commit_sha[:7]}`. Check the Kustomization and the Alert wiring.")  # fmt: skip
                warned += 1
        return warned

    # --- Slack calls that must not break the loop -----------------------------------------------
    def _reply(self, channel: str, ts: str, text: str, broadcast: bool = False) -> None:
        self._durable.call("chat_postMessage", channel=channel, ts=ts, text=text, reply_broadcast=broadcast)

    def _update(self, channel: str, ts: str, text: str) -> None:
        self._durable.call("chat_update", channel=channel, ts=ts, text=text, blocks=[])

    def _settle(self, thread: ThreadRecord, status: blocks.Shown, line: str, fallback: str) -> None:
        """The parent's final status, added under who asked, who approved, the tags and the commit."""
        story = self.story(thread.request_id)
        if story is None:
            self._update(thread.channel, thread.ts, fallback)
            return
        summary, history = story
        self._durable.call("chat_update", channel=thread.channel, ts=thread.ts, text=say.with_status(summary, status),
                           blocks=blocks.status_message(summary, status, line, history))  # fmt: skip
