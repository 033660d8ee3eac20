from __future__ import annotations

import pytest

from bot.core import names
from bot.errors import InvalidInput


@pytest.mark.parametrize("ok", ["develop", "staging", "production", "pre-prod", "eu1"])
def test_env_ok(ok: str) -> None:
    assert names.env_name(ok) == ok


@pytest.mark.parametrize(
    "bad", ["", "Prod", "1prod", "prod-", "pro--d", "prod;x", "../etc", "prod\n", "a" * 40]
)
def test_env_bad(bad: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid environment name"):
        names.env_name(bad)


@pytest.mark.parametrize("bad", ["", "Backend", "back_end", "-x", "x-", "a/b", "a b", "$(x)"])
def test_service_bad(bad: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid service name"):
        names.service_name(bad)


def test_one_line_refuses_forged_trailers() -> None:
    with pytest.raises(InvalidInput, match="one line"):
        names.one_line("fix\nApproved-by: mallory", "reason")
    assert names.one_line("  hotfix for #123  ", "reason") == "hotfix for #123"
