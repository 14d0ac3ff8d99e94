"""Hold a conversation's messages exactly as sent and received, and build requests from them.

A `Conversation` is ordered and append-only. Each message is kept twice: as the JSON dict that
went over the wire and as its encoded bytes, produced once when the message enters the
conversation. A request body is spliced together from those bytes, so the cost of a turn is the
new content, not a re-serialization of the history (DESIGN "Performance by design").

Assistant messages are kept as the API returned them: thinking signatures, redacted thinking,
compaction blocks, server-tool blocks, citations and block types this code does not know yet are
never edited, reordered or dropped (invariant 1).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from pydantic_core import from_json, to_json
from typing_extensions import TypeIs

from ..types._usage import RunUsage
from ._cache import CachePolicy, count_breakpoints, mark_last_block
from ._preflight import PreflightMemo, check_request

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = [
    "Conversation",
    "Entry",
    "MessageLike",
    "extend_json_object",
    "json_array",
    "missing_tool_uses",
    "new_id",
    "pending_tool_uses",
    "tool_results_message",
]

# `Message` as a forward reference: the response models load on first use (issue 18).
MessageLike = Union[Mapping[str, object], "Message"]
"""What `Conversation.append` accepts: a message param dict, a response dict, or a `Message`."""


@dataclass(frozen=True)
class Entry:
    """One message of a conversation.

    Attributes:
        message: The message param exactly as sent or received: `{"role": ..., "content": ...}`.
            Treat it as read-only; `raw` is what requests send.
        raw: `message` encoded once, the bytes every request carries.
        meta: Everything else known about the message. For an assistant message from the API,
            `meta["response"]` is the response JSON without `role` and `content` (`id`, `model`,
            `stop_reason`, `usage`, ...).
        created_at: When the message entered the conversation (Unix seconds).
        breakpoints: `cache_control` hints in the content.
        has_compaction: The content holds a `compaction` block.
        empty_reply: An assistant message with no content (the API sends these at times).
    """

    message: dict[str, object]
    raw: bytes
    meta: dict[str, object] = field(default_factory=dict)
    created_at: float = 0.0
    breakpoints: int = 0
    has_compaction: bool = False
    empty_reply: bool = False

    @classmethod
    def of(cls, message: MessageLike, meta: Mapping[str, object] | None = None) -> Entry:
        """Make an entry from a message param, a response dict or a `Message`, encoding it once.

        A response (a dict with `"type": "message"`, or a `Message`) keeps `role` and `content`
        as the message and the rest of the response in `meta["response"]`.
        """
        # The entry's dicts are its own (the caller keeps theirs), not what they hold: a
        # response dict is only read, a param dict is copied.
        if isinstance(message, dict):
            data: Mapping[str, object] = message
        else:
            data = message.to_dict() if _is_message(message) else message
        extra = dict(meta) if meta else {}
        if data.get("type") == "message":  # a response (a `Message`'s dict carries its type)
            response = dict(data)
            own = {
                "role": response.pop("role", "assistant"),
                "content": response.pop("content", []),
            }
            extra.setdefault("response", response)
        else:
            own = dict(data)
        raw = to_json(own)
        # (`find`, not `in`: a bytes `in` tries its operand as an int first, raising inside.)
        if raw.find(b'"cache_control"') >= 0 or raw.find(b'"compaction"') >= 0:
            return cls._build(own, raw, extra, time.time())
        # Neither a breakpoint nor a compaction block: JSON we encoded would name them. (Every
        # field by position: keywords cost the generated `__init__` more, twice a turn.)
        empty = own.get("role") == "assistant" and not own.get("content")
        return cls(own, raw, extra, time.time(), 0, False, empty)

    @classmethod
    def from_raw(cls, raw: bytes, meta: Mapping[str, object] | None, created_at: float) -> Entry:
        """Rebuild an entry from stored bytes (the bytes are kept, not re-encoded)."""
        return cls._build(from_json(raw), bytes(raw), dict(meta or {}), created_at)

    @classmethod
    def _build(
        cls, message: dict[str, object], raw: bytes, meta: dict[str, object], created_at: float
    ) -> Entry:
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        return cls(
            message,
            raw,
            meta,
            created_at,
            count_breakpoints(blocks),  # breakpoints
            any(isinstance(b, dict) and b.get("type") == "compaction" for b in blocks),
            message.get("role") == "assistant" and not content,  # empty_reply
        )

    @property
    def role(self) -> str:
        """`"user"` or `"assistant"`."""
        return str(self.message.get("role"))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The content as a list of blocks (string content becomes one text block)."""
        content = self.message.get("content")
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


