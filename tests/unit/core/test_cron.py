"""The strict crontab grammar: everything it accepts APScheduler accepts, and what it refuses, it names."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from bot.core.cron import FIELDS, Field, apscheduler_form, validate_cron
from bot.errors import InvalidInput


@pytest.mark.parametrize(
    "text",
    [
        "0 16 * * FRI",
        "* * * * *",
        "*/15 * * * *",
        "0 9-17 * * mon-fri",
        "0 9-17/2 1,15 * Mon-Fri",
        "30 22 * dec sun",
        "0 0 1 jan-mar *",
        "5/10 * * * *",  # from 5 to 59, every 10
        "0 0 31 12 6",
        "00 07 01 01 0",
        "  0 16 * * fri  ",  # surrounding blanks, as a YAML block scalar leaves them
        "0\t16 * * fri",
    ],
)
def test_accepts(text: str) -> None:
    assert validate_cron(text) == text
    CronTrigger.from_crontab(apscheduler_form(text))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "has 0 fields"),
        ("0 16 * *", "has 4 fields"),
        ("0 16 * * FRI 2026", "has 6 fields"),
        ("60 * * * *", "minute '60' is outside 0-59"),
        ("0 24 * * *", "hour '24' is outside 0-23"),
        ("0 0 0 * *", "day of month '0' is outside 1-31"),
        ("0 0 * 13 *", "month '13' is outside 1-12"),
        ("0 0 * * 8", "day of week '8' is outside 0-7"),
        ("0 0 * * friday", "day of week 'friday' is not"),
        ("0 0 * * fri-mon", "runs backwards"),
        ("0 17-9 * * *", "hour '17-9' runs backwards"),
        ("*/0 * * * *", "has a step of 0"),
        ("*/60 * * * *", "has a step longer than its range (59)"),
        ("0-10/11 * * * *", "has a step longer than its range (10)"),
        ("0 0 * * mon-fri/2", "names take no step"),  # APScheduler would silently drop the step
        ("0 0 last * *", "day of month 'last' is not *"),  # APScheduler-only form
        ("0 0 * * 1st", "is not"),
        ("1,,2 * * * *", "minute '' is not"),
        ("1, * * * *", "minute '' is not"),
        ("٣ * * * *", "is not"),  # a non-ASCII digit, which APScheduler would take
        ("0 0 * jan *", None),  # (accepted: a control row)
        ("0 0 fri * *", "day of month 'fri' is not"),  # names only where the field has them
        ("-1 * * * *", "is not"),
        ("100 * * * *", "is not"),
    ],
)
def test_refusals_name_the_field(text: str, says: str | None) -> None:
    if says is None:
        assert validate_cron(text) == text
        return
    with pytest.raises(InvalidInput) as caught:
        validate_cron(text)
    assert says in caught.value.message


def _item(field: Field) -> st.SearchStrategy[str]:
    number = st.integers(field.low, field.high).map(str)
    any_number = st.integers(0, 99).map(str)  # out-of-range numbers too: the grammar must refuse them
    step = st.integers(0, 70).map(lambda s: f"/{s}")
    ranges = st.tuples(any_number, any_number).map("-".join)
    forms = [
        st.just("*"),
        step.map(lambda s: "*" + s),
        number,
        any_number,
        ranges,
        st.tuples(ranges, step).map("".join),
        st.tuples(number, step).map("".join),
    ]
    if field.names:
        name = st.sampled_from(field.names).flatmap(lambda n: st.sampled_from([n, n.upper(), n.title()]))
        forms += [name, st.tuples(name, name).map("-".join)]
    return st.one_of(*forms)


CRONS = st.tuples(*(st.lists(_item(f), min_size=1, max_size=3).map(",".join) for f in FIELDS)).map(" ".join)
JUNK = st.text(alphabet="0123456789*/-, abcdefjmnorstuwFRIMON\t", max_size=30)


@given(st.one_of(CRONS, JUNK))
def test_everything_accepted_is_accepted_by_apscheduler(text: str) -> None:
    try:
        validate_cron(text)
    except InvalidInput:
        return
    CronTrigger.from_crontab(apscheduler_form(text))  # ValueError if the grammar let through what APScheduler refuses


def _accepted(text: str) -> bool:
    try:
        validate_cron(text)
    except InvalidInput:
        return False
    return True


def test_the_generator_reaches_rich_accepted_expressions() -> None:
    # Without this the property above could pass by generating only refusals.
    # A fixed seed and a generous budget: the search is the same on every run, however loaded the machine.
    found = find(
        CRONS,
        lambda t: _accepted(t) and "/" in t and "-" in t and "," in t and any(c.isalpha() for c in t),
        settings=settings(max_examples=50_000, database=None, suppress_health_check=list(HealthCheck)),
        random=random.Random(12),
    )
    CronTrigger.from_crontab(apscheduler_form(found))


@pytest.mark.parametrize(
    ("text", "weekdays"),
    [
        ("0 16 * * 5", {"Fri"}),  # crontab's 5 is Friday; APScheduler's own 5 would be Saturday
        ("0 16 * * FRI", {"Fri"}),
        ("0 16 * * 0", {"Sun"}),
        ("0 16 * * 7", {"Sun"}),
        ("0 16 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 16 * * */2", {"Sun", "Tue", "Thu", "Sat"}),
        ("0 16 * * sat,sun", {"Sat", "Sun"}),
        ("0 16 * * *", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
    ],
)
def test_day_of_week_numbers_mean_what_they_mean_in_crontab(text: str, weekdays: set[str]) -> None:
    trigger = CronTrigger.from_crontab(apscheduler_form(text), timezone=dt.UTC)
    moment, seen = dt.datetime(2026, 11, 29, tzinfo=dt.UTC), set()  # a Sunday
    for _ in range(14):
        fire = trigger.get_next_fire_time(None, moment)
        assert fire is not None
        seen.add(fire.strftime("%a"))
        moment = fire + dt.timedelta(minutes=1)
    assert seen == weekdays
