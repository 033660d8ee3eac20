"""Signed Slack requests: accepted by slack_sdk's verifier and by a real bolt App talking to the fake."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.fakes import fixtures
from tests.fakes.fixtures import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import RESPOND_METHOD, FakeSlack
from tests.fakes.slack_signing import action_body, action_payload, command_body, new_trigger_id, signed_headers

fake_slack = fixtures.fake_slack

verifier = SignatureVerifier(SIGNING_SECRET)


def _flip_last(signature: str) -> str:
    return signature[:-1] + ("1" if signature.endswith("0") else "0")


def test_signed_headers_pass_the_verifier_for_str_and_bytes() -> None:
    body = command_body("/promote", "v1.2.3 to production")
    assert verifier.is_valid_request(body, signed_headers(SIGNING_SECRET, body))
    assert verifier.is_valid_request(body.encode(), signed_headers(SIGNING_SECRET, body.encode()))
    assert signed_headers(SIGNING_SECRET, body, ts=1) == signed_headers(SIGNING_SECRET, body.encode(), ts=1)


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda body, headers: (body.replace("production", "staging"), headers), "tampered body"),
        (lambda body, headers: (body, {**headers, "x-slack-signature": _flip_last(headers["x-slack-signature"])}),
         "tampered signature"),
        (lambda body, headers: (body, signed_headers("another-secret", body)), "other secret"),
        (lambda body, headers: (body, signed_headers(SIGNING_SECRET, body, ts=int(time.time()) - 301)), "stale ts"),
        (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "x-slack-signature"}),
         "no signature"),
    ],
)
def test_verifier_rejects_what_slack_would_not_send(tamper: Any, why: str) -> None:
    body = command_body("/promote", "v1.2.3 to production")
    headers = signed_headers(SIGNING_SECRET, body)
    assert verifier.is_valid_request(body, headers)
    bad_body, bad_headers = tamper(body, headers)
    assert not verifier.is_valid_request(bad_body, bad_headers), why


def test_a_ts_within_five_minutes_is_still_accepted() -> None:
    body = "payload=%7B%7D"
    assert verifier.is_valid_request(body, signed_headers(SIGNING_SECRET, body, ts=int(time.time()) - 290))


def test_command_body_is_slacks_form_in_slacks_order() -> None:
    body = command_body("/promote", "v1.2.3 to prod & more", user_id="U7", channel_id="C7",
                        response_url="http://127.0.0.1:1/respond/x", trigger_id="1.2.3")
    assert "text=v1.2.3+to+prod+%26+more" in body  # spaces as '+', as Slack encodes them
    pairs = parse_qsl(body)
    assert [k for k, _ in pairs] == ["token", "team_id", "team_domain", "channel_id", "channel_name", "user_id",
                                     "user_name", "command", "text", "api_app_id", "is_enterprise_install",
                                     "response_url", "trigger_id"]
    fields = dict(pairs)
    assert (fields["command"], fields["text"], fields["user_id"], fields["channel_id"]) == (
        "/promote", "v1.2.3 to prod & more", "U7", "C7")
    assert (fields["response_url"], fields["trigger_id"]) == ("http://127.0.0.1:1/respond/x", "1.2.3")


def test_trigger_ids_are_unique() -> None:
    assert len({new_trigger_id() for _ in range(50)}) == 50
    assert parse_qs(command_body("/a", "")) != parse_qs(command_body("/a", ""))  # fresh trigger_id each time


def test_action_body_carries_a_block_actions_payload() -> None:
    body = action_body("approve", "p-42", user_id="U9", channel_id="C9", message_ts="1700000000.000500",
                       response_url="http://127.0.0.1:1/respond/a")
    [(key, raw)] = parse_qsl(body)
    payload = json.loads(raw)
    assert key == "payload" and payload["type"] == "block_actions"
    assert payload["container"]["message_ts"] == payload["message"]["ts"] == "1700000000.000500"
    assert (payload["channel"]["id"], payload["container"]["channel_id"], payload["user"]["id"]) == ("C9", "C9", "U9")
    action = payload["actions"][0]
    assert (action["action_id"], action["value"], action["block_id"]) == ("approve", "p-42", "actions")
    assert payload["trigger_id"] and payload["response_url"] == "http://127.0.0.1:1/respond/a"
    assert "message" not in action_payload("approve", "p", is_ephemeral=True)


@pytest.fixture
def app(fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> App:
    # bolt switches to OAuth when these are set, and would then ignore the client below.
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return App(client=WebClient(token=BOT_TOKEN, base_url=fake_slack.base_url), signing_secret=SIGNING_SECRET)


def dispatch(app: App, body: str, headers: dict[str, str] | None = None) -> Any:
    request_headers: dict[str, str | Sequence[str]] = dict(headers or signed_headers(SIGNING_SECRET, body))
    return app.dispatch(BoltRequest(body=body, headers=request_headers))


def test_bolt_accepts_a_signed_command_and_its_work_reaches_the_fake(app: App, fake_slack: FakeSlack) -> None:
    @app.command("/promote")
    def promote(ack: Ack, command: dict[str, str], respond: Respond, client: WebClient) -> None:
        ack("Promoting …")
        respond(f"asked by <@{command['user_id']}>: {command['text']}")
        client.chat_postMessage(channel=command["channel_id"], text="status", metadata={
            "event_type": "promotion", "event_payload": {"text": command["text"]}})

    body = command_body("/promote", "v1.2.3 to production", user_id="U5", channel_id="C5",
                        response_url=fake_slack.response_url("cmd"))
    response = dispatch(app, body)
    assert (response.status, response.body) == (200, "Promoting …")
    fake_slack.wait_for(RESPOND_METHOD)
    fake_slack.wait_for("chat.postMessage")
    assert fake_slack.responses("cmd") == [{"text": "asked by <@U5>: v1.2.3 to production"}]
    [status] = fake_slack.messages("C5")
    assert status.metadata == {"event_type": "promotion", "event_payload": {"text": "v1.2.3 to production"}}


def test_bolt_routes_a_signed_button_click(app: App, fake_slack: FakeSlack) -> None:
    clicks: list[tuple[str, str, str]] = []

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        clicks.append((body["actions"][0]["value"], body["user"]["id"], body["container"]["message_ts"]))
        respond(replace_original=True, text="approved")

    body = action_body("approve", "p-42", user_id="U6", message_ts="1700000000.000900",
                       response_url=fake_slack.response_url("click"))
    assert dispatch(app, body).status == 200
    fake_slack.wait_for(RESPOND_METHOD)
    assert clicks == [("p-42", "U6", "1700000000.000900")]
    assert fake_slack.responses("click") == [{"text": "approved", "replace_original": True}]


@pytest.mark.parametrize("stale", [False, True])
def test_bolt_refuses_unsigned_or_stale_requests(app: App, fake_slack: FakeSlack, stale: bool) -> None:
    @app.command("/promote")
    def promote(ack: Ack) -> None:
        ack("should not run")

    body = command_body("/promote", "v1 to prod")
    headers = signed_headers(SIGNING_SECRET, body, ts=int(time.time()) - 301) if stale else {
        "content-type": "application/x-www-form-urlencoded"}
    response = dispatch(app, body, headers)
    assert (response.status, json.loads(response.body)) == (401, {"error": "invalid request"})
