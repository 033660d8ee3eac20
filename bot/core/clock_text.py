"""Time as people write it and read it: durations (`1h30m`), ISO times, `HH:MM`, and UTC display.

Pure: the current time is an argument (`now`, unix seconds), never read here, so every rule is testable
at any instant. Everything is UTC: the bot runs for a team in many zones and Git history has no zone.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.errors import InvalidInput

__all__ = ["iso_utc", "iso_utc_millis", "parse_duration", "parse_iso", "resolve_at", "utc", "utc_minutes"]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_TIME_OF_DAY = re.compile(r"(\d\d):(\d\d)", re.ASCII)
ISO_EXAMPLE = "2026-11-25T14:00"


def parse_duration(text: str) -> int:
    """`30m`, `64h`, `1h30m`, `90s`, `2d` → seconds. Raises ValueError on anything else (callers word the
    error for their own context: a config key path, a Slack usage line)."""
    m = _DURATION.fullmatch(text.strip())
    if not text.strip() or m is None or not any(m.groups()):
        raise ValueError(text)
    d, h, mi, s = (int(g or 0) for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60 + s


def parse_iso(text: str) -> int:
    """`2026-11-25T14:00[:ss][Z|±hh:mm]` → unix time; without a zone it is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)  # since Python 3.11 this reads a trailing `Z` as UTC
    except ValueError as err:
        raise InvalidInput(f"{text!r} is not an ISO time like {ISO_EXAMPLE}.") from err
    return int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp())


def resolve_at(text: str, now: int) -> int:
    """`HH:MM` (UTC, the next one to come after `now`) or an ISO time (see `parse_iso`) → unix time."""
    m = _TIME_OF_DAY.fullmatch(text)
    if m is None and len(text) == 5:
        raise InvalidInput(f"{text!r} is not a time of day.")
    if m is None:
        return parse_iso(text)
    hh, mm = int(m[1]), int(m[2])
    if hh > 23 or mm > 59:
        raise InvalidInput(f"{text!r} is not a time of day.")
    today = dt.datetime.fromtimestamp(now, tz=dt.UTC).replace(hour=hh, minute=mm, second=0, microsecond=0)
    at = today if today.timestamp() > now else today + dt.timedelta(days=1)
    return int(at.timestamp())


def utc_minutes(ts: float) -> str:
    """`2026-11-25 14:00`: for columns whose heading already says UTC."""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def utc(ts: float) -> str:
    """`2026-11-25 14:00 UTC`: for sentences people read."""
    return f"{utc_minutes(ts)} UTC"


def iso_utc(ts: int) -> str:
    """`2026-11-25T14:00:00Z`: for JSON and machine-read text."""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def iso_utc_millis(ts: float) -> str:
    """`2026-11-25T14:00:00.123Z`: log timestamps (milliseconds, truncated, as log shippers expect)."""
    moment = dt.datetime.fromtimestamp(ts, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def age(ts: int | None, now: float) -> str:
    """How long ago `ts` was, in the largest whole unit: `3d`, `5h`, `12m`, `40s`; `-` when unknown."""
    if ts is None:
        return "-"
    secs = max(0, int(now - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"
