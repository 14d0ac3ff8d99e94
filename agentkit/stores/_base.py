"""The conversation store protocol, in a sync and an async flavour, and what every store shares.

A store keeps conversations durably. Its unit of writing is a *step* (an assistant message, or
the tool results of one turn): `append` writes a step's messages in one transaction, and only if
the conversation is still at the version the writer read (optimistic concurrency). Of two
writers appending to one conversation, one gets `StoreConflictError`; nothing is lost,
duplicated or interleaved.

While tools run, each finished `tool_result` is *journaled* (`journal_tool_result`); a run that
crashes before committing the step finds the journaled results with `journaled_tool_results`
and executes only the missing tools. Committing the next step clears the journal.

Backends implement the abstract primitives; `create`, `commit`, `export_*` and `import_*` are
written once here. `AsyncConversationStore` has the same surface with `async` methods;
`to_async(store)` adapts any sync store by running it in worker threads.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread

from .._exceptions import StoreError
from ..conversation._conversation import Conversation, Entry
from ._transfer import dump_conversation, dump_jsonl, parse_conversation, parse_jsonl

__all__ = [
    "AsyncConversationStore",
    "ConversationInfo",
    "ConversationNotFoundError",
    "ConversationStore",
    "to_async",
]

T = TypeVar("T")


class ConversationNotFoundError(StoreError):
    """No conversation with this id is stored.

    Attributes:
        conversation_id: The id asked for.
    """

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"no conversation {conversation_id!r} in the store")


@dataclass(frozen=True)
class ConversationInfo:
    """A stored conversation's header, as `list()` returns it.

    Attributes:
        id: The conversation id.
        metadata: Its metadata.
        created_at: Creation time (Unix seconds).
        updated_at: Time of the last commit (Unix seconds).
        version: Messages committed (the count of stored messages).
    """

    id: str
    metadata: dict[str, Any]
    created_at: float
    updated_at: float
    version: int


class ConversationStore(abc.ABC):
    """The sync store protocol. Subclass it and implement the abstract methods."""

    def create(self, conversation: Conversation) -> None:
        """Store a new conversation with every message it holds, and mark them committed.

        Raises:
            StoreConflictError: A conversation with this id exists.
        """
        self._insert(conversation)
        conversation.version = len(conversation)

    @abc.abstractmethod
    def _insert(self, conversation: Conversation) -> None:
        """Insert the header and every message in one transaction (conflict if the id exists)."""

    @abc.abstractmethod
    def load(self, conversation_id: str) -> Conversation:
        """The stored conversation, every message as the exact bytes stored.

        Raises:
            ConversationNotFoundError: No such conversation.
        """

    @abc.abstractmethod
    def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        """Append one step's messages in one transaction; clear the tool-result journal.

        Args:
            conversation_id: The conversation.
            entries: The step's messages, in order.
            expected_version: The version the writer last saw.

        Returns:
            The new version.

        Raises:
            StoreConflictError: The stored version is not `expected_version`.
            ConversationNotFoundError: No such conversation.
        """

    @abc.abstractmethod
    def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, Any], *, version: int
    ) -> None:
        """Durably record one finished `tool_result` block before its step is committed.

        Args:
            conversation_id: The conversation.
            result: The `tool_result` block (with `tool_use_id`).
            version: The conversation's version (the assistant message asking for the tools is
                committed). Results journaled at an older version are never returned.

        Raises:
            StoreConflictError: The stored version is not `version`.
            ConversationNotFoundError: No such conversation.
        """

    @abc.abstractmethod
    def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        """The `tool_result` blocks journaled at the current version, by `tool_use_id`."""

    @abc.abstractmethod
    def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """Stored conversations, most recently updated first."""

    @abc.abstractmethod
    def delete(self, conversation_id: str) -> bool:
        """Delete a conversation, its messages and journal. True if it existed."""

    @abc.abstractmethod
    def set_metadata(self, conversation_id: str, metadata: Mapping[str, Any]) -> None:
        """Replace a conversation's metadata.

        Raises:
            ConversationNotFoundError: No such conversation.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing to close
        """Release connections and files."""

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared ---------------------------------------------------------------------------------

    def commit(self, conversation: Conversation) -> int:
        """Append the conversation's uncommitted messages as one step, at its version.

        Returns:
            The new version (also set on `conversation.version`).

        Raises:
            StoreConflictError: Another writer appended first; reload and retry.
        """
        pending = list(conversation.uncommitted)
        if pending:
            conversation.version = self.append(
                conversation.id, pending, expected_version=conversation.version
            )
        return conversation.version

    def export_json(self, conversation_id: str) -> bytes:
        """One conversation as a JSON document (message bytes kept verbatim)."""
        return dump_conversation(self.load(conversation_id))

    def export_jsonl(self, conversation_ids: Sequence[str] | None = None) -> bytes:
        """Conversations (all by default) as JSONL, one document per line."""
        ids = [i.id for i in self.list()] if conversation_ids is None else conversation_ids
        return dump_jsonl(self.load(i) for i in ids)

    def import_json(self, data: bytes | str) -> Conversation:
        """Create a conversation from a JSON document made by `export_json`."""
        conversation = parse_conversation(data)
        self.create(conversation)
        return conversation

    def import_jsonl(self, data: bytes | str) -> builtins.list[Conversation]:
        """Create every conversation of a JSONL export."""
        conversations = parse_jsonl(data)
        for conversation in conversations:
            self.create(conversation)
        return conversations


