"""`client.messages`: create, stream and count_tokens, over the pure specs of `_messages`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import httpx
from typing_extensions import Unpack

from ...streaming._async._streams import AsyncMessageStreamManager, AsyncStream
from ...types._params import CountTokensParams, MessageCreateParams, MessageParseParams
from .._base import DEFAULT_TIMEOUT, RequestSpec
from .._messages import count_spec, create_spec, parse_message
from .._response import AsyncResponseContext, async_wrap_mode
from ._batches import AsyncBatches
from ._requester import AsyncRequester

if TYPE_CHECKING:
    from ...types._message import Message, MessageTokensCount
    from .._parse import OutputFormat, ParsedMessage

__all__ = ["AsyncMessages", "AsyncMessagesWithRawResponse"]

T = TypeVar("T")


class AsyncMessages:
    """`client.messages`: the Messages API.

    Args:
        client: The client that sends.
    """

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[MessageCreateParams]
    ) -> Message: ...

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[MessageCreateParams]
    ) -> AsyncStream: ...

    async def create(
        self, *, stream: bool = False, **params: Unpack[MessageCreateParams]
    ) -> Message | AsyncStream:
        """Send a Messages API request.

        Args:
            stream: Return an iterator of raw stream events instead of a `Message`.
            **params: Every documented request field (model, max_tokens, messages, system,
                tools, tool_choice, thinking, ...) plus request options (betas, extra_headers,
                extra_query, extra_body, timeout, max_retries).

        Returns:
            The `Message`, or a stream of raw events when `stream=True`.

        Raises:
            APIStatusError: a typed subclass for the error status, after retries.
            APIConnectionError: no response, after retries.
            ConfigurationError: a non-streaming call that may exceed ten minutes.
        """
        if stream:
            return await self._client.call(self._stream_spec(params, "messages.create()"))
        spec = create_spec(params, parse_message, stream=False, default_timeout=self._default)
        return await self._client.call(spec)

    def stream(self, **params: Unpack[MessageCreateParams]) -> AsyncMessageStreamManager:
        """Stream a request with helpers: `async with client.messages.stream(...) as stream:`.

        The stream gives `text_stream`, helper events, `current_message_snapshot`,
        `get_final_message()` and `get_final_text()`; leaving the block closes the connection.
        """
        spec = self._stream_spec(params)
        return AsyncMessageStreamManager(
            lambda: self._client.send(spec, stream=True),
            decoder_factory=self._client.event_decoder(),
        )

    async def parse(
        self, *, output_format: OutputFormat[T], **params: Unpack[MessageParseParams]
    ) -> ParsedMessage[T]:
        """`create` with a structured output: the reply is JSON matching `output_format`.

        Args:
            output_format: A type pydantic validates (a model, a TypedDict, `list[int]` ...)
                or a JSON schema; sent as `output_config.format` (made fit for structured
                outputs: objects closed, unsupported constraints moved into descriptions).
            **params: The fields and options of `create`.

        Returns:
            The message, with `parsed_output` validated from its text (a JSON schema's output
            is the decoded JSON).

        Raises:
            ValueError: the text does not validate (pydantic's `ValidationError`).
            TypeError: an unknown keyword, or a type pydantic cannot describe.
            ConfigurationError: a schema structured outputs cannot take.
        """
        from .._parse import parse_spec  # structured outputs load on first use (issue 18)

        spec = parse_spec(params, output_format, default_timeout=self._default)
        return await self._client.call(spec)

    async def count_tokens(self, **params: Unpack[CountTokensParams]) -> MessageTokensCount:
        """Count the input tokens of a request without sending it to the model."""
        return await self._client.call(count_spec(params))

    @property
    def batches(self) -> AsyncBatches:
        """`client.messages.batches`: the Message Batches API."""
        return AsyncBatches(self._client)

    @property
    def with_raw_response(self) -> AsyncMessagesWithRawResponse:
        """The same methods, returning the raw response (`.headers`, `.parse()`)."""
        return AsyncMessagesWithRawResponse(self, "raw")

    @property
    def with_streaming_response(self) -> AsyncMessagesWithRawResponse:
        """The same methods, returning the response with its body unread (use `with`)."""
        return AsyncMessagesWithRawResponse(self, "stream")

    @property
    def _default(self) -> bool:
        return self._client.timeout == DEFAULT_TIMEOUT

    def _stream_spec(
        self, params: MessageCreateParams, where: str = "messages.stream()"
    ) -> RequestSpec[AsyncStream]:
        decoder = self._client.event_decoder()

        def parse(response: httpx.Response) -> AsyncStream:
            return AsyncStream(response, decoder_factory=decoder)

        return create_spec(params, parse, stream=True, default_timeout=self._default, where=where)


class AsyncMessagesWithRawResponse:
    """`messages.with_raw_response` / `with_streaming_response`."""

    def __init__(self, messages: AsyncMessages, mode: Literal["raw", "stream"]) -> None:
        # `Any`: `create` is overloaded on `stream`, which a wrapper's signature cannot keep.
        self.create: Callable[..., AsyncResponseContext[Any]] = async_wrap_mode(
            messages.create, mode
        )
        self.count_tokens = async_wrap_mode(messages.count_tokens, mode)
        self.parse: Callable[..., AsyncResponseContext[Any]] = async_wrap_mode(messages.parse, mode)
