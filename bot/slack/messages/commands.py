"""Acknowledgements, /versions and the Promote picker: what the bot says as a command is answered."""

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


def promote_help(examples: Sequence[str]) -> str:
    live = ("\n*Right now you could:*\n" + "\n".join(examples)) if examples else ""
    return (
        "*Promoting with gitops-bot*\n"
        "• `/promote` — pick a service, an environment and a build from menus\n"
        "• `/promote <service>` — promote what the previous environment runs to the next one that is behind\n"
        "• `/promote <service> to <env> [reason…]` — the same, into `<env>`\n"
        "• `/promote <tag> to <env> [reason…]` — one exact build\n"
        "• `/promote <env> to <env>` — every service that is ahead, in one commit\n"
        "• `/versions [service|env]` — what runs where, with Promote buttons" + live
    )


def example_rollback(env: str, service: str) -> str:
    return f"`/rollback {env} {service}`  (undo {service}'s last change in {env})"

# --- /versions ------------------------------------------------------------------------------------
def versions_title(revision: str) -> str:
    return f"Versions at {revision[:7]}"


def versions_header(revision: str) -> str:
    return f"*Versions* at `{revision[:7]}`  ·  ⏸ held  ⬆ newer build available"


def versions_page(first: int, last: int, total: int) -> str:
    return f"Services {first}–{last} of {total}"


PREVIOUS_PAGE = "‹ Previous"
NEXT_PAGE = "Next ›"


def promote_button(version: str, env: str) -> str:
    return f"Promote {version} to {env}"


def env_header(env: str, revision: str) -> str:
    return f"*{env}* at `{revision[:7]}`  ·  ⏸ held  ⬆ newer build available"


def env_line(service: str, tag: str | None, age: str, marks: str) -> str:
    return f"*{service}* `{tag}` · {age} {marks}".rstrip() if tag else f"*{service}* —"


_APPLIED_ICON = {"live": "✅", "deploying": "⏳", "failed": "❌", "unknown": "❔"}


def applied_note(state: str, applied_tag: str | None) -> str:
    """What Flux has applied beside Git's tag: the state, and the applied tag when it is not Git's."""
    note = f"{_APPLIED_ICON.get(state, '')} {state}"
    if state in ("deploying", "failed") and applied_tag:
        note += f" (applied `{escape(applied_tag)}`)"
    return note


def nothing_in_env(env: str) -> str:
    return f"No service runs in {env}."

# --- the Promote picker and /promote <service> -----------------------------------------------------
PICK_HEAD = "*Promote* — which service?"
PICK_SERVICE = "Choose a service"
NO_SERVICES = "The repository has no services to promote."


def pick_services(first: int, last: int) -> str:
    return f"Services {first}–{last}"


def pick_build_head(service: str) -> str:
    return f"*Promote {service}* — choose a build; the newest come first, ● marks where each runs now"


def pick_build(source: str, target: str) -> str:
    return f"{source} → {target}"


def build_option(label: str, runs_in: Sequence[str]) -> str:
    return f"{label} ● {', '.join(runs_in)}" if runs_in else label


def no_builds(source: str, target: str) -> str:
    return f"{source} → {target}: no builds tagged for {source} yet."


def nothing_ahead(service: str) -> str:
    return f"Nothing to promote: no environment of {service} runs a newer build than the next one."


def nothing_in_source(service: str, source: str) -> str:
    return f"{service} runs nothing in {source}, so there is nothing to promote from it."


def first_env(env: str) -> str:
    return f"{env} is the first environment: builds arrive there from CI, not by promotion."


# --- the Rollback picker -----------------------------------------------------------------------------
ROLLBACK_UNDO_LAST = "↩ Undo the last change"
ROLLBACK_PICK_TAG = "Go back to…"


def rollback_pick_head(env: str) -> str:
    return f"*Roll back* in *{env}* — which service?"


def rollback_pick_tag_head(service: str, env: str, running: str) -> str:
    return f"*Roll back {service}* in *{env}* (runs `{running}`) — to which tag it ran before?"


def rollback_tag_option(tag: str, when: str) -> str:
    return f"{tag} · {when}"


def rollback_no_earlier_tags(env: str) -> str:
    return f"Git shows no earlier tag in {env}; only undoing the last change is offered."


def nothing_to_roll_back(env: str) -> str:
    return f"Nothing runs in {env} yet, so there is nothing to roll back."
