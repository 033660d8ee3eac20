"""Promotions scheduled for later, one row each, moved by compare-and-set (the port bot.promotion.schedule needs)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from bot.adapters.store.db import Db, columns
from bot.promotion.schedule import Scheduled
from bot.promotion.states import ScheduleStatus, schedule_sources

_SCHEDULE = f"SELECT {columns(Scheduled)} FROM schedules"  # noqa: S608 - column names are constants
_INSERT = f"INSERT INTO schedules ({columns(Scheduled)}) VALUES ({', '.join('?' * len(fields(Scheduled)))})"  # noqa: S608


def _scheduled(row: tuple[Any, ...]) -> Scheduled:
    return replace(Scheduled(*row), status=ScheduleStatus(row[7]))


class Schedules(Db):
    def add_schedule(self, item: Scheduled) -> None:
        with self._write() as db:
            db.execute(_INSERT, tuple(getattr(item, f.name) for f in fields(Scheduled)))

    def schedules_in(self, status: ScheduleStatus) -> list[Scheduled]:
        """The schedules in `status`, in the order they were made."""
        return [_scheduled(r) for r in self._read(f"{_SCHEDULE} WHERE status = ? ORDER BY seq", (status,))]

    def schedule(self, id: str) -> Scheduled | None:
        rows = self._read(f"{_SCHEDULE} WHERE id = ?", (id,))
        return _scheduled(rows[0]) if rows else None

    def move_schedule(self, id: str, to: ScheduleStatus, result: str = "") -> bool:
        """Move `id` to `to` (recording `result`) if it is in a status SCHEDULE_MOVES allows; True if this call did."""
        sources = sorted(schedule_sources(ScheduleStatus(to)))
        if not sources:
            raise ValueError(f"no schedule moves to {to}")
        marks = ", ".join("?" * len(sources))
        sql = f"UPDATE schedules SET status = ?, result = ? WHERE id = ? AND status IN ({marks})"  # noqa: S608
        with self._write() as db:
            return db.execute(sql, (to, result, id, *sources)).rowcount == 1
