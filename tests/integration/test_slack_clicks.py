"""The buttons of a request over real HTTP: Cancel, Reject, Confirm by someone else, and the same Confirm twice.

Every click is a correctly signed interaction posted to the running bot; the test reads what a person would see
(response_url posts and the thread in the fake Slack) and what Git and the registry hold afterwards.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack import blocks, modals
from tests.canaries import SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import action_body, signed_headers
from tests.integration.bot_http import preview_id
from tests.integration.slack_bot import (
    APPROVER,
    ORIGIN,
    OUTSIDER,
    PROD_CHANNEL,
    REQUESTER,
    Reply,
    SlackBot,
    running_bot,
)
from tests.integration.world import World, running_world

BUSY = "already being handled"  # the stable part of the answer to a Confirm another click is acting on


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with running_world(tmp_path) as w:
        yield w


def _tag(world: World) -> str:
    return world.tags[("backend", "staging", "0.0.2")]


def _answer(fake: FakeSlack, response_id: str, count: int = 1) -> str:
    """What the clicker was told through the click's response_url (all of it, as one string)."""
    fake.wait_for(lambda c: c.response_id == response_id, count=count, timeout=30)
    return json.dumps(fake.responses(response_id), ensure_ascii=False)


def _parent(fake: FakeSlack) -> str:
    """The request's thread parent in the production channel, as Slack would show it now."""
    [parent] = [m for m in fake.messages(PROD_CHANNEL) if not m.is_reply]
    return json.dumps(parent.as_json(), ensure_ascii=False)


def _committed(fake: FakeSlack) -> None:
    fake.wait_for(lambda c: c.method == "chat.update" and "committed" in json.dumps(c.json), timeout=60)


def _new_production_tags(world: World, before: dict[str, str]) -> list[str]:
    return sorted(t for t in set(world.registry_tags("backend")) - set(before) if t.startswith("production-v"))


def test_requester_cancels_a_pending_preview_and_a_later_confirm_does_nothing(
    world: World, fake_slack: FakeSlack
) -> None:
    with running_bot(world, fake_slack) as sb:
        before = world.state()
        sb.command("/promote", f"{_tag(world)} to production", response_id="p")
        rid = preview_id(fake_slack, "p")

        assert sb.click(blocks.CANCEL, rid, APPROVER, response_id="other").status == 200  # a promoter, not the asker
        assert "Only the person who asked can cancel" in _answer(fake_slack, "other")

        assert sb.click(blocks.CANCEL, rid, REQUESTER, response_id="cancel").status == 200
        [cancelled] = fake_slack.wait_for(lambda c: c.response_id == "cancel", timeout=30)
        assert "Cancelled" in json.dumps(cancelled.json, ensure_ascii=False)  # so APPROVER's click changed nothing
        assert cancelled.json is not None and cancelled.json.get("replace_original") is True  # the buttons go

        assert sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="late").status == 200
        assert "no longer pending" in _answer(fake_slack, "late")
        assert fake_slack.calls("chat.postMessage") == []  # no thread was opened
        assert world.state() == before  # no commit, no registry tag


def test_an_approver_rejects_and_a_later_approve_does_nothing(world: World, fake_slack: FakeSlack) -> None:
    with running_bot(world, fake_slack, approvals=1) as sb:
        before = world.state()
        sb.command("/promote", f"{_tag(world)} to production", response_id="p")
        rid = preview_id(fake_slack, "p")
        sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="c")
        fake_slack.wait_for(lambda c: c.method == "chat.update" and blocks.APPROVE in json.dumps(c.json), timeout=30)
        waiting = _parent(fake_slack)

        assert sb.click(blocks.REJECT, rid, OUTSIDER, response_id="out").status == 200  # not a promoter
        assert "🚫" in _answer(fake_slack, "out")
        assert _parent(fake_slack) == waiting  # still awaiting approval, Approve and Reject still there

        assert sb.click(blocks.REJECT, rid, APPROVER, response_id="no").status == 200
        [opened] = fake_slack.wait_for("views.open", timeout=30)  # Reject asks why, in a dialog
        assert opened.ok and opened.params["view"]["private_metadata"] == rid  # type: ignore[index]
        assert _parent(fake_slack) == waiting  # nothing decided until the dialog is sent
        reply = sb.submit_view(modals.REJECT_VIEW, rid, {modals.REASON_BLOCK: {modals.REASON_INPUT:
                               "not during the <!channel> sale"}}, APPROVER)  # fmt: skip
        assert reply.status == 200 and reply.seconds < 1.0
        fake_slack.wait_for(lambda c: c.method == "chat.update" and "rejected" in json.dumps(c.json), timeout=30)
        parent = _parent(fake_slack)
        assert "rejected" in parent and f"<@{APPROVER}>" in parent  # who said no
        assert f"<@{REQUESTER}>" in parent  # and who asked: the thread keeps its history
        fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and "rejected this" in c.params["text"],
                            timeout=30)
        [reason] = [m for m in fake_slack.messages(PROD_CHANNEL) if m.is_reply]
        assert "not during the &lt;!channel&gt; sale" in reason.text  # the reason, in the thread, escaped
        assert blocks.APPROVE not in parent and blocks.CONFIRM not in parent

        assert sb.click(blocks.APPROVE, rid, APPROVER, response_id="late").status == 200
        assert "no longer waiting for approval" in _answer(fake_slack, "late")
        assert _parent(fake_slack) == parent
        assert world.state() == before  # nothing committed, nothing tagged


