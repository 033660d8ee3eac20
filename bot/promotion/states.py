"""The lives of a request, a promotion thread and a scheduled promotion: states and their legal moves.

Pure data, table-tested (tests/unit/promotion/test_states.py). The state store only persists and
compares-and-sets; whether a move is legal is decided here. Values are the strings stored in SQLite,
so a state file written by an earlier version reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from enum import StrEnum


class RequestStatus(StrEnum):
    """A previewed promotion, release, rollback or resume.

    pending → approved → running → done | failed, and pending|approved → cancelled | expired | rejected.
    pending → running too: an environment that needs no approvals runs straight from the confirm click.
    """

    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


_R = RequestStatus
# X → X is allowed so a caller can set fields (e.g. the thread's message ts) only while the status still holds.
REQUEST_MOVES: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    _R.PENDING: frozenset({_R.PENDING, _R.APPROVED, _R.RUNNING, _R.CANCELLED, _R.EXPIRED, _R.REJECTED}),
    _R.APPROVED: frozenset({_R.APPROVED, _R.RUNNING, _R.CANCELLED, _R.EXPIRED, _R.REJECTED}),
    _R.RUNNING: frozenset({_R.RUNNING, _R.DONE, _R.FAILED}),
    _R.DONE: frozenset({_R.DONE}),
    _R.FAILED: frozenset({_R.FAILED}),
    _R.CANCELLED: frozenset({_R.CANCELLED}),
    _R.EXPIRED: frozenset({_R.EXPIRED}),
    _R.REJECTED: frozenset({_R.REJECTED}),
}
# Requests that still wait for a person: the ones approval expiry sweeps.
OPEN_REQUESTS = frozenset({_R.PENDING, _R.APPROVED})


class ThreadStatus(StrEnum):
    """The channel thread of a confirmed request: opened, committed, then Flux's verdict."""

    PENDING = "pending"
    COMMITTED = "committed"
    RECONCILED = "reconciled"
    FAILED = "failed"


_T = ThreadStatus
THREAD_MOVES: Mapping[ThreadStatus, frozenset[ThreadStatus]] = {
    _T.PENDING: frozenset({_T.COMMITTED, _T.FAILED}),
    _T.COMMITTED: frozenset({_T.RECONCILED, _T.FAILED}),
    _T.RECONCILED: frozenset(),
    _T.FAILED: frozenset(),
}


class ScheduleStatus(StrEnum):
    """A promotion scheduled for later: it waits, then runs once (done or failed), or is cancelled.

    waiting → running → done | failed, and waiting → cancelled. The runner takes `running` before it
    promotes, so a cancel and a run racing on one due schedule cannot both win (one promotes, or none).
    """

    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


_S = ScheduleStatus
SCHEDULE_MOVES: Mapping[ScheduleStatus, frozenset[ScheduleStatus]] = {
    _S.WAITING: frozenset({_S.RUNNING, _S.CANCELLED}),
    _S.RUNNING: frozenset({_S.DONE, _S.FAILED}),
    _S.DONE: frozenset(),
    _S.FAILED: frozenset(),
    _S.CANCELLED: frozenset(),
}


def request_move_allowed(expected: AbstractSet[RequestStatus], to: RequestStatus) -> bool:
    """Whether every status in `expected` may move to `to` (an empty `expected` never may)."""
    return bool(expected) and all(to in REQUEST_MOVES[s] for s in expected)


def thread_sources(to: ThreadStatus) -> frozenset[ThreadStatus]:
    """The statuses a thread may move to `to` from: what a compare-and-set's WHERE clause needs."""
    return frozenset(s for s, nxt in THREAD_MOVES.items() if to in nxt)


def schedule_sources(to: ScheduleStatus) -> frozenset[ScheduleStatus]:
    """The statuses a schedule may move to `to` from: what a compare-and-set's WHERE clause needs."""
    return frozenset(s for s, nxt in SCHEDULE_MOVES.items() if to in nxt)
