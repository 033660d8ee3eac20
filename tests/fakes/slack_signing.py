"""Requests as Slack sends them to the bot: signed headers, slash-command forms and block_actions payloads.

Signatures come from slack_sdk's own `SignatureVerifier`, as bolt-python's tests make them, so a request that
passes here passes bolt's `RequestVerification` middleware byte for byte. Send the returned body unchanged: the
signature covers the exact text, and re-encoding it (e.g. through a dict) breaks it.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_workspace import BOT_ID, BOT_USER_ID, TEAM_ID

FORM = "application/x-www-form-urlencoded"
APP_ID = "A0FAKEAPP"
# Port 9 (discard) on loopback refuses connections at once, so a request built without a real response_url
# fails fast and never leaves the machine.
UNUSED_RESPONSE_URL = "http://127.0.0.1:9/respond/unused"
_triggers = itertools.count(1)


def new_trigger_id() -> str:
    """A trigger_id shaped like Slack's ("<digits>.<digits>.<hex>"), unique within the test run."""
    n = next(_triggers)
    return f"{1700000000 + n}.{12345678 + n}.{n:032x}"


def signed_headers(secret: str, body: bytes | str, ts: int | None = None, *,
                   content_type: str = FORM) -> dict[str, str]:
    """The headers Slack adds to `body`; `ts` (unix seconds) defaults to now. Names are lower-case, as bolt's
    `BoltRequest` normalises them; HTTP clients send them as given."""
    timestamp = str(int(time.time()) if ts is None else ts)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None  # only None when timestamp is None
    return {"content-type": content_type, "x-slack-request-timestamp": timestamp, "x-slack-signature": signature}


def command_body(command: str, text: str, *, user_id: str = "U0REQUESTER", channel_id: str = "C0DEPLOYS",
                 response_url: str = UNUSED_RESPONSE_URL, trigger_id: str | None = None, team_id: str = TEAM_ID,
                 user_name: str = "requester", channel_name: str = "deploys") -> str:
    """A slash command's urlencoded form, fields in the order Slack sends them."""
    return urlencode({
        "token": "fake-verification-token",
        "team_id": team_id,
        "team_domain": "fake-team",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    })


def action_payload(action_id: str, value: str, *, user_id: str = "U0APPROVER", channel_id: str = "C0DEPLOYS",
                   message_ts: str = "1700000000.000100", response_url: str = UNUSED_RESPONSE_URL,
                   block_id: str = "actions", trigger_id: str | None = None, team_id: str = TEAM_ID,
                   message: dict[str, Any] | None = None, is_ephemeral: bool = False) -> dict[str, Any]:
    """A block_actions payload for one button click. `message` is the clicked message as Slack echoes it
    (e.g. `fake.message(channel, ts).as_json()`); Slack leaves it out for ephemeral messages."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "fake-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                      "is_ephemeral": is_ephemeral},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "fake-team"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "deploys"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": f"{int(time.time())}.000000",
        }],
    }
    if not is_ephemeral:
        payload["message"] = message or {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID,
                                         "ts": message_ts, "text": "", "blocks": []}
    return payload


def action_body(action_id: str, value: str, *, user_id: str = "U0APPROVER", channel_id: str = "C0DEPLOYS",
                message_ts: str = "1700000000.000100", response_url: str = UNUSED_RESPONSE_URL,
                **more: Any) -> str:
    """`payload=<urlencoded JSON>`, the form Slack posts for interactions; `more` goes to `action_payload`."""
    payload = action_payload(action_id, value, user_id=user_id, channel_id=channel_id, message_ts=message_ts,
                             response_url=response_url, **more)
    return f"payload={quote(json.dumps(payload))}"


def view_submission_body(callback_id: str, private_metadata: str, values: dict[str, dict[str, str]], *,
                         user_id: str = "U0APPROVER", view_id: str = "V0000001", team_id: str = TEAM_ID) -> str:
    """A modal's submit as Slack posts it: `values` is {block_id: {action_id: typed text}}."""
    state = {block: {action: {"type": "plain_text_input", "value": text} for action, text in inputs.items()}
             for block, inputs in values.items()}  # fmt: skip
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "fake-team"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "fake-verification-token",
        "trigger_id": new_trigger_id(),
        "view": {"id": view_id, "team_id": team_id, "type": "modal", "callback_id": callback_id,
                 "private_metadata": private_metadata, "state": {"values": state}, "hash": "1700000000.abcdef",
                 "blocks": []},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return f"payload={quote(json.dumps(payload))}"
