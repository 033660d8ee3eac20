"""The state and Web API methods of a fake Slack workspace, with no HTTP in it.

`FakeSlack` (slack_api.py) serves this over HTTP; the split keeps protocol handling apart from the rules of each
method. Answers follow Slack's documented shapes and error names (HTTP 200 with `{"ok": false, "error": …}`),
only as far as the bot uses them. Every public method takes the lock, because the HTTP server answers from
several threads while the test thread reads and configures.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

JSON = dict[str, Any]

TEAM_ID = "T0FAKE"
TEAM_NAME = "Fake Team"
WORKSPACE_URL = "https://fake-team.slack.com/"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
# Slack's ts is "<unix seconds>.<6 digits>" and unique per channel; one global counter in microseconds keeps
# every ts unique and strictly increasing, which is all a client may rely on.
_FIRST_TS_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100
# Slack: a response_url "can be used up to 5 times within 30 minutes".
RESPONSE_URL_MAX_USES = 5


class ApiRefusal(Exception):
    """A Web API method answered `ok: false`; `error` is Slack's error code."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str = ""
    deleted: bool = False
    is_bot: bool = False
    is_restricted: bool = False
    is_ultra_restricted: bool = False
    email: str | None = None

    def as_json(self) -> JSON:
        profile: JSON = {"real_name": self.real_name, "display_name": self.name}
        if self.email is not None:
            profile["email"] = self.email
        fields = asdict(self)
        fields.pop("email")
        return {**fields, "team_id": TEAM_ID, "profile": profile}


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True

    def as_json(self) -> JSON:
        return {**asdict(self), "is_channel": not self.is_private, "is_group": self.is_private}


