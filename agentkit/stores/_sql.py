"""The SQL stores' operations, written once as sans-IO generators, and their drivers.

Each operation is a generator that yields `Query` objects and receives each query's result; it
holds every decision (version checks, conflicts, journal rules) and no I/O. A sync driver runs it
on a DB-API cursor (sqlite3, psycopg) and an async driver on a psycopg async cursor, inside one
transaction each, so SQLite, PostgreSQL and async PostgreSQL share one implementation.

Message bodies and metadata are stored as the exact bytes (BLOB / BYTEA), never re-encoded
through a JSON column type, so a load returns what was appended byte for byte.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from pydantic_core import from_json, to_json

from .._exceptions import StoreConflictError, StoreError
from ..conversation._conversation import Conversation, Entry
from ._base import ConversationInfo, ConversationNotFoundError, ConversationStore

__all__ = ["SQLDialect", "SQLStore", "ops", "run", "run_async"]

T = TypeVar("T")
Fetch = Literal["none", "one", "all", "rowcount", "many"]

_NO_LIMIT = 2**62


@dataclass(frozen=True)
class Query:
    """One statement for a driver to execute, and what to hand back.

    `params` holds one parameter tuple, or (for `"many"`) a list of them. Placeholders are `?`;
    drivers for `%s` databases translate them.
    """

    sql: str
    params: Sequence[Any] = ()
    fetch: Fetch = "none"


Op = Generator[Query, Any, T]


@dataclass(frozen=True)
class SQLDialect:
    """What differs between databases: placeholder style and the schema's column types."""

    qmark: bool
    schema: tuple[str, ...]

    def sql(self, query: Query) -> str:
        return query.sql if self.qmark else query.sql.replace("?", "%s")


def schema(blob: str, real: str, integer: str) -> tuple[str, ...]:
    """The schema in a database's column types (the same tables everywhere)."""
    return (
        f"""CREATE TABLE IF NOT EXISTS agentkit_conversations (
            id TEXT PRIMARY KEY,
            metadata {blob} NOT NULL,
            created_at {real} NOT NULL,
            updated_at {real} NOT NULL,
            version {integer} NOT NULL)""",
        # (conversation_id, position) is the primary key: a duplicated or skipped position can
        # never be stored, whatever the writers do.
        f"""CREATE TABLE IF NOT EXISTS agentkit_messages (
            conversation_id TEXT NOT NULL,
            position {integer} NOT NULL,
            body {blob} NOT NULL,
            meta {blob} NOT NULL,
            created_at {real} NOT NULL,
            PRIMARY KEY (conversation_id, position))""",
        f"""CREATE TABLE IF NOT EXISTS agentkit_tool_journal (
            conversation_id TEXT NOT NULL,
            tool_use_id TEXT NOT NULL,
            version {integer} NOT NULL,
            body {blob} NOT NULL,
            created_at {real} NOT NULL,
            PRIMARY KEY (conversation_id, tool_use_id))""",
    )


