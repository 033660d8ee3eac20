"""The one typed door to Slack's Web API: calls by name, and slack_sdk's errors turned into ours.

Callers never look at `err.response`: a refused call raises a `bot.errors.SlackError` subclass whose
message says what to do (invite the bot, fix the token, add a scope), and whose `retryable` says whether
trying again later can help (429, 5xx, no answer) or never will (`not_in_channel`, `invalid_auth`).
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.errors import (
    SlackChannelNotFound,
    SlackError,
    SlackInvalidAuth,
    SlackMissingScope,
    SlackNotInChannel,
    SlackRateLimited,
    SlackUnavailable,
)
from bot.slack import messages as say

log = logging.getLogger(__name__)
Block = dict[str, object]
METHODS = ("chat_postMessage", "chat_update", "chat_getPermalink", "auth_test", "views_open", "chat_postEphemeral")


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class SlackPort(Protocol):
    def call(self, method: str, args: Mapping[str, object]) -> Mapping[str, object]: ...

    def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: Sequence[Block] | None = None,
        metadata: Mapping[str, object] | None = None,
    ) -> Posted: ...

    def permalink(self, channel: str, ts: str) -> str: ...


def translate(err: Exception, channel: str = "") -> SlackError:  # noqa: PLR0911 - one return per Slack error
    """slack_sdk's error (or a transport error) → the project's, with advice that can lead to a fix."""
    if isinstance(err, SlackApiError):
        status = getattr(err.response, "status_code", 0) or 0
        code = str(err.response.get("error", "") or "") if hasattr(err.response, "get") else ""
        if status == 429:
            try:
                wait = float(err.response.headers.get("Retry-After", "1"))
            except (TypeError, ValueError):
                wait = 1.0
            return SlackRateLimited(say.slack_rate_limited(), retry_after=wait)
        if status >= 500:
            return SlackUnavailable(say.slack_unavailable(), code=f"http {status}")
        if code == "not_in_channel":
            return SlackNotInChannel(say.slack_not_in_channel(channel), code=code)
        if code == "channel_not_found":
            return SlackChannelNotFound(say.slack_channel_not_found(channel), code=code)
        if code in ("invalid_auth", "not_authed", "token_revoked", "account_inactive"):
            return SlackInvalidAuth(say.slack_invalid_auth(), code=code)
        if code == "missing_scope":
            return SlackMissingScope(say.slack_missing_scope(), code=code)
        return SlackError(say.slack_refused(code or f"http {status}"), code=code)
    # No answer at all: refused, reset, timed out, or a half-read response.
    return SlackUnavailable(say.slack_unavailable(), code=type(err).__name__)


TRANSPORT_ERRORS = (SlackApiError, SlackClientError, OSError, http.client.HTTPException)


class SlackWeb:
    """`SlackPort` over slack_sdk's WebClient."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def call(self, method: str, args: Mapping[str, object]) -> Mapping[str, object]:
        if method not in METHODS:
            raise ValueError(f"not a Slack method the bot uses: {method}")
        try:
            response = getattr(self.client, method)(**args)
        except TRANSPORT_ERRORS as err:
            raise translate(err, str(args.get("channel", ""))) from err
        data = response.data
        return data if isinstance(data, dict) else {}

    def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: Sequence[Block] | None = None,
        metadata: Mapping[str, object] | None = None,
    ) -> Posted:
        args: dict[str, object] = {"channel": channel, "text": text}
        if blocks is not None:
            args["blocks"] = list(blocks)
        if metadata is not None:
            args["metadata"] = dict(metadata)
        data = self.call("chat_postMessage", args)
        return Posted(str(data.get("channel") or channel), str(data["ts"]))

    def permalink(self, channel: str, ts: str) -> str:
        try:
            return str(self.call("chat_getPermalink", {"channel": channel, "message_ts": ts})["permalink"])
        except (SlackError, KeyError):
            return ""  # a commit without the thread link is still a good commit
