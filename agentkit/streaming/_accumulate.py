"""Fold the events of a Messages stream into the final message, and into typed events for UIs.

The typed events themselves are defined in `_stream_events.py`; this module makes them.

Pure: `MessageAccumulator.feed(event)` takes each event's parsed JSON in order and returns one
typed event (or None when `emit` is off); `message()` builds the final `Message` once the stream
sent `message_stop`. The final message equals, as data, what the non-streaming call returns for
the same content: blocks start as the API's own `content_block_start` JSON, deltas fill them,
`message_delta` fields are copied over, and the result is parsed once with `Message.model_validate`
(so unknown blocks and fields survive).

Deltas are kept in lists and joined once when a block stops, so a long answer costs linear time.
A tool input is parsed once, when its block stops; the best-effort partial input of a block still
streaming is parsed only when someone asks for it (`InputJsonEvent.snapshot`).

A tool input cut off before its JSON was complete (the API stops with `max_tokens` in the middle
of a `tool_use`; the block gets no `content_block_stop`) is represented as `input: {}` -- an input
the API accepts when the turn is sent back, and never the model's half-written arguments -- and its
raw text is kept in `unparsed_tool_inputs` (tool_use id -> JSON text). The stop reason then says
why (`max_tokens`), and the runner never executes a call from such a turn. If the stop reason is
`tool_use` the stream is broken and `StreamError` is raised instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import httpx
from pydantic_core import ValidationError, from_json

from .._exceptions import StreamError, make_status_error, request_id_of
from ..types._private import set_private
from ._events import (
    CitationEvent,
    CompactionEvent,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    Fields,
    InputJsonEvent,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    SignatureEvent,
    StreamEvent,
    TextEvent,
    ThinkingEvent,
    UnknownEvent,
    partial_input,
)

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = ["MessageAccumulator", "accumulate"]

# Stop reasons after which an incomplete tool input is an expected cut-off, not a broken stream.
_CALL_STOP_REASONS = frozenset({"tool_use"})


class _Open:
    """The growing parts of one open block; lists are created on the first delta of each kind."""

    __slots__ = ("block", "citations", "json", "text", "thinking")

    def __init__(self, block: dict[str, object]) -> None:
        self.block = block
        self.text: list[str] | None = None
        self.thinking: list[str] | None = None
        self.json: list[str] | None = None
        self.citations: list[dict[str, object]] | None = None


class MessageAccumulator:
    """Events in, the final `Message` out; optionally a typed event per raw event.

    Args:
        emit: What `feed` returns: True, a typed event per event; False, nothing (for raw speed);
            `"text"`, only the text of each text delta, as a plain string (for `text_stream`).
        response: The HTTP response the events came in, used for the request id of errors.

    Attributes:
        emit: What `feed` returns (see Args); may be switched at any time.
        unparsed_tool_inputs: tool_use id -> raw JSON text of inputs cut off before they were
            complete (their block's `input` is `{}`; see the module docstring).
    """

    __slots__ = (
        "_blocks",
        "_final",
        "_message",
        "_open",
        "_response",
        "_stopped",
        "emit",
        "unparsed_tool_inputs",
    )

    def __init__(
        self, *, emit: bool | Literal["text"] = True, response: httpx.Response | None = None
    ) -> None:
        self.emit = emit
        self._response = response
        self._message: dict[str, object] | None = None
        self._blocks: list[dict[str, object]] = []
        self._open: dict[int, _Open] = {}
        self._stopped = False
        self._final: Message | None = None
        self.unparsed_tool_inputs: dict[str, str] = {}

    @property
    def started(self) -> bool:
        """True once `message_start` arrived."""
        return self._message is not None

    @property
    def done(self) -> bool:
        """True once `message_stop` arrived: the message is complete."""
        return self._stopped

    def feed(self, event: dict[str, object]) -> StreamEvent | str | None:
        """Take the next event (the parsed JSON of one SSE `data`).

        Returns:
            The typed event for it; None when `emit` is False; with `emit="text"`, the text of a
            text delta and None for anything else.

        Raises:
            TypeError: `event` is not a dict.
            StreamError: The event breaks the protocol (out of order, unknown block index,
                tool input that is not JSON, a field missing or of the wrong JSON type).
            APIStatusError: The event is an `error` event; the subclass follows `error.type`,
                and `partial_message` holds the message so far.
        """
        try:
            kind = event["type"]
            # Ordered by frequency: deltas are nearly every event of a long answer, and most of
            # them are text, handled right here (subscripts, not .get: a missing key is a
            # malformed event, reported below).
            if kind == "content_block_delta":
                index = event["index"]
                if type(index) is not int or (state := self._open.get(index)) is None:
                    raise self._order(event, f"a delta for block {index!r}, which is not open")
                delta = event["delta"]
                if type(delta) is not dict:
                    raise TypeError(f"the delta is not an object: {delta!r}")
                if delta["type"] == "text_delta":
                    text = delta["text"]
                    if type(text) is not str:
                        raise TypeError(f"the text is not a string: {text!r}")
                    parts = state.text
                    if parts is None:
                        parts = state.text = [_str(state.block.get("text") or "")]
                    parts.append(text)
                    emit = self.emit
                    if emit is True:
                        return TextEvent(index, text, event, parts, len(parts))
                    return text if emit else None  # "text" mode: the delta's text itself
                return self._delta(index, state, delta, event)
            if kind == "content_block_start":
                return self._block_start(event)
            if kind == "content_block_stop":
                return self._block_stop(event)
            if kind == "message_delta":
                return self._message_delta(event)
            if kind == "message_start":
                return self._message_start(event)
            if kind == "message_stop":
                return self._message_stop(event)
        except (KeyError, TypeError, AttributeError) as exc:
            if type(event) is not dict:  # checked only here, off the hot path
                raise TypeError(
                    "MessageAccumulator.feed() takes an event's parsed JSON as a dict, "
                    f"not {type(event).__name__}"
                ) from None
            # A field the protocol promises is missing or has the wrong type.
            raise StreamError(
                f"malformed {event.get('type')!r} event ({exc!r}): {str(event)[:200]}",
                request=self._request(),
                partial_message=self.snapshot(),
            ) from exc
        if kind == "error":
            raise make_status_error(
                self._response or httpx.Response(200), event, partial_message=self.snapshot()
            )
        return UnknownEvent(event) if self.emit is True else None

    def _delta(
        self, index: int, state: _Open, delta: dict[str, object], event: dict[str, object]
    ) -> StreamEvent | None:
        # A field of the wrong type is a TypeError, which `feed` reports as a malformed event.
        kind = delta["type"]
        if kind == "input_json_delta":
            piece = _str(delta["partial_json"])
            parts = state.json
            if parts is None:
                parts = state.json = []
            parts.append(piece)
            return (
                InputJsonEvent(index, piece, event, parts, len(parts))
                if self.emit is True
                else None
            )
        if kind == "thinking_delta":
            text = _str(delta["thinking"])
            parts = state.thinking
            if parts is None:
                parts = state.thinking = [_str(state.block.get("thinking") or "")]
            parts.append(text)
            return (
                ThinkingEvent(index, text, event, parts, len(parts)) if self.emit is True else None
            )
        if kind == "citations_delta":
            citation = delta["citation"]
            if type(citation) is not dict:
                raise TypeError(f"the citation is not an object: {citation!r}")
            cites = state.citations
            if cites is None:
                cites = state.citations = _objects(state.block.get("citations"))
            cites.append(citation)
            return (
                CitationEvent(index, Fields(citation), event, cites, len(cites))
                if self.emit is True
                else None
            )
        if kind == "signature_delta":
            signature = state.block["signature"] = _str(delta["signature"])
            return SignatureEvent(index, signature, event) if self.emit is True else None
        if kind == "compaction_delta":
            # The whole summary comes in one delta: every field is assigned.
            state.block.update((k, v) for k, v in delta.items() if k != "type")
            content = delta.get("content")
            if content is not None:
                content = _str(content)
            return CompactionEvent(index, content, event) if self.emit is True else None
        return ContentBlockDeltaEvent(index, Fields(delta), event) if self.emit is True else None

    def _block_start(self, event: dict[str, object]) -> StreamEvent | None:
        index = event.get("index")
        if self._message is None or self._stopped:
            raise self._order(event, "content_block_start outside a message")
        if type(index) is not int or index != len(self._blocks):
            raise self._order(event, f"block {index!r} started, expected {len(self._blocks)}")
        block = _object(event["content_block"])
        self._blocks.append(block)
        self._open[index] = _Open(block)
        return ContentBlockStartEvent(index, Fields(block), event) if self.emit is True else None

    def _block_stop(self, event: dict[str, object]) -> StreamEvent | None:
        index = event.get("index")
        state = self._open.pop(index, None) if type(index) is int else None
        if state is None or type(index) is not int:
            raise self._order(event, f"content_block_stop for block {index!r}, which is not open")
        block = self._close(index, state, strict=True)
        return ContentBlockStopEvent(index, block, event) if self.emit is True else None

    def _message_start(self, event: dict[str, object]) -> StreamEvent | None:
        if self._message is not None:
            raise self._order(event, "a second message_start")
        message = _object(event["message"])
        message["usage"] = _object(message.get("usage") or {})
        self._blocks = [_object(block) for block in _objects(message.get("content"))]
        message["content"] = self._blocks
        self._message = message
        return MessageStartEvent(Fields(message), event) if self.emit is True else None

    def _message_delta(self, event: dict[str, object]) -> StreamEvent | None:
        message = self._message
        if message is None or self._stopped:
            raise self._order(event, "message_delta outside a message")
        delta = _object(event.get("delta") or {}, copy=False)
        message.update(delta)
        usage = _object(event.get("usage") or {}, copy=False)
        # Usage in message_delta is cumulative: overwrite. A null there means "not reported
        # here", so it does not erase a value from message_start.
        totals = _object(message["usage"], copy=False)
        for key, value in usage.items():
            if value is not None or key not in totals:
                totals[key] = value
        for key, value in event.items():
            if key not in ("type", "delta", "usage"):
                message[key] = value  # context_management and any later top-level field
        return MessageDeltaEvent(Fields(delta), Fields(usage), event) if self.emit is True else None

    def _message_stop(self, event: dict[str, object]) -> StreamEvent | None:
        if self._message is None or self._stopped:
            raise self._order(event, "message_stop outside a message")
        # A block still open here was cut off (max_tokens mid tool call sends no block stop).
        for index, state in self._open.items():
            self._close(index, state, strict=False)
        self._open.clear()
        self._stopped = True
        return MessageStopEvent(self.message(), event) if self.emit is True else None

    def _close(self, index: int, state: _Open, *, strict: bool) -> dict[str, object]:
        block = state.block
        if state.text is not None:
            block["text"] = "".join(state.text)
        if state.thinking is not None:
            block["thinking"] = "".join(state.thinking)
        if state.citations is not None:
            block["citations"] = state.citations
        if state.json is not None:
            text = "".join(state.json)
            if text:
                try:
                    block["input"] = from_json(text)
                except ValueError as exc:
                    if strict:
                        raise StreamError(
                            f"tool input of block {index} is not valid JSON: {text[:200]!r}",
                            request=self._request(),
                            partial_message=self.snapshot(),
                        ) from exc
                    block["input"] = {}
                    self.unparsed_tool_inputs[str(block.get("id"))] = text
        return block

    def message(self) -> Message:
        """The final message.

        Raises:
            StreamError: `message_stop` has not arrived, or a cut-off tool input claims to be a
                call (stop reason `tool_use`), or the message does not have the documented shape.
        """
        if self._final is not None:
            return self._final
        if not self._stopped or self._message is None:
            raise StreamError(
                "the stream has not sent message_stop; the message is incomplete",
                request=self._request(),
                partial_message=self.snapshot(),
            )
        stop = self._message.get("stop_reason")
        if self.unparsed_tool_inputs and type(stop) is str and stop in _CALL_STOP_REASONS:
            raise StreamError(
                "stop_reason is tool_use but a tool input was cut off: "
                f"{sorted(self.unparsed_tool_inputs)}",
                request=self._request(),
                partial_message=self._validate(self._message),
            )
        self._final = self._validate(self._message)
        return self._final

    def snapshot(self) -> Message | None:
        """The message so far (None before `message_start`); open blocks show their parts so far.

        Building it costs the size of the message; it is meant for UIs and error reports, not for
        every event. None as well when the data so far does not make a valid message (a snapshot
        is attached to errors, and must never hide the real one).
        """
        if self._message is None:
            return None
        if self._final is not None:
            return self._final
        content = []
        for block in self._blocks:
            state = next((s for s in self._open.values() if s.block is block), None)
            content.append(block if state is None else _preview(state))
        try:
            return self._validate({**self._message, "content": content})
        except StreamError:
            return None

    def _validate(self, message: dict[str, object]) -> Message:
        from ..types._message import Message  # loaded on first use (issue 18)

        try:
            parsed = Message.model_validate(message)
        except (ValidationError, TypeError, ValueError) as exc:
            # TypeError: a block `type` that is not a string (the tag lookup fails on it).
            raise StreamError(
                f"the streamed message does not have the documented shape: {exc}",
                request=self._request(),
            ) from exc
        if self._response is not None:
            set_private(parsed, "_request_id", request_id_of(self._response.headers))
        return parsed

    def _order(self, event: dict[str, object], what: str) -> StreamError:
        return StreamError(
            f"stream events out of order: {what} (event {event.get('type')!r})",
            request=self._request(),
            partial_message=self.snapshot(),
        )

    def _request(self) -> httpx.Request | None:
        if self._response is None:
            return None
        try:
            return self._response.request
        except RuntimeError:
            return None


def _preview(state: _Open) -> dict[str, object]:
    """A copy of an open block with its parts so far (partial tool input best-effort)."""
    block = dict(state.block)
    if state.text is not None:
        block["text"] = "".join(state.text)
    if state.thinking is not None:
        block["thinking"] = "".join(state.thinking)
    if state.citations is not None:
        block["citations"] = list(state.citations)
    if state.json is not None:
        block["input"] = partial_input("".join(state.json))
    return block


def accumulate(events: Iterable[dict[str, object]]) -> Message:
    """Fold an iterable of event dicts into the final message (no typed events built).

    Raises:
        TypeError: An event is not a dict.
        StreamError: The events break the protocol or end before `message_stop`.
        APIStatusError: An `error` event.
    """
    acc = MessageAccumulator(emit=False)
    for event in events:
        acc.feed(event)
    return acc.message()


# Narrowing for the fields read above: a field of the wrong type raises TypeError, which `feed`
# reports as a malformed event. `type(x) is ...` is the cheapest check, and JSON gives exact types.


def _str(value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}"[:200])
    return value


def _object(value: object, *, copy: bool = True) -> dict[str, object]:
    if type(value) is not dict:
        raise TypeError(f"expected an object, got {value!r}"[:200])
    return dict(value) if copy else value


def _objects(value: object) -> list[dict[str, object]]:
    """A list of objects (None or a missing list is empty)."""
    if value is None:
        return []
    if type(value) is not list or any(type(v) is not dict for v in value):
        raise TypeError(f"expected a list of objects, got {value!r}"[:200])
    return list(value)
