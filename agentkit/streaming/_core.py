"""Turn the body bytes of a streaming Messages response into events: the core of every stream.

`EventCore` runs the pluggable decoder (SSE here; Bedrock supplies an AWS event-stream decoder
yielding the same `ServerSentEvent`s), parses each event's JSON, skips `ping`, raises `error`
events as typed errors, and applies the end-of-stream rule: a stream that ends without
`message_stop` raises `IncompleteStreamError` with the partial message, never a half-finished
message passed on as complete. With a `MessageAccumulator` it turns the events into typed events.
It does no I/O; the sync and async shells in `_streaming.py` move the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic_core import from_json

from .._exceptions import APIStatusError, IncompleteStreamError, StreamError, make_status_error
from ._accumulate import MessageAccumulator
from ._sse import ServerSentEvent

if TYPE_CHECKING:
    from ..types._message import Message

__all__ = ["EventCore", "EventDecoder"]

# Event names of the Messages stream: their data must be a JSON object. Others pass through.
_KNOWN = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "error",
    }
)


class EventDecoder(Protocol):
    """What a stream needs from a decoder: bytes in, events out (`SSEDecoder` is one).

    A decoder may also offer `feed_pairs(bytes) -> list[tuple[str, bytes]]` and `flush_pairs()`,
    the (event name, data) of each event without an object per event; the streams use them when
    present (it is measurably faster on long answers).
    """

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Take the next chunk; return the events it completed."""
        ...

    def flush(self) -> list[ServerSentEvent]:
        """The body ended; return what is left."""
        ...


class _Cut(Exception):
    """Internal: the body ended inside an event (raised and caught within the core)."""