class ops:
    """The store operations as sans-IO generators."""

    @staticmethod
    def _conflict(conversation_id: str, expected: int) -> Op[None]:
        row = yield Query(
            "SELECT version FROM agentkit_conversations WHERE id = ?", (conversation_id,), "one"
        )
        if row is None:
            raise ConversationNotFoundError(conversation_id)
        raise StoreConflictError(conversation_id, expected, int(row[0]))

    @staticmethod
    def _message_rows(conversation_id: str, start: int, entries: Sequence[Entry]) -> list[Any]:
        return [
            (conversation_id, start + n, e.raw, to_json(e.meta), e.created_at)
            for n, e in enumerate(entries)
        ]

    _INSERT_MESSAGES = (
        "INSERT INTO agentkit_messages (conversation_id, position, body, meta, created_at) "
        "VALUES (?, ?, ?, ?, ?)"
    )

    @staticmethod
    def insert(conversation: Conversation) -> Op[None]:
        inserted = yield Query(
            "INSERT INTO agentkit_conversations (id, metadata, created_at, updated_at, version) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                conversation.id,
                to_json(conversation.metadata),
                conversation.created_at,
                conversation.updated_at,
                len(conversation),
            ),
            "rowcount",
        )
        if inserted != 1:
            yield from ops._conflict(conversation.id, 0)
        rows = ops._message_rows(conversation.id, 0, conversation.entries)
        if rows:
            yield Query(ops._INSERT_MESSAGES, rows, "many")

    @staticmethod
    def load(conversation_id: str) -> Op[Conversation]:
        head = yield Query(
            "SELECT metadata, created_at, updated_at, version FROM agentkit_conversations "
            "WHERE id = ?",
            (conversation_id,),
            "one",
        )
        if head is None:
            raise ConversationNotFoundError(conversation_id)
        rows = yield Query(
            "SELECT body, meta, created_at FROM agentkit_messages WHERE conversation_id = ? "
            "ORDER BY position",
            (conversation_id,),
            "all",
        )
        if len(rows) != head[3]:
            raise StoreError(
                f"conversation {conversation_id!r} has {len(rows)} messages at version {head[3]}"
            )
        entries = [Entry.from_raw(bytes(b), from_json(bytes(m)), float(c)) for b, m, c in rows]
        return Conversation.from_entries(
            entries,
            id=conversation_id,
            metadata=from_json(bytes(head[0])),
            created_at=float(head[1]),
            updated_at=float(head[2]),
            version=int(head[3]),
        )

    @staticmethod
    def append(conversation_id: str, entries: Sequence[Entry], expected: int) -> Op[int]:
        # The compare-and-set on `version` is the whole concurrency story: of two writers at the
        # same version, the database lets exactly one UPDATE match; the other sees 0 rows.
        updated = yield Query(
            "UPDATE agentkit_conversations SET version = version + ?, updated_at = ? "
            "WHERE id = ? AND version = ?",
            (len(entries), time.time(), conversation_id, expected),
            "rowcount",
        )
        if updated != 1:
            yield from ops._conflict(conversation_id, expected)
        rows = ops._message_rows(conversation_id, expected, entries)
        if rows:
            yield Query(ops._INSERT_MESSAGES, rows, "many")
        if any(b.get("type") == "tool_result" for e in entries for b in e.blocks):
            # The step that answers the tools is committed: its journal is spent. (Rows left by
            # other steps are harmless: only rows of the current version are ever read.)
            yield Query(
                "DELETE FROM agentkit_tool_journal WHERE conversation_id = ?", (conversation_id,)
            )
        return expected + len(entries)

    @staticmethod
    def journal(conversation_id: str, result: Mapping[str, Any], version: int) -> Op[None]:
        tool_use_id = result.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            raise ValueError("a journaled tool_result needs a tool_use_id")
        row = yield Query(
            "SELECT version FROM agentkit_conversations WHERE id = ?", (conversation_id,), "one"
        )
        if row is None:
            raise ConversationNotFoundError(conversation_id)
        if int(row[0]) != version:
            raise StoreConflictError(conversation_id, version, int(row[0]))
        yield Query(
            "INSERT INTO agentkit_tool_journal "
            "(conversation_id, tool_use_id, version, body, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (conversation_id, tool_use_id) DO UPDATE SET version = excluded.version, "
            "body = excluded.body, created_at = excluded.created_at",
            (conversation_id, tool_use_id, version, to_json(result), time.time()),
        )

    @staticmethod
    def journaled(conversation_id: str) -> Op[dict[str, dict[str, Any]]]:
        # Only rows written at the current version count: a late write from a stale run cannot
        # resurface after the step it belonged to was committed.
        rows = yield Query(
            "SELECT j.tool_use_id, j.body FROM agentkit_tool_journal j "
            "JOIN agentkit_conversations c ON c.id = j.conversation_id AND c.version = j.version "
            "WHERE j.conversation_id = ? ORDER BY j.created_at",
            (conversation_id,),
            "all",
        )
        return {str(tool_use_id): from_json(bytes(body)) for tool_use_id, body in rows}

    @staticmethod
    def headers(limit: int | None, offset: int) -> Op[list[ConversationInfo]]:
        rows = yield Query(
            "SELECT id, metadata, created_at, updated_at, version FROM agentkit_conversations "
            "ORDER BY updated_at DESC, id LIMIT ? OFFSET ?",
            (_NO_LIMIT if limit is None else limit, offset),
            "all",
        )
        return [
            ConversationInfo(str(i), from_json(bytes(m)), float(c), float(u), int(v))
            for i, m, c, u, v in rows
        ]

    @staticmethod
    def delete(conversation_id: str) -> Op[bool]:
        for table in ("agentkit_messages", "agentkit_tool_journal"):
            yield Query(f"DELETE FROM {table} WHERE conversation_id = ?", (conversation_id,))
        deleted = yield Query(
            "DELETE FROM agentkit_conversations WHERE id = ?", (conversation_id,), "rowcount"
        )
        return bool(deleted)

    @staticmethod
    def set_metadata(conversation_id: str, metadata: Mapping[str, Any]) -> Op[None]:
        updated = yield Query(
            "UPDATE agentkit_conversations SET metadata = ? WHERE id = ?",
            (to_json(dict(metadata)), conversation_id),
            "rowcount",
        )
        if updated != 1:
            raise ConversationNotFoundError(conversation_id)


