"""The conversation store interface, defined once: its operations, the sync protocol, the plans.

A store keeps conversations durably. Its unit of writing is a *step* (an assistant message, or
the tool results of one turn): `append` writes a step's messages in one transaction, and only if
the conversation is still at the version the writer read (optimistic concurrency). Of two
writers appending to one conversation, one gets `StoreConflictError`; nothing is lost,
duplicated or interleaved.

While tools run, each finished `tool_result` is *journaled* (`journal_tool_result`); a run that
crashes before committing the step finds the journaled results with `journaled_tool_results`
and executes only the missing tools. Committing the next step clears the journal.

A run holds the conversation's *lease* while it lives (`take_lease`): a row naming its owner and
an expiry, refreshed by taking it again, released at the end. A second owner is refused while
the lease is held, so two runs never interleave turns; a crashed owner's lease lapses at its
expiry (at once when the owner was a process on this host that no longer exists).

Every primitive operation is one `StoreOp` value, typed by its result, that knows two things: how
to call a sync store for it (`on`) and its SQL (`sql`, a sans-IO plan from `_sql`), so the SQL
lives in one place for SQLite, PostgreSQL and async PostgreSQL. The composite methods (`create`,
`commit`, `export_*`, `import_*`) are *plans*: generators that yield operations and receive
their results, written once and driven by the sync store here and by the async store in
`_async` (which derives its whole interface from these plans).
"""

from __future__ import annotations

import abc
import builtins
import os
import socket
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar, cast

from pydantic_core import from_json, to_json

from .._exceptions import StoreConflictError, StoreError
from ..conversation import Conversation, Entry
from ._sql import NOW, Op, Row, execute, execute_many, fetch_all, fetch_one, rowcount
from ._transfer import dump_conversation, dump_jsonl, parse_conversation, parse_jsonl

