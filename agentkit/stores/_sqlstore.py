"""`SQLStore`: a sync store that runs each operation's SQL on a DB-API cursor, in one transaction.

`SQLiteStore` and `PostgresStore` subclass it and supply the dialect and the transactions; the
SQL itself is the operations' (`StoreOp.sql` in `_base`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from ..conversation import Conversation, Entry
from . import _base as op
from ._base import ConversationInfo, ConversationStore, StoreOp
from ._sql import Cursor, SQLDialect, run

__all__ = ["SQLStore"]

T = TypeVar("T")


class _Connection(Protocol):
    def close(self) -> None: ...


class SQLStore(ConversationStore):
    """A sync store over a DB-API database; subclasses supply the dialect and transactions.

    One connection per store, shared by threads behind `_lock`.
    """

    dialect: SQLDialect
    _conn: _Connection
    _lock: threading.Lock

    def _transaction(self, *, write: bool) -> AbstractContextManager[Cursor]:
        """A cursor inside one transaction, committed on success and rolled back on error."""
        raise NotImplementedError

    def _perform(self, operation: StoreOp[T]) -> T:
        with self._transaction(write=operation.write) as cursor:
            return run(cursor, self.dialect, operation.sql())

    def _insert(self, conversation: Conversation) -> None:
        self._perform(op.Insert(conversation))

    def load(self, conversation_id: str) -> Conversation:
        """See `ConversationStore.load`."""
        return self._perform(op.Load(conversation_id))

    def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        return self._perform(op.Append(conversation_id, entries, expected_version=expected_version))

    def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, object], *, version: int
    ) -> None:
        self._perform(op.Journal(conversation_id, result, version=version))

    def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, object]]:
        """See `ConversationStore.journaled_tool_results`."""
        return self._perform(op.Journaled(conversation_id))

    def take_lease(self, conversation_id: str, owner: str, *, ttl: float) -> str | None:
        """See `ConversationStore.take_lease`."""
        return self._perform(op.TakeLease(conversation_id, owner, ttl=ttl))

    def release_lease(self, conversation_id: str, owner: str) -> None:
        """See `ConversationStore.release_lease`."""
        self._perform(op.ReleaseLease(conversation_id, owner))

    def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """See `ConversationStore.list`."""
        return self._perform(op.Headers(limit=limit, offset=offset))

    def delete(self, conversation_id: str) -> bool:
        """See `ConversationStore.delete`."""
        return self._perform(op.Delete(conversation_id))

    def set_metadata(self, conversation_id: str, metadata: Mapping[str, object]) -> None:
        """See `ConversationStore.set_metadata`."""
        self._perform(op.SetMetadata(conversation_id, metadata))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