class AsyncConversationStore(abc.ABC):
    """The async store protocol: `ConversationStore` with `async` methods."""

    async def create(self, conversation: Conversation) -> None:
        """See `ConversationStore.create`."""
        await self._insert(conversation)
        conversation.version = len(conversation)

    @abc.abstractmethod
    async def _insert(self, conversation: Conversation) -> None:
        """See `ConversationStore._insert`."""

    @abc.abstractmethod
    async def load(self, conversation_id: str) -> Conversation:
        """See `ConversationStore.load`."""

    @abc.abstractmethod
    async def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        """See `ConversationStore.append`."""

    @abc.abstractmethod
    async def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, Any], *, version: int
    ) -> None:
        """See `ConversationStore.journal_tool_result`."""

    @abc.abstractmethod
    async def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        """See `ConversationStore.journaled_tool_results`."""

    @abc.abstractmethod
    async def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """See `ConversationStore.list`."""

    @abc.abstractmethod
    async def delete(self, conversation_id: str) -> bool:
        """See `ConversationStore.delete`."""

    @abc.abstractmethod
    async def set_metadata(self, conversation_id: str, metadata: Mapping[str, Any]) -> None:
        """See `ConversationStore.set_metadata`."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files."""

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def commit(self, conversation: Conversation) -> int:
        """See `ConversationStore.commit`."""
        pending = list(conversation.uncommitted)
        if pending:
            conversation.version = await self.append(
                conversation.id, pending, expected_version=conversation.version
            )
        return conversation.version

    async def export_json(self, conversation_id: str) -> bytes:
        """See `ConversationStore.export_json`."""
        return dump_conversation(await self.load(conversation_id))

    async def export_jsonl(self, conversation_ids: Sequence[str] | None = None) -> bytes:
        """See `ConversationStore.export_jsonl`."""
        ids = [i.id for i in await self.list()] if conversation_ids is None else conversation_ids
        return dump_jsonl([await self.load(i) for i in ids])

    async def import_json(self, data: bytes | str) -> Conversation:
        """See `ConversationStore.import_json`."""
        conversation = parse_conversation(data)
        await self.create(conversation)
        return conversation

    async def import_jsonl(self, data: bytes | str) -> builtins.list[Conversation]:
        """See `ConversationStore.import_jsonl`."""
        conversations = parse_jsonl(data)
        for conversation in conversations:
            await self.create(conversation)
        return conversations


class _ThreadedStore(AsyncConversationStore):
    """A sync store driven from async code: each call runs in a worker thread."""

    def __init__(self, store: ConversationStore) -> None:
        self.sync = store

    async def _run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(lambda: func(*args, **kwargs))

    async def _insert(self, conversation: Conversation) -> None:
        await self._run(self.sync._insert, conversation)

    async def load(self, conversation_id: str) -> Conversation:
        return await self._run(self.sync.load, conversation_id)

    async def append(
        self, conversation_id: str, entries: Sequence[Entry], *, expected_version: int
    ) -> int:
        return await self._run(
            self.sync.append, conversation_id, entries, expected_version=expected_version
        )

    async def journal_tool_result(
        self, conversation_id: str, result: Mapping[str, Any], *, version: int
    ) -> None:
        await self._run(self.sync.journal_tool_result, conversation_id, result, version=version)

    async def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, Any]]:
        return await self._run(self.sync.journaled_tool_results, conversation_id)

    async def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        return await self._run(self.sync.list, limit=limit, offset=offset)

    async def delete(self, conversation_id: str) -> bool:
        return await self._run(self.sync.delete, conversation_id)

    async def set_metadata(self, conversation_id: str, metadata: Mapping[str, Any]) -> None:
        await self._run(self.sync.set_metadata, conversation_id, metadata)

    async def aclose(self) -> None:
        await self._run(self.sync.close)


def to_async(store: ConversationStore) -> AsyncConversationStore:
    """An async store over a sync one; every call runs in a worker thread (`anyio.to_thread`).

    Args:
        store: Any sync store (`MemoryStore`, `SQLiteStore`, `PostgresStore`, your own).
    """
    return _ThreadedStore(store)
