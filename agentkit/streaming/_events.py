"""The typed events a `MessageStream` yields, one per raw event of a Messages stream.

Each event keeps the raw event dict in `raw`. Snapshots are computed on access from the
accumulator's lists (captured with their length at that moment), so making an event is cheap; the
accumulator (`_accumulate.py`) is what makes them.

Each class's `type` is a `Literal`, so a type checker narrows `StreamEvent` by
`event.type == "text"` as it does by `isinstance`; the JSON objects an event carries (a
message shell, a block, a delta, usage, a citation) are `Fields`, read by key or by attribute.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic_core import ValidationError, from_json

from .._exceptions import StreamError

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from ..types._message import ContentBlock, Message

__all__ = [
    "CitationEvent",
    "CompactionEvent",
    "ContentBlockDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "Fields",
    "InputJsonEvent",
    "MessageDeltaEvent",
    "MessageStartEvent",
    "MessageStopEvent",
    "SignatureEvent",
    "StreamEvent",
    "TextEvent",
    "ThinkingEvent",
    "UnknownEvent",
    "partial_input",
]


@functools.cache
def _block_adapter() -> TypeAdapter[ContentBlock]:
    """Built on first use: building it at import cost most of the package's import time."""
    from pydantic import TypeAdapter

    from ..types._message import ContentBlock

    return TypeAdapter(ContentBlock)


class Fields(dict[str, object]):
    """A JSON object read by key or by attribute: `delta["text"]` or `delta.text`.

    A nested object comes back as `Fields` too (`event.message.usage.input_tokens`), a list
    of objects as a list of `Fields`. A field the object lacks raises `AttributeError`.
    """

    __slots__ = ()

    # `Any`, as for `json.loads`: what a field holds is known only at run time, and code written
    # for the official SDK's typed models reads nested fields by attribute.
    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(f"this {self.get('type', 'object')!r} has no {name!r}") from None
        return _fields(value)


def _fields(value: object) -> object:
    if type(value) is dict:
        return Fields(value)
    if type(value) is list:
        return [_fields(v) for v in value]
    return value


@dataclass(slots=True)
class MessageStartEvent:
    """`message_start`: the message shell (id, model, initial usage), content still empty."""

    type: ClassVar[Literal["message_start"]] = "message_start"
    message: Fields
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class ContentBlockStartEvent:
    """`content_block_start`: a block opened; server tool results arrive here complete."""

    type: ClassVar[Literal["content_block_start"]] = "content_block_start"
    index: int
    content_block: Fields
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class TextEvent:
    """A `text_delta`: `text` is the new piece, `snapshot` the block's text so far."""

    type: ClassVar[Literal["text"]] = "text"
    index: int
    text: str
    raw: dict[str, object] = field(repr=False)
    _parts: list[str] = field(repr=False, compare=False)
    _count: int = field(repr=False, compare=False)

    @property
    def snapshot(self) -> str:
        """The block's text up to and including this delta."""
        return "".join(self._parts[: self._count])


@dataclass(slots=True)
class ThinkingEvent:
    """A `thinking_delta`: `thinking` is the new piece, `snapshot` the thinking so far."""

    type: ClassVar[Literal["thinking"]] = "thinking"
    index: int
    thinking: str
    raw: dict[str, object] = field(repr=False)
    _parts: list[str] = field(repr=False, compare=False)
    _count: int = field(repr=False, compare=False)

    @property
    def snapshot(self) -> str:
        """The block's thinking up to and including this delta."""
        return "".join(self._parts[: self._count])


@dataclass(slots=True)
class InputJsonEvent:
    """An `input_json_delta`: a fragment of a tool call's JSON input."""

    type: ClassVar[Literal["input_json"]] = "input_json"
    index: int
    partial_json: str
    raw: dict[str, object] = field(repr=False)
    _parts: list[str] = field(repr=False, compare=False)
    _count: int = field(repr=False, compare=False)

    @property
    def snapshot(self) -> dict[str, object]:
        """Best-effort parse of the input so far (an unfinished trailing string is included)."""
        return partial_input("".join(self._parts[: self._count]))


