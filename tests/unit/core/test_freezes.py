from __future__ import annotations

import pytest

from bot.core.freezes import Freeze, FreezeFile, manual_freeze, refuse_if_frozen
from bot.errors import GateRefused, InvalidInput


def test_round_trip_and_active() -> None:
    f = manual_freeze("production", "release party", "Alice <slack:U1>", 100, 200)
    ff = FreezeFile().add(f).with_holds("production", ["production/production"])
    again = FreezeFile.parse(ff.render())
    assert again == ff
    assert again.active("production", 150) == f
    assert again.active("production", 200) is None  # the end is exclusive
    assert again.active("staging", 150) is None


def test_latest_ending_freeze_wins_and_windows_count() -> None:
    a = manual_freeze("production", "a", "x", 0, 100)
    window = Freeze("production", "weekend", "schedule", 50, 500, "window")
    assert FreezeFile((a,)).active("production", 60, [window]) == window


def test_prune_and_end_manual() -> None:
    ff = FreezeFile((manual_freeze("production", "a", "x", 0, 100), manual_freeze("staging", "b", "x", 0, 300)))
    assert [f.env for f in ff.prune(150).freezes] == ["staging"]
    assert [f.env for f in ff.end_manual("staging", 10).freezes] == ["production"]


def test_refusals() -> None:
    with pytest.raises(InvalidInput):
        manual_freeze("production", "x", "y", 100, 100)
    with pytest.raises(InvalidInput):
        FreezeFile.parse("{not json")
    with pytest.raises(GateRefused, match=r"production is frozen until 1970-01-01 00:03 UTC .r, by y.; promotion"):
        refuse_if_frozen(manual_freeze("production", "r", "y", 0, 200), "production", "promotion")


@pytest.mark.parametrize("end", [100, 50, 100 + 366 * 86400 + 1, 10**15])
def test_empty_past_and_absurd_ends_are_refused(end: int) -> None:
    with pytest.raises(InvalidInput):
        manual_freeze("production", "x", "y", 100, end)
