"""The three state machines, spelled out here independently of bot/promotion/states.py: every (from, to) pair
of each is enumerated and checked against the expected set, and each status is the string stored in SQLite."""

from __future__ import annotations

import itertools
import re
from enum import StrEnum
from pathlib import Path

import pytest

from bot.promotion.states import (
    OPEN_REQUESTS,
    REQUEST_MOVES,
    SCHEDULE_MOVES,
    THREAD_MOVES,
    RequestStatus,
    ScheduleStatus,
    ThreadStatus,
    request_move_allowed,
    schedule_sources,
    thread_sources,
)

FIXTURE = Path(__file__).resolve().parents[2] / "integration" / "fixtures" / "state_v1.sql"

# Legal moves as (from, to) strings. Staying put is legal for requests only (a caller sets fields while the
# status still holds); threads and schedules move forward or not at all.
REQUEST_LEGAL = {
    *((s, s) for s in ("pending", "approved", "running", "done", "failed", "cancelled", "expired", "rejected")),
    ("pending", "approved"), ("pending", "running"), ("approved", "running"),
    ("running", "done"), ("running", "failed"),
    *((s, end) for s in ("pending", "approved") for end in ("cancelled", "expired", "rejected")),
}  # fmt: skip
THREAD_LEGAL = {
    ("pending", "committed"), ("pending", "failed"), ("committed", "reconciled"), ("committed", "failed"),
}  # fmt: skip
SCHEDULE_LEGAL = {
    ("waiting", "running"), ("waiting", "cancelled"), ("running", "done"), ("running", "failed"),
}  # fmt: skip

REQUEST_VALUES = {"pending", "approved", "running", "done", "failed", "cancelled", "expired", "rejected"}
THREAD_VALUES = {"pending", "committed", "reconciled", "failed"}
# running is new with schema 2; the others are what bot/jobs.py wrote into its JSON blob.
SCHEDULE_VALUES = {"waiting", "running", "done", "failed", "cancelled"}

MACHINES: list[tuple[type[StrEnum], dict[str, frozenset[str]], set[tuple[str, str]]]] = [
    (RequestStatus, dict(REQUEST_MOVES), REQUEST_LEGAL),
    (ThreadStatus, dict(THREAD_MOVES), THREAD_LEGAL),
    (ScheduleStatus, dict(SCHEDULE_MOVES), SCHEDULE_LEGAL),
]
PAIRS = [
    pytest.param(moves, src, dst, (src, dst) in legal, id=f"{enum.__name__}:{src}->{dst}")
    for enum, moves, legal in MACHINES
    for src, dst in itertools.product(list(enum), repeat=2)
]


@pytest.mark.parametrize(("moves", "src", "dst", "legal"), PAIRS)
def test_every_pair_is_legal_exactly_when_expected(
    moves: dict[str, frozenset[str]], src: str, dst: str, legal: bool
) -> None:
    assert (dst in moves[src]) is legal


@pytest.mark.parametrize(("enum", "moves"), [(e, m) for e, m, _ in MACHINES], ids=lambda v: getattr(v, "__name__", ""))
def test_every_status_has_a_row_and_moves_only_to_statuses(
    enum: type[StrEnum], moves: dict[str, frozenset[str]]
) -> None:
    assert set(moves) == set(enum)
    assert all(isinstance(t, enum) for targets in moves.values() for t in targets)


@pytest.mark.parametrize(
    ("enum", "values"),
    [(RequestStatus, REQUEST_VALUES), (ThreadStatus, THREAD_VALUES), (ScheduleStatus, SCHEDULE_VALUES)],
    ids=["request", "thread", "schedule"],
)
def test_values_are_the_stored_strings(enum: type[StrEnum], values: set[str]) -> None:
    assert {s.value for s in enum} == values
    assert all(str(s) == s.value == s and f"{s}" == s.value for s in enum)  # what SQL parameters and f-strings see


def test_statuses_in_a_schema_1_file_all_read_back() -> None:
    """Every status a file written before the enums holds is a member (a row must never fail to convert)."""
    dump = FIXTURE.read_text(encoding="utf-8")
    request_rows = re.findall(r"INSERT INTO \"requests\" VALUES\((?:'[^']*',){7}'([a-z]+)'", dump)
    thread_rows = re.findall(r"INSERT INTO \"threads\" VALUES\((?:'[^']*',){5}'([a-z]+)'", dump)
    blob_statuses = re.findall(r'"status": "([a-z]+)"', dump)
    assert request_rows == ["pending"] and thread_rows == ["pending"]
    assert set(blob_statuses) == {"waiting", "done", "failed", "cancelled"}
    for value in request_rows:
        RequestStatus(value)
    for value in thread_rows:
        ThreadStatus(value)
    for value in blob_statuses:
        ScheduleStatus(value)


def test_open_requests_are_those_expiry_sweeps() -> None:
    assert {RequestStatus.PENDING, RequestStatus.APPROVED} == OPEN_REQUESTS
    assert all(RequestStatus.EXPIRED in REQUEST_MOVES[s] for s in OPEN_REQUESTS)


@pytest.mark.parametrize(
    ("expected", "to", "allowed"),
    [
        (set(), "approved", False),
        ({"pending"}, "approved", True),
        ({"pending", "approved"}, "running", True),
        ({"pending", "running"}, "approved", False),
        ({"running"}, "done", True),
        ({"done"}, "failed", False),
        ({"pending", "approved"}, "cancelled", True),
        ({"expired"}, "expired", True),
    ],
)
def test_request_move_allowed_needs_every_source_legal(expected: set[str], to: str, allowed: bool) -> None:
    assert request_move_allowed({RequestStatus(s) for s in expected}, RequestStatus(to)) is allowed


@pytest.mark.parametrize(
    ("to", "sources"),
    [
        ("pending", set()),
        ("committed", {"pending"}),
        ("reconciled", {"committed"}),
        ("failed", {"pending", "committed"}),
    ],
)
def test_thread_sources(to: str, sources: set[str]) -> None:
    assert thread_sources(ThreadStatus(to)) == sources


@pytest.mark.parametrize(
    ("to", "sources"),
    [("waiting", set()), ("running", {"waiting"}), ("cancelled", {"waiting"}), ("done", {"running"}),
     ("failed", {"running"})],
)  # fmt: skip
def test_schedule_sources(to: str, sources: set[str]) -> None:
    assert schedule_sources(ScheduleStatus(to)) == sources
