"""The Slack thread of each confirmed request and how far Flux got with its commit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.adapters.store.db import Db, columns
from bot.promotion.states import ThreadStatus, thread_sources


@dataclass(frozen=True)
class PromotionThread:
    request_id: str
    channel: str
    ts: str
    env: str
    service: str
    status: ThreadStatus
    commit_sha: str
    created_at: float
    committed_at: float | None
    reconciled_at: float | None
    watchdog_warned: bool


_THREAD = f"SELECT {columns(PromotionThread)} FROM threads"  # noqa: S608 - column names are constants


def _thread(row: tuple[Any, ...]) -> PromotionThread:
    return replace(PromotionThread(*row), status=ThreadStatus(row[5]), watchdog_warned=bool(row[-1]))


def _from(to: ThreadStatus) -> str:
    """The WHERE clause of a move to `to`: the statuses states.THREAD_MOVES allows it from (constants, inlined)."""
    return f"status IN ({', '.join(repr(str(s)) for s in sorted(thread_sources(to)))})"


class Threads(Db):
    def record_thread(self, request_id: str, *, channel: str, ts: str, env: str, service: str) -> None:
        """Remember the request's Slack thread; the first recording wins, so a retried post cannot move it."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO threads (request_id, channel, ts, env, service, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (request_id, channel, ts, env, service, ThreadStatus.PENDING, self._clock()),
            )

    def thread_of(self, request_id: str) -> PromotionThread | None:
        rows = self._read(f"{_THREAD} WHERE request_id = ?", (request_id,))
        return _thread(rows[0]) if rows else None

    def committed_threads(self) -> list[PromotionThread]:
        """Threads whose commit is pushed and not yet seen applied by Flux, oldest commit first."""
        rows = self._read(f"{_THREAD} WHERE status = ? ORDER BY committed_at, request_id", (ThreadStatus.COMMITTED,))
        return [_thread(r) for r in rows]

    def _thread_cas(self, request_id: str, where: str, sets: str, args: tuple[Any, ...]) -> bool:
        with self._write() as db:
            cur = db.execute(f"UPDATE threads SET {sets} WHERE request_id = ? AND {where}", (*args, request_id))  # noqa: S608
            return cur.rowcount == 1

    def _move_thread(self, request_id: str, to: ThreadStatus, sets: str = "", args: tuple[Any, ...] = ()) -> bool:
        return self._thread_cas(request_id, _from(to), f"status = ?{sets}", (to, *args))

    def thread_committed(self, request_id: str, sha: str) -> bool:
        sets = ", commit_sha = ?, committed_at = ?"
        return self._move_thread(request_id, ThreadStatus.COMMITTED, sets, (sha, self._clock()))

    def thread_reconciled(self, request_id: str) -> bool:
        return self._move_thread(request_id, ThreadStatus.RECONCILED, ", reconciled_at = ?", (self._clock(),))

    def thread_failed(self, request_id: str) -> bool:
        return self._move_thread(request_id, ThreadStatus.FAILED)

    def thread_warned(self, request_id: str) -> bool:
        """Flag a committed thread the watchdog complained about; True only the first time."""
        where = f"status = '{ThreadStatus.COMMITTED}' AND watchdog_warned = 0"
        return self._thread_cas(request_id, where, "watchdog_warned = 1", ())
