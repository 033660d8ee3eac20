"""Durations, ISO times, `HH:MM` and UTC display: one home, `now` always an argument."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.clock_text import iso_utc, iso_utc_millis, parse_duration, parse_iso, resolve_at, utc, utc_minutes
from bot.errors import InvalidInput


def _ts(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())


NOW = _ts("2026-11-25T12:00:00")


@pytest.mark.parametrize(
    ("text", "secs"),
    [("30m", 1800), ("64h", 230400), ("1h30m", 5400), ("90s", 90), ("2d", 172800), ("1d2h3m4s", 93784),
     (" 5m ", 300), ("0s", 0)],
)  # fmt: skip
def test_durations(text: str, secs: int) -> None:
    assert parse_duration(text) == secs


@pytest.mark.parametrize("bad", ["", " ", "m", "30", "1x", "-5m", "1m1h", "1.5h", "1 h", "h1"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("2026-11-25T14:00", "2026-11-25T14:00:00"),  # no zone: UTC
        ("2026-11-25T14:00Z", "2026-11-25T14:00:00"),
        ("2026-11-25T14:00:30", "2026-11-25T14:00:30"),
        ("2026-11-25T15:00+01:00", "2026-11-25T14:00:00"),
        ("2026-11-25T09:00-05:00", "2026-11-25T14:00:00"),
        ("2026-11-25", "2026-11-25T00:00:00"),
    ],
)
def test_parse_iso(text: str, at: str) -> None:
    assert parse_iso(text) == _ts(at)


@pytest.mark.parametrize("bad", ["", "tomorrow", "2026-13-01T00:00", "2026-11-25T25:00", "25/11/2026", "14:00x"])
def test_parse_iso_refuses_with_the_text_and_an_example(bad: str) -> None:
    with pytest.raises(InvalidInput, match="is not an ISO time like 2026-11-25T14:00"):
        parse_iso(bad)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("14:00", "2026-11-25T14:00:00"),  # later today
        ("12:00", "2026-11-26T12:00:00"),  # exactly now: the next one, tomorrow
        ("09:30", "2026-11-26T09:30:00"),  # passed: tomorrow
        ("00:00", "2026-11-26T00:00:00"),
        ("23:59", "2026-11-25T23:59:00"),
        ("2026-11-27T18:00", "2026-11-27T18:00:00"),  # an ISO time is taken as it is, even in the past
        ("2026-11-20T18:00Z", "2026-11-20T18:00:00"),
    ],
)
def test_resolve_at(text: str, at: str) -> None:
    assert resolve_at(text, NOW) == _ts(at)


@pytest.mark.parametrize("bad", ["24:00", "12:60", "1a:00", "12345", "ab:cd", "7:00", ""])
def test_resolve_at_refuses(bad: str) -> None:
    with pytest.raises(InvalidInput):
        resolve_at(bad, NOW)


@given(st.integers(0, 2**33), st.integers(0, 23), st.integers(0, 59))
def test_resolve_at_is_the_next_such_minute(now: int, hh: int, mm: int) -> None:
    at = resolve_at(f"{hh:02d}:{mm:02d}", now)
    assert now < at <= now + 86400
    assert utc_minutes(at).endswith(f" {hh:02d}:{mm:02d}")


def test_utc_formats() -> None:
    ts = _ts("2026-11-25T14:05:09")
    assert utc(ts) == "2026-11-25 14:05 UTC"
    assert utc_minutes(ts) == "2026-11-25 14:05"
    assert iso_utc(ts) == "2026-11-25T14:05:09Z"
    assert iso_utc_millis(ts + 0.0429) == "2026-11-25T14:05:09.042Z"  # truncated, not rounded
    assert utc(0) == "1970-01-01 00:00 UTC"
