"""The fake Slack Web API, proven against slack_sdk's real WebClient and WebhookClient over HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakes import fixtures
from tests.fakes.fixtures import BOT_TOKEN
from tests.fakes.slack_api import RESPOND_METHOD, FakeSlack
from tests.fakes.slack_workspace import BOT_USER_ID, RESPONSE_URL_MAX_USES, TEAM_ID

# Until tests/conftest.py loads tests.fakes.fixtures as a plugin, this module picks the fixture up itself.
fake_slack = fixtures.fake_slack

METADATA = {"event_type": "promotion", "event_payload": {"id": "p-1", "env": "staging"}}
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Promote?*"}}]


def client(fake: FakeSlack, token: str = BOT_TOKEN, **kwargs: Any) -> WebClient:
    return WebClient(token=token, base_url=fake.base_url, **kwargs)


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


def raw_request(fake: FakeSlack, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
                method: str = "POST") -> dict[str, Any]:
    request = urllib.request.Request(fake.url + path, data=data, headers=headers or {}, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def test_auth_test_names_the_bot_and_arrives_as_a_form_post(fake_slack: FakeSlack) -> None:
    answer = client(fake_slack).auth_test()
    assert (answer["user_id"], answer["team_id"], answer["bot_id"]) == (BOT_USER_ID, TEAM_ID, "B0BOT")
    assert answer["url"].startswith("https://")
    [call] = fake_slack.calls("auth.test")
    assert call.http_method == "POST"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_post_thread_update_and_metadata_round_trip(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    parent = web.chat_postMessage(channel="C1", text="Promote?", blocks=BLOCKS, metadata=METADATA)
    reply = web.chat_postMessage(channel="C1", text="failed", thread_ts=parent["ts"], reply_broadcast=True)
    other = web.chat_postMessage(channel="C2", text="elsewhere")
    assert float(parent["ts"]) < float(reply["ts"]) < float(other["ts"])
    assert parent["ts"] == "1700000000.000100"
    assert parent["message"]["metadata"] == METADATA

    sent = fake_slack.calls("chat.postMessage")[0]
    assert sent.json is not None and sent.json["blocks"] == BLOCKS
    assert sent.headers["content-type"].startswith("application/json")

    updated = web.chat_update(channel="C1", ts=parent["ts"], text="Promoted by <@U2>")
    assert updated["ts"] == parent["ts"]
    now = fake_slack.message("C1", parent["ts"])
    # Text without blocks drops the buttons, as Slack does; metadata not sent is kept.
    assert (now.text, now.blocks, now.metadata, now.edits) == ("Promoted by <@U2>", None, METADATA, 1)

    [only_reply] = fake_slack.thread("C1", parent["ts"])
    assert (only_reply.ts, only_reply.text, only_reply.reply_broadcast) == (reply["ts"], "failed", True)
    assert [m.ts for m in fake_slack.messages("C1")] == [parent["ts"], reply["ts"]]
    assert len(fake_slack.messages()) == 3

    replies = web.conversations_replies(channel="C1", ts=parent["ts"], include_all_metadata=True)
    assert [m["ts"] for m in replies["messages"]] == [parent["ts"], reply["ts"]]
    assert replies["messages"][0]["metadata"] == METADATA
    history = web.conversations_history(channel="C1")
    assert [m["ts"] for m in history["messages"]] == [reply["ts"], parent["ts"]]  # broadcast reply shows
    assert "metadata" not in history["messages"][1]  # only with include_all_metadata


def test_update_of_unknown_ts_is_message_not_found(fake_slack: FakeSlack) -> None:
    error = api_error(lambda: client(fake_slack).chat_update(channel="C1", ts="1.000001", text="x"))
    assert (error.response.status_code, error.response["error"]) == (200, "message_not_found")


def test_missing_channel_and_channel_without_the_bot(fake_slack: FakeSlack) -> None:
    fake_slack.remove_channel("C404")
    fake_slack.add_channel("CPRIV", name="secret", is_private=True, is_member=False)
    web = client(fake_slack)
    assert api_error(lambda: web.chat_postMessage(channel="C404", text="x")).response["error"] == "channel_not_found"
    assert api_error(lambda: web.conversations_info(channel="C404")).response["error"] == "channel_not_found"
    assert api_error(lambda: web.chat_postMessage(channel="CPRIV", text="x")).response["error"] == "not_in_channel"
    info = web.conversations_info(channel="CPRIV")["channel"]
    assert (info["name"], info["is_private"], info["is_member"]) == ("secret", True, False)
    assert fake_slack.messages() == []


def test_ephemeral_and_permalinks(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    eph = web.chat_postEphemeral(channel="C1", user="U1", text="only you")
    [stored] = fake_slack.ephemerals("C1")
    assert (stored.user, stored.text, stored.ts) == ("U1", "only you", eph["message_ts"])

    parent = web.chat_postMessage(channel="C1", text="parent")["ts"]
    reply = web.chat_postMessage(channel="C1", text="reply", thread_ts=parent)["ts"]
    link = web.chat_getPermalink(channel="C1", message_ts=parent)["permalink"]
    assert link.endswith(f"/archives/C1/p{parent.replace('.', '')}")
    reply_link = web.chat_getPermalink(channel="C1", message_ts=reply)["permalink"]
    assert f"thread_ts={parent}" in reply_link
    assert api_error(lambda: web.chat_getPermalink(channel="C1", message_ts="9.000009")).response["error"] == (
        "message_not_found")


FLAGS = ("deleted", "is_bot", "is_restricted", "is_ultra_restricted")


@pytest.mark.parametrize("field", FLAGS)
def test_users_info_reports_configured_flags(fake_slack: FakeSlack, field: str) -> None:
    fake_slack.add_user("U1", real_name="Ada Lovelace", deleted=field == "deleted", is_bot=field == "is_bot",
                        is_restricted=field == "is_restricted", is_ultra_restricted=field == "is_ultra_restricted")
    user = client(fake_slack).users_info(user="U1")["user"]
    assert {name: user[name] for name in FLAGS} == {name: name == field for name in FLAGS}
    assert user["real_name"] == user["profile"]["real_name"] == "Ada Lovelace"


def test_unknown_user_is_user_not_found(fake_slack: FakeSlack) -> None:
    assert api_error(lambda: client(fake_slack).users_info(user="UNOPE")).response["error"] == "user_not_found"


def test_usergroups_resolve_handles_and_members(fake_slack: FakeSlack) -> None:
    fake_slack.add_usergroup("S1", "prod-approvers", ["U1", "U2"])
    fake_slack.add_usergroup("S2", "deployers", ["U3"])
    web = client(fake_slack)
    groups = web.usergroups_list()["usergroups"]
    assert {g["handle"]: g["id"] for g in groups} == {"prod-approvers": "S1", "deployers": "S2"}
    assert "users" not in groups[0]
    assert web.usergroups_list(include_users=True)["usergroups"][0]["users"] == ["U1", "U2"]
    assert web.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    assert api_error(lambda: web.usergroups_users_list(usergroup="S9")).response["error"] == "no_such_subteam"


def test_get_query_and_form_and_json_encodings_are_all_understood(fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", real_name="Ada")
    auth = {"Authorization": f"Bearer {BOT_TOKEN}"}
    got = raw_request(fake_slack, "/api/users.info?user=U1", headers=auth, method="GET")
    assert got["user"]["id"] == "U1"
    form = raw_request(fake_slack, "/api/users.info", data=b"user=U1",
                       headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert form["user"]["id"] == "U1"
    posted = raw_request(fake_slack, "/api/chat.postMessage", data=json.dumps({"channel": "C1", "text": "j"}).encode(),
                         headers={**auth, "Content-Type": "application/json"})
    assert posted["ok"] is True
    # The token may also travel in the form body, as Slack allows.
    assert raw_request(fake_slack, "/api/auth.test", data=f"token={BOT_TOKEN}".encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})["ok"] is True
    assert [c.http_method for c in fake_slack.calls()] == ["GET", "POST", "POST", "POST"]


def test_views_open_and_expired_trigger(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Promote"}, "private_metadata": "p-1",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]}
    opened = web.views_open(trigger_id="1.2.abc", view=view)["view"]
    assert opened["private_metadata"] == "p-1" and opened["id"].startswith("V")
    assert fake_slack.views()[0].trigger_id == "1.2.abc"
    fake_slack.expire_trigger("1.2.old")
    assert api_error(lambda: web.views_open(trigger_id="1.2.old", view=view)).response["error"] == (
        "expired_trigger_id")


def test_ratelimited_surfaces_as_429_with_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=7)
    web = client(fake_slack)
    error = api_error(lambda: web.chat_postMessage(channel="C1", text="x"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "7"
    assert fake_slack.messages() == []
    assert web.chat_postMessage(channel="C1", text="x")["ok"] is True  # only the next one failed


def test_retry_handler_honours_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=1)
    web = client(fake_slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert web.chat_postMessage(channel="C1", text="after a pause")["ok"] is True
    first, second = fake_slack.calls("chat.postMessage")
    assert (first.status, first.error, second.status, second.ok) == (429, "ratelimited", 200, True)
    assert second.time - first.time >= 1.0
    assert [m.text for m in fake_slack.messages()] == ["after a pause"]


@pytest.mark.parametrize(
    ("error", "status"), [("not_in_channel", 200), ("channel_not_found", 200), ("internal_error", 500)]
)
def test_injected_errors_fail_exactly_times_calls(fake_slack: FakeSlack, error: str, status: int) -> None:
    fake_slack.fail_next("chat.postMessage", error=error, status=status if status != 200 else None, times=2)
    web = client(fake_slack)
    for _ in range(2):
        failed = api_error(lambda: web.chat_postMessage(channel="C1", text="x"))
        assert (failed.response.status_code, failed.response["error"]) == (status, error)
        assert "Retry-After" not in failed.response.headers
    assert web.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert web.auth_test()["ok"] is True  # other methods were never affected


def test_latency_delays_only_its_method(fake_slack: FakeSlack) -> None:
    fake_slack.set_latency("users.info", 0.3)
    fake_slack.add_user("U1")
    web = client(fake_slack)
    started = time.monotonic()
    web.users_info(user="U1")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    web.auth_test()
    assert time.monotonic() - started < 0.3


def test_response_url_takes_five_posts_then_404(fake_slack: FakeSlack) -> None:
    hook = WebhookClient(fake_slack.response_url("cmd-1"))
    for n in range(RESPONSE_URL_MAX_USES):
        answer = hook.send(text=f"step {n}", response_type="ephemeral", replace_original=n > 0)
        assert answer.status_code == 200, answer.body
    over = hook.send(text="one too many")
    assert over.status_code == 404
    assert json.loads(over.body)["error"] == "used_url"
    assert [p["text"] for p in fake_slack.responses("cmd-1")] == [f"step {n}" for n in range(5)]
    assert fake_slack.responses("cmd-1")[1]["replace_original"] is True
    assert fake_slack.responses("other") == []
    assert [c.response_id for c in fake_slack.calls(RESPOND_METHOD)] == ["cmd-1"] * 6


def test_response_url_failure_injection(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(RESPOND_METHOD, error="internal_error", status=500)
    hook = WebhookClient(fake_slack.response_url("r"))
    assert hook.send(text="lost").status_code == 500
    assert hook.send(text="kept").status_code == 200
    assert [p["text"] for p in fake_slack.responses("r")] == ["kept"]


@pytest.mark.parametrize(
    ("token", "error"), [("", "not_authed"), ("xoxb-someone-else", "invalid_auth"), ("xoxp-user", "invalid_auth")]
)
def test_bad_tokens_are_rejected(fake_slack: FakeSlack, token: str, error: str) -> None:
    assert api_error(lambda: client(fake_slack, token=token).auth_test()).response["error"] == error
    assert api_error(lambda: client(fake_slack, token=token).chat_postMessage(channel="C1", text="x")).response[
        "error"] == error
    assert fake_slack.messages() == []


def test_without_a_configured_token_any_bot_token_passes() -> None:
    with FakeSlack() as fake:
        assert client(fake, token="xoxb-anything").auth_test()["ok"] is True
        assert api_error(lambda: client(fake, token="xoxp-user").auth_test()).response["error"] == "invalid_auth"


def test_unknown_method_and_path(fake_slack: FakeSlack) -> None:
    assert api_error(lambda: client(fake_slack).api_call("chat.nope")).response["error"] == "unknown_method"
    with pytest.raises(urllib.error.HTTPError) as caught:
        raw_request(fake_slack, "/elsewhere", data=b"")
    assert caught.value.code == 404
    caught.value.close()


def test_wait_for_sees_a_call_made_later_from_another_thread(fake_slack: FakeSlack) -> None:
    web = client(fake_slack)

    def post_later() -> None:
        time.sleep(0.2)
        web.chat_postMessage(channel="C1", text="async one")
        web.chat_postMessage(channel="C1", text="async two")

    poster = threading.Thread(target=post_later)
    started = time.monotonic()
    poster.start()
    seen = fake_slack.wait_for("chat.postMessage", count=2, timeout=5)
    poster.join()
    assert time.monotonic() - started >= 0.2
    assert [c.params["text"] for c in seen] == ["async one", "async two"]
    [two] = fake_slack.wait_for(lambda c: c.params.get("text") == "async two")
    assert two.ok


def test_wait_for_times_out_naming_what_it_saw(fake_slack: FakeSlack) -> None:
    client(fake_slack).auth_test()
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"chat\.update.*auth\.test"):
        fake_slack.wait_for("chat.update", timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2


def test_reset_forgets_traffic_but_keeps_the_directory(fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1")
    web = client(fake_slack)
    first = web.chat_postMessage(channel="C1", text="before")["ts"]
    fake_slack.fail_next("auth.test", times=5)
    fake_slack.reset()
    assert (fake_slack.calls(), fake_slack.messages()) == ([], [])
    assert web.auth_test()["ok"] is True
    assert web.users_info(user="U1")["ok"] is True
    assert float(web.chat_postMessage(channel="C1", text="after")["ts"]) > float(first)


def test_stop_closes_the_port_and_is_idempotent() -> None:
    fake = FakeSlack().start()
    url = fake.base_url
    fake.stop()
    fake.stop()
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "auth.test", timeout=2)  # noqa: S310 - loopback only
