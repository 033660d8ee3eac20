"""A strict five-field crontab grammar, for checking freeze windows when the config is read.

`minute hour day-of-month month day-of-week`, each field a comma list of `*`, `*/step`, `n`, `n-m`,
`n-m/step` or `n/step` (from n to the field's end), and in the month and day-of-week fields a name or
a range of names (`jan`, `mon-fri`, any case).

Every expression accepted here is one APScheduler 3's `CronTrigger.from_crontab` accepts (a property
test in tests/unit/core/test_cron.py holds us to it): bot/promotion/freeze.py evaluates windows with it. The
grammar is narrower on purpose: APScheduler ignores what follows a name (`mon-fri/2` is `mon-fri`), takes
non-ASCII digits, and knows forms (`last`, `2nd fri`) that other crons read differently. Refusing them
here turns a silent surprise into a config error that names the field.

Day-of-week numbers are crontab's: 0 and 7 = Sunday, 1 = Monday … 6 = Saturday. APScheduler numbers them
from Monday (its 5 is a Saturday), so `apscheduler_form` rewrites that field as day names before the
expression reaches it: `0 16 * * 5` fires on Fridays, as it would under cron.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import InvalidInput

__all__ = ["FIELDS", "apscheduler_form", "validate_cron"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab's order: sun = 0 (and 7)
_APSCHEDULER_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC = re.compile(r"(?:(?P<all>\*)|(?P<first>[0-9]{1,2})(?:-(?P<last>[0-9]{1,2}))?)(?:/(?P<step>[0-9]{1,2}))?")
_NAMED = re.compile(r"(?P<first>[A-Za-z]+)(?:-(?P<last>[A-Za-z]+))?")


@dataclass(frozen=True)
class Field:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] is the value low + i

    def hint(self) -> str:
        named = f"{self.names[0]}..{self.names[-1]} or " if self.names else ""
        return f"{named}{self.low}-{self.high}"


FIELDS = (
    Field("minute", 0, 59),
    Field("hour", 0, 23),
    Field("day of month", 1, 31),
    Field("month", 1, 12, _MONTHS),
    Field("day of week", 0, 7, _WEEKDAYS),
)


def validate_cron(text: str) -> str:
    """`text` when it is a five-field crontab expression this grammar accepts; else InvalidInput naming
    the field and the part that is wrong."""
    parts = text.split()
    if len(parts) != len(FIELDS):
        raise InvalidInput(
            f"{text!r} has {len(parts)} fields; a crontab expression has 5: minute hour day month weekday.",
            hint="e.g. '0 16 * * FRI' (16:00 UTC every Friday)",
        )
    for field, part in zip(FIELDS, parts, strict=True):
        for item in part.split(","):
            problem = _item_problem(field, item)
            if problem:
                raise InvalidInput(f"{text!r}: {field.label} {item!r} {problem}.", hint=f"Use {field.hint()}.")
    return text


def _item_problem(field: Field, item: str) -> str | None:
    """Why `item` is no valid part of `field`, or None when it is."""
    named = _NAMED.fullmatch(item) if field.names else None
    if named:
        return _name_problem(field, named["first"], named["last"] or named["first"])
    m = _NUMERIC.fullmatch(item)
    if m is None:
        return "is not *, a number, a range or a step" + (" (names take no step)" if "/" in item else "")
    step = int(m["step"]) if m["step"] is not None else None
    if m["all"]:
        first, last = field.low, field.high
    else:
        first = int(m["first"])
        last = int(m["last"]) if m["last"] is not None else (first if step is None else field.high)
        if not field.low <= first <= field.high or not field.low <= last <= field.high:
            return f"is outside {field.low}-{field.high}"
    return _span_problem(first, last, step)


def _name_problem(field: Field, first: str, last: str) -> str | None:
    if first.lower() not in field.names or last.lower() not in field.names:
        return f"is not a {field.label} name"
    return "runs backwards" if field.names.index(first.lower()) > field.names.index(last.lower()) else None


def _span_problem(first: int, last: int, step: int | None) -> str | None:
    if first > last:
        return "runs backwards"
    if step == 0:
        return "has a step of 0"
    if step is not None and step > last - first:
        # APScheduler refuses a step longer than the range it walks; so do we, with the reason.
        return f"has a step longer than its range ({last - first})"
    return None


def apscheduler_form(text: str) -> str:
    """`text` (valid by `validate_cron`) with its day-of-week field spelled as day names, which APScheduler
    reads as cron does: its own numbers start at Monday."""
    parts = validate_cron(text).split()
    days = set()
    week = FIELDS[4]
    for item in parts[4].split(","):
        days |= _values(week, item)
    days = {d % 7 for d in days}  # 7 is Sunday too
    if len(days) < 7:
        parts[4] = ",".join(n for n in _APSCHEDULER_WEEK if _WEEKDAYS.index(n) in days)
    else:
        parts[4] = "*"
    return " ".join(parts)


def _values(field: Field, item: str) -> set[int]:
    """The values one valid item of `field` stands for."""
    named = _NAMED.fullmatch(item) if field.names else None
    if named:
        first = field.names.index(named["first"].lower())
        last = field.names.index((named["last"] or named["first"]).lower())
        return set(range(first, last + 1))
    m = _NUMERIC.fullmatch(item)
    if m is None:  # callers validate first; refuse rather than guess
        raise InvalidInput(f"{item!r} is not a {field.label}.")
    step = int(m["step"]) if m["step"] is not None else 1
    if m["all"]:
        first, last = field.low, field.high
    else:
        first = int(m["first"])
        last = int(m["last"]) if m["last"] is not None else (first if m["step"] is None else field.high)
    return set(range(first, last + 1, step))
