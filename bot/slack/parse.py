"""Strict parsing of slash-command text. Anything that does not fit gets a usage message with examples.

Pure: text in, a command value or `InvalidInput` out. Every word that names a tag, environment or
service passes its grammar here, before a use case sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bot.actions.freeze import FreezeCmd, UnfreezeCmd
from bot.actions.promote import PromoteCmd
from bot.actions.release import ReleaseCmd
from bot.actions.resume import ResumeCmd
from bot.actions.rollback import RollbackCmd
from bot.core.names import env_name, one_line, service_name
from bot.core.tags import BuildTag
from bot.errors import InvalidInput

USAGE = {
    "/versions": "`/versions [service|env]` — e.g. `/versions`, `/versions backend` or `/versions production`",
    "/promote": "`/promote` (a picker), `/promote <service> [to <env>] [reason…]`, "
    "`/promote <tag> to <env> [service:<name>] [reason…]` or `/promote <env> to <env>` — "
    "e.g. `/promote backend to production hotfix for login`; `/promote help` shows live examples",
    "/rollback": "`/rollback` (a picker of what the last environment ran) or `/rollback <env> [service] [to <tag>]` "
    "— e.g. `/rollback production backend`",
    "/resume": "`/resume <env> [service] [force]` — e.g. `/resume production backend`",
    "/freeze": "`/freeze <env> <duration|until ISO-time> <reason…>` — e.g. `/freeze production 2h release party`",
    "/unfreeze": "`/unfreeze <env>` — e.g. `/unfreeze production`",
    "/history": "`/history <env> [service]` — e.g. `/history production backend`",
    "/schedule": "`/schedule` lists scheduled promotions; `/schedule cancel <id>` cancels one",
}


class Query(StrEnum):
    """Commands that only read: answered at once, never previewed or confirmed."""

    VERSIONS = "versions"
    HISTORY = "history"
    SCHEDULES = "schedules"
    PROMOTE_SERVICE = "promote_service"  # resolved to a tag (what the source env runs), then a promotion
    PICK = "pick"  # the Promote picker
    ROLLBACK_PICK = "rollback_pick"  # the Rollback picker
    HELP = "help"


@dataclass(frozen=True)
class VersionsCmd:
    service: str | None = None
    env: str | None = None
    kind: ClassVar[Query] = Query.VERSIONS


@dataclass(frozen=True)
class PromoteServiceCmd:
    """`/promote backend [to production] [reason…]`: promote whatever the step's source env runs."""

    service: str
    env: str | None = None  # None: the step where a newer build waits
    reason: str = ""
    kind: ClassVar[Query] = Query.PROMOTE_SERVICE


@dataclass(frozen=True)
class PickCmd:
    kind: ClassVar[Query] = Query.PICK


@dataclass(frozen=True)
class RollbackPickCmd:
    kind: ClassVar[Query] = Query.ROLLBACK_PICK


@dataclass(frozen=True)
class HelpCmd:
    command: str
    kind: ClassVar[Query] = Query.HELP


@dataclass(frozen=True)
class HistoryCmd:
    env: str
    service: str | None = None
    kind: ClassVar[Query] = Query.HISTORY


@dataclass(frozen=True)
class ScheduleCmd:
    cancel: str | None = None
    kind: ClassVar[Query] = Query.SCHEDULES


Command = (
    VersionsCmd | PromoteCmd | ReleaseCmd | RollbackCmd | ResumeCmd | FreezeCmd | UnfreezeCmd | HistoryCmd | ScheduleCmd
    | PromoteServiceCmd | PickCmd | RollbackPickCmd | HelpCmd
)
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?|\d{2}:\d{2}", re.ASCII)
_DURATION = re.compile(r"(\d+d)?(\d+h)?(\d+m)?", re.ASCII)


def _usage(command: str, why: str) -> InvalidInput:
    return InvalidInput(why, hint=f"Usage: {USAGE[command]}")


def parse(command: str, text: str, envs: Sequence[str] = ()) -> Command:
    """`envs`: the pipeline's environments, so a word can be told apart as an environment or a service."""
    words = text.split()
    if command == "/promote":
        return _promote(words, envs)
    if command == "/versions":
        return _versions(words, envs)
    handler = _PARSERS.get(command)
    if handler is None:
        raise InvalidInput(f"Unknown command {command!r}.")
    return handler(words)


def _versions(words: list[str], envs: Sequence[str]) -> VersionsCmd:
    if len(words) > 1:
        raise _usage("/versions", "`/versions` takes at most one service or environment name.")
    if words and words[0] in envs:
        return VersionsCmd(env=env_name(words[0]))
    return VersionsCmd(service_name(words[0]) if words else None)


def _resume(words: list[str]) -> ResumeCmd:
    if not 1 <= len(words) <= 3 or (len(words) == 3 and words[2] != "force"):
        raise _usage("/resume", "`/resume` needs an environment, optionally a service and `force`.")
    force = words[-1] == "force"
    rest = words[:-1] if force else words
    return ResumeCmd(env_name(rest[0]), service_name(rest[1]) if len(rest) > 1 else None, force)


