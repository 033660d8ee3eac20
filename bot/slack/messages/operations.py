"""Freezes, history, schedules, new-build notices, and Slack's own refusals (bot/slack/port.py)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.mrkdwn import escape


# --- freezes, history, schedules ------------------------------------------------------------------
def frozen(env: str, until: str, user: str, reason: str) -> str:
    return f"❄ {env} is frozen until {until} by <@{user}>: {escape(reason) or 'no reason given'}"


def already_frozen(env: str) -> str:
    return f"❄ {env} is already frozen so; nothing was committed."


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