class Conversation:
    """An ordered, append-only list of messages with an id, metadata and usage totals.

    Forks share their prefix with the conversation they came from: a fork costs O(1), and the
    first of the two to append past the shared point extends the shared list while the other
    copies it (copy on write; entries are immutable, so sharing them is safe).

    Attributes:
        id: The conversation id (a random UUID unless given).
        metadata: Free-form JSON-serializable data (title, user id, ...).
        created_at: Creation time (Unix seconds).
        updated_at: Time of the last append (Unix seconds).
        version: How many messages a store has committed; `uncommitted` are the rest.
        usage: Token and cost totals over the API responses appended.
    """

    def __init__(
        self,
        messages: Iterable[MessageLike] = (),
        *,
        id: str | None = None,
        metadata: Mapping[str, object] | None = None,
        created_at: float | None = None,
    ) -> None:
        now = time.time()
        self.id = id or new_id()
        self.metadata: dict[str, object] = dict(metadata or {})
        self.created_at = now if created_at is None else created_at
        self.updated_at = self.created_at
        self.version = 0
        self.usage = RunUsage()
        self._log: list[Entry] = []
        self._len = 0
        # Positions of the entries with cache breakpoints or an empty reply (rare), so that a
        # request counts and skips them without walking the whole history.
        self._flagged: list[int] = []
        self._compaction_at: int | None = None
        # Preflight re-analyses only the turns added since the previous request.
        self._preflight_memo = PreflightMemo()
        for message in messages:
            self.append(message)

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[Entry],
        *,
        id: str,
        metadata: Mapping[str, object] | None = None,
        created_at: float | None = None,
        updated_at: float | None = None,
        version: int | None = None,
    ) -> Conversation:
        """Rebuild a conversation from stored entries (used by stores).

        Args:
            entries: The entries in order.
            id: The conversation id.
            metadata: Its metadata.
            created_at: Creation time.
            updated_at: Last update time.
            version: Messages committed in the store (defaults to all of them).
        """
        conversation = cls(id=id, metadata=metadata, created_at=created_at)
        for entry in entries:
            conversation._push(entry)
        conversation.updated_at = updated_at if updated_at is not None else conversation.updated_at
        conversation.version = len(conversation) if version is None else version
        return conversation

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._log[: self._len])

    def __getitem__(self, index: int) -> Entry:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("conversation index out of range")
        return self._log[index]

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r}, messages={self._len}, version={self.version})"

    @property
    def entries(self) -> Sequence[Entry]:
        """Every entry, in order."""
        return self._log[: self._len]

    @property
    def messages(self) -> list[dict[str, object]]:
        """Every message param, in order (the whole history, compacted or not)."""
        return [e.message for e in self._log[: self._len]]

    @property
    def uncommitted(self) -> Sequence[Entry]:
        """The entries appended since the last store commit."""
        return self._log[self.version : self._len]

    def request_view(self) -> Sequence[Entry]:
        """The entries a request carries.

        The API ignores every block before the latest compaction block, so requests start at
        the message holding it (the conversation itself keeps everything).
        """
        start = self._compaction_at or 0
        return self._log[start : self._len]

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        message: MessageLike,
        *,
        meta: Mapping[str, object] | None = None,
        usage: RunUsage | None = None,
    ) -> Entry:
        """Append a message, encoding it once.

        Args:
            message: A message param (`{"role", "content"}`), a response dict or a `Message`
                (its JSON is kept as received; the response fields go to `entry.meta`).
            meta: Extra data to keep with the message.
            usage: For a response with a `usage` object, that usage already priced at the
                default prices (`RunUsage().add(usage, model)`, `model` as the response names
                it), when the caller has it: the totals add it rather than price it again.

        Returns:
            The new entry.
        """
        entry = Entry.of(message, meta)
        self._push(entry, usage)
        self.updated_at = entry.created_at
        return entry

    def extend(self, messages: Iterable[MessageLike]) -> list[Entry]:
        """Append several messages in order."""
        return [self.append(m) for m in messages]

    def _push(self, entry: Entry, usage: RunUsage | None = None) -> None:
        if self._len != len(self._log):
            # Another conversation shares our list and has appended past our end: copy on write.
            self._log = self._log[: self._len]
        self._log.append(entry)
        if entry.breakpoints or entry.empty_reply:
            self._flagged.append(self._len)
        if entry.has_compaction:
            self._compaction_at = self._len
        self._len += 1
        response = entry.meta.get("response")
        if isinstance(response, dict) and isinstance(response.get("usage"), dict):
            if usage is None:
                self.usage = self.usage.add(response["usage"], str(response.get("model", "")))
            else:  # the same totals (`RunUsage.add` is that sum field by field)
                self.usage = self.usage + usage

    def discard_uncommitted(self, keep: int) -> None:
        """Drop the uncommitted messages after the first `keep` (what a failed run appended).

        Args:
            keep: How many messages stay; at least `version` (committed ones never go).

        Raises:
            ValueError: `keep` would drop a committed message or is past the end.
        """
        if not self.version <= keep <= self._len:
            raise ValueError(
                f"can keep {self.version} to {self._len} messages of conversation "
                f"{self.id!r} ({self.version} committed), not {keep}"
            )
        if keep == self._len:
            return
        kept = self.fork(keep, id=self.id)
        # The list may be shared with forks: only our length moves; the next append copies.
        self._len = keep
        self._compaction_at = kept._compaction_at
        self.usage = kept.usage
        self._preflight_memo = PreflightMemo()

    def fork(self, at: int | None = None, *, id: str | None = None) -> Conversation:
        """A new conversation holding the first `at` messages (all by default), sharing them.

        Args:
            at: How many messages to keep (negative counts from the end).
            id: The fork's id (a new random one by default).

        Returns:
            A conversation with a new id, a copy of the metadata, nothing committed.
        """
        keep = self._len if at is None else (at + self._len if at < 0 else at)
        if not 0 <= keep <= self._len:
            raise IndexError("fork point out of range")
        child = Conversation(id=id, metadata=self.metadata)
        child._log = self._log
        child._len = keep
        child._flagged = [p for p in self._flagged if p < keep]
        for index in range(keep - 1, -1, -1):
            if self._log[index].has_compaction:
                child._compaction_at = index
                break
        if keep == self._len:
            child.usage = self.usage
        else:
            for entry in self._log[:keep]:
                response = entry.meta.get("response")
                if isinstance(response, dict) and isinstance(response.get("usage"), dict):
                    child.usage = child.usage.add(response["usage"], str(response.get("model", "")))
        return child

    # -- requests ------------------------------------------------------------------------------

    def request_body(
        self,
        params: Mapping[str, object],
        *,
        cache: CachePolicy | None = None,
        check: bool = True,
        betas: Collection[str] = (),
    ) -> bytes:
        """The JSON body of the next request: `params` plus the request view's messages.

        The messages are spliced in from their cached bytes (`extend_json_object`); only
        `params` (and, in explicit cache mode, the one marked last message) are encoded now.

        Args:
            params: Every request field but `messages`: model, max_tokens, system, tools ...
            cache: Where cache breakpoints go (default: automatic top-level caching).
            check: Run preflight and raise before anything is sent.
            betas: The `anthropic-beta` values the request goes out with (for preflight).

        Returns:
            The request body, UTF-8 JSON bytes.

        Raises:
            RequestValidationError: Preflight found rules the API would reject the body for.
            ValueError: `params` contains `messages`.
        """
        if "messages" in params:
            raise ValueError("pass messages through the conversation, not in params")
        policy = cache or CachePolicy()
        start = self._compaction_at or 0
        view = self.request_view()
        in_messages = 0
        if self._flagged:  # (most conversations have no flagged entry: nothing to read then)
            flagged = [self._log[p] for p in self._flagged if p >= start]
            if any(e.empty_reply for e in flagged):
                view = _sendable(view)
            in_messages = sum(e.breakpoints for e in flagged)
        pieces = [e.raw for e in view]  # both lists are rebuilt every request
        last_message: dict[str, object] | None = None
        if view and policy.message_slot(params, in_messages):
            last_message = mark_last_block(view[-1].message, policy.control())
            if last_message is not None:
                pieces[-1] = to_json(last_message)
                in_messages += 1
        head = policy.apply(params, in_messages)
        if check:
            messages = [e.message for e in view]
            if last_message is not None:
                messages[-1] = last_message
            check_request({**head, "messages": messages}, betas=betas, memo=self._preflight_memo)
        return extend_json_object(to_json(head), {"messages": json_array(pieces)})


