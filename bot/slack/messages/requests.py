"""The request flow: previews, confirmations, approvals, thread statuses and summaries per kind."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.mrkdwn import escape

# --- the request flow -------------------------------------------------------------------------------


def nothing_to_do(why: str) -> str:
    return f"Nothing to do: {escape(why)}"


def not_held(automation: str) -> str:
    return f"{automation} is not held."


def preview(summary: str) -> str:
    return f"Preview: {summary}"


ALREADY_HANDLED = "This request is already being handled."
NO_LONGER_PENDING = "This request is no longer pending."
ONLY_REQUESTER_CONFIRMS = "Only the person who asked can confirm it."
ONLY_REQUESTER_CANCELS = "Only the person who asked can cancel it."
PREVIEW_EXPIRED = "⌛ This preview expired; run the command again."
CANCELLED = "🚫 Cancelled."
TOO_LATE_TO_CANCEL = "It is too late to cancel this request."
NOT_WAITING_FOR_APPROVAL = "This request is no longer waiting for approval."
NO_SELF_APPROVAL = "🚫 You cannot approve your own request; another promoter has to."
APPROVAL_RECORDED = "👍 Approval recorded."
ALREADY_APPROVED = "You already approved this."
NOT_CONFIRMED_YET = "The requester has not confirmed this yet; approve it once it shows in the channel."
NO_COMMIT_DETAIL = "no commit was made: nothing in Git changed"
STALE_APPROVAL = (
    "⚠️ Stale: the tag, digest or files changed since this was requested, so the approval was refused. "
    "Ask the requester to run the command again."
)
STALE_DETAIL = "the repository or registry moved since the preview"
THREAD_NOT_OPENED = (
    "⚠️ Slack did not accept the bot's message (it may be rate limiting). Nothing was changed; "
    "click Confirm again in a minute."
)


def thread_not_opened(err_message: str, retryable: bool) -> str:
    """Confirm could not open the thread: say why, and only suggest retrying when retrying can work."""
    if retryable:
        return THREAD_NOT_OPENED
    return f"⚠️ {err_message} Nothing was changed."


def waiting_for_approvals(needed: int, channel: str) -> str:
    return f"✋ Waiting for {needed} approval(s) in <#{channel}>."


def working(channel: str) -> str:
    return f"⏳ Working on it; follow along in <#{channel}>."


def approvals_expired(minutes: int) -> str:
    return f"⌛ This request is older than {minutes} min, so approvals no longer count."


def approvals_expired_detail(minutes: int) -> str:
    return f"approvals expire after {minutes} min; ask again"


def plan_no_longer_holds(err: str) -> str:
    return f"⚠️ The plan no longer holds: {escape(err)}"


def awaiting_approval(summary: str) -> str:
    return f"{summary}: awaiting approval"


def with_status(summary: str, status: str) -> str:
    return f"{summary}: {status}"


def requested_by(user: str) -> str:
    return f"requested by <@{user}>"


def rejected_by(user: str, reason: str = "") -> str:
    return f"rejected by <@{user}>" + (f": {reason}" if reason else "")


def approved_by(users: Sequence[str]) -> str:
    return "approved by " + ", ".join(f"<@{u}>" for u in users)


def commit_line(sha: str) -> str:
    return f"commit `{sha[:12]}`"


def reconciled_line(env: str, sha: str) -> str:
    return f"✅ reconciled in {env} at `{sha[:7]}`"


def reconcile_failed_line(env: str, sha: str) -> str:
    return f"❌ failed to reconcile in {env} at `{sha[:7]}`"


REJECT_TITLE = "Reject request"
REJECT_LABEL = "Why? (posted in the thread)"
REJECT_SUBMIT = "Reject"


def rejected_reply(user: str, reason: str) -> str:
    return f"🚫 <@{user}> rejected this: {reason}"


def failed_reply(err: str) -> str:
    return f"❌ {escape(err)}"


def flux_failed_reply(message: str) -> str:
    """Flux's own words about a failed reconcile, broadcast to the channel: escaped, so they cannot ping."""
    return f"❌ {escape(message[:500])}"


