"""The Slack preview says which tags a promotion creates, per environments.<env>.tag (issue 16)."""

from __future__ import annotations

from bot.slack.messages.requests import promotion_facts


def test_the_slack_preview_says_what_tags_a_promotion_creates() -> None:
    assert promotion_facts("i", "d", "v1.0.1", "v1.0.2", "").endswith("new tags: `v1.0.2`")  # a template: no alias
    assert promotion_facts("i", "d", None, "p-v0.0.1-a1b2c3d-9", "p").endswith("`p-v0.0.1-a1b2c3d-9`, `p`")
    assert "pinned as it is: `1.0.2-rc.1` (no new tag)" in promotion_facts("i", "d", None, "1.0.2-rc.1", "", copy=False)
