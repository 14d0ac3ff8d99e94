"""Sans-IO SQL for the stores: the queries an operation yields, the schema, and one driver.

A store operation's SQL is a generator (an `Op`) that yields `Query` objects and receives each
query's result; it holds every decision (version checks, conflicts, journal rules) and no I/O.
The typed steps (`fetch_one`, `fetch_all`, `rowcount`, `execute`, `execute_many`) are what the
operations are written in. The driver `run_async` runs an operation on an async cursor
(psycopg's), and `run` runs the very same driver on a sync DB-API cursor (sqlite3, psycopg)
through an adapter whose awaits never suspend, so there is one driver, not a sync/async pair.

Message bodies and metadata are stored as the exact bytes (BLOB / BYTEA), never re-encoded
through a JSON column type, so a load returns what was appended byte for byte.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from .._exceptions import StoreError

__all__ = [
    "AsyncCursor",
    "Cursor",
    "Op",
    "Query",
    "Row",
    "SQLDialect",
    "execute",
    "execute_many",
    "fetch_all",
    "fetch_one",
    "rowcount",
    "run",
    "run_async",
    "schema",
]

T = TypeVar("T")
Fetch = Literal["none", "one", "all", "rowcount", "many"]
Row = tuple[object, ...]
"""A result row: DB-API drivers (sqlite3, psycopg's default row factory) return tuples."""


@dataclass(frozen=True)
class Query:
    """One statement for a driver to execute, and what to hand back.

    `params` holds the parameters; a `"many"` query runs once per row of `rows` instead.
    Placeholders are `?`; drivers for `%s` databases translate them.
    """

    sql: str
    params: Sequence[object] = ()
    fetch: Fetch = "none"
    rows: Sequence[Sequence[object]] = ()


Op = Generator[Query, object, T]
"""An operation: yields queries, receives their results, returns `T`."""


def _rows(value: object) -> list[Row]:
    if not isinstance(value, list):
        raise StoreError(f"the database returned {type(value).__name__} for a row list")
    return value


def fetch_one(sql: str, params: Sequence[object]) -> Op[Row | None]:
    """The first row of a query, or None."""
    row = yield Query(sql, params, "one")
    if row is not None and not isinstance(row, tuple):
        raise StoreError(f"the database returned {type(row).__name__} for a row")
    return row


def fetch_all(sql: str, params: Sequence[object]) -> Op[list[Row]]:
    """Every row of a query."""
    return _rows((yield Query(sql, params, "all")))


def rowcount(sql: str, params: Sequence[object]) -> Op[int]:
    """Run a statement; how many rows it changed."""
    count = yield Query(sql, params, "rowcount")
    return count if isinstance(count, int) else 0


def execute(sql: str, params: Sequence[object]) -> Op[None]:
    """Run a statement."""
    yield Query(sql, params)


def execute_many(sql: str, rows: Sequence[Sequence[object]]) -> Op[None]:
    """Run a statement once per parameter row (nothing for no rows)."""
    if rows:
        yield Query(sql, (), "many", rows)


NOW = "$now"
"""Stands in a statement for the database's own clock, in Unix seconds (see `SQLDialect.now`)."""


@dataclass(frozen=True)
class SQLDialect:
    """What differs between databases: placeholder style, the schema's column types, and the
    expression of the current time in Unix seconds (`NOW` in a statement).

    Lease expiries are written and compared on the database's clock, so processes on hosts
    whose clocks disagree still agree on when a lease lapses.
    """

    qmark: bool
    schema: tuple[str, ...]
    now: str

    def sql(self, query: Query) -> str:
        sql = query.sql.replace(NOW, self.now)
        return sql if self.qmark else sql.replace("?", "%s")


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
        # One row per conversation a run holds: its owner and when the lease lapses.
        f"""CREATE TABLE IF NOT EXISTS agentkit_leases (
            conversation_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at {real} NOT NULL)""",
    )


class Cursor(Protocol):
    """The DB-API cursor surface the sync driver uses (sqlite3 and psycopg both have it)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[object] = ..., /) -> object: ...

    def executemany(self, sql: str, params: Sequence[Sequence[object]], /) -> object: ...

    def fetchone(self) -> object: ...

    def fetchall(self) -> object: ...


class AsyncCursor(Protocol):
    """The async cursor surface the driver uses (psycopg's `AsyncCursor`)."""

    @property
    def rowcount(self) -> int: ...

    async def execute(self, sql: str, params: Sequence[object] = ..., /) -> object: ...

    async def executemany(self, sql: str, params: Sequence[Sequence[object]], /) -> object: ...

    async def fetchone(self) -> object: ...

    async def fetchall(self) -> object: ...


async def run_async(cursor: AsyncCursor, dialect: SQLDialect, op: Op[T]) -> T:
    """Drive an operation on an async cursor (inside the caller's transaction)."""
    result: object = None
    while True:
        try:
            query = op.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
        sql = dialect.sql(query)
        match query.fetch:
            case "many" if len(query.rows) == 1:  # one round trip, no batching machinery
                await cursor.execute(sql, query.rows[0])
            case "many":
                await cursor.executemany(sql, query.rows)
            case _:
                await cursor.execute(sql, query.params)
        match query.fetch:
            case "one":
                result = await cursor.fetchone()
            case "all":
                result = await cursor.fetchall()
            case "rowcount":
                result = cursor.rowcount
            case "none" | "many":
                result = None


class _Immediate:
    """A sync cursor behind the async cursor surface: every await completes at once."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, params: Sequence[object] = (), /) -> object:
        return self._cursor.execute(sql, params)

    async def executemany(self, sql: str, params: Sequence[Sequence[object]], /) -> object:
        return self._cursor.executemany(sql, params)

    async def fetchone(self) -> object:
        return self._cursor.fetchone()

    async def fetchall(self) -> object:
        return self._cursor.fetchall()


def run(cursor: Cursor, dialect: SQLDialect, op: Op[T]) -> T:
    """Drive an operation on a sync cursor (inside the caller's transaction).

    This is `run_async` over `_Immediate`: nothing in it waits, so the coroutine finishes on its
    first step and no event loop is involved.
    """
    coroutine = run_async(_Immediate(cursor), dialect, op)
    try:
        coroutine.send(None)
    except StopIteration as done:
        value: T = done.value
        return value
    coroutine.close()
    raise RuntimeError("a sync cursor suspended the SQL driver")
