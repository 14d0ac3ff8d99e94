"""Read a streaming Messages response: raw events (`Stream`) or the accumulated message
(`MessageStream`), sync and async, as thin shells over one pure core.

The core (`_EventCore`) turns body bytes into events: the pluggable decoder (SSE here; Bedrock
supplies an AWS event-stream decoder yielding the same `ServerSentEvent`s), JSON parsing, `ping`
skipping, `error` events raised as typed errors, and the end-of-stream rule: a stream that ends
without `message_stop` raises `IncompleteStreamError` with the partial message, never a
half-finished message passed on as complete. The shells only move bytes from httpx to the core and
translate httpx's transport errors at that one boundary (chained).

Nothing here retries. The client's retry policy covers everything up to the 2xx response; once
events flowed, an error says whether any reached the caller (`content_delivered`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Protocol

import httpx
from pydantic_core import from_json

from ._accumulate import MessageAccumulator, StreamEvent, TextEvent
from ._exceptions import (
    APIStatusError,
    IncompleteStreamError,
    StreamError,
    make_status_error,
    request_id_of,
)
from ._models import Message
from ._sse import ServerSentEvent, SSEDecoder

__all__ = [
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncStream",
    "EventDecoder",
    "MessageStream",
    "MessageStreamManager",
    "Stream",
]

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


class _EventCore:
    """Bytes -> events for every shell; with an accumulator, events -> typed events.

    An error found in a chunk is held back until the events before it were handed on: the shells
    yield what `feed` returned, then raise `failure()`.
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
        # Set by the shells when they hand an event to the caller.
        self.delivered = False

    @property
    def failed(self) -> bool:
        """True when `failure()` has an error to raise."""
        return self._failure is not None

    def feed(self, chunk: bytes) -> list[Any]:
        """The events completed by this chunk (up to the first error, if any)."""
        return self._events(self._feed(chunk))

    def finish(self) -> list[Any]:
        """The body ended cleanly: the last events; `failed` if the message never finished."""
        self._flushing = True
        out = self._events(self._flush())
        if self._failure is None and not (
            self._acc.done if self._acc is not None else self._stopped
        ):
            self._failure = "the stream ended before message_stop"
        return out

    def failure(self) -> Exception:
        """The error held back, to raise now that the events before it were handed on."""
        failure = self._failure
        if failure is None:
            raise RuntimeError("failure() called on a stream that has not failed")
        if isinstance(failure, str):
            return self._incomplete(failure)
        if isinstance(failure, StreamError):
            failure.content_delivered = self.delivered
        return failure

    def broken(self, exc: Exception) -> IncompleteStreamError:
        """The error for a transport failure while reading (the caller chains `exc`)."""
        return self._incomplete(f"the connection broke before message_stop ({exc!r})")

    def _events(self, pairs: list[tuple[str, bytes]]) -> list[Any]:
        out: list[Any] = []
        acc = self._acc
        try:
            if acc is not None:
                feed = acc.feed
                for name, raw in pairs:
                    if name == "ping":
                        continue
                    try:
                        data = from_json(raw)
                    except ValueError:
                        data = self._not_json(name, raw)
                    if type(data) is not dict:
                        data = self._not_object(name, raw, data)
                    event = feed(data)
                    if event is not None:
                        out.append(event)
                return out
            for name, raw in pairs:
                if name == "ping":
                    continue
                try:
                    data = from_json(raw)
                except ValueError:
                    data = self._not_json(name, raw)
                if type(data) is not dict:
                    data = self._not_object(name, raw, data)
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

    def _not_json(self, name: str, raw: bytes) -> Any:
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

    def _not_object(self, name: str, raw: bytes, data: Any) -> dict[str, Any]:
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


# --- what every shell shares ------------------------------------------------------------------


class _Shell:
    response: httpx.Response

    @property
    def request_id(self) -> str | None:
        """The `request-id` response header."""
        request_id: str | None = request_id_of(self.response.headers)
        return request_id


class _Accumulated:
    _acc: MessageAccumulator

    @property
    def current_message_snapshot(self) -> Message | None:
        """The message so far (built on each access); None before `message_start`."""
        return self._acc.snapshot()

    @property
    def unparsed_tool_inputs(self) -> dict[str, str]:
        """tool_use id -> JSON text of tool inputs cut off unfinished (their `input` is `{}`)."""
        return self._acc.unparsed_tool_inputs


# --- sync shells -------------------------------------------------------------------------------


