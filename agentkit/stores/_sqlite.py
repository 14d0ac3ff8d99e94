"""`SQLiteStore`: conversations in one SQLite file (stdlib `sqlite3`, WAL), the embedded default."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._exceptions import StoreError
from .._options import check_number, strict_init
from ._sql import Cursor, SQLDialect, schema
from ._sqlstore import SQLStore

__all__ = ["SQLiteStore"]

# SQLite's clock is the host's: a database file is shared by the processes of one host.
_DIALECT = SQLDialect(
    qmark=True,
    schema=schema("BLOB", "REAL", "INTEGER"),
    now="((julianday('now') - 2440587.5) * 86400.0)",
)


@strict_init
class SQLiteStore(SQLStore):
    """Conversations in a SQLite database file.

    The file is opened in WAL mode, so readers never block the writer. Every write runs in a
    `BEGIN IMMEDIATE` transaction: writers from any number of threads or processes queue on the
    database lock (up to `timeout` seconds) instead of failing, and the version check inside the
    transaction turns a lost race into `StoreConflictError`.

    One connection per store, shared by threads behind a lock (so `to_async(store)` works).

    Args:
        path: The database file (created if missing), or `":memory:"`.
        timeout: Seconds to wait for the database lock before failing.
        durable: `synchronous=FULL` (a commit survives power loss) when True, `NORMAL` (a
            commit survives a crash of the process, not of the machine) when False.
    """

    dialect = _DIALECT
    _conn: sqlite3.Connection

    def __init__(
        self,
        path: str | os.PathLike[str] = "agentkit.db",
        *,
        timeout: float = 30.0,
        durable: bool = True,
    ) -> None:
        check_number("SQLiteStore()", "timeout", timeout, inclusive=True, optional=False)
        self.path = Path(path) if str(path) != ":memory:" else None
        self._timeout = timeout
        self._lock = threading.Lock()
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, sqlite3 adds nothing.
            self._conn = sqlite3.connect(
                str(path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            with self._transaction(write=True) as cursor:
                for statement in self.dialect.schema:
                    cursor.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {str(path)!r}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path or ':memory:')!r})"

    def _begin_write(self, cursor: sqlite3.Cursor) -> None:
        """`BEGIN IMMEDIATE`, waiting for the write lock with short jittered retries.

        SQLite's own busy handler backs off to 100 ms sleeps, so a writer that loses a few races
        to a busy neighbour stalls for long stretches; short random waits share the lock fairly.
        """
        deadline = time.monotonic() + self._timeout
        delay = 0.0002
        self._conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    if time.monotonic() > deadline:
                        raise StoreError(f"SQLite store busy for {self._timeout}s") from exc
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 0.005)
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Cursor]:
        with self._lock:
            cursor = self._conn.cursor()
            try:
                # IMMEDIATE takes the write lock up front, so a read-then-write transaction can
                # never fail halfway with SQLITE_BUSY; reads get a consistent snapshot.
                if write:
                    self._begin_write(cursor)
                else:
                    cursor.execute("BEGIN")
                yield cursor
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise StoreError(f"SQLite store failed: {exc}") from exc
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")
            finally:
                cursor.close()