class EventCore:
    """Bytes -> events for every shell; with an accumulator, events -> typed events.

    An error found in a chunk is held back until the events before it were handed on: the shells
    pass what `feed` / `finish` returned through `deliver`, which yields those events, then raises
    the held-back error.

    Args:
        response: The streaming response (for errors: its request, status and headers).
        decoder: Bytes -> events for the body framing.
        acc: With one, events become typed events (or text, or nothing: see its `emit`); without,
            the shells get each event's parsed JSON.
    """

    __slots__ = (
        "_acc",
        "_failure",
        "_feed",
        "_flush",
        "_flushing",
        "_response",
        "_stopped",
        "delivered",
    )

    def __init__(
        self, response: httpx.Response, decoder: EventDecoder, acc: MessageAccumulator | None
    ) -> None:
        self._response = response
        # (event, data) pairs are all the core needs; SSEDecoder gives them without building
        # an object per event, other decoders' events are unpacked.
        feed_pairs = getattr(decoder, "feed_pairs", None)
        flush_pairs = getattr(decoder, "flush_pairs", None)
        if feed_pairs is not None and flush_pairs is not None:
            self._feed: Callable[[bytes], list[tuple[str, bytes]]] = feed_pairs
            self._flush: Callable[[], list[tuple[str, bytes]]] = flush_pairs
        else:
            self._feed = lambda chunk: [(e.event, e.raw) for e in decoder.feed(chunk)]
            self._flush = lambda: [(e.event, e.raw) for e in decoder.flush()]
        self._acc = acc
        self._stopped = False
        self._flushing = False
        # An error to raise, or the reason the stream is incomplete.
        self._failure: APIStatusError | StreamError | str | None = None
        # Set by `deliver` when it hands an event on (errors report it as `content_delivered`).
        self.delivered = False

    def started(self, items: list[Any]) -> bool:
        """Whether the stream got past `message_start` (`items` from `feed` / `finish` of a core
        without an accumulator: each event's JSON).

        The client reads a new stream up to its first event after `message_start` (the first
        `content_block_start`, or `message_delta` for an empty message) inside its retry
        attempt, so that a failure before any content (an `error` event such as
        `overloaded_error` after `message_start` and a `ping`, a cut connection, a timeout) goes
        through the retry policy like an error status would: nothing reached the caller yet.

        Raises:
            APIStatusError: The stream sent an `error` event before any content.
            StreamError: The stream failed before any content (`IncompleteStreamError` when it
                ended); `content_delivered` is False.
        """
        if any(item.get("type") != "message_start" for item in items):
            return True
        if self._failure is not None:
            raise self.failure()
        return False

    def feed(self, chunk: bytes) -> list[Any]:
        """The events completed by this chunk (up to the first error, if any)."""
        return self._events(self._feed(chunk))

    def finish(self) -> list[Any]:
        """The body ended cleanly: the last events (`deliver` raises if the message never ended)."""
        self._flushing = True
        out = self._events(self._flush())
        if self._failure is None and not (
            self._acc.done if self._acc is not None else self._stopped
        ):
            self._failure = "the stream ended before message_stop"
        return out

    def deliver(self, items: list[Any]) -> Iterator[Any]:
        """Hand on the events `feed` or `finish` returned, then raise the error held back, if any.

        Raises:
            APIStatusError: The stream sent an `error` event.
            StreamError: The stream broke the protocol, or ended before `message_stop`
                (`IncompleteStreamError`).
        """
        if items:
            self.delivered = True
            yield from items
        if self._failure is not None:
            raise self.failure()

    def failure(self) -> Exception:
        """The error held back, to raise now that the events before it were handed on."""
        failure = self._failure
        if failure is None:
            raise RuntimeError("failure() called on a stream that has not failed")
        if isinstance(failure, str):
            return self._incomplete(failure)
        if isinstance(failure, StreamError | APIStatusError):
            failure.content_delivered = self.delivered
        return failure

    def broken(self, exc: Exception) -> IncompleteStreamError:
        """The error for a transport failure while reading (the caller chains `exc`)."""
        return self._incomplete(f"the connection broke before message_stop ({exc!r})")

    def _events(self, pairs: list[tuple[str, bytes]]) -> list[Any]:
        out: list[Any] = []
        feed = self._acc.feed if self._acc is not None else None
        try:
            for name, raw in pairs:
                if name == "ping":
                    continue
                try:
                    data = from_json(raw)
                except ValueError:
                    data = self._not_json(name, raw)
                if type(data) is not dict:
                    data = self._not_object(name, raw, data)
                if feed is not None:
                    event = feed(data)  # the accumulator checks order and raises error events
                    if event is not None:
                        out.append(event)
                    continue
                kind = data.get("type")
                if kind == "message_stop":
                    self._stopped = True
                elif kind == "error":
                    raise make_status_error(self._response, data)
                out.append(data)
        except (APIStatusError, StreamError) as exc:
            self._failure = exc
        except _Cut as cut:
            self._failure = str(cut)
        return out

    def _not_json(self, name: str, raw: bytes) -> str:
        if self._flushing:
            # The body ended in the middle of the last line: the connection was cut.
            raise _Cut(f"the stream ended inside an event: {raw[:200]!r}")
        if name in _KNOWN:
            raise StreamError(
                f"the data of a {name!r} event is not JSON: {raw[:200]!r}",
                request=_request_of(self._response),
                partial_message=self._partial(),
            )
        return raw.decode("utf-8", "replace")

    def _not_object(self, name: str, raw: bytes, data: object) -> dict[str, object]:
        if name in _KNOWN:
            raise StreamError(
                f"the data of a {name!r} event is not a JSON object: {raw[:200]!r}",
                request=_request_of(self._response),
                partial_message=self._partial(),
            )
        # An event this version does not know, with non-object data: passed on, wrapped.
        return {"type": name, "data": data}

    def _partial(self) -> Message | None:
        return self._acc.snapshot() if self._acc is not None else None

    def _incomplete(self, what: str) -> IncompleteStreamError:
        if self.delivered:
            why = "events were already delivered, so the request was not retried"
        else:
            why = "no event had been delivered"
        return IncompleteStreamError(
            f"{what}; {why}",
            request=_request_of(self._response),
            partial_message=self._partial(),
            content_delivered=self.delivered,
        )


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built by hand has no request
        return None
