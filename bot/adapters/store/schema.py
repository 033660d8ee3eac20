"""The schema and its migrations, and what a SQLite failure means for the person running the bot."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.errors import OperationFailed

# PRAGMA user_version is the schema version; MIGRATIONS[n] takes a file from n to n + 1. Append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
    # 2: scheduled promotions leave kv's one JSON blob (rewritten whole, so a Slack worker and the scheduler
    # could overwrite each other) for rows that move by compare-and-set. Existing schedules keep their order,
    # statuses and results. A waiting one that already holds run_due_promotions' claim was being run when its
    # process died: it becomes running, so it is not promoted a second time (as the claim ensured before).
    # The claims themselves go: the status is the claim now.
    (
        """CREATE TABLE schedules (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, tag TEXT NOT NULL, env TEXT NOT NULL,
            at INTEGER NOT NULL, who TEXT NOT NULL, service TEXT, reason TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL, result TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX schedules_status ON schedules (status, at)",
        """INSERT OR IGNORE INTO schedules (id, tag, env, at, who, service, reason, status, result)
            SELECT json_extract(s.value, '$.id'), json_extract(s.value, '$.tag'), json_extract(s.value, '$.env'),
                json_extract(s.value, '$.at'), json_extract(s.value, '$.who'), json_extract(s.value, '$.service'),
                coalesce(json_extract(s.value, '$.reason'), ''),
                CASE WHEN json_extract(s.value, '$.status') = 'waiting' AND EXISTS (
                    SELECT 1 FROM idempotency WHERE key = 'scheduled:' || json_extract(s.value, '$.id'))
                THEN 'running' ELSE json_extract(s.value, '$.status') END,
                coalesce(json_extract(s.value, '$.result'), '')
            FROM kv, json_each(kv.value) AS s WHERE kv.key = 'jobs.scheduled_promotions' ORDER BY s.key""",
        "DELETE FROM kv WHERE key = 'jobs.scheduled_promotions'",
        "DELETE FROM idempotency WHERE key LIKE 'scheduled:%'",
    ),
    # 3: what Flux has applied, per environment and Kustomization (an environment may have several), from
    # its events: the last applied revision and the last failure, each with the event's own time, so a
    # late retry of an older event never overwrites a newer one.
    (
        """CREATE TABLE applied (
            env TEXT NOT NULL, kustomization TEXT NOT NULL,
            revision TEXT NOT NULL DEFAULT '', applied_at TEXT NOT NULL DEFAULT '',
            failed_revision TEXT NOT NULL DEFAULT '', failed_at TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT '', PRIMARY KEY (env, kustomization))""",
    ),
)

WHY = {
    "SQLITE_NOTADB": "is not a SQLite database (or is damaged)",
    "SQLITE_CORRUPT": "is damaged",
    "SQLITE_CANTOPEN": "cannot be opened (does its directory exist, and may the bot write there?)",
    "SQLITE_READONLY": "is read-only for the bot",
    "SQLITE_PERM": "may not be written by the bot",
    "SQLITE_FULL": "cannot grow because the disk is full",
    "SQLITE_BUSY": "stayed locked by another process",
    "SQLITE_IOERR": "could not be read or written (I/O error)",
}


def failed(path: Path, err: sqlite3.Error) -> OperationFailed:
    name = getattr(err, "sqlite_errorname", "") or ""
    code = "_".join(name.split("_")[:2])
    why = WHY.get(code, f"failed ({name or type(err).__name__})")
    damaged = code in ("SQLITE_NOTADB", "SQLITE_CORRUPT")
    hint = "Restore it from a backup, or move it aside to start empty (pending requests and unsent messages are lost)."
    return OperationFailed(f"The state database {path} {why}.", hint=hint if damaged else "")
