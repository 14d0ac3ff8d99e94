"""Read a streaming Messages response: raw events (`AsyncStream`) or the accumulated message
(`AsyncMessageStream`), as thin shells over one pure core. The sync shells are generated from
this module by `scripts/unasync`.

The core (`EventCore`, in `_core.py`) turns body bytes into events, holds back errors until the
events before them were handed on, and applies the end-of-stream rule. The shells only move
bytes from httpx to the core and translate httpx's transport errors at that one boundary (chained).

Nothing here retries. The client's retry policy covers everything up to the stream's first content
event (the client reads that far inside its retry attempt, see `EventCore.started`); after it, an
error says whether any event reached the caller (`content_delivered`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from ..._exceptions import request_id_of
from .._accumulate import MessageAccumulator
from .._core import EventCore, EventDecoder
from .._events import StreamEvent, TextEvent
from .._raw import RawEventAccumulator
from .._sse import SSEDecoder

if TYPE_CHECKING:
    from ...types._message import Message

__all__ = [
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncStream",
]

E = TypeVar("E")


class _AsyncShell(Generic[E]):
    """Moves a response's bytes through a core; iterating it yields the core's items (`E`).

    Takes the arguments of `AsyncStream`.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        decoder_factory: Callable[[], EventDecoder] = SSEDecoder,
    ) -> None:
        self.response = response
        self._core = EventCore(response, decoder_factory(), self._accumulator(response))
        self._iterator: AsyncGenerator[E, None] = self._iterate()

    def _accumulator(self, response: httpx.Response) -> MessageAccumulator | None:
        """What turns events into typed events; None hands on each event's JSON."""
        return None

    @property
    def request_id(self) -> str | None:
        """The `request-id` response header."""
        return request_id_of(self.response.headers)

    async def _iterate(self) -> AsyncGenerator[E, None]:
        core = self._core
        try:
            try:
                async for chunk in self.response.aiter_bytes():
                    for item in core.deliver(core.feed(chunk)):
                        yield item
                last = core.finish()
            except httpx.RequestError as exc:  # the one boundary for httpx's errors
                raise core.broken(exc) from exc
            for item in core.deliver(last):
                yield item
        finally:
            await self.response.aclose()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncStream(_AsyncShell[StreamEvent]):
    """The events of a streaming response, one typed event per raw event: what
    `messages.create(..., stream=True)` returns.

    Each event has the raw event's `type` and fields, objects read by attribute
    (`event.delta.text`, `event.message.usage.input_tokens`; see `Fields`), and the raw JSON in
    `.raw`. `content_block_stop` carries the finished block and `message_stop` the final message.
    `ping` events are skipped; an `error` event raises the typed `APIStatusError` for its
    `error.type`; a stream that ends before `message_stop` raises `IncompleteStreamError`.
    Single pass; iterating to the end, `close()` or leaving a `with` block releases the connection.

    Args:
        response: A 2xx streaming response, body not read yet.
        decoder_factory: Makes the decoder for the body framing (SSE by default).
    """

    def _accumulator(self, response: httpx.Response) -> MessageAccumulator:
        return RawEventAccumulator(response=response)

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterator

    async def __anext__(self) -> StreamEvent:
        return await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncStream:
        return self


class AsyncMessageStream(_AsyncShell[StreamEvent]):
    """A streaming response accumulated into a message, with typed events for UIs.

    Iterate for `StreamEvent`s (text, input_json, thinking, signature, citation, compaction, block
    and message events, each with its raw event in `.raw`), or use `text_stream`, or just
    `get_final_message()`, which reads the rest without building typed events. Takes the
    arguments of `AsyncStream`.
    """

    _acc: MessageAccumulator

    def _accumulator(self, response: httpx.Response) -> MessageAccumulator:
        self._acc = MessageAccumulator(response=response)
        return self._acc

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        self._acc.emit = True
        return self._iterator

    async def __anext__(self) -> StreamEvent:
        self._acc.emit = True
        return await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncMessageStream:
        return self

    @property
    def current_message_snapshot(self) -> Message | None:
        """The message so far (built on each access); None before `message_start`."""
        return self._acc.snapshot()

    @property
    def unparsed_tool_inputs(self) -> dict[str, str]:
        """tool_use id -> JSON text of tool inputs cut off unfinished (their `input` is `{}`)."""
        return self._acc.unparsed_tool_inputs

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """The text deltas, in order (shares the stream: each event is seen once)."""
        return self._text()

    async def _text(self) -> AsyncIterator[str]:
        # The accumulator hands over the delta's text itself, without building a typed event.
        self._acc.emit = "text"
        async for item in self._iterator:
            if isinstance(item, str):
                yield item
            elif type(item) is TextEvent:  # made before text_stream took over
                yield item.text

    async def until_done(self) -> None:
        """Read the rest of the stream (no typed events are built for it); raises as
        `get_final_message` does."""
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
        open_response: Sends the request and returns the 2xx streaming response (unread); it has
            already retried and raised typed errors for error statuses.
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

    async def __aexit__(self, *exc: object) -> None:
        if self._stream is not None:
            await self._stream.close()