@dataclass(frozen=True)
class Usergroup:
    id: str
    handle: str
    name: str
    users: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    """A message as it stands now: `chat.update` replaces the stored value and counts `edits`."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON] | None = None
    metadata: JSON | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    user: str = BOT_USER_ID
    edits: int = 0

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def as_json(self, *, with_metadata: bool = True) -> JSON:
        out: JSON = {"type": "message", "user": self.user, "bot_id": BOT_ID, "text": self.text, "ts": self.ts}
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.metadata is not None and with_metadata:
            out["metadata"] = self.metadata
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass(frozen=True)
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JSON] | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class View:
    id: str
    trigger_id: str
    view: JSON


def _flag(params: Mapping[str, Any], key: str) -> bool:
    # JSON bodies carry real booleans; form bodies carry "1"/"0" (slack_sdk's convert_bool_to_0_or_1) or "true".
    return params.get(key) in (True, 1, "1", "true")


def _structured(params: Mapping[str, Any], key: str) -> Any:
    # Form-encoded calls send blocks/metadata/view as JSON text; JSON calls send them as objects.
    value = params.get(key)
    return json.loads(value) if isinstance(value, str) and value else value


def _required(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if value in (None, ""):
        raise ApiRefusal("invalid_arguments")
    return str(value)


class Workspace:
    """Users, channels, user groups, messages and response_url posts of one fake team."""

    def __init__(self, *, team_id: str = TEAM_ID, bot_user_id: str = BOT_USER_ID, bot_id: str = BOT_ID) -> None:
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._missing_channels: set[str] = set()
        self._groups: dict[str, Usergroup] = {}
        self._expired_triggers: set[str] = set()
        self._next_ts = _FIRST_TS_MICROS
        self._clear_traffic()
        self._methods: dict[str, Callable[[Mapping[str, Any]], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "conversations.info": self._conversation_info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "users.info": self._user_info,
            "usergroups.list": self._usergroups,
            "usergroups.users.list": self._usergroup_users,
            "views.open": self._open_view,
        }

    def _clear_traffic(self) -> None:
        self._messages: list[Message] = []
        self._ephemerals: list[Ephemeral] = []
        self._views: list[View] = []
        self._responses: dict[str, list[JSON]] = {}

    # -- configuration -------------------------------------------------------------------------------------------
    def add_user(self, user_id: str, *, real_name: str = "", name: str | None = None, deleted: bool = False,
                 is_bot: bool = False, is_restricted: bool = False, is_ultra_restricted: bool = False,
                 email: str | None = None) -> User:
        user = User(user_id, name or user_id.lower(), real_name, deleted, is_bot, is_restricted, is_ultra_restricted,
                    email)
        with self._lock:
            self._users[user_id] = user
        return user

    def add_channel(self, channel_id: str, *, name: str | None = None, is_private: bool = False,
                    is_member: bool = True) -> Channel:
        """Channels that were never added exist as public channels the bot is in; `is_member=False` makes
        `chat.postMessage` answer `not_in_channel`."""
        channel = Channel(channel_id, name or channel_id.lower(), is_private, is_member)
        with self._lock:
            self._channels[channel_id] = channel
            self._missing_channels.discard(channel_id)
        return channel

    def remove_channel(self, channel_id: str) -> None:
        """From now on every method naming this channel answers `channel_not_found`."""
        with self._lock:
            self._channels.pop(channel_id, None)
            self._missing_channels.add(channel_id)

    def add_usergroup(self, group_id: str, handle: str, users: Iterable[str], *, name: str | None = None) -> Usergroup:
        group = Usergroup(group_id, handle, name or handle, tuple(users))
        with self._lock:
            self._groups[group_id] = group
        return group

    def expire_trigger(self, trigger_id: str) -> None:
        """`views.open` with this trigger answers `expired_trigger_id` (Slack allows 3 s)."""
        with self._lock:
            self._expired_triggers.add(trigger_id)

    # -- state for assertions --------------------------------------------------------------------------------------
    def messages(self, channel: str | None = None) -> list[Message]:
        """Every message, thread replies included, as it stands after updates, in posting order."""
        with self._lock:
            return [m for m in self._messages if channel is None or m.channel == channel]

    def message(self, channel: str, ts: str) -> Message:
        with self._lock:
            return self._find(channel, ts)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies under the parent message `ts`, oldest first (the parent itself not included)."""
        with self._lock:
            return [m for m in self._messages if m.channel == channel and m.is_reply and m.thread_ts == ts]

    def ephemerals(self, channel: str | None = None) -> list[Ephemeral]:
        with self._lock:
            return [e for e in self._ephemerals if channel is None or e.channel == channel]

    def views(self) -> list[View]:
        with self._lock:
            return list(self._views)

    def responses(self, response_id: str) -> list[JSON]:
        """The payloads the response_url `response_id` accepted, in order."""
        with self._lock:
            return list(self._responses.get(response_id, []))

    # -- the Web API -----------------------------------------------------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any]) -> JSON:
        """Run one Web API method; raises ApiRefusal for an `ok: false` answer."""
        handler = self._methods.get(method)
        if handler is None:
            raise ApiRefusal("unknown_method")
        with self._lock:
            return {"ok": True, **handler(params)}

    def post_response(self, response_id: str, payload: object) -> tuple[int, JSON]:
        """A POST to a response_url: (HTTP status, body)."""
        with self._lock:
            used = self._responses.setdefault(response_id, [])
            if len(used) >= RESPONSE_URL_MAX_USES:
                return 404, {"ok": False, "error": "used_url"}
            if not isinstance(payload, dict):
                return 400, {"ok": False, "error": "invalid_payload"}
            used.append(payload)
            return 200, {"ok": True}

    def _new_ts(self) -> str:
        micros, self._next_ts = self._next_ts, self._next_ts + _TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, channel_id: str) -> Channel:
        if channel_id in self._missing_channels:
            raise ApiRefusal("channel_not_found")
        return self._channels.get(channel_id) or Channel(channel_id, channel_id.lower())

    def _find(self, channel: str, ts: str) -> Message:
        for message in self._messages:
            if message.channel == channel and message.ts == ts:
                return message
        raise ApiRefusal("message_not_found")

    def _auth_test(self, _: Mapping[str, Any]) -> JSON:
        return {"url": WORKSPACE_URL, "team": TEAM_NAME, "user": "promotion-bot", "team_id": self.team_id,
                "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False}

    def _post_message(self, params: Mapping[str, Any]) -> JSON:
        channel = self._channel(_required(params, "channel"))
        if not channel.is_member:
            raise ApiRefusal("not_in_channel")
        text, blocks = str(params.get("text") or ""), _structured(params, "blocks")
        if not text and not blocks:
            raise ApiRefusal("no_text")
        message = Message(channel.id, self._new_ts(), text, blocks, _structured(params, "metadata"),
                          params.get("thread_ts") or None, _flag(params, "reply_broadcast"), self.bot_user_id)
        self._messages.append(message)
        return {"channel": channel.id, "ts": message.ts, "message": message.as_json()}

    def _update(self, params: Mapping[str, Any]) -> JSON:
        channel = self._channel(_required(params, "channel")).id
        old = self._find(channel, _required(params, "ts"))
        # Slack drops the old blocks when an update carries text but no blocks.
        blocks = _structured(params, "blocks") if "blocks" in params or "text" in params else old.blocks
        metadata = _structured(params, "metadata") if "metadata" in params else old.metadata
        new = replace(old, text=str(params.get("text", old.text)), blocks=blocks, metadata=metadata,
                      edits=old.edits + 1)
        self._messages[self._messages.index(old)] = new
        return {"channel": channel, "ts": new.ts, "text": new.text, "message": new.as_json()}

    def _post_ephemeral(self, params: Mapping[str, Any]) -> JSON:
        channel = self._channel(_required(params, "channel")).id
        ephemeral = Ephemeral(channel, _required(params, "user"), self._new_ts(), str(params.get("text") or ""),
                              _structured(params, "blocks"), params.get("thread_ts") or None)
        self._ephemerals.append(ephemeral)
        return {"message_ts": ephemeral.ts}

    def _permalink(self, params: Mapping[str, Any]) -> JSON:
        channel = self._channel(_required(params, "channel")).id
        message = self._find(channel, _required(params, "message_ts"))
        link = f"{WORKSPACE_URL}archives/{channel}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _conversation_info(self, params: Mapping[str, Any]) -> JSON:
        return {"channel": self._channel(_required(params, "channel")).as_json()}

    def _history(self, params: Mapping[str, Any]) -> JSON:
        channel = self._channel(_required(params, "channel")).id
        metadata = _flag(params, "include_all_metadata")
        top = [m for m in self._messages if m.channel == channel and (not m.is_reply or m.reply_broadcast)]
        limit = int(params.get("limit") or 100)
        return {"messages": [m.as_json(with_metadata=metadata) for m in reversed(top)][:limit], "has_more": False}

    def _replies(self, params: Mapping[str, Any]) -> JSON:
        channel = self._channel(_required(params, "channel")).id
        try:
            parent = self._find(channel, _required(params, "ts"))
        except ApiRefusal:
            raise ApiRefusal("thread_not_found") from None
        metadata = _flag(params, "include_all_metadata")
        replies = [m for m in self._messages if m.channel == channel and m.is_reply and m.thread_ts == parent.ts]
        return {"messages": [m.as_json(with_metadata=metadata) for m in [parent, *replies]], "has_more": False}

    def _user_info(self, params: Mapping[str, Any]) -> JSON:
        user = self._users.get(_required(params, "user"))
        if user is None:
            raise ApiRefusal("user_not_found")
        return {"user": user.as_json()}

    def _usergroups(self, params: Mapping[str, Any]) -> JSON:
        with_users = _flag(params, "include_users")
        groups = []
        for g in self._groups.values():
            group: JSON = {"id": g.id, "team_id": self.team_id, "handle": g.handle, "name": g.name,
                           "is_usergroup": True, "user_count": len(g.users)}
            if with_users:
                group["users"] = list(g.users)
            groups.append(group)
        return {"usergroups": groups}

    def _usergroup_users(self, params: Mapping[str, Any]) -> JSON:
        group = self._groups.get(_required(params, "usergroup"))
        if group is None:
            raise ApiRefusal("no_such_subteam")
        return {"users": list(group.users)}

    def _open_view(self, params: Mapping[str, Any]) -> JSON:
        trigger_id = _required(params, "trigger_id")
        if trigger_id in self._expired_triggers:
            raise ApiRefusal("expired_trigger_id")
        view = _structured(params, "view")
        if not isinstance(view, dict):
            raise ApiRefusal("invalid_arguments")
        opened = View(f"V{len(self._views) + 1:07d}", trigger_id, view)
        self._views.append(opened)
        return {"view": {"id": opened.id, "team_id": self.team_id, **view}}

    def reset(self) -> None:
        """Forget traffic (messages, ephemerals, views, response_url posts); keep users, channels and groups.
        `ts` keeps counting up so a ts from before the reset never comes back."""
        with self._lock:
            self._clear_traffic()
