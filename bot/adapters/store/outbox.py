"""Messages waiting to be posted to Slack, with retry times, and the window that drops repeats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.adapters.store.db import Db, columns


@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    payload: str
    dedupe_key: str
    enqueued_at: float
    next_attempt_at: float
    attempts: int
    last_error: str


_OUTBOX = f"SELECT {columns(OutboxItem)} FROM outbox"  # noqa: S608 - column names are constants


class Outbox(Db):
    def enqueue(self, channel: str, payload: str, dedupe_key: str, now: float | None = None, *,
                window: float = 300.0) -> int | None:  # fmt: skip
        """Queue a message; None if `dedupe_key` was enqueued less than `window` seconds ago (even if sent since).

        The row is committed before this returns. An empty key never deduplicates. Keys older than this call's
        window are forgotten, so use one window per deployment (300 s mirrors Flux's own --rate-limit-interval).
        """
        at = self._clock() if now is None else now
        with self._write() as db:
            if dedupe_key:
                db.execute("DELETE FROM outbox_keys WHERE enqueued_at <= ?", (at - window,))
                if db.execute("SELECT 1 FROM outbox_keys WHERE dedupe_key = ?", (dedupe_key,)).fetchone():
                    return None
                db.execute("INSERT INTO outbox_keys (dedupe_key, enqueued_at) VALUES (?, ?)", (dedupe_key, at))
            cur = db.execute(
                "INSERT INTO outbox (channel, payload, dedupe_key, enqueued_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (channel, payload, dedupe_key, at, at),
            )
            return cur.lastrowid

    def due(self, now: float | None = None, limit: int = 50) -> list[OutboxItem]:
        """Items whose next attempt is due, oldest id first."""
        at = self._clock() if now is None else now
        rows = self._read(f"{_OUTBOX} WHERE next_attempt_at <= ? ORDER BY id LIMIT ?", (at, limit))
        return [OutboxItem(*r) for r in rows]

    def delivered(self, id: int) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM outbox WHERE id = ?", (id,)).rowcount == 1

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (next_attempt_at, error, id),
            )
            return cur.rowcount == 1

    def waiting_before(self, key_prefix: str, id: int | None = None) -> float | None:
        """When the earliest item whose key starts with `key_prefix` (and, given `id`, is older than it) is due
        next; None when there is none. Lets one thread's messages keep their order through retries."""
        like = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = "SELECT min(next_attempt_at) FROM outbox WHERE dedupe_key LIKE ? ESCAPE '\\'"
        args: tuple[Any, ...] = (like,)
        if id is not None:
            sql, args = sql + " AND id < ?", (like, id)
        value = self._read(sql, args)[0][0]
        return None if value is None else float(value)

    def depth(self) -> int:
        return int(self._read("SELECT count(*) FROM outbox")[0][0])