def test_only_the_requester_can_confirm_and_another_users_click_does_not_use_the_request_up(
    world: World, fake_slack: FakeSlack
) -> None:
    with running_bot(world, fake_slack) as sb:
        state, head, tags = world.state(), world.head(), world.registry_tags("backend")
        sb.command("/promote", f"{_tag(world)} to production", response_id="p")
        rid = preview_id(fake_slack, "p")

        assert sb.click(blocks.CONFIRM, rid, APPROVER, response_id="other").status == 200  # a promoter, not the asker
        assert "Only the person who asked can confirm" in _answer(fake_slack, "other")
        assert fake_slack.calls("chat.postMessage") == [] and world.state() == state

        assert sb.click(blocks.CONFIRM, rid, REQUESTER, response_id="own").status == 200
        own = _answer(fake_slack, "own")
        assert BUSY not in own and "no longer pending" not in own, own
        _committed(fake_slack)
        assert len(world.new_commits(head)) == 1
        assert world.trailers(world.head())["Promoted-by"] == f"Alice Requester <slack:{REQUESTER}>"
        assert len(_new_production_tags(world, tags)) == 1


def _click_body(fake: FakeSlack, rid: str, response_id: str) -> str:
    return action_body(blocks.CONFIRM, rid, user_id=REQUESTER, channel_id=ORIGIN,
                       response_url=fake.response_url(response_id))  # fmt: skip


def _post_together(sb: SlackBot, posts: list[tuple[str, dict[str, str]]]) -> list[Reply]:
    """Send each (body, extra headers) from its own thread, released at the same instant."""
    start = threading.Barrier(len(posts))
    replies: list[Reply | None] = [None] * len(posts)

    def send(i: int, body: str, extra: dict[str, str]) -> None:
        headers = {**signed_headers(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
        start.wait(10)
        replies[i] = sb.post(body, {**headers, **extra})

    threads = [threading.Thread(target=send, args=(i, *p)) for i, p in enumerate(posts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r is not None for r in replies), replies
    return [r for r in replies if r is not None]


@pytest.mark.parametrize("second", ["double-click", "slack-retry"])
def test_the_same_confirm_twice_at_once_commits_once_and_the_other_hears_it_is_being_handled(
    world: World, fake_slack: FakeSlack, second: str
) -> None:
    with running_bot(world, fake_slack) as sb:
        head, tags = world.head(), world.registry_tags("backend")
        sb.command("/promote", f"{_tag(world)} to production", response_id="p")
        rid = preview_id(fake_slack, "p")
        if second == "double-click":  # two clicks, each with its own response_url
            posts = [(_click_body(fake_slack, rid, "c1"), {}), (_click_body(fake_slack, rid, "c2"), {})]
        else:  # Slack sends the very same request again, saying it is a retry
            body = _click_body(fake_slack, rid, "c1")
            posts = [(body, {}), (body, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})]
        assert [r.status for r in _post_together(sb, posts)] == [200, 200]

        _committed(fake_slack)
        answers = fake_slack.wait_for(lambda c: c.response_id in ("c1", "c2"), count=2, timeout=30)
        said = [json.dumps(a.json, ensure_ascii=False) for a in answers]
        assert sum(BUSY in s for s in said) == 1, said
        assert len(world.new_commits(head)) == 1
        assert len(_new_production_tags(world, tags)) == 1
        assert len([m for m in fake_slack.messages(PROD_CHANNEL) if not m.is_reply]) == 1  # one thread