__all__ = [
    "Append",
    "ConversationInfo",
    "ConversationNotFoundError",
    "ConversationStore",
    "Delete",
    "Headers",
    "Insert",
    "Journal",
    "Journaled",
    "Load",
    "Plan",
    "ReleaseLease",
    "SetMetadata",
    "StoreOp",
    "TakeLease",
    "advance",
    "commit_plan",
    "create_plan",
    "export_json_plan",
    "export_jsonl_plan",
    "import_json_plan",
    "import_jsonl_plan",
    "lease_owner",
    "owner_gone",
    "single",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_NO_LIMIT = 2**62


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
    metadata: dict[str, object]
    created_at: float
    updated_at: float
    version: int


class ConversationStore(abc.ABC):
    """The sync store protocol. Subclass it and implement the abstract methods."""

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
        self, conversation_id: str, result: Mapping[str, object], *, version: int
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
    def journaled_tool_results(self, conversation_id: str) -> dict[str, dict[str, object]]:
        """The `tool_result` blocks journaled at the current version, by `tool_use_id`."""

    @abc.abstractmethod
    def take_lease(self, conversation_id: str, owner: str, *, ttl: float) -> str | None:
        """Take (or refresh) the conversation's lease for `owner`, for `ttl` seconds from now.

        The lease is free when no one holds it, its holder's expiry passed, or its holder was a
        process on this host that no longer exists (`owner_gone`). The conversation need not
        exist yet: a run takes the lease before it creates the conversation.

        Returns:
            None when `owner` holds the lease now; else the owner that holds it.
        """

    @abc.abstractmethod
    def release_lease(self, conversation_id: str, owner: str) -> None:
        """Give the lease up, if `owner` holds it (else nothing happens)."""

    @abc.abstractmethod
    def list(self, *, limit: int | None = None, offset: int = 0) -> list[ConversationInfo]:
        """Stored conversations, most recently updated first."""

    @abc.abstractmethod
    def delete(self, conversation_id: str) -> bool:
        """Delete a conversation, its messages and journal. True if it existed."""

    @abc.abstractmethod
    def set_metadata(self, conversation_id: str, metadata: Mapping[str, object]) -> None:
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

    # -- written once, as plans ------------------------------------------------------------------

    def _drive(self, plan: Plan[T]) -> T:
        step = advance(plan, None)
        while isinstance(step, StoreOp):
            step = advance(plan, step.on(self))
        return step.value

    def create(self, conversation: Conversation) -> None:
        """Store a new conversation with every message it holds, and mark them committed.

        Raises:
            StoreConflictError: A conversation with this id exists.
        """
        self._drive(create_plan(conversation))

    def commit(self, conversation: Conversation) -> int:
        """Append the conversation's uncommitted messages as one step, at its version.

        Returns:
            The new version (also set on `conversation.version`).

        Raises:
            StoreConflictError: Another writer appended first; reload and retry.
        """
        return self._drive(commit_plan(conversation))

    def export_json(self, conversation_id: str) -> bytes:
        """One conversation as a JSON document (message bytes kept verbatim)."""
        return self._drive(export_json_plan(conversation_id))

    def export_jsonl(self, conversation_ids: Sequence[str] | None = None) -> bytes:
        """Conversations (all by default) as JSONL, one document per line."""
        return self._drive(export_jsonl_plan(conversation_ids))

    def import_json(self, data: bytes | str) -> Conversation:
        """Create a conversation from a JSON document made by `export_json`."""
        return self._drive(import_json_plan(data))

    def import_jsonl(self, data: bytes | str) -> builtins.list[Conversation]:
        """Create every conversation of a JSONL export."""
        return self._drive(import_jsonl_plan(data))


# -- the operations --------------------------------------------------------------------------


class StoreOp(abc.ABC, Generic[T_co]):
    """One primitive store operation, typed by its result.

    Attributes:
        write: Whether the operation writes (SQLite opens read-only operations with `BEGIN`).
    """

    write: ClassVar[bool] = True

    @abc.abstractmethod
    def on(self, store: ConversationStore) -> T_co:
        """Perform the operation on a sync store (its method of the same name)."""

    @abc.abstractmethod
    def sql(self) -> Op[T_co]:
        """The operation as a SQL plan (see `_sql`), for the SQL stores."""


_INSERT_MESSAGES = (
    "INSERT INTO agentkit_messages (conversation_id, position, body, meta, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)
_VERSION = "SELECT version FROM agentkit_conversations WHERE id = ?"


def _message_rows(
    conversation_id: str, start: int, entries: Sequence[Entry]
) -> list[tuple[object, ...]]:
    return [
        (conversation_id, start + n, e.raw, to_json(e.meta), e.created_at)
        for n, e in enumerate(entries)
    ]


def _version(conversation_id: str) -> Op[int]:
    """The stored version of a conversation.

    Raises:
        ConversationNotFoundError: No such conversation.
    """
    row = yield from fetch_one(_VERSION, (conversation_id,))
    if row is None:
        raise ConversationNotFoundError(conversation_id)
    return _int(row[0])


def _conflict(conversation_id: str, expected: int) -> Op[None]:
    """Raise the error a failed compare-and-set means: no such conversation, or a conflict."""
    raise StoreConflictError(conversation_id, expected, (yield from _version(conversation_id)))


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise StoreError(f"the database returned {type(value).__name__} for an integer")
    return value


def _float(value: object) -> float:
    if not isinstance(value, (int, float)):
        raise StoreError(f"the database returned {type(value).__name__} for a number")
    return float(value)


def _bytes(value: object) -> bytes:
    # sqlite3 returns bytes, psycopg returns bytes or memoryview for BYTEA.
    if not isinstance(value, (bytes, memoryview)):
        raise StoreError(f"the database returned {type(value).__name__} for bytes")
    return bytes(value)


def _json_object(data: bytes, where: str) -> dict[str, object]:
    """A stored JSON object; a row that is not one is a `StoreError` naming `where`."""
    try:
        value = from_json(data)
    except ValueError as exc:
        raise StoreError(f"{where} is not valid JSON ({exc}): the row is damaged") from exc
    if not isinstance(value, dict):
        raise StoreError(f"{where} holds {type(value).__name__}, not a JSON object")
    return value


def _entry(conversation_id: str, position: int, row: Row) -> Entry:
    """A stored message row as an entry; a damaged row is a `StoreError` naming it."""
    where = f"conversation {conversation_id!r}, message {position}"
    body, meta, created_at = row
    message = _json_object(_bytes(body), f"{where} (body)")
    if message.get("role") not in ("user", "assistant"):
        raise StoreError(f"{where} (body) is not a message: no user or assistant role")
    return Entry.from_raw(
        _bytes(body), _json_object(_bytes(meta), f"{where} (meta)"), _float(created_at)
    )


@dataclass(frozen=True)
class Insert(StoreOp[None]):
    """Insert the header and every message (`ConversationStore._insert`)."""

    conversation: Conversation

    def on(self, store: ConversationStore) -> None:
        store._insert(self.conversation)

    def sql(self) -> Op[None]:
        conversation = self.conversation
        inserted = yield from rowcount(
            "INSERT INTO agentkit_conversations (id, metadata, created_at, updated_at, version) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                conversation.id,
                to_json(conversation.metadata),
                conversation.created_at,
                conversation.updated_at,
                len(conversation),
            ),
        )
        if inserted != 1:
            yield from _conflict(conversation.id, 0)
        yield from execute_many(
            _INSERT_MESSAGES, _message_rows(conversation.id, 0, conversation.entries)
        )


@dataclass(frozen=True)
class Load(StoreOp[Conversation]):
    """`ConversationStore.load`."""

    write: ClassVar[bool] = False
    conversation_id: str

    def on(self, store: ConversationStore) -> Conversation:
        return store.load(self.conversation_id)

    def sql(self) -> Op[Conversation]:
        conversation_id = self.conversation_id
        head = yield from fetch_one(
            "SELECT metadata, created_at, updated_at, version FROM agentkit_conversations "
            "WHERE id = ?",
            (conversation_id,),
        )
        if head is None:
            raise ConversationNotFoundError(conversation_id)
        rows = yield from fetch_all(
            "SELECT body, meta, created_at FROM agentkit_messages WHERE conversation_id = ? "
            "ORDER BY position",
            (conversation_id,),
        )
        version = _int(head[3])
        if len(rows) != version:
            raise StoreError(
                f"conversation {conversation_id!r} has {len(rows)} messages at version {version}"
            )
        entries = [_entry(conversation_id, n, row) for n, row in enumerate(rows)]
        return Conversation.from_entries(
            entries,
            id=conversation_id,
            metadata=_json_object(_bytes(head[0]), f"conversation {conversation_id!r} (metadata)"),
            created_at=_float(head[1]),
            updated_at=_float(head[2]),
            version=version,
        )


@dataclass(frozen=True)
class Append(StoreOp[int]):
    """`ConversationStore.append`."""

    conversation_id: str
    entries: Sequence[Entry]
    expected_version: int = field(kw_only=True)

    def on(self, store: ConversationStore) -> int:
        return store.append(
            self.conversation_id, self.entries, expected_version=self.expected_version
        )

    def sql(self) -> Op[int]:
        conversation_id, entries, expected = (
            self.conversation_id,
            self.entries,
            self.expected_version,
        )
        # The compare-and-set on `version` is the whole concurrency story: of two writers at the
        # same version, the database lets exactly one UPDATE match; the other sees 0 rows.
        updated = yield from rowcount(
            "UPDATE agentkit_conversations SET version = version + ?, updated_at = ? "
            "WHERE id = ? AND version = ?",
            (len(entries), time.time(), conversation_id, expected),
        )
        if updated != 1:
            yield from _conflict(conversation_id, expected)
        yield from execute_many(_INSERT_MESSAGES, _message_rows(conversation_id, expected, entries))
        if any(b.get("type") == "tool_result" for e in entries for b in e.blocks):
            # The step that answers the tools is committed: its journal is spent. (Rows left by
            # other steps are harmless: only rows of the current version are ever read.)
            yield from execute(
                "DELETE FROM agentkit_tool_journal WHERE conversation_id = ?", (conversation_id,)
            )
        return expected + len(entries)


@dataclass(frozen=True)
class Journal(StoreOp[None]):
    """`ConversationStore.journal_tool_result`."""

    conversation_id: str
    result: Mapping[str, object]
    version: int = field(kw_only=True)

    def on(self, store: ConversationStore) -> None:
        store.journal_tool_result(self.conversation_id, self.result, version=self.version)

    def sql(self) -> Op[None]:
        conversation_id, version = self.conversation_id, self.version
        tool_use_id = self.result.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            raise ValueError("a journaled tool_result needs a tool_use_id")
        actual = yield from _version(conversation_id)
        if actual != version:
            raise StoreConflictError(conversation_id, version, actual)
        yield from execute(
            "INSERT INTO agentkit_tool_journal "
            "(conversation_id, tool_use_id, version, body, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (conversation_id, tool_use_id) DO UPDATE SET version = excluded.version, "
            "body = excluded.body, created_at = excluded.created_at",
            (conversation_id, tool_use_id, version, to_json(self.result), time.time()),
        )


@dataclass(frozen=True)
class Journaled(StoreOp[dict[str, dict[str, object]]]):
    """`ConversationStore.journaled_tool_results`."""

    write: ClassVar[bool] = False
    conversation_id: str

    def on(self, store: ConversationStore) -> dict[str, dict[str, object]]:
        return store.journaled_tool_results(self.conversation_id)

    def sql(self) -> Op[dict[str, dict[str, object]]]:
        # Only rows written at the current version count: a late write from a stale run cannot
        # resurface after the step it belonged to was committed.
        rows = yield from fetch_all(
            "SELECT j.tool_use_id, j.body FROM agentkit_tool_journal j "
            "JOIN agentkit_conversations c ON c.id = j.conversation_id AND c.version = j.version "
            "WHERE j.conversation_id = ? ORDER BY j.created_at",
            (self.conversation_id,),
        )
        where = f"conversation {self.conversation_id!r}, journaled result"
        return {str(i): _json_object(_bytes(body), f"{where} {str(i)!r}") for i, body in rows}


@dataclass(frozen=True)
class Headers(StoreOp[list[ConversationInfo]]):
    """`ConversationStore.list`."""

    write: ClassVar[bool] = False
    limit: int | None = field(default=None, kw_only=True)
    offset: int = field(default=0, kw_only=True)

    def on(self, store: ConversationStore) -> list[ConversationInfo]:
        return store.list(limit=self.limit, offset=self.offset)

    def sql(self) -> Op[list[ConversationInfo]]:
        rows = yield from fetch_all(
            "SELECT id, metadata, created_at, updated_at, version FROM agentkit_conversations "
            "ORDER BY updated_at DESC, id LIMIT ? OFFSET ?",
            (_NO_LIMIT if self.limit is None else self.limit, self.offset),
        )
        return [
            ConversationInfo(
                str(i),
                _json_object(_bytes(m), f"conversation {str(i)!r} (metadata)"),
                _float(c),
                _float(u),
                _int(v),
            )
            for i, m, c, u, v in rows
        ]


@dataclass(frozen=True)
class Delete(StoreOp[bool]):
    """`ConversationStore.delete`."""

    conversation_id: str

    def on(self, store: ConversationStore) -> bool:
        return store.delete(self.conversation_id)

    def sql(self) -> Op[bool]:
        for table in ("agentkit_messages", "agentkit_tool_journal", "agentkit_leases"):
            yield from execute(
                f"DELETE FROM {table} WHERE conversation_id = ?", (self.conversation_id,)
            )
        deleted = yield from rowcount(
            "DELETE FROM agentkit_conversations WHERE id = ?", (self.conversation_id,)
        )
        return bool(deleted)


@dataclass(frozen=True)
class SetMetadata(StoreOp[None]):
    """`ConversationStore.set_metadata`."""

    conversation_id: str
    metadata: Mapping[str, object]

    def on(self, store: ConversationStore) -> None:
        store.set_metadata(self.conversation_id, self.metadata)

    def sql(self) -> Op[None]:
        updated = yield from rowcount(
            "UPDATE agentkit_conversations SET metadata = ? WHERE id = ?",
            (to_json(dict(self.metadata)), self.conversation_id),
        )
        if updated != 1:
            raise ConversationNotFoundError(self.conversation_id)


def lease_owner(run_id: str) -> str:
    """The lease owner name of a run in this process: `"<host>:<pid>:<run id>"`."""
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def owner_gone(owner: str) -> bool:
    """Whether a lease owner was a process on this host that no longer exists.

    Its lease is free at once, not at its expiry: a run killed with SIGKILL can be resumed
    right away. An owner on another host (or not named by `lease_owner`) is never judged
    gone; its lease lapses at its expiry.
    """
    host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


_HOLDER = "SELECT owner, expires_at FROM agentkit_leases WHERE conversation_id = ?"


@dataclass(frozen=True)
class TakeLease(StoreOp[str | None]):
    """`ConversationStore.take_lease`."""

    conversation_id: str
    owner: str
    ttl: float = field(kw_only=True)

    def on(self, store: ConversationStore) -> str | None:
        return store.take_lease(self.conversation_id, self.owner, ttl=self.ttl)

    def sql(self) -> Op[str | None]:
        cid, owner = self.conversation_id, self.owner
        holder = ""
        for _ in range(3):  # a holder may release between our statements: look again
            # Each statement is atomic on its own (PostgreSQL re-checks an UPDATE's WHERE after
            # a concurrent writer commits; SQLite runs the whole transaction under its write
            # lock), so of two owners racing for a free lease exactly one matches. Times are
            # the database's (`NOW`), not this host's.
            taken = yield from self._update(f"(owner = ? OR expires_at <= {NOW})", (owner,))
            if taken == 1:
                return None
            inserted = yield from rowcount(
                "INSERT INTO agentkit_leases (conversation_id, owner, expires_at) "
                f"VALUES (?, ?, {NOW} + ?) ON CONFLICT (conversation_id) DO NOTHING",
                (cid, owner, self.ttl),
            )
            if inserted == 1:
                return None
            row = yield from fetch_one(_HOLDER, (cid,))
            if row is None:
                continue
            holder = str(row[0])
            if not owner_gone(holder):
                return holder
            taken = yield from self._update("owner = ?", (holder,))
            if taken == 1:
                return None
        return holder or "(unknown)"

    def _update(self, condition: str, params: tuple[object, ...]) -> Op[int]:
        """Make `owner` the holder where `condition` holds; how many rows changed (0 or 1)."""
        return rowcount(
            f"UPDATE agentkit_leases SET owner = ?, expires_at = {NOW} + ? "
            f"WHERE conversation_id = ? AND {condition}",
            (self.owner, self.ttl, self.conversation_id, *params),
        )


@dataclass(frozen=True)
class ReleaseLease(StoreOp[None]):
    """`ConversationStore.release_lease`."""

    conversation_id: str
    owner: str

    def on(self, store: ConversationStore) -> None:
        store.release_lease(self.conversation_id, self.owner)

    def sql(self) -> Op[None]:
        yield from execute(
            "DELETE FROM agentkit_leases WHERE conversation_id = ? AND owner = ?",
            (self.conversation_id, self.owner),
        )


# -- the plans -------------------------------------------------------------------------------

Plan = Generator[StoreOp[object], object, T]
"""A store method written once: yields operations, receives their results, returns `T`."""


@dataclass(frozen=True)
class Done(Generic[T]):
    """A finished plan's value."""

    value: T


def advance(plan: Plan[T], result: object) -> StoreOp[object] | Done[T]:
    """Send a plan the previous operation's result: its next operation, or its value."""
    try:
        return plan.send(result)
    except StopIteration as stop:
        return Done(stop.value)


def single(op: StoreOp[T]) -> Plan[T]:
    """The plan of one operation: perform it, return its result."""
    result = yield op
    # The drivers send back exactly what `op` produced (`op.on(store)` or its awaited twin).
    return cast(T, result)


def create_plan(conversation: Conversation) -> Plan[None]:
    """`ConversationStore.create`."""
    yield from single(Insert(conversation))
    conversation.version = len(conversation)


def commit_plan(conversation: Conversation) -> Plan[int]:
    """`ConversationStore.commit`."""
    pending = list(conversation.uncommitted)
    if pending:
        conversation.version = yield from single(
            Append(conversation.id, pending, expected_version=conversation.version)
        )
    return conversation.version


def export_json_plan(conversation_id: str) -> Plan[bytes]:
    """`ConversationStore.export_json`."""
    return dump_conversation((yield from single(Load(conversation_id))))


def export_jsonl_plan(conversation_ids: Sequence[str] | None = None) -> Plan[bytes]:
    """`ConversationStore.export_jsonl`."""
    if conversation_ids is None:
        conversation_ids = [i.id for i in (yield from single(Headers()))]
    conversations = []
    for conversation_id in conversation_ids:
        conversations.append((yield from single(Load(conversation_id))))
    return dump_jsonl(conversations)


def import_json_plan(data: bytes | str) -> Plan[Conversation]:
    """`ConversationStore.import_json`."""
    conversation = parse_conversation(data)
    yield from create_plan(conversation)
    return conversation


def import_jsonl_plan(data: bytes | str) -> Plan[list[Conversation]]:
    """`ConversationStore.import_jsonl`."""
    conversations = parse_jsonl(data)
    for conversation in conversations:
        yield from create_plan(conversation)
    return conversations
