"""The events of `messages.create(..., stream=True)`: one typed event per raw event, as the
official SDK's raw stream gives them (`event.type == "content_block_delta"`, `event.delta.text`,
`event.message.usage.input_tokens`), made of the event classes `MessageStream` uses.

`MessageStream` turns a text delta into a `TextEvent` (its `type` is `"text"`); the raw stream
keeps every delta a `ContentBlockDeltaEvent` whose `delta` is the delta's JSON. The JSON objects
of these events are `Fields`: dicts that also read by attribute.
"""

from __future__ import annotations

from typing_extensions import override

from ._accumulate import MessageAccumulator
from ._events import (
    CitationEvent,
    CompactionEvent,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    Fields,
    InputJsonEvent,
    MessageDeltaEvent,
    MessageStartEvent,
    SignatureEvent,
    StreamEvent,
    TextEvent,
    ThinkingEvent,
)

__all__ = ["RawEventAccumulator", "raw_event"]

_DELTAS = (
    TextEvent,
    ThinkingEvent,
    InputJsonEvent,
    CitationEvent,
    SignatureEvent,
    CompactionEvent,
    ContentBlockDeltaEvent,
)


def _object(raw: dict[str, object], key: str) -> Fields:
    value = raw.get(key)
    return Fields(value) if isinstance(value, dict) else Fields()


def raw_event(event: StreamEvent) -> StreamEvent:
    """The raw stream's event for a `MessageStream` event (pure).

    Every delta becomes a `ContentBlockDeltaEvent`; the start and delta events carry their
    JSON as sent (not the accumulator's live copies), as `Fields`; the stop events keep the
    finished block and message the accumulator made.
    """
    if isinstance(event, _DELTAS):
        return ContentBlockDeltaEvent(event.index, _object(event.raw, "delta"), event.raw)
    if isinstance(event, MessageStartEvent):
        return MessageStartEvent(_object(event.raw, "message"), event.raw)
    if isinstance(event, ContentBlockStartEvent):
        return ContentBlockStartEvent(event.index, _object(event.raw, "content_block"), event.raw)
    if isinstance(event, MessageDeltaEvent):
        raw = event.raw
        return MessageDeltaEvent(_object(raw, "delta"), _object(raw, "usage"), raw)
    return event


class RawEventAccumulator(MessageAccumulator):
    """A `MessageAccumulator` whose events are the raw stream's (see `raw_event`)."""

    __slots__ = ()

    @override
    def feed(self, event: dict[str, object]) -> StreamEvent | str | None:
        item = super().feed(event)
        return raw_event(item) if item is not None and not isinstance(item, str) else item
