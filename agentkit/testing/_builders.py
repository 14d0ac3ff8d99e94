"""Builders for the scripted turns of the fake Claude: content blocks, replies and faults.

A `Reply` is what the model "says" in one turn: its content blocks in the API's own JSON shapes and
its stop reason. Fields that only the server can know (tool ids, thinking signatures, usage) are
left empty here and filled in by the fake when it serves the reply, so a script stays short and a
signature is always one the fake can verify when the client sends it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, TypedDict

from typing_extensions import Unpack

__all__ = [
    "Block",
    "Fault",
    "Reply",
    "ScriptItem",
    "compaction",
    "redacted_thinking",
    "server_tool_result",
    "server_tool_use",
    "text",
    "thinking",
    "tool_use",
    "web_search_result",
]


@dataclass(frozen=True)
class Block:
    """One content block of a scripted reply.

    Attributes:
        data: The block in the API's JSON shape. A `tool_use` / `server_tool_use` without `id`
            gets a fresh id, a `thinking` block without `signature` and a `redacted_thinking`
            block without `data` get ones signed by the fake.
        partial_json: For a tool call cut off by `max_tokens`: the input JSON text produced before
            the cut. It is streamed as `input_json_delta` fragments that never form valid JSON;
            the non-streaming form carries `input: {}`.
    """

    data: Mapping[str, object]
    partial_json: str | None = None


BlockLike: TypeAlias = "Block | Mapping[str, object] | str"


def _block(value: BlockLike) -> Block:
    if isinstance(value, Block):
        return value
    if isinstance(value, str):
        return text(value)
    return Block(dict(value))


def text(value: str, *, citations: Sequence[Mapping[str, object]] | None = None) -> Block:
    """A text block, optionally with citations (streamed as `citations_delta` events)."""
    data: dict[str, object] = {"type": "text", "text": value}
    if citations is not None:
        data["citations"] = [dict(c) for c in citations]
    return Block(data)


def tool_use(
    name: str, input: Mapping[str, object] | None = None, *, id: str | None = None
) -> Block:
    """A client tool call; the fake assigns a `toolu_...` id unless one is given."""
    data: dict[str, object] = {"type": "tool_use", "name": name, "input": dict(input or {})}
    if id is not None:
        data["id"] = id
    return Block(data)


def thinking(value: str, *, signature: str | None = None) -> Block:
    """A thinking block; the fake signs it unless a signature is given (then it is sent as is)."""
    data: dict[str, object] = {"type": "thinking", "thinking": value}
    if signature is not None:
        data["signature"] = signature
    return Block(data)


def redacted_thinking(data: str | None = None) -> Block:
    """A redacted_thinking block; by default its opaque `data` is a token signed by the fake."""
    return Block({"type": "redacted_thinking"} | ({} if data is None else {"data": data}))


def server_tool_use(
    name: str, input: Mapping[str, object] | None = None, *, id: str | None = None
) -> Block:
    """A server tool call (`web_search`, `code_execution` ...); id `srvtoolu_...` by default."""
    data: dict[str, object] = {"type": "server_tool_use", "name": name, "input": dict(input or {})}
    if id is not None:
        data["id"] = id
    return Block(data)


def web_search_result(url: str, title: str, *, page_age: str | None = None) -> dict[str, object]:
    """One `web_search_result` entry for `server_tool_result("web_search_tool_result", ...)`."""
    return {
        "type": "web_search_result",
        "title": title,
        "url": url,
        "encrypted_content": "fake-" + url.encode().hex()[:48],
        "page_age": page_age,
    }


def server_tool_result(kind: str, content: object, *, tool_use_id: str | None = None) -> Block:
    """A server tool result block such as `web_search_tool_result`.

    Args:
        kind: The block type, e.g. `"web_search_tool_result"` or `"code_execution_tool_result"`.
        content: The block's `content` in the API's shape.
        tool_use_id: The `server_tool_use` it answers; by default the latest one in the reply.
    """
    data: dict[str, object] = {"type": kind, "content": content}
    if tool_use_id is not None:
        data["tool_use_id"] = tool_use_id
    return Block(data)


def compaction(content: str | None, *, encrypted_content: str | None = None) -> Block:
    """A compaction block; later requests ignore every block before it."""
    data: dict[str, object] = {"type": "compaction", "content": content}
    if encrypted_content is not None:
        data["encrypted_content"] = encrypted_content
    return Block(data)


class _ReplyOptions(TypedDict, total=False):
    """The keyword arguments of `Reply` (see there)."""

    stop_reason: str | None
    stop_sequence: str | None
    stop_details: Mapping[str, object] | None
    model: str | None
    usage: Mapping[str, object] | None
    extra: Mapping[str, object] | None


class Reply:
    """One assistant turn of a script.

    `Reply(*blocks)` takes blocks (from the builders, raw dicts in the API's shape, or plain
    strings meaning text); the stop reason defaults to `tool_use` when a client tool is called and
    `end_turn` otherwise. The class methods build the common turns.

    Args:
        blocks: The content blocks, in order.
        stop_reason: The stop reason; inferred when omitted.
        stop_sequence: The matched stop sequence (with `stop_reason="stop_sequence"`).
        stop_details: The `stop_details` object (refusals).
        model: The model id to report; by default the request's `model`.
        usage: Usage fields that replace the fake's estimates (e.g. `{"output_tokens": 5}`).
        extra: Extra top-level message fields, e.g. `context_management` or `container`.
    """

    def __init__(
        self,
        *blocks: BlockLike,
        stop_reason: str | None = None,
        stop_sequence: str | None = None,
        stop_details: Mapping[str, object] | None = None,
        model: str | None = None,
        usage: Mapping[str, object] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        self.blocks = tuple(_block(b) for b in blocks)
        if stop_reason is None:
            calls = any(b.data.get("type") == "tool_use" for b in self.blocks)
            stop_reason = "tool_use" if calls else "end_turn"
        self.stop_reason = stop_reason
        self.stop_sequence = stop_sequence
        self.stop_details = dict(stop_details) if stop_details is not None else None
        self.model = model
        self.usage = dict(usage or {})
        self.extra = dict(extra or {})

    def __repr__(self) -> str:
        kinds = ", ".join(str(b.data.get("type")) for b in self.blocks)
        return f"Reply([{kinds}], stop_reason={self.stop_reason!r})"

    @classmethod
    def text(cls, value: str, **kwargs: Unpack[_ReplyOptions]) -> Reply:
        """A plain text answer (`end_turn`)."""
        return cls(text(value), **kwargs)

    @classmethod
    def tool_use(
        cls, name: str, input: Mapping[str, object] | None = None, *, text: str | None = None
    ) -> Reply:
        """One client tool call, optionally preceded by a text block."""
        return cls.tool_uses((name, input or {}), text=text)

    @classmethod
    def tool_uses(cls, *calls: tuple[str, Mapping[str, object]], text: str | None = None) -> Reply:
        """Parallel client tool calls, `(name, input)` each, in one assistant message."""
        lead = [] if text is None else [_block(text)]
        return cls(*lead, *(tool_use(name, args) for name, args in calls))

    @classmethod
    def pause_turn(cls, *blocks: BlockLike) -> Reply:
        """A long server-tool turn the API paused; the client sends it back to continue."""
        return cls(*blocks, stop_reason="pause_turn")

    @classmethod
    def max_tokens(cls, value: str = "", *, tool: tuple[str, str] | None = None) -> Reply:
        """A reply cut off by `max_tokens`.

        Args:
            value: The text produced before the cut (omitted when empty and `tool` is given).
            tool: `(name, partial_json)`: a tool call whose input was cut mid-JSON.
        """
        blocks: list[Block] = [text(value)] if value or tool is None else []
        if tool is not None:
            name, partial = tool
            blocks.append(Block({"type": "tool_use", "name": name, "input": {}}, partial))
        return cls(*blocks, stop_reason="max_tokens")

    @classmethod
    def stopped_by(cls, value: str, sequence: str) -> Reply:
        """Text that ended because it produced `sequence` (not included in the text)."""
        return cls(text(value), stop_reason="stop_sequence", stop_sequence=sequence)

    @classmethod
    def refusal(
        cls,
        value: str = "",
        *,
        category: str | None = "general_harms",
        explanation: str | None = "The request was declined by the fake's script.",
    ) -> Reply:
        """A refusal (`stop_reason="refusal"`) with `stop_details` as the API sends it."""
        details = {
            "type": "refusal",
            "category": category,
            "explanation": explanation,
            "recommended_model": None,
            "fallback_credit_token": None,
            "fallback_has_prefill_claim": False,
        }
        blocks = [text(value)] if value else []
        return cls(*blocks, stop_reason="refusal", stop_details=details)

    @classmethod
    def compacted(cls, summary: str, answer: str) -> Reply:
        """A compaction block with its summary, then a text answer."""
        return cls(compaction(summary), text(answer))


FaultKind = Literal["status", "stream_error", "disconnect", "slow", "batch_outcome"]


@dataclass(frozen=True)
class Fault:
    """A failure to inject, consumed from the script like a reply.

    Build one with the class methods; the fields are the plan the fake executes.
    """

    kind: FaultKind
    status: int = 200
    error_type: str = "api_error"
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    reply: Reply | None = None
    after_events: int = 3
    after_bytes: int | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    outcome: str = ""

    @classmethod
    def status_error(
        cls,
        status: int,
        error_type: str,
        message: str,
        *,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Any HTTP error in the API's error shape.

        Args:
            status: The HTTP status.
            error_type: The error's `type` (`invalid_request_error`, `conflict_error` ...).
            message: The error's `message`.
            should_retry: Sends `x-should-retry: true` / `false`; None sends no such header, so
                the client's own status rules decide (a bare 408 or 409 is retried).
            headers: More response headers.
        """
        pairs = list((headers or {}).items())
        if should_retry is not None:
            pairs.append(("x-should-retry", "true" if should_retry else "false"))
        return cls(
            "status", status=status, error_type=error_type, message=message, headers=tuple(pairs)
        )

    @classmethod
    def rate_limit(
        cls, retry_after: float | None = 1, *, retry_after_ms: float | None = None
    ) -> Fault:
        """429 `rate_limit_error` with `retry-after` (seconds) and/or `retry-after-ms`."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        message = "Number of request tokens has exceeded your per-minute rate limit (fake)."
        return cls.status_error(
            429, "rate_limit_error", message, should_retry=True, headers=headers
        )

    @classmethod
    def overloaded(cls) -> Fault:
        """529 `overloaded_error`, as the API sends under load."""
        return cls.status_error(529, "overloaded_error", "Overloaded", should_retry=True)

    @classmethod
    def server_error(cls, status: int = 500, *, should_retry: bool | None = None) -> Fault:
        """A 5xx `api_error` ("Internal server error")."""
        return cls.status_error(
            status, "api_error", "Internal server error", should_retry=should_retry
        )

    @classmethod
    def stream_error(
        cls,
        reply: Reply | None = None,
        *,
        after_events: int = 3,
        error_type: str = "overloaded_error",
        message: str = "Overloaded",
    ) -> Fault:
        """A 200 SSE stream that sends `after_events` events of `reply`, then an `error` event.

        A non-streaming request gets the error as a 529 (or 500) response instead, since a JSON
        body cannot fail half way. `reply=None` streams the test-model reply.
        """
        return cls(
            "stream_error",
            reply=reply,
            after_events=after_events,
            error_type=error_type,
            message=message,
        )

    @classmethod
    def disconnect(cls, reply: Reply | None = None, *, after_bytes: int | None = None) -> Fault:
        """Headers and part of the body, then the connection is cut (half the body by default)."""
        return cls("disconnect", reply=reply, after_bytes=after_bytes)

    @classmethod
    def slow(
        cls, reply: Reply | None = None, *, delay: float = 0.0, chunk_delay: float = 0.0
    ) -> Fault:
        """`reply`, served after `delay` seconds, with `chunk_delay` between body chunks."""
        return cls("slow", reply=reply, delay=delay, chunk_delay=chunk_delay)

    @classmethod
    def batch_outcome(cls, outcome: Literal["expired", "canceled"]) -> Fault:
        """In a message batch: that request's result is `expired` / `canceled` (direct: 500)."""
        return cls("batch_outcome", outcome=outcome)


ScriptItem: TypeAlias = "Reply | Fault | str | Callable[[dict[str, object]], Reply | Fault | str]"
"""A script step: a reply, a fault, a plain string (text reply), or a callable that receives the
request body and returns one of those."""


def as_reply(item: Reply | Fault | str) -> Reply | Fault:
    """Normalize a plain string script item to a text reply."""
    return Reply.text(item) if isinstance(item, str) else item


def input_json(value: Mapping[str, object]) -> str:
    """The tool input as the API streams it: `json.dumps` default separators, raw unicode."""
    return json.dumps(value, ensure_ascii=False)
