"""Modals (Slack "views"): pure builders of the view payloads `views.open` takes.

Limits (slack_sdk's models check them, and tests/blockkit_guard.py checks every recorded one): title and
submit ≤ 24 characters, ≤ 100 blocks, private_metadata ≤ 3000 characters.
"""

from __future__ import annotations

from bot.slack import messages as say

View = dict[str, object]

REJECT_VIEW = "request_reject_reason"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_text"
REASON_CHARS = 500


def reject_reason(request_id: str, summary: str) -> View:
    """Reject asks why; the answer is posted in the request's thread. `private_metadata` carries the id."""
    return {
        "type": "modal",
        "callback_id": REJECT_VIEW,
        "private_metadata": request_id,
        "title": {"type": "plain_text", "text": say.REJECT_TITLE},
        "submit": {"type": "plain_text", "text": say.REJECT_SUBMIT},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": say.REJECT_LABEL},
                "element": {"type": "plain_text_input", "action_id": REASON_INPUT, "multiline": True,
                            "max_length": REASON_CHARS},
            },
        ],
    }  # fmt: skip
