"""`at` times as people type them: an ISO time, or HH:MM meaning the next such time in UTC."""

from __future__ import annotations

import datetime as dt

from bot.errors import InvalidInput


def resolve_at(text: str, now: int) -> int:
    """`2026-11-25T14:00[Z|±hh:mm]` or `HH:MM` (UTC, the next one to come) → unix time."""
    if len(text) == 5:
        hh, mm = int(text[:2]), int(text[3:])
        if hh > 23 or mm > 59:
            raise InvalidInput(f"{text!r} is not a time of day.")
        today = dt.datetime.fromtimestamp(now, tz=dt.UTC).replace(hour=hh, minute=mm, second=0, microsecond=0)
        at = today if today.timestamp() > now else today + dt.timedelta(days=1)
        return int(at.timestamp())
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidInput(f"{text!r} is not an ISO time like 2026-11-25T14:00.") from err
    return int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp())
