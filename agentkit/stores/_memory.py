"""`MemoryStore`: conversations in a dict, for tests, notebooks and short-lived processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic_core import from_json, to_json

from .._exceptions import StoreConflictError
from .._options import strict_init
from ..conversation import Conversation, Entry
from ._base import ConversationInfo, ConversationNotFoundError, ConversationStore, owner_gone

__all__ = ["MemoryStore"]


@dataclass
class _Stored:
    metadata: bytes
    created_at: float
    updated_at: float
    entries: list[Entry] = field(default_factory=list)
    journal: dict[str, tuple[int, bytes]] = field(default_factory=dict)


@strict_init
class MemoryStore(ConversationStore):
    """Conversations in process memory, with the same semantics as the durable stores.

    Entries are immutable and kept as the bytes appended; a lock makes every operation atomic,
    so versions, conflicts and the tool-result journal behave as in `SQLiteStore`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, _Stored] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    def _get(self, conversation_id: str) -> _Stored:
        stored = self._data.get(conversation_id)
        if stored is None:
            raise ConversationNotFoundError(conversation_id)
        return stored

    def _insert(self, conversation: Conversation) -> None:
        with self._lock:
            existing = self._data.get(conversation.id)
            if existing is not None:
                raise StoreConflictError(conversation.id, 0, len(existing.entries))
            self._data[conversation.id] = _Stored(
                to_json(conversation.metadata),
                conversation.created_at,
                conversation.updated_at,
                list(conversation.entries),
            )

    def load(self, conversation_id: str) -> Conversation:
        """See `ConversationStore.load`."""
        with self._lock:
            stored = self._get(conversation_id)
            return Conversation.from_entries(
                list(stored.entries),
                id=conversation_id,
                metadata=from_json(stored.metadata),
                created_at=stored.created_at,
                updated_at=stored.updated_at,
            )

    def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        """See `ConversationStore.append`."""
        with self._lock:
            stored = self._get(conversation_id)
            if len(stored.entries) != expected_version:
                raise StoreConflictError(conversation_id, expected_version, len(stored.entries))
            stored.entries.extend(entries)
            stored.updated_at = time.time()
            if entries:
                stored.journal.clear()
            return len(stored.entries)

    def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, object], *, version: int
    ) -> None:
        """See `ConversationStore.journal_tool_result`."""
        tool_use_id = result.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            raise ValueError("a journaled tool_result needs a tool_use_id")
        with self._lock:
            stored = self._get(conversation_id)
            if len(stored.entries) != version:
                raise StoreConflictError(conversation_id, version, len(stored.entries))
            stored.journal[tool_use_id] = (version, to_json(result))

    def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, object]]:
        """See `ConversationStore.journaled_tool_results`."""
        with self._lock:
            stored = self._get(conversation_id)
            current = len(stored.entries)
            return {k: from_json(b) for k, (v, b) in stored.journal.items() if v == current}

    def take_lease(self, conversation_id: str, owner: str, *, ttl: float) -> str | None:
        """See `ConversationStore.take_lease`."""
        with self._lock:
            now = time.time()
            holder, expires_at = self._leases.get(conversation_id, (owner, now))
            if holder == owner or expires_at <= now or owner_gone(holder):
                self._leases[conversation_id] = (owner, now + ttl)
                return None
            return holder

    def release_lease(self, conversation_id: str, owner: str) -> None:
        """See `ConversationStore.release_lease`."""
        with self._lock:
            if self._leases.get(conversation_id, ("", 0.0))[0] == owner:
                del self._leases[conversation_id]

    def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """See `ConversationStore.list`."""
        with self._lock:
            infos = [
                ConversationInfo(
                    i, from_json(s.metadata), s.created_at, s.updated_at, len(s.entries)
                )
                for i, s in self._data.items()
            ]
        infos.sort(key=lambda info: (-info.updated_at, info.id))
        return infos[offset:] if limit is None else infos[offset : offset + limit]

    def delete(self, conversation_id: str) -> bool:
        """See `ConversationStore.delete`."""
        with self._lock:
            self._leases.pop(conversation_id, None)
            return self._data.pop(conversation_id, None) is not None

    def set_metadata(self, conversation_id: str, metadata: Mapping[str, object]) -> None:
        """See `ConversationStore.set_metadata`."""
        with self._lock:
            self._get(conversation_id).metadata = to_json(dict(metadata))
