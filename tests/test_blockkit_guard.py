"""The Block Kit guard itself: it refuses what Slack refuses, and passes what the bot sends."""

from __future__ import annotations

import pytest

from bot.slack import blocks, modals
from tests.blockkit_guard import check
from tests.fakes.slack_api import Call


def _call(method: str, body: dict[str, object]) -> Call:
    return Call(method, dict(body), dict(body), {}, 0.0, "POST", f"/api/{method}", 200, {"ok": True})


@pytest.mark.parametrize(("payload", "problem"), [
    ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}, "3000"),
    ({"blocks": [blocks.section("x")] * 51}, "51 blocks"),
    ({"blocks": [{"type": "actions", "elements": [{"type": "button", "action_id": "a",
                                                   "text": {"type": "plain_text", "text": "x" * 76}}]}]}, "75"),
    ({"blocks": [{"type": "actions", "elements": [blocks.button("a", "same", "v"), blocks.button("b", "same", "v")]}]},
     "action_id repeated"),
    ({"blocks": [{"type": "divider", "block_id": "d"}, {"type": "divider", "block_id": "d"}]}, "block_id repeated"),
    ({"blocks": [{"type": "no-such-block"}]}, "not a Block Kit block"),
    ({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s"},
                  "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]}, "fields"),
    ({"text": "t" * 40_001}, "40000"),
])  # fmt: skip
def test_what_slack_refuses_is_refused(payload: dict[str, object], problem: str) -> None:
    found = check(_call("chat.postMessage", payload))
    assert found and problem in " ".join(found), found


def test_a_modal_is_checked_as_a_view() -> None:
    good = modals.reject_reason("r1", "promote *x*")
    assert check(_call("views.open", {"trigger_id": "t", "view": good})) == []
    bad = {**good, "title": {"type": "plain_text", "text": "t" * 25}}
    assert check(_call("views.open", {"trigger_id": "t", "view": bad}))


def test_what_the_bot_builds_passes() -> None:
    body = blocks.approval_request("promote *x* `t` → *production*", "r1", "U1", 1, [], approvers="<!subteam^S1>",
                                   reason="because", env="production")  # fmt: skip
    assert check(_call("chat.update", {"channel": "C", "ts": "1", "text": "t", "blocks": body})) == []
