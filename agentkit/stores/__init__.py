"""Durable conversation stores: the store protocol, `MemoryStore`, `SQLiteStore`, `PostgresStore`.

`SQLiteStore` is the embedded default. `PostgresStore` / `AsyncPostgresStore` live in
`agentkit.stores.postgres` and import psycopg only when used; importing this package opens
nothing and imports neither sqlite3 nor psycopg until a store class is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._async import AsyncConversationStore, to_async
from ._base import ConversationInfo, ConversationNotFoundError, ConversationStore, lease_owner
from ._memory import MemoryStore

if TYPE_CHECKING:
    from ._sqlite import SQLiteStore
    from .postgres import AsyncPostgresStore, PostgresStore

__all__ = [
    "AsyncConversationStore",
    "AsyncPostgresStore",
    "ConversationInfo",
    "ConversationNotFoundError",
    "ConversationStore",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "lease_owner",
    "to_async",
]


def __getattr__(name: str) -> Any:
    # Lazy: the SQL stores pull in sqlite3 / psycopg, which plain users of the package never need.
    if name == "SQLiteStore":
        from ._sqlite import SQLiteStore

        return SQLiteStore
    if name in ("PostgresStore", "AsyncPostgresStore"):
        from . import postgres

        return getattr(postgres, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