class Cursor(Protocol):
    """The DB-API cursor surface the sync driver uses (sqlite3 and psycopg both have it)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: Any, params: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Any: ...


class AsyncCursor(Protocol):
    """The async cursor surface the async driver uses (psycopg's `AsyncCursor`)."""

    @property
    def rowcount(self) -> int: ...

    async def execute(self, sql: Any, params: Any = ..., /) -> Any: ...

    async def executemany(self, sql: Any, params: Any, /) -> Any: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Any: ...


def run(cursor: Cursor, dialect: SQLDialect, op: Op[T]) -> T:
    """Drive an operation on a sync cursor (inside the caller's transaction)."""
    result: Any = None
    while True:
        try:
            query = op.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
        sql = dialect.sql(query)
        if query.fetch == "many":
            if len(query.params) == 1:  # one round trip, no batching machinery
                cursor.execute(sql, query.params[0])
            else:
                cursor.executemany(sql, query.params)
            result = None
            continue
        cursor.execute(sql, query.params)
        result = _fetch_result(query.fetch, cursor)


async def run_async(cursor: AsyncCursor, dialect: SQLDialect, op: Op[T]) -> T:
    """Drive an operation on an async cursor (inside the caller's transaction)."""
    result: Any = None
    while True:
        try:
            query = op.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
        sql = dialect.sql(query)
        if query.fetch == "many":
            if len(query.params) == 1:
                await cursor.execute(sql, query.params[0])
            else:
                await cursor.executemany(sql, query.params)
            result = None
            continue
        await cursor.execute(sql, query.params)
        match query.fetch:
            case "one":
                result = await cursor.fetchone()
            case "all":
                result = await cursor.fetchall()
            case "rowcount":
                result = cursor.rowcount
            case _:
                result = None


def _fetch_result(fetch: Fetch, cursor: Cursor) -> Any:
    match fetch:
        case "one":
            return cursor.fetchone()
        case "all":
            return cursor.fetchall()
        case "rowcount":
            return cursor.rowcount
        case _:
            return None


class SQLStore(ConversationStore):
    """A sync store over a DB-API database; subclasses supply the dialect and transactions."""

    dialect: SQLDialect

    def _transaction(self, *, write: bool) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction, committed on success and rolled back on error."""
        raise NotImplementedError

    def _run(self, op: Op[T], *, write: bool = True) -> T:
        with self._transaction(write=write) as cursor:
            return run(cursor, self.dialect, op)

    def _insert(self, conversation: Conversation) -> None:
        self._run(ops.insert(conversation))

    def load(self, conversation_id: str) -> Conversation:
        """See `ConversationStore.load`."""
        return self._run(ops.load(conversation_id), write=False)

    def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        """See `ConversationStore.append`."""
        return self._run(ops.append(conversation_id, entries, expected_version))

    def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, Any], *, version: int
    ) -> None:
        """See `ConversationStore.journal_tool_result`."""
        self._run(ops.journal(conversation_id, result, version))

    def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        """See `ConversationStore.journaled_tool_results`."""
        return self._run(ops.journaled(conversation_id), write=False)

    def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """See `ConversationStore.list`."""
        return self._run(ops.headers(limit, offset), write=False)

    def delete(self, conversation_id: str) -> bool:
        """See `ConversationStore.delete`."""
        return self._run(ops.delete(conversation_id))

    def set_metadata(self, conversation_id: str, metadata: Mapping[str, Any]) -> None:
        """See `ConversationStore.set_metadata`."""
        self._run(ops.set_metadata(conversation_id, metadata))
