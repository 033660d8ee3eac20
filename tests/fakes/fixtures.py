"""pytest fixtures for the fake Slack Web API; load with `pytest_plugins = ["tests.fakes.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.slack_api import FakeSlack

BOT_TOKEN = "xoxb-fake-bot-token"
SIGNING_SECRET = "fake-signing-secret"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started fake that accepts only BOT_TOKEN; stopped after the test."""
    with FakeSlack(token=BOT_TOKEN) as fake:
        yield fake
