"""Every sentence the bot says in Slack, in one place, so wording is reviewed and changed here only.

Pure functions of values. Outside text (reasons, error texts that quote Git or a registry, names, Flux
messages) goes through `escape` (bot/core/mrkdwn.py), the one escaping function, wherever it is placed.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.mrkdwn import escape

# --- acknowledgements (sent inside Slack's 3 s) ---------------------------------------------------
READING_VERSIONS = "⏳ Reading versions…"
ON_IT = "⏳ On it…"
PLANNING = "⏳ Planning…"
SOMETHING_WENT_WRONG = "⚠️ Something went wrong on my side; the team has the details in the bot's log."
BUTTON_STALE = "That button no longer makes sense; run /versions again."


def not_available(command: str) -> str:
    return f"{command} is not available here."


def problem(text: str) -> str:
    return f"⚠️ {escape(text)}"


def refused(text: str) -> str:
    return f"🚫 {escape(text)}"


def usage(message: str, hint: str) -> str:
    return f"{message}\n{hint}"


def examples(lines: Sequence[str]) -> str:
    return "For example, right now:\n" + "\n".join(lines)


def example_promote(tag: str, env: str, service: str, version: str) -> str:
    return f"`/promote {tag} to {env}`  ({service} v{version} → {env})"


def example_rollback(env: str, service: str) -> str:
    return f"`/rollback {env} {service}`  (undo {service}'s last change in {env})"


# --- the request flow -------------------------------------------------------------------------------
def versions_title(revision: str) -> str:
    return f"Versions at {revision[:7]}"


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


def rejected_by(user: str) -> str:
    return f"by <@{user}>"


def committed_detail(sha: str, user: str, approvers: Sequence[str]) -> str:
    approved = f", approved by {', '.join(f'<@{a}>' for a in approvers)}" if approvers else ""
    return f"commit `{sha[:12]}` by <@{user}>{approved}"


def failed_reply(err: str) -> str:
    return f"❌ {escape(err)}"


def flux_failed_reply(message: str) -> str:
    """Flux's own words about a failed reconcile, broadcast to the channel: escaped, so they cannot ping."""
    return f"❌ {escape(message[:500])}"


def held_after_rollback(env: str, service: str) -> str:
    return (
        f"⏸ Image automation is held for {service} in {env}. "
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


# --- summaries of a request, one per kind ---------------------------------------------------------
def summary_release(services: str, source: str, env: str) -> str:
    return f"release *{services}* from *{source}* → *{env}* in one commit"


def summary_promote(service: str, tag: str, env: str) -> str:
    return f"promote *{service}* `{tag}` → *{env}*"


def summary_rollback(service: str, env: str, to_tag: str | None) -> str:
    target = f" to `{to_tag}`" if to_tag else ""
    return f"roll back *{service}* in *{env}*{target}"


def summary_resume(service: str, env: str) -> str:
    return f"resume automation for *{service}* in *{env}*"


# --- freezes, history, schedules ------------------------------------------------------------------
def frozen(env: str, until: str, user: str, reason: str) -> str:
    return f"❄ {env} is frozen until {until} by <@{user}>: {escape(reason) or 'no reason given'}"


def with_commit(text: str, sha: str | None) -> str:
    return f"{text} (commit `{(sha or '')[:7]}`)"


def unfrozen(env: str, user: str) -> str:
    return f"☀ {env} unfrozen by <@{user}>"


def no_manual_freeze(env: str) -> str:
    return f"{env} had no manual freeze."


def history(env: str, lines: Sequence[str]) -> str:
    body = "```" + "\n".join(lines) + "```" if lines else "Nothing recorded yet."
    return f"*History of {env}*\n{body}"


NO_SUCH_SCHEDULE = "No waiting scheduled promotion has that id."
NOTHING_SCHEDULED = "Nothing is scheduled."


def schedule_cancelled(schedule_id: str) -> str:
    return f"🚫 Cancelled {schedule_id}."


def schedule_line(schedule_id: str, at: str, tag: str, env: str, who: str) -> str:
    return f"`{schedule_id}` {at}  `{tag}` → {env}  by {escape(who)}"


def scheduled(tag: str, env: str, at: str, user: str, schedule_id: str) -> str:
    return f"🕑 `{tag}` → {env} scheduled for {at} by <@{user}> (id `{schedule_id}`)"


DEFERRED_RAN = "its thread has the outcome"
THREAD_NOT_OPENED_DEFERRED = "Slack did not accept the thread's first message, so nothing was run."


def deferred_awaiting(needed: int, minutes: int) -> str:
    return f"waiting for {needed} approval(s) in its thread; it expires unapproved after {minutes} min"


def needs_slack_approvals(env: str) -> str:
    return f"{env} needs approvals, which only a promotion scheduled from Slack can collect; schedule it there."


def scheduled_reply(text: str) -> str:
    return f"{text}; it is checked again when it runs."


def schedule_ran(ok: bool, *, tag: str, env: str, schedule_id: str, status: str, result: str) -> str:
    return f"{'✅' if ok else '❌'} scheduled `{tag}` → {env} ({schedule_id}): {status} {escape(result)}"


# --- new builds -----------------------------------------------------------------------------------
def new_build(service: str, version: str, sha: str, source: str, target: str) -> str:
    return f"🆕 {service} v{version} ({sha}) is in {source} and ready to promote to {target}."


# --- Slack's own refusals (bot/slack/port.py) ------------------------------------------------------
def slack_rate_limited() -> str:
    return "Slack is rate limiting the bot."


def slack_unavailable() -> str:
    return "Slack did not answer."


def slack_not_in_channel(channel: str) -> str:
    where = f"<#{channel}>" if channel else "the channel"
    return f"The bot is not in {where}: invite it there (`/invite @gitops-bot`), then try again."


def slack_channel_not_found(channel: str) -> str:
    return (
        f"Slack has no channel {channel or '(none configured)'} that the bot can see: check "
        "`environments.<env>.channel` in the config (a channel ID like C0123ABCD)."
    )


def slack_invalid_auth() -> str:
    return "Slack refused the bot's token: check SLACK_BOT_TOKEN (it may be revoked or for another workspace)."


def slack_missing_scope() -> str:
    return "The Slack app lacks a permission it needs: reinstall it from config/slack-app-manifest.yaml."


def slack_refused(code: str) -> str:
    return f"Slack refused the call ({code})."
