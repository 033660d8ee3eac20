"""Idempotency claims (Slack retries and double clicks become no-ops) and small named values."""

from __future__ import annotations

from bot.adapters.store.db import Db


class Keys(Db):
    # --- idempotency ----------------------------------------------------------------------------
    def claim(self, key: str, ttl: float) -> bool:
        """True for the first claim of `key` within `ttl` seconds; later claims (until it lapses) get False."""
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        now = self._clock()
        with self._write() as db:
            db.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
            cur = db.execute("INSERT OR IGNORE INTO idempotency (key, expires_at) VALUES (?, ?)", (key, now + ttl))
            return cur.rowcount == 1

    def release(self, key: str) -> None:
        """Give a claim back (the work it guarded did not start), so the next try may claim it."""
        with self._write() as db:
            db.execute("DELETE FROM idempotency WHERE key = ?", (key,))

    # --- key-value ------------------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def put(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
