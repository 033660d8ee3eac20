"""Who may act: per-environment promoters (user ids and user-group handles), checked on every step.

The check runs at the command, again at every button click and again right before execution, since
a Slack confirm dialog is UX, not authorization. Group membership comes from `usergroups.list`
(Tier 2), cached for a minute; any lookup error denies (fail closed). Deleted users, bots and guests
are never promoters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient

from bot.errors import GateRefused
from bot.settings import Promoters

log = logging.getLogger(__name__)


class Denied(GateRefused):
    """The person may not do this in this environment."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    deleted: bool = False
    is_bot: bool = False
    guest: bool = False


class Directory(Protocol):
    def person(self, user_id: str) -> Person: ...

    def group_members(self) -> Mapping[str, frozenset[str]]:
        """Group handle → member user ids, for every user group."""
        ...

    def group_id(self, handle: str) -> str | None:
        """The group's id (S…), for a mention that notifies its members; None when unknown."""
        ...


class SlackDirectory:
    """Directory over the Slack Web API (anything with slack_sdk WebClient's `api_call`), cached for `ttl`."""

    def __init__(self, client: WebClient, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._groups: tuple[float, Mapping[str, frozenset[str]]] | None = None
        self._ids: dict[str, str] = {}
        self._people: dict[str, tuple[float, Person]] = {}

    def person(self, user_id: str) -> Person:
        now = self._clock()
        with self._lock:
            hit = self._people.get(user_id)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        user = self._client.users_info(user=user_id)["user"]
        person = Person(
            id=user_id,
            name=str(user.get("real_name") or user.get("name") or user_id),
            deleted=bool(user.get("deleted")),
            is_bot=bool(user.get("is_bot")),
            guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
        )
        with self._lock:
            self._people[user_id] = (now, person)
        return person

    def group_members(self) -> Mapping[str, frozenset[str]]:
        now = self._clock()
        with self._lock:
            if self._groups and now - self._groups[0] < self._ttl:
                return self._groups[1]
        groups = self._client.usergroups_list(include_users=True)["usergroups"]
        members = {str(g["handle"]): frozenset(g.get("users") or ()) for g in groups}
        with self._lock:
            self._groups = (now, members)
            self._ids = {str(g["handle"]): str(g["id"]) for g in groups if g.get("id")}
        return members

    def group_id(self, handle: str) -> str | None:
        self.group_members()  # fills or refreshes the ids with the members (one Tier 2 call, cached)
        with self._lock:
            return self._ids.get(handle)


class Authorizer:
    def __init__(self, promoters: Mapping[str, Promoters], directory: Directory) -> None:
        self._promoters = promoters
        self._directory = directory

    def check(self, user_id: str, env: str, action: str = "promote") -> Person:
        """Return the person when allowed; raise Denied (ephemeral text names what is needed) otherwise."""
        try:
            person = self._directory.person(user_id)
        except Exception as err:
            log.warning("authz lookup failed for %s in %s: %s", user_id, env, type(err).__name__)
            raise Denied("I could not look you up in Slack just now, so I cannot let you act.") from err
        if person.deleted or person.is_bot or person.guest:
            log.info("authz denied %s (%s) %s in %s: not a full member", user_id, person.name, action, env)
            raise Denied(f"Only full workspace members may {action} in {env}.")
        rule = self._promoters.get(env) or Promoters()
        if rule.anyone or user_id in rule.users:
            return person
        try:
            groups = self._directory.group_members() if rule.groups else {}
        except Exception as err:
            log.warning("authz group lookup failed for %s in %s: %s", user_id, env, type(err).__name__)
            raise Denied("I could not check your user groups just now, so I cannot let you act.") from err
        if any(user_id in groups.get(g, frozenset()) for g in rule.groups):
            return person
        log.info("authz denied %s (%s) %s in %s", user_id, person.name, action, env)
        needed = " or ".join(f"@{g}" for g in rule.groups) or "the promoters list"
        raise Denied(f"You may not {action} in {env}.", hint=f"Ask someone in {needed}.")

    def approvers(self, env: str, *, besides: str = "") -> str:
        """Who can approve in `env`, as Slack mentions that notify them (the requester left out); "" when anyone
        may. A group Slack cannot resolve just now is named by its handle rather than left out."""
        rule = self._promoters.get(env) or Promoters()
        if rule.anyone:
            return ""
        named = [f"<@{u}>" for u in rule.users if u != besides]
        for handle in rule.groups:
            try:
                gid = self._directory.group_id(handle)
            except Exception as err:  # a mention is a courtesy: never let it stop the request
                log.warning("could not resolve @%s for a mention: %s", handle, type(err).__name__)
                gid = None
            named.append(f"<!subteam^{gid}>" if gid else f"@{handle}")
        return " ".join(named)

    def is_promoter(self, user_id: str, env: str) -> bool:
        try:
            self.check(user_id, env)
        except Denied:
            return False
        return True
