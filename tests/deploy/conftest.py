"""One loaded chart per test session: loading is cheap, but the handle is native memory to free."""

from __future__ import annotations

from collections.abc import Iterator

import helm_python as helm
import pytest

from tests.deploy.manifests import CHART


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    loaded = helm.Chart.load(CHART)
    try:
        yield loaded
    finally:
        loaded.close()
