"""Local durable state for Slack requests: pending requests, approvals, idempotency keys, promotion threads.

SQLite under `state_dir` in WAL mode with a busy timeout; one connection per thread (sqlite3 objects must
not cross threads), and every state change is a single compare-and-set UPDATE, so two racing clicks (or
two processes sharing the file) act exactly once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import OperationFailed

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS requests (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, env TEXT NOT NULL, service TEXT NOT NULL,
        requester TEXT NOT NULL, payload TEXT NOT NULL, plan_hash TEXT NOT NULL, status TEXT NOT NULL,
        created_at REAL NOT NULL, expires_at REAL NOT NULL, origin_channel TEXT NOT NULL DEFAULT '',
        channel TEXT NOT NULL DEFAULT '', message_ts TEXT NOT NULL DEFAULT '', result TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS approvals (
        request_id TEXT NOT NULL, approver TEXT NOT NULL, plan_hash TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (request_id, approver))""",
    """CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS threads (
        request_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, env TEXT NOT NULL,
        service TEXT NOT NULL, sha TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'pending',
        committed_at REAL, reconciled_at REAL, warned INTEGER NOT NULL DEFAULT 0)""",
)
_UPDATABLE = {"channel", "message_ts", "result"}


@dataclass(frozen=True)
class PendingRequest:
    id: str
    kind: str
    env: str
    service: str
    requester: str
    payload: str
    plan_hash: str
    status: str
    created_at: float
    expires_at: float
    origin_channel: str
    channel: str
    message_ts: str
    result: str


@dataclass(frozen=True)
class Thread:
    request_id: str
    channel: str
    ts: str
    env: str
    service: str
    sha: str
    status: str
    committed_at: float | None
    reconciled_at: float | None
    warned: bool


class RequestStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._tx() as db:
            for stmt in _SCHEMA:
                db.execute(stmt)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as err:
                raise OperationFailed(f"Cannot open the bot's state file {self.path}: {err}.") from err
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as err:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise OperationFailed(f"The bot's state file {self.path} failed: {err}.") from err

    # --- requests -------------------------------------------------------------------------------
    def create_request(
        self,
        *,
        id: str,
        kind: str,
        env: str,
        service: str,
        requester: str,
        payload: str,
        plan_hash: str,
        expires_at: float,
        origin_channel: str = "",
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO requests (id, kind, env, service, requester, payload, plan_hash, status, created_at,"
                " expires_at, origin_channel) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                (id, kind, env, service, requester, payload, plan_hash, self.clock(), expires_at, origin_channel),
            )

    def get_request(self, id: str) -> PendingRequest | None:
        row = self._conn().execute("SELECT * FROM requests WHERE id = ?", (id,)).fetchone()
        return PendingRequest(**dict(row)) if row else None

    def transition(self, id: str, expected: set[str], to: str, **fields: Any) -> bool:
        """Compare-and-set: move `id` to `to` only if its status is one of `expected`."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        sets = ", ".join(["status = ?", *(f"{k} = ?" for k in fields)])
        marks = ", ".join("?" for _ in expected)
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE requests SET {sets} WHERE id = ? AND status IN ({marks})",  # noqa: S608 - fixed names
                (to, *fields.values(), id, *expected),
            )
            return cur.rowcount == 1

    # --- approvals ------------------------------------------------------------------------------
    def add_approval(self, id: str, approver: str, plan_hash: str) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, ?)", (id, approver, plan_hash, self.clock())
            )
            return cur.rowcount == 1

    def approvers(self, id: str) -> list[str]:
        rows = self._conn().execute("SELECT approver FROM approvals WHERE request_id = ? ORDER BY at", (id,))
        return [r[0] for r in rows]

    # --- idempotency ----------------------------------------------------------------------------
    def claim(self, key: str, ttl: float) -> bool:
        """True the first time `key` is claimed within `ttl` seconds (Slack retries, double clicks)."""
        now = self.clock()
        with self._tx() as db:
            db.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
            cur = db.execute("INSERT OR IGNORE INTO claims VALUES (?, ?)", (key, now + ttl))
            return cur.rowcount == 1

    # --- promotion threads ----------------------------------------------------------------------
    def record_thread(self, request_id: str, *, channel: str, ts: str, env: str, service: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO threads (request_id, channel, ts, env, service) VALUES (?, ?, ?, ?, ?)",
                (request_id, channel, ts, env, service),
            )

    def thread_of(self, request_id: str) -> Thread | None:
        row = self._conn().execute("SELECT * FROM threads WHERE request_id = ?", (request_id,)).fetchone()
        return _thread(row) if row else None

    def thread_committed(self, request_id: str, sha: str) -> bool:
        return self._thread_set(request_id, {"pending"}, "committed", sha=sha, committed_at=self.clock())

    def thread_failed(self, request_id: str) -> bool:
        return self._thread_set(request_id, {"pending", "committed"}, "failed")

    def thread_reconciled(self, request_id: str) -> bool:
        return self._thread_set(request_id, {"committed"}, "reconciled", reconciled_at=self.clock())

    def committed_threads(self) -> list[Thread]:
        rows = self._conn().execute("SELECT * FROM threads WHERE status = 'committed' ORDER BY committed_at")
        return [_thread(r) for r in rows]

    def _thread_set(self, request_id: str, expected: set[str], to: str, **fields: Any) -> bool:
        sets = ", ".join(["status = ?", *(f"{k} = ?" for k in fields)])
        marks = ", ".join("?" for _ in expected)
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE threads SET {sets} WHERE request_id = ? AND status IN ({marks})",  # noqa: S608 - fixed names
                (to, *fields.values(), request_id, *expected),
            )
            return cur.rowcount == 1


def _thread(row: sqlite3.Row) -> Thread:
    data = dict(row)
    data["warned"] = bool(data["warned"])
    return Thread(**data)