def _is_message(value: object) -> TypeIs[Message]:
    """Whether `value` is a `Message` model. A dict (a param or a response's JSON, the common
    case) is told apart first: the model is then neither imported nor checked against, whose
    metaclass check raises and swallows an AttributeError for anything else."""
    if isinstance(value, dict):
        return False
    from ..types._message import Message

    return isinstance(value, Message)


def new_id() -> str:
    """A new random id (a conversation's, a run's): 32 hex digits of a version-4 UUID."""
    import uuid  # with `platform`, a few milliseconds `import agentkit` need not pay (issue 18)

    return uuid.uuid4().hex


@functools.lru_cache(maxsize=64)
def _name(name: str) -> bytes:
    # Member names are a few constants ("messages", "requests"): encode each once.
    return json.dumps(name, ensure_ascii=False).encode()


def json_array(items: Iterable[bytes]) -> bytes:
    """A JSON array of already-encoded JSON values."""
    return b"".join((b"[", b",".join(items), b"]"))  # the items are copied twice, not thrice


def extend_json_object(encoded: bytes, members: Mapping[str, bytes]) -> bytes:
    """An encoded JSON object with more members, whose values are already encoded.

    This is how a request body is built without re-encoding the history: the request fields are
    encoded now and the messages, encoded once when they entered the conversation, are spliced
    in as bytes (DESIGN "Performance by design"). The batch body is built the same way.

    Args:
        encoded: A JSON object as `pydantic_core.to_json` writes it (`{...}`, no trailing space).
        members: Member names and their encoded values, added after the existing members.

    Returns:
        The object's bytes with the members added (`encoded` itself when there are none).

    Raises:
        ValueError: `encoded` is not a JSON object.
    """
    if not (encoded.startswith(b"{") and encoded.endswith(b"}")):
        raise ValueError("extend_json_object needs an encoded JSON object")
    if not members:
        return encoded
    # One join: each `+` would copy the whole body again (a request's history, every turn).
    parts = [encoded[:-1]]
    separator = b"," if encoded[1:-1].strip() else b""
    for name, value in members.items():
        parts += (separator, _name(name), b":", value)
        separator = b","
    parts.append(b"}")
    return b"".join(parts)


