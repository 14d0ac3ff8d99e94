"""From bytes to a message: the SSE decoder, the event core, the pure accumulator, the typed
stream events, and the `Stream` / `MessageStream` shells.
"""

from __future__ import annotations

from ._accumulate import (
    MessageAccumulator,
    accumulate,
)
from ._core import (
    EventDecoder,
)
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
)
from ._sse import (
    ServerSentEvent,
    SSEDecoder,
)
from ._streams import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    AsyncStream,
    MessageStream,
    MessageStreamManager,
    Stream,
)

__all__ = [
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncStream",
    "CitationEvent",
    "CompactionEvent",
    "ContentBlockDeltaEvent",
    "ContentBlockStartEvent",
    "ContentBlockStopEvent",
    "EventDecoder",
    "Fields",
    "InputJsonEvent",
    "MessageAccumulator",
    "MessageDeltaEvent",
    "MessageStartEvent",
    "MessageStopEvent",
    "MessageStream",
    "MessageStreamManager",
    "SSEDecoder",
    "ServerSentEvent",
    "SignatureEvent",
    "Stream",
    "StreamEvent",
    "TextEvent",
    "ThinkingEvent",
    "UnknownEvent",
    "accumulate",
]
