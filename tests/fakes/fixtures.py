"""pytest fixtures for the fake Slack Web API; load with `pytest_plugins = ["tests.fakes.fixtures"]`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.canaries import BOT_TOKEN, SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack

__all__ = ["BOT_TOKEN", "SIGNING_SECRET", "fake_slack"]  # the canaries, re-exported for older imports


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started fake that accepts only BOT_TOKEN; stopped after the test."""
    with FakeSlack(token=BOT_TOKEN) as fake:
        yield fake
