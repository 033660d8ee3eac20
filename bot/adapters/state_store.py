"""The bot's durable local state: one SQLite file under state_dir.

    requests     previewed promotions/rollbacks/resumes and their status (compare-and-set transitions)
    approvals    who approved which request, for which plan hash
    idempotency  keys that make Slack retries and double clicks no-ops
    threads      the Slack thread of each request and how far Flux got with its commit
    outbox       messages waiting to be posted to Slack, with retry times
    kv           small named values (e.g. the last Git revision a job saw)

Concurrency: one connection per StateStore, shared by its threads under a lock; every write runs in a
`BEGIN IMMEDIATE` transaction, so two StateStores (or two processes) on the same file serialize on
SQLite's write lock and a compare-and-set has exactly one winner. WAL lets readers run beside a writer.
synchronous=FULL makes each commit survive power loss, not only a crash; the bot writes a few rows a minute.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from bot.errors import GateRefused, NotFound, OperationFailed

# pending → approved → running → done | failed, and pending|approved → cancelled | expired | rejected.
# pending → running too: an environment that needs no approvals runs straight from the confirm click.
# X → X is allowed so a caller can set fields (e.g. the preview's message_ts) only while the status still holds.
_NEXT: dict[str, frozenset[str]] = {
    "pending": frozenset({"pending", "approved", "running", "cancelled", "expired", "rejected"}),
    "approved": frozenset({"approved", "running", "cancelled", "expired", "rejected"}),
    "running": frozenset({"running", "done", "failed"}),
    "done": frozenset({"done"}),
    "failed": frozenset({"failed"}),
    "cancelled": frozenset({"cancelled"}),
    "expired": frozenset({"expired"}),
    "rejected": frozenset({"rejected"}),
}
_SETTABLE = frozenset({"channel", "message_ts", "result"})

# PRAGMA user_version is the schema version; _MIGRATIONS[n] takes a file from n to n + 1. Append, never edit.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE requests (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, env TEXT NOT NULL, service TEXT NOT NULL,
            requester TEXT NOT NULL, payload TEXT NOT NULL, plan_hash TEXT NOT NULL, status TEXT NOT NULL,
            created_at REAL NOT NULL, expires_at REAL NOT NULL, updated_at REAL NOT NULL,
            origin_channel TEXT NOT NULL, channel TEXT NOT NULL DEFAULT '', message_ts TEXT NOT NULL DEFAULT '',
            result TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX requests_open ON requests (status, expires_at)",
        """CREATE TABLE approvals (
            request_id TEXT NOT NULL, approver TEXT NOT NULL, plan_hash TEXT NOT NULL, at REAL NOT NULL,
            PRIMARY KEY (request_id, approver))""",
        "CREATE TABLE idempotency (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)",
        "CREATE INDEX idempotency_expiry ON idempotency (expires_at)",
        """CREATE TABLE threads (
            request_id TEXT PRIMARY KEY, channel TEXT NOT NULL, ts TEXT NOT NULL, env TEXT NOT NULL,
            service TEXT NOT NULL, status TEXT NOT NULL, commit_sha TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL, committed_at REAL, reconciled_at REAL,
            watchdog_warned INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX threads_status ON threads (status)",
        # AUTOINCREMENT: delivered rows are deleted, and a reused id would let a late delivered(id) drop a new row.
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, payload TEXT NOT NULL,
            dedupe_key TEXT NOT NULL, enqueued_at REAL NOT NULL, next_attempt_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at, id)",
        # Kept apart from outbox because the window outlives delivery: a repeat after a send is still a repeat.
        "CREATE TABLE outbox_keys (dedupe_key TEXT PRIMARY KEY, enqueued_at REAL NOT NULL)",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
)

_WHY = {
    "SQLITE_NOTADB": "is not a SQLite database (or is damaged)",
    "SQLITE_CORRUPT": "is damaged",
    "SQLITE_CANTOPEN": "cannot be opened (does its directory exist, and may the bot write there?)",
    "SQLITE_READONLY": "is read-only for the bot",
    "SQLITE_PERM": "may not be written by the bot",
    "SQLITE_FULL": "cannot grow because the disk is full",
    "SQLITE_BUSY": "stayed locked by another process",
    "SQLITE_IOERR": "could not be read or written (I/O error)",
}


@dataclass(frozen=True)
class PendingRequest:
    id: str
    kind: str
    env: str
    service: str
    requester: str
    payload: str  # JSON: the plan inputs
    plan_hash: str
    status: str
    created_at: float
    expires_at: float
    updated_at: float
    origin_channel: str  # where the command was typed
    channel: str  # where the preview / approval message lives
    message_ts: str
    result: str


