"""The connection every part of the store shares: opening, WAL, migrating, and the read and write helpers.

Concurrency: one connection per store, shared by its threads under a lock; every write runs in a
`BEGIN IMMEDIATE` transaction, so two stores (or two processes) on the same file serialize on SQLite's
write lock and a compare-and-set has exactly one winner. WAL lets readers run beside a writer.
synchronous=FULL makes each commit survive power loss, not only a crash; the bot writes a few rows a minute.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import fields
from pathlib import Path
from typing import Any, Self

from bot.adapters.store.schema import MIGRATIONS, failed
from bot.errors import OperationFailed


def columns(cls: type[Any]) -> str:
    """A dataclass's field names as a SELECT list: each row type's fields are its table's columns, in order."""
    return ", ".join(f.name for f in fields(cls))


class Db:
    """Opens (creating and migrating) the file; every failure of SQLite is an OperationFailed naming it."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as err:
            raise failed(self.path, err) from err
        try:
            self._use_wal(busy_timeout)
            self._db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.Error as err:
            self._db.close()
            raise failed(self.path, err) from err
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
            if version > len(MIGRATIONS):
                raise OperationFailed(
                    f"The state database {self.path} was written by a newer version of the bot "
                    f"(schema {version}; this version knows up to {len(MIGRATIONS)}).",
                    hint="Run the newer version, or move the file aside to start with empty state.",
                )
            for statements in MIGRATIONS[version:]:
                for sql in statements:
                    db.execute(sql)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise failed(self.path, err) from err
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as err:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise failed(self.path, err) from err
                raise

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as err:
                raise failed(self.path, err) from err