def _sendable(view: Sequence[Entry]) -> Sequence[Entry]:
    """The view without empty assistant messages before its end.

    The API sometimes answers with no content; the reply is kept as received, but the API
    rejects an empty message anywhere but last ("all messages must have non-empty content
    except for the optional final assistant message"), and it carries nothing.
    """
    last = len(view) - 1
    if not any(e.empty_reply for e in view[:last]):
        return view
    return [e for n, e in enumerate(view) if n == last or not e.empty_reply]


# -- resume ------------------------------------------------------------------------------------


def pending_tool_uses(conversation: Conversation) -> list[dict[str, Any]]:
    """The client `tool_use` blocks still waiting for results, in the model's order.

    They are the tool calls of the last message when it is an assistant message (a run stopped
    after the model asked for tools); otherwise none.
    """
    if not len(conversation):
        return []
    last = conversation[-1]
    if last.role != "assistant":
        return []
    return [b for b in last.blocks if b.get("type") == "tool_use"]


def missing_tool_uses(
    pending: Sequence[Mapping[str, object]], journaled: Mapping[str, object]
) -> list[Mapping[str, object]]:
    """The pending tool calls that have no journaled result yet (the ones a resume must run).

    Args:
        pending: `pending_tool_uses(conversation)`.
        journaled: Journaled `tool_result` blocks by `tool_use_id`.
    """
    return [b for b in pending if b.get("id") not in journaled]


def tool_results_message(
    pending: Sequence[Mapping[str, object]], results: Mapping[str, Mapping[str, object]]
) -> dict[str, Any]:
    """The user message answering `pending`: one `tool_result` per call, in the model's order.

    Args:
        pending: The tool calls, in order.
        results: A `tool_result` block for every call, by `tool_use_id`.

    Raises:
        KeyError: A call has no result.
    """
    return {"role": "user", "content": [dict(results[str(b.get("id"))]) for b in pending]}
