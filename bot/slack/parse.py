"""Strict parsing of slash-command text. Anything that does not fit gets a usage message with examples.

Pure: text in, a command value or `InvalidInput` out. Every word that names a tag, environment or
service passes its grammar here, before a use case sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.names import env_name, one_line, service_name
from bot.core.tags import BuildTag
from bot.errors import InvalidInput

USAGE = {
    "/versions": "`/versions [service]` — e.g. `/versions` or `/versions backend`",
    "/promote": "`/promote <tag> to <env> [service:<name>] [reason…]` — "
    "e.g. `/promote staging-v0.0.2-b2c3d4e-1738860123 to production hotfix for login`",
    "/rollback": "`/rollback <env> [service] [to <tag>]` — e.g. `/rollback production backend`",
    "/resume": "`/resume <env> [service] [force]` — e.g. `/resume production backend`",
}


@dataclass(frozen=True)
class VersionsCmd:
    service: str | None = None


@dataclass(frozen=True)
class PromoteCmd:
    tag: str
    env: str
    service: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class RollbackCmd:
    env: str
    service: str | None = None
    to_tag: str | None = None


@dataclass(frozen=True)
class ResumeCmd:
    env: str
    service: str | None = None
    force: bool = False


Command = VersionsCmd | PromoteCmd | RollbackCmd | ResumeCmd


def _usage(command: str, why: str) -> InvalidInput:
    return InvalidInput(why, hint=f"Usage: {USAGE[command]}")


def parse(command: str, text: str) -> Command:
    words = text.split()
    if command == "/versions":
        if len(words) > 1:
            raise _usage(command, "`/versions` takes at most one service name.")
        return VersionsCmd(service_name(words[0]) if words else None)
    if command == "/promote":
        return _promote(words)
    if command == "/rollback":
        return _rollback(words)
    if command == "/resume":
        if not 1 <= len(words) <= 3 or (len(words) == 3 and words[2] != "force"):
            raise _usage(command, "`/resume` needs an environment, optionally a service and `force`.")
        force = words[-1] == "force"
        rest = words[:-1] if force else words
        return ResumeCmd(env_name(rest[0]), service_name(rest[1]) if len(rest) > 1 else None, force)
    raise InvalidInput(f"Unknown command {command!r}.")


def _promote(words: list[str]) -> PromoteCmd:
    if len(words) < 3 or words[1] != "to":
        raise _usage("/promote", "`/promote` needs a tag, the word `to` and an environment.")
    tag = str(BuildTag.parse(words[0]))
    env = env_name(words[2])
    rest = words[3:]
    service = None
    if rest and rest[0].startswith("service:"):
        service = service_name(rest[0].removeprefix("service:"))
        rest = rest[1:]
    reason = one_line(" ".join(rest), "reason", 300) if rest else ""
    return PromoteCmd(tag, env, service, reason)


def _rollback(words: list[str]) -> RollbackCmd:
    if not words:
        raise _usage("/rollback", "`/rollback` needs an environment.")
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