@dataclass(frozen=True)
class PromotionThread:
    request_id: str
    channel: str
    ts: str
    env: str
    service: str
    status: str  # pending | committed | reconciled | failed
    commit_sha: str
    created_at: float
    committed_at: float | None
    reconciled_at: float | None
    watchdog_warned: bool


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


def _columns(cls: type[Any]) -> str:
    return ", ".join(f.name for f in fields(cls))


_REQUEST = f"SELECT {_columns(PendingRequest)} FROM requests"  # noqa: S608 - column names are constants
_THREAD = f"SELECT {_columns(PromotionThread)} FROM threads"  # noqa: S608
_OUTBOX = f"SELECT {_columns(OutboxItem)} FROM outbox"  # noqa: S608


def _thread(row: tuple[Any, ...]) -> PromotionThread:
    return replace(PromotionThread(*row), watchdog_warned=bool(row[-1]))


def _failed(path: Path, err: sqlite3.Error) -> OperationFailed:
    name = getattr(err, "sqlite_errorname", "") or ""
    code = "_".join(name.split("_")[:2])
    why = _WHY.get(code, f"failed ({name or type(err).__name__})")
    damaged = code in ("SQLITE_NOTADB", "SQLITE_CORRUPT")
    hint = "Restore it from a backup, or move it aside to start empty (pending requests and unsent messages are lost)."
    return OperationFailed(f"The state database {path} {why}.", hint=hint if damaged else "")


