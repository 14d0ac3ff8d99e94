"""`PostgresStore` and `AsyncPostgresStore`: conversations in PostgreSQL via psycopg 3.

psycopg is imported when a store is created, not when this module is imported. The schema is
created on first use (under an advisory lock, so concurrent first users do not race). Message
bodies go into BYTEA columns as the exact bytes; they are never parsed into JSONB, which would
reorder keys and normalize numbers.

Both classes run the same operations' SQL (`StoreOp.sql`); only the cursor differs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote

import anyio

from .._exceptions import ConfigurationError, StoreError
from .._options import check_number, strict_init
from ._async import AsyncConversationStore
from ._base import StoreOp
from ._sql import AsyncCursor, Cursor, SQLDialect, run_async, schema
from ._sqlstore import SQLStore

__all__ = ["AsyncPostgresStore", "PostgresStore"]

T = TypeVar("T")

# The server's clock, not each client host's: every process agrees on when a lease lapses.
_DIALECT = SQLDialect(
    qmark=False,
    schema=schema("BYTEA", "DOUBLE PRECISION", "BIGINT"),
    now="CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
)
_SCHEMA_LOCK_KEY = 0x61676B74  # "agkt": serializes CREATE TABLE IF NOT EXISTS across sessions


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "PostgresStore needs psycopg 3: pip install 'agentkit[postgres]'"
        ) from exc
    return psycopg


_URI_PASSWORD = re.compile(r"://[^:@/\[]*:([^@]*)@")
_KV_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)")


def _connect_error(exc: Exception, dsn: str) -> StoreError:
    """A `StoreError` for a failed connect, with the DSN's password masked (invariant 6).

    libpq quotes parts of a malformed DSN back in its errors, the password or the whole URI
    included, so the message is redacted and the original exception is not chained.
    """
    message = f"{type(exc).__name__}: {exc}"
    secrets = [m.group(1) for m in _URI_PASSWORD.finditer(dsn)]
    secrets += [m.group(1).strip("'") for m in _KV_PASSWORD.finditer(dsn)]
    for secret in sorted({*secrets, *map(unquote, secrets)} - {""}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return StoreError(f"cannot connect to PostgreSQL: {message}")


def _schema_statements() -> list[tuple[str, tuple[Any, ...]]]:
    return [
        ("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,)),
        *((s, ()) for s in _DIALECT.schema),
    ]


@strict_init
class PostgresStore(SQLStore):
    """Conversations in PostgreSQL, sync (psycopg 3).

    One connection per store, shared by threads behind a lock. Appends are a compare-and-set
    on the conversation's version inside one transaction, so concurrent writers from any number
    of processes get `StoreConflictError` instead of interleaving.

    Args:
        dsn: A libpq connection string or URL, e.g. `"postgresql://user@localhost:5432/db"`.
        connect_timeout: Seconds to wait for the connection.

    Raises:
        ConfigurationError: psycopg is not installed.
        StoreError: The server cannot be reached or the schema cannot be created.
    """

    dialect = _DIALECT
    _conn: Any

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        check_number("PostgresStore()", "connect_timeout", connect_timeout, optional=False)
        self._psycopg = _psycopg()
        self._lock = threading.Lock()
        error: StoreError | None = None
        try:
            self._conn = self._psycopg.connect(
                dsn, autocommit=True, connect_timeout=max(1, int(connect_timeout))
            )
        except self._psycopg.Error as exc:
            error = _connect_error(exc, dsn)
        if error is not None:
            raise error  # outside the except block: the original (with the DSN) is not chained
        with self._transaction(write=True) as cursor:
            for statement, params in _schema_statements():
                cursor.execute(statement, params)

    def __repr__(self) -> str:
        info = self._conn.info
        return f"PostgresStore(host={info.host!r}, port={info.port}, dbname={info.dbname!r})"

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Cursor]:
        with self._lock:
            try:
                with self._conn.transaction(), self._conn.cursor() as cursor:
                    yield cursor
            except self._psycopg.Error as exc:
                raise StoreError(f"PostgreSQL store failed: {exc}") from exc


@strict_init
class AsyncPostgresStore(AsyncConversationStore):
    """Conversations in PostgreSQL, async (psycopg 3 `AsyncConnection`, asyncio only).

    Connects on first use. Operations on one store run one at a time on its connection; open
    several stores for parallel work.

    Args:
        dsn: A libpq connection string or URL.
        connect_timeout: Seconds to wait for the connection.
    """

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        check_number("AsyncPostgresStore()", "connect_timeout", connect_timeout, optional=False)
        self._psycopg = _psycopg()
        self._dsn = dsn
        self._connect_timeout = max(1, int(connect_timeout))
        self._conn: Any = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"AsyncPostgresStore(connected={self._conn is not None})"

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncCursor]:
        async with self._lock:
            conn = self._conn if self._conn is not None else await self._connect()
            try:
                if self._conn is None:
                    async with conn.transaction(), conn.cursor() as cursor:
                        for statement, params in _schema_statements():
                            await cursor.execute(statement, params)
                    self._conn = conn
                async with self._conn.transaction(), self._conn.cursor() as cursor:
                    yield cursor
            except self._psycopg.Error as exc:
                raise StoreError(f"PostgreSQL store failed: {exc}") from exc

    async def _connect(self) -> Any:
        error: StoreError | None = None
        try:
            return await self._psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=self._connect_timeout
            )
        except self._psycopg.Error as exc:
            error = _connect_error(exc, self._dsn)
        raise error  # outside the except block: the original (with the DSN) is not chained

    async def _perform(self, op: StoreOp[T]) -> T:
        async with self._transaction() as cursor:
            return await run_async(cursor, _DIALECT, op.sql())

    async def aclose(self) -> None:
        """Close the connection."""
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