def _unfreeze(words: list[str]) -> UnfreezeCmd:
    if len(words) != 1:
        raise _usage("/unfreeze", "`/unfreeze` takes exactly one environment.")
    return UnfreezeCmd(env_name(words[0]))


def _history(words: list[str]) -> HistoryCmd:
    if not 1 <= len(words) <= 2:
        raise _usage("/history", "`/history` needs an environment and optionally a service.")
    return HistoryCmd(env_name(words[0]), service_name(words[1]) if len(words) > 1 else None)


def _schedule(words: list[str]) -> ScheduleCmd:
    if not words:
        return ScheduleCmd()
    if len(words) == 2 and words[0] == "cancel" and re.fullmatch(r"[0-9a-f]{6,32}", words[1]):
        return ScheduleCmd(cancel=words[1])
    raise _usage("/schedule", "`/schedule` alone lists; `/schedule cancel <id>` cancels.")


def _freeze(words: list[str]) -> FreezeCmd:
    if len(words) < 2:
        raise _usage("/freeze", "`/freeze` needs an environment and how long.")
    env = env_name(words[0])
    if words[1] == "until":
        if len(words) < 3 or not _AT.fullmatch(words[2]) or ":" not in words[2] or "T" not in words[2]:
            raise _usage("/freeze", "After `until` give an ISO time like 2026-11-27T18:00.")
        return FreezeCmd(env, words[2], True, one_line(" ".join(words[3:]), "reason", 200))
    if not words[1] or not _DURATION.fullmatch(words[1]) or words[1].isdigit():
        raise _usage("/freeze", f"{words[1]!r} is not a duration like 30m, 2h or 3d.")
    return FreezeCmd(env, words[1], False, one_line(" ".join(words[2:]), "reason", 200))


def _by_service(words: list[str]) -> PromoteServiceCmd:
    service, rest, env = service_name(words[0]), words[1:], None
    if rest and rest[0] == "to":
        if len(rest) < 2:
            raise _usage("/promote", "After `to` name the environment.")
        env, rest = env_name(rest[1]), rest[2:]
    return PromoteServiceCmd(service, env, one_line(" ".join(rest), "reason", 300) if rest else "")


def _promote(words: list[str], envs: Sequence[str] = ()) -> Command:
    if not words and envs:
        return PickCmd()
    if words == ["help"]:
        return HelpCmd("/promote")
    # A word shaped like `<env>-v…` is a tag, even a broken one: its error names the tag's grammar.
    tagged = bool(words) and (BuildTag.is_valid(words[0]) or any(words[0].startswith(f"{e}-v") for e in envs))
    if envs and words and not tagged and words[0] not in envs:
        return _by_service(words)
    if len(words) < 3 or words[1] != "to":
        raise _usage("/promote", "`/promote` needs a tag, a service or an environment to promote from.")
    if not tagged and re.fullmatch(r"[a-z][a-z0-9-]*", words[0]):
        # `/promote staging to production [service…]`: a release set
        return ReleaseCmd(env_name(words[0]), env_name(words[2]), tuple(service_name(w) for w in words[3:]))
    tag = str(BuildTag.parse(words[0]))
    env = env_name(words[2])
    rest = words[3:]
    at = None
    if rest and rest[0] == "at":
        if len(rest) < 2 or not _AT.fullmatch(rest[1]):
            raise _usage("/promote", "After `at` give an ISO time (2026-11-25T14:00) or HH:MM (UTC).")
        at, rest = rest[1], rest[2:]
    service = None
    if rest and rest[0].startswith("service:"):
        service = service_name(rest[0].removeprefix("service:"))
        rest = rest[1:]
    reason = one_line(" ".join(rest), "reason", 300) if rest else ""
    return PromoteCmd(tag, env, service, reason, at)


def _rollback(words: list[str]) -> RollbackCmd | RollbackPickCmd:
    if not words:
        return RollbackPickCmd()
    env = env_name(words[0])
    rest = words[1:]
    service = None
    if rest and rest[0] != "to":
        service = service_name(rest[0])
        rest = rest[1:]
    to_tag = None
    if rest:
        if rest[0] != "to" or len(rest) != 2:
            raise _usage("/rollback", "After the service only `to <tag>` may follow.")
        to_tag = str(BuildTag.parse(rest[1]))
    return RollbackCmd(env, service, to_tag)


_PARSERS: dict[str, Callable[[list[str]], Command]] = {
    "/versions": lambda words: _versions(words, ()),
    "/promote": _promote,
    "/rollback": _rollback,
    "/resume": _resume,
    "/freeze": _freeze,
    "/unfreeze": _unfreeze,
    "/history": _history,
    "/schedule": _schedule,
}
