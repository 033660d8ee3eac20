"""A pytest plugin: every Block Kit payload any FakeSlack records is checked against slack_sdk's own models and
Slack's documented limits, so no message the bot can send breaks them unnoticed.

Loaded for the whole suite from tests/conftest.py. What is checked, per recorded call:

    messages  chat.postMessage, chat.update, chat.postEphemeral and response_url posts: ≤ 50 blocks; each block
              parsed by `slack_sdk.models.blocks.Block.parse` (an unknown type is a failure) and `to_dict()`,
              which runs `validate_json()` on every nested object (section text ≤ 3000, ≤ 10 fields, button
              text ≤ 75, value ≤ 2000, action_id/block_id ≤ 255, confirm texts …); by hand: block_ids unique
              in the message, action_ids unique in a block, select options ≤ 100 (text ≤ 75, value ≤ 150),
              the fallback `text` ≤ 40,000 characters (Slack truncates past it)
    modals    views.open/views.update/views.push: `slack_sdk.models.views.View(…).to_dict()`
              (title ≤ 24, ≤ 100 blocks, private_metadata ≤ 3000, every block as above)

Limits slack_sdk does not check are checked here by hand and named by their Slack documentation. A payload that
breaks one fails the test that made it, at teardown, naming the method and the rule.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from tests.fakes import slack_api
from tests.fakes.slack_api import Call

MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral", slack_api.RESPOND_METHOD})
VIEW_METHODS = frozenset({"views.open", "views.update", "views.push"})
MESSAGE_BLOCKS = 50  # docs.slack.dev/reference/block-kit/blocks: "up to 50 blocks in each message"
MODAL_BLOCKS = 100  # "… and 100 blocks in modals or Home tabs"
TEXT_CHARS = 40_000  # chat.postMessage: "text … truncated beyond 40,000 characters"
OPTION_TEXT = 75  # option object: text max 75 characters
OPTION_VALUE = 150  # option object: value max 150 characters
OPTIONS = 100  # static select: maximum 100 options


class _Found:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: list[str] = []
        self.checked = 0

    def add(self, problem: str) -> None:
        with self._lock:
            self._problems.append(problem)

    def take(self) -> list[str]:
        with self._lock:
            found, self._problems = self._problems, []
        return found


FOUND = _Found()


def _structured(value: object) -> object:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _blocks_problems(blocks: list[dict[str, Any]], cap: int) -> list[str]:
    problems = []
    if len(blocks) > cap:
        problems.append(f"{len(blocks)} blocks (Slack allows {cap})")
    ids = [b["block_id"] for b in blocks if isinstance(b, dict) and "block_id" in b]
    if len(ids) != len(set(ids)):
        problems.append(f"block_id repeated: {sorted(i for i in ids if ids.count(i) > 1)}")
    for n, raw in enumerate(blocks):
        where = f"block {n} ({raw.get('type') if isinstance(raw, dict) else type(raw).__name__})"
        parsed = Block.parse(raw) if isinstance(raw, dict) else None
        if parsed is None:
            problems.append(f"{where}: not a Block Kit block slack_sdk knows")
            continue
        try:
            parsed.to_dict()  # validate_json() on this object and, through to_dict, on every nested one
        except SlackObjectFormationError as err:
            problems.append(f"{where}: {err}")
        elements = raw.get("elements") if raw.get("type") == "actions" else None
        if isinstance(elements, list):
            actions = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
            if len(actions) != len(set(actions)):
                problems.append(f"{where}: action_id repeated in one block: {actions}")
            for e in elements:
                problems += [f"{where}: {p}" for p in _options_problems(e)]
    return problems


def _options_problems(element: dict[str, Any]) -> list[str]:
    options = element.get("options")
    if not isinstance(options, list):
        return []
    problems = [f"{len(options)} options (Slack allows {OPTIONS})"] if len(options) > OPTIONS else []
    for o in options:
        text, value = str(o.get("text", {}).get("text", "")), str(o.get("value", ""))
        if len(text) > OPTION_TEXT or len(value) > OPTION_VALUE:
            problems.append(f"option {value[:40]!r}: text {len(text)} / value {len(value)} characters")
    return problems


def check(call: Call) -> list[str]:
    """What is wrong with the Block Kit in one recorded call ([] when nothing is)."""
    params = call.json if call.json is not None else call.params
    if call.method in MESSAGE_METHODS:
        problems = []
        text = params.get("text")
        if isinstance(text, str) and len(text) > TEXT_CHARS:
            problems.append(f"text of {len(text)} characters (Slack truncates past {TEXT_CHARS})")
        blocks = _structured(params.get("blocks"))
        if isinstance(blocks, list):
            problems += _blocks_problems(blocks, MESSAGE_BLOCKS)
        elif blocks is not None:
            problems.append(f"blocks is a {type(blocks).__name__}, not a list")
        return problems
    if call.method in VIEW_METHODS:
        view = _structured(params.get("view"))
        if not isinstance(view, dict):
            return ["view is missing or not an object"]
        try:
            View(**view).to_dict()
        except (SlackObjectFormationError, TypeError) as err:
            return [f"view: {err}"]
        blocks = view.get("blocks")
        return _blocks_problems(blocks, MODAL_BLOCKS) if isinstance(blocks, list) else ["view without blocks"]
    return []


def _watch(call: Call) -> None:
    FOUND.checked += 1
    for problem in check(call):
        FOUND.add(f"{call.method}: {problem}")


def pytest_configure(config: pytest.Config) -> None:
    slack_api.WATCHERS.append(_watch)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _watch in slack_api.WATCHERS:
        slack_api.WATCHERS.remove(_watch)


@pytest.fixture(autouse=True)
def blockkit_guard() -> Iterator[None]:
    """After the test: fail it if any payload it made Slack would refuse or cut."""
    FOUND.take()  # a previous test's late stragglers are that test's, already reported or gone
    yield
    problems = FOUND.take()
    if problems:
        lines = "\n".join(f"  - {p}" for p in dict.fromkeys(problems))
        pytest.fail(f"Block Kit guard: {len(problems)} payload problem(s) (see tests/blockkit_guard.py):\n{lines}",
                    pytrace=False)  # fmt: skip