class _SyncShell(_Shell):
    def __init__(self, response: httpx.Response, core: _EventCore) -> None:
        self.response = response
        self._core = core
        self._iterator = self._iterate()

    def _iterate(self) -> Generator[Any, None, None]:
        core = self._core
        try:
            try:
                for chunk in self.response.iter_bytes():
                    items = core.feed(chunk)
                    if items:
                        core.delivered = True
                        yield from items
                    if core.failed:
                        raise core.failure()
                last = core.finish()
            except httpx.RequestError as exc:  # the one boundary for httpx's errors
                raise core.broken(exc) from exc
            if last:
                core.delivered = True
            yield from last
            if core.failed:
                raise core.failure()
        finally:
            self.response.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        self.response.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Stream(_SyncShell):
    """The raw events of a streaming response, as dicts (the parsed JSON of each event).

    `ping` events are skipped; an `error` event raises the typed `APIStatusError` for its
    `error.type`; a stream that ends before `message_stop` raises `IncompleteStreamError`.
    Single pass; iterating to the end, `close()` or leaving a `with` block releases the connection.

    Args:
        response: A 2xx streaming response, body not read yet.
        decoder_factory: Makes the decoder for the body framing (SSE by default).
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        super().__init__(response, _EventCore(response, decoder_factory(), None))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._iterator

    def __next__(self) -> dict[str, Any]:
        return next(self._iterator)

    def __enter__(self) -> Stream:
        return self


class MessageStream(_SyncShell, _Accumulated):
    """A streaming response accumulated into a message, with typed events for UIs.

    Iterate for `StreamEvent`s (text, input_json, thinking, signature, citation, compaction, block
    and message events, each with its raw event in `.raw`), or use `text_stream`, or just
    `get_final_message()`, which reads the rest without building typed events.

    Args:
        response: A 2xx streaming response, body not read yet.
        decoder_factory: Makes the decoder for the body framing (SSE by default).
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        self._acc = MessageAccumulator(response=response)
        super().__init__(response, _EventCore(response, decoder_factory(), self._acc))

    def __iter__(self) -> Iterator[StreamEvent]:
        return self._iterator

    def __next__(self) -> StreamEvent:
        return next(self._iterator)  # type: ignore[no-any-return]

    def __enter__(self) -> MessageStream:
        return self

    @property
    def text_stream(self) -> Iterator[str]:
        """The text deltas, in order (shares the stream: each event is seen once)."""
        return (event.text for event in self._iterator if type(event) is TextEvent)

    def until_done(self) -> None:
        """Read the rest of the stream (no typed events are built for it).

        Raises:
            IncompleteStreamError: The stream ended or broke before `message_stop`.
            APIStatusError: The stream sent an `error` event.
        """
        self._acc.emit = False
        try:
            for _ in self._iterator:
                pass
        finally:
            self._acc.emit = True

    def get_final_message(self) -> Message:
        """Read the rest of the stream and return the complete message.

        Raises:
            IncompleteStreamError: The stream ended or broke before `message_stop`.
            APIStatusError: The stream sent an `error` event.
        """
        self.until_done()
        return self._acc.message()

    def get_final_text(self) -> str:
        """The final message's text blocks joined ("" when it has none)."""
        return self.get_final_message().text


class MessageStreamManager:
    """`with manager as stream:` opens the response on entry and closes it on exit.

    Args:
        open_response: Sends the request and returns the 2xx streaming response (unread); it has
            already retried and raised typed errors for error statuses.
        decoder_factory: Makes the decoder for the body framing (SSE by default).
    """

    def __init__(
        self,
        open_response: Callable[[], httpx.Response],
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        self._open = open_response
        self._decoder_factory = decoder_factory
        self._stream: MessageStream | None = None

    def __enter__(self) -> MessageStream:
        self._stream = MessageStream(self._open(), decoder_factory=self._decoder_factory)
        return self._stream

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            self._stream.close()


# --- async shells ------------------------------------------------------------------------------


class _AsyncShell(_Shell):
    def __init__(self, response: httpx.Response, core: _EventCore) -> None:
        self.response = response
        self._core = core
        self._iterator = self._iterate()

    async def _iterate(self) -> AsyncGenerator[Any, None]:
        core = self._core
        try:
            try:
                async for chunk in self.response.aiter_bytes():
                    items = core.feed(chunk)
                    if items:
                        core.delivered = True
                        for item in items:
                            yield item
                    if core.failed:
                        raise core.failure()
                last = core.finish()
            except httpx.RequestError as exc:  # the one boundary for httpx's errors
                raise core.broken(exc) from exc
            if last:
                core.delivered = True
            for item in last:
                yield item
            if core.failed:
                raise core.failure()
        finally:
            await self.response.aclose()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class AsyncStream(_AsyncShell):
    """`Stream` for async code: `async for event in stream`."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        super().__init__(response, _EventCore(response, decoder_factory(), None))

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterator

    async def __anext__(self) -> dict[str, Any]:
        return await self._iterator.__anext__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> AsyncStream:
        return self


class AsyncMessageStream(_AsyncShell, _Accumulated):
    """`MessageStream` for async code: `async for event in stream`, `await get_final_message()`."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        self._acc = MessageAccumulator(response=response)
        super().__init__(response, _EventCore(response, decoder_factory(), self._acc))

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        self._acc.emit = True
        return self._iterator

    async def __anext__(self) -> StreamEvent:
        self._acc.emit = True
        return await self._iterator.__anext__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The text deltas, in order (shares the stream, like `MessageStream.text_stream`)."""
        return self._text()

    async def _text(self) -> AsyncIterator[str]:
        self._acc.emit = "text"
        async for item in self._iterator:
            if type(item) is str:
                yield item
            elif type(item) is TextEvent:  # made before text_stream took over
                yield item.text

    async def until_done(self) -> None:
        """Read the rest of the stream (no typed events are built for it)."""
        self._acc.emit = False
        try:
            async for _ in self._iterator:
                pass
        finally:
            self._acc.emit = True

    async def get_final_message(self) -> Message:
        """Read the rest of the stream and return the complete message.

        Raises:
            IncompleteStreamError: The stream ended or broke before `message_stop`.
            APIStatusError: The stream sent an `error` event.
        """
        await self.until_done()
        return self._acc.message()

    async def get_final_text(self) -> str:
        """The final message's text blocks joined ("" when it has none)."""
        return (await self.get_final_message()).text


class AsyncMessageStreamManager:
    """`async with manager as stream:` opens the response on entry and closes it on exit.

    Args:
        open_response: Sends the request and returns the 2xx streaming response (unread).
        decoder_factory: Makes the decoder for the body framing (SSE by default).
    """

    def __init__(
        self,
        open_response: Callable[[], Awaitable[httpx.Response]],
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        self._open = open_response
        self._decoder_factory = decoder_factory
        self._stream: AsyncMessageStream | None = None

    async def __aenter__(self) -> AsyncMessageStream:
        response = await self._open()
        self._stream = AsyncMessageStream(response, decoder_factory=self._decoder_factory)
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.close()