def held_after_rollback(env: str, service: str) -> str:
    return (
        f"⏸ {service} is held in {env}: Flux's image automation leaves its markers alone, and only those. "
        f"Resume with `/resume {env} {service}` once a fixed build is ready."
    )


def settled_committed(sha: str) -> str:
    return f"commit `{sha[:12]}` (confirmed from Git after the bot restarted)"


INTERRUPTED_DETAIL = "the bot restarted mid-way; outcome not known yet"
NOT_LANDED_DETAIL = "the bot restarted mid-way; no commit reached Git"


def interrupted(env: str) -> str:
    return (
        f"⚠️ The bot restarted while this was running. Git has no commit for it yet, but a push that was in "
        f"flight may still land; this thread will say so when Git shows it. The registry may already hold the "
        f"new {env} tag, and Flux's image automation for {env} picks up the newest tag unless it is held. "
        "Check /versions before asking again."
    )


def interrupted_not_landed(env: str, minutes: int) -> str:
    return (
        f"⚠️ No commit for this reached Git in the {minutes} min after the bot restarted, so Git did not change. "
        f"The registry may hold the new {env} tag, which Flux's image automation for {env} picks up unless it "
        "is held: check /versions, and run the command again if it is still wanted."
    )

# --- what a request changes (previews and the approval message) -----------------------------------
def promotion_head(service: str, tag: str, source_env: str, env: str) -> str:
    return f"Promote *{service}* `{tag}` (from {source_env}) → *{env}*"


def promotion_facts(image: str, digest: str, current: str | None, new_tag: str, alias: str) -> str:
    now = f"`{current}`" if current else "nothing yet"
    return f"image `{image}` · digest `{digest}`\nruns now: {now} → new tags: `{new_tag}`, `{alias}`"


def release_head(count: int, source: str, env: str) -> str:
    return f"Release {count} service{'s' if count != 1 else ''} from *{source}* to *{env}* in one commit:"


def release_line(n: int, service: str, current: str | None, new_tag: str, digest: str) -> str:
    return f"{n}. *{service}* `{current or 'nothing yet'}` → `{new_tag}` · `{digest[:19]}`"


NONE_YET = "none yet"
APPROVE = "Approve"
REJECT = "Reject"


def asks(requester: str, summary: str) -> str:
    return f"✋ <@{requester}> asks: {summary}"


def approvals_line(have: int, needed: int, who: str) -> str:
    return f"*Approvals: {have}/{needed}* ({who})"


def approvers_wanted(mention: str) -> str:
    return f"Approvers: {mention}"


def reason_line(reason: str) -> str:
    return f"*Reason:* {reason}"


def approve_title(env: str) -> str:
    return f"Approve for {env}?" if env else "Approve?"


def approve_text(summary: str) -> str:
    return f"You approve: {summary.replace('*', '')}. Git gets the change once enough people approve."


DETAILS_CONTINUED = "…continued from the message above"

# --- summaries of a request, one per kind ---------------------------------------------------------
def summary_release(services: str, source: str, env: str) -> str:
    names = [s for s in services.split(",") if s]
    if len(names) > 3:  # a count, not a 12,000-character join: the preview and thread list them all
        return f"release *{len(names)} services* from *{source}* → *{env}* in one commit"
    return f"release *{', '.join(names)}* from *{source}* → *{env}* in one commit"


def summary_promote(service: str, tag: str, env: str) -> str:
    return f"promote *{service}* `{tag}` → *{env}*"


def summary_rollback(service: str, env: str, to_tag: str | None) -> str:
    target = f" to `{to_tag}`" if to_tag else ""
    return f"roll back *{service}* in *{env}*{target}"


def summary_resume(service: str, env: str) -> str:
    return f"resume automation for *{service}* in *{env}*"
