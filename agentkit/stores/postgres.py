"""`PostgresStore` and `AsyncPostgresStore`: conversations in PostgreSQL via psycopg 3.

psycopg is imported when a store is created, not when this module is imported. The schema is
created on first use (under an advisory lock, so concurrent first users do not race). Message
bodies go into BYTEA columns as the exact bytes; they are never parsed into JSONB, which would
reorder keys and normalize numbers.

Both classes run the same operations (`agentkit.stores._sql.ops`); only the driver differs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote

import anyio

from .._exceptions import ConfigurationError, StoreError
from ..conversation._conversation import Conversation, Entry
from ._base import AsyncConversationStore, ConversationInfo
from ._sql import AsyncCursor, Cursor, Op, SQLDialect, SQLStore, ops, run_async, schema

__all__ = ["AsyncPostgresStore", "PostgresStore"]

T = TypeVar("T")

_DIALECT = SQLDialect(qmark=False, schema=schema("BYTEA", "DOUBLE PRECISION", "BIGINT"))
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

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
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

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class AsyncPostgresStore(AsyncConversationStore):
    """Conversations in PostgreSQL, async (psycopg 3 `AsyncConnection`, asyncio only).

    Connects on first use. Operations on one store run one at a time on its connection; open
    several stores for parallel work.

    Args:
        dsn: A libpq connection string or URL.
        connect_timeout: Seconds to wait for the connection.
    """

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
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

    async def _run(self, op: Op[T]) -> T:
        async with self._transaction() as cursor:
            return await run_async(cursor, _DIALECT, op)

    async def _insert(self, conversation: Conversation) -> None:
        await self._run(ops.insert(conversation))

    async def load(self, conversation_id: str) -> Conversation:
        """See `ConversationStore.load`."""
        return await self._run(ops.load(conversation_id))

    async def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        """See `ConversationStore.append`."""
        return await self._run(ops.append(conversation_id, entries, expected_version))

    async def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, Any], *, version: int
    ) -> None:
        """See `ConversationStore.journal_tool_result`."""
        await self._run(ops.journal(conversation_id, result, version))

    async def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        """See `ConversationStore.journaled_tool_results`."""
        return await self._run(ops.journaled(conversation_id))

    async def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """See `ConversationStore.list`."""
        return await self._run(ops.headers(limit, offset))

    async def delete(self, conversation_id: str) -> bool:
        """See `ConversationStore.delete`."""
        return await self._run(ops.delete(conversation_id))

    async def set_metadata(self, conversation_id: str, metadata: Mapping[str, Any]) -> None:
        """See `ConversationStore.set_metadata`."""
        await self._run(ops.set_metadata(conversation_id, metadata))

    async def aclose(self) -> None:
        """Close the connection."""
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