class StateStore:
    """Opens (creating and migrating) the file; every failure of SQLite is an OperationFailed naming it."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise _failed(self.path, err) from err
        try:
            self._use_wal(busy_timeout)
            self._db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.Error as err:
            self._db.close()
            raise _failed(self.path, err) from err
        except BaseException:
            self._db.close()
            raise

    def _use_wal(self, timeout: float) -> None:
        # Switching a fresh file to WAL while another process does the same can fail with SQLITE_BUSY at once,
        # without waiting on the busy timeout, so wait here instead.
        deadline = time.monotonic() + timeout
        while True:
            try:
                mode = str(self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
                break
            except sqlite3.OperationalError as err:
                if getattr(err, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if mode != "wal":
            raise OperationFailed(
                f"The state database {self.path} cannot use write-ahead logging (journal mode stayed {mode}).",
                hint="Put state_dir on a local disk; WAL does not work over network filesystems.",
            )

    def _migrate(self) -> None:
        with self._write() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > len(_MIGRATIONS):
                raise OperationFailed(
                    f"The state database {self.path} was written by a newer version of the bot "
                    f"(schema {version}; this version knows up to {len(_MIGRATIONS)}).",
                    hint="Run the newer version, or move the file aside to start with empty state.",
                )
            for statements in _MIGRATIONS[version:]:
                for sql in statements:
                    db.execute(sql)
            db.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise _failed(self.path, err) from err
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as err:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise _failed(self.path, err) from err
                raise

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as err:
                raise _failed(self.path, err) from err

    # --- requests -------------------------------------------------------------------------------
    def create_request(self, *, id: str, kind: str, env: str, service: str, requester: str, payload: str,
                       plan_hash: str, expires_at: float, origin_channel: str = "") -> None:  # fmt: skip
        now = self._clock()
        with self._write() as db:
            if db.execute("SELECT 1 FROM requests WHERE id = ?", (id,)).fetchone():
                raise ValueError(f"request {id} already exists")
            db.execute(
                "INSERT INTO requests (id, kind, env, service, requester, payload, plan_hash, status, created_at,"
                " expires_at, updated_at, origin_channel) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (id, kind, env, service, requester, payload, plan_hash, now, expires_at, now, origin_channel),
            )

    def get_request(self, id: str) -> PendingRequest | None:
        rows = self._read(f"{_REQUEST} WHERE id = ?", (id,))
        return PendingRequest(*rows[0]) if rows else None

    def requests_in(self, status: str) -> list[PendingRequest]:
        """Every request in `status`, oldest first (e.g. "running" ones a killed process left behind)."""
        return [PendingRequest(*r) for r in self._read(f"{_REQUEST} WHERE status = ? ORDER BY created_at", (status,))]

    def transition(self, id: str, expected: AbstractSet[str], to: str, **fields: str) -> bool:
        """Move `id` to `to` (and set `fields`) only if its status is one of `expected`; True if this call did."""
        illegal = sorted(s for s in expected if to not in _NEXT.get(s, ()))
        if not expected or illegal or to not in _NEXT:
            raise ValueError(f"no transition {sorted(expected)} → {to} (illegal from {illegal})")
        if unknown := set(fields) - _SETTABLE:
            raise ValueError(f"transition cannot set {sorted(unknown)}; only {sorted(_SETTABLE)}")
        names = sorted(fields)
        sets = "".join(f", {name} = ?" for name in names)
        marks = ", ".join("?" * len(expected))
        sql = f"UPDATE requests SET status = ?, updated_at = ?{sets} WHERE id = ? AND status IN ({marks})"  # noqa: S608
        with self._write() as db:
            cur = db.execute(sql, (to, self._clock(), *(fields[n] for n in names), id, *sorted(expected)))
            return cur.rowcount == 1

    def expire_requests(self) -> list[PendingRequest]:
        """Mark pending/approved requests whose expires_at has passed as expired; returns those this call expired."""
        now = self._clock()
        with self._write() as db:
            rows = db.execute(
                f"{_REQUEST} WHERE status IN ('pending', 'approved') AND expires_at < ? ORDER BY id", (now,)
            ).fetchall()
            db.execute(
                "UPDATE requests SET status = 'expired', updated_at = ?"
                " WHERE status IN ('pending', 'approved') AND expires_at < ?",
                (now, now),
            )
        return [replace(PendingRequest(*r), status="expired", updated_at=now) for r in rows]

    # --- approvals ------------------------------------------------------------------------------
    def add_approval(self, id: str, approver: str, plan_hash: str) -> bool:
        """Record one approval; False if this approver already approved. Refuses self-approval and stale hashes."""
        with self._write() as db:
            row = db.execute("SELECT requester, plan_hash, status FROM requests WHERE id = ?", (id,)).fetchone()
            if row is None:
                raise NotFound(f"There is no request {id}.")
            requester, current_hash, status = row
            if approver == requester:
                raise GateRefused("You cannot approve your own request; another promoter has to.")
            if status != "pending":
                raise GateRefused(f"This request is {status}, so it no longer takes approvals.")
            if plan_hash != current_hash:
                raise GateRefused("This approval is for a different plan than the one requested; ask for a new one.")
            cur = db.execute(
                "INSERT OR IGNORE INTO approvals (request_id, approver, plan_hash, at) VALUES (?, ?, ?, ?)",
                (id, approver, plan_hash, self._clock()),
            )
            return cur.rowcount == 1

    def approvers(self, id: str) -> list[str]:
        """Approvers of `id` in the order they approved."""
        rows = self._read("SELECT approver FROM approvals WHERE request_id = ? ORDER BY at, rowid", (id,))
        return [r[0] for r in rows]

    def approval_count(self, id: str) -> int:
        return int(self._read("SELECT count(*) FROM approvals WHERE request_id = ?", (id,))[0][0])

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

    # --- promotion threads ----------------------------------------------------------------------
    def record_thread(self, request_id: str, *, channel: str, ts: str, env: str, service: str) -> None:
        """Remember the request's Slack thread; the first recording wins, so a retried post cannot move it."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO threads (request_id, channel, ts, env, service, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?)",
                (request_id, channel, ts, env, service, self._clock()),
            )

    def thread_of(self, request_id: str) -> PromotionThread | None:
        rows = self._read(f"{_THREAD} WHERE request_id = ?", (request_id,))
        return _thread(rows[0]) if rows else None

    def committed_threads(self) -> list[PromotionThread]:
        """Threads whose commit is pushed and not yet seen applied by Flux, oldest commit first."""
        rows = self._read(f"{_THREAD} WHERE status = 'committed' ORDER BY committed_at, request_id")
        return [_thread(r) for r in rows]

    def _thread_cas(self, request_id: str, where: str, sets: str, args: tuple[Any, ...]) -> bool:
        with self._write() as db:
            cur = db.execute(f"UPDATE threads SET {sets} WHERE request_id = ? AND {where}", (*args, request_id))  # noqa: S608
            return cur.rowcount == 1

    def thread_committed(self, request_id: str, sha: str) -> bool:
        sets = "status = 'committed', commit_sha = ?, committed_at = ?"
        return self._thread_cas(request_id, "status = 'pending'", sets, (sha, self._clock()))

    def thread_reconciled(self, request_id: str) -> bool:
        sets = "status = 'reconciled', reconciled_at = ?"
        return self._thread_cas(request_id, "status = 'committed'", sets, (self._clock(),))

    def thread_failed(self, request_id: str) -> bool:
        return self._thread_cas(request_id, "status IN ('pending', 'committed')", "status = 'failed'", ())

    def thread_warned(self, request_id: str) -> bool:
        """Flag a committed thread the watchdog complained about; True only the first time."""
        return self._thread_cas(request_id, "status = 'committed' AND watchdog_warned = 0", "watchdog_warned = 1", ())

    # --- outbox ---------------------------------------------------------------------------------
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