@dataclass(slots=True)
class CitationEvent:
    """A `citations_delta`: one more citation for a text block."""

    type: ClassVar[Literal["citation"]] = "citation"
    index: int
    citation: Fields
    raw: dict[str, object] = field(repr=False)
    _citations: list[dict[str, object]] = field(repr=False, compare=False)
    _count: int = field(repr=False, compare=False)

    @property
    def snapshot(self) -> list[dict[str, object]]:
        """The block's citations up to and including this one."""
        return self._citations[: self._count]


@dataclass(slots=True)
class SignatureEvent:
    """A `signature_delta`: the thinking block's signature (assigned, not appended)."""

    type: ClassVar[Literal["signature"]] = "signature"
    index: int
    signature: str
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class CompactionEvent:
    """A `compaction_delta`: the compaction summary, which arrives in one piece."""

    type: ClassVar[Literal["compaction"]] = "compaction"
    index: int
    content: str | None
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class ContentBlockDeltaEvent:
    """A delta of a type this version does not know; passed on, not accumulated."""

    type: ClassVar[Literal["content_block_delta"]] = "content_block_delta"
    index: int
    delta: Fields
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class ContentBlockStopEvent:
    """`content_block_stop`: `block` is the finished block's JSON, `content_block` its model."""

    type: ClassVar[Literal["content_block_stop"]] = "content_block_stop"
    index: int
    block: dict[str, object]
    raw: dict[str, object] = field(repr=False)

    @property
    def content_block(self) -> ContentBlock:
        """The finished block, parsed (on access).

        Raises:
            StreamError: The block does not have the documented shape.
        """
        try:
            return _block_adapter().validate_python(self.block)
        except (ValidationError, TypeError, ValueError) as exc:
            # TypeError: a block `type` that is not a string (the tag lookup fails on it).
            raise StreamError(
                f"malformed content block {self.index} at its content_block_stop event: {exc}"
            ) from exc


@dataclass(slots=True)
class MessageDeltaEvent:
    """`message_delta`: stop reason and friends, and the cumulative usage."""

    type: ClassVar[Literal["message_delta"]] = "message_delta"
    delta: Fields
    usage: Fields
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class MessageStopEvent:
    """`message_stop`: the stream is complete; `message` is the final message."""

    type: ClassVar[Literal["message_stop"]] = "message_stop"
    message: Message
    raw: dict[str, object] = field(repr=False)


@dataclass(slots=True)
class UnknownEvent:
    """An event type this version does not know, passed through untouched.

    Its `type` is `"unknown"`, so that a type checker can tell it from the known events by
    `event.type` (every other class's `type` is its own literal); the event's own type is
    `event.event_type` (`raw["type"]`). Its fields read by attribute as well (`event.raw["x"]` is
    `event.x`, nested objects as `Fields`), so code that reads a newer event's fields by name
    keeps working.
    """

    type: ClassVar[Literal["unknown"]] = "unknown"
    raw: dict[str, object]

    @property
    def event_type(self) -> str:
        """The event's own `type`, as received."""
        return str(self.raw.get("type"))

    def __getattr__(self, name: str) -> Any:
        # Only called for names the class lacks (`raw` is a slot; unset only mid-copy).
        if name == "raw" or name.startswith("__"):
            raise AttributeError(name)
        try:
            value = self.raw[name]
        except KeyError:
            raise AttributeError(f"this {self.event_type!r} event has no {name!r}") from None
        return _fields(value)


StreamEvent = (
    MessageStartEvent
    | ContentBlockStartEvent
    | TextEvent
    | ThinkingEvent
    | InputJsonEvent
    | CitationEvent
    | SignatureEvent
    | CompactionEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
    | UnknownEvent
)
"""Every event a `MessageStream` yields."""


def partial_input(text: str) -> dict[str, object]:
    """Best-effort parse of a tool input still streaming ({} when nothing usable arrived yet).

    An unfinished trailing string is kept, so a UI can show an argument as it is written.
    """
    if not text:
        return {}
    try:
        value = from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
