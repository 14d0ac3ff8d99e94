"""`client.messages`: create, stream and count_tokens, sync and async over one set of specs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx
from typing_extensions import Unpack

from ..types._message import APIModel, Message, MessageTokensCount
from ..types._params import CountTokensParams, MessageCreateParams
from ._base import DEFAULT_TIMEOUT, RequestSpec, check_long_request, spec_from_params
from ._response import APIResponse, AsyncResponseContext, async_wrap_mode, wrap_mode

if TYPE_CHECKING:
    from ..streaming._streams import (
        AsyncMessageStreamManager,
        AsyncStream,
        MessageStreamManager,
        Stream,
    )
    from ._batches import AsyncBatches, Batches
    from ._client import AsyncClient, Client

__all__ = ["AsyncMessages", "Messages"]


def message_params(messages: Any) -> list[Any]:
    """Messages as the API takes them; agentkit's own models become their wire JSON.

    A `Message` (an API response) becomes `{"role": "assistant", "content": [...]}` with its
    blocks exactly as received; a block model inside a content list becomes its dict.
    """
    out: list[Any] = []
    for message in messages:
        if isinstance(message, Message):
            data = message.to_dict()
            out.append({"role": data.get("role", "assistant"), "content": data["content"]})
            continue
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list) and any(isinstance(b, APIModel) for b in content):
            blocks = [b.to_dict() if isinstance(b, APIModel) else b for b in content]
            message = {**message, "content": blocks}
        out.append(message)
    return out


def _with_messages(params: Mapping[str, Any]) -> Mapping[str, Any]:
    if "messages" not in params:
        return params
    return {**params, "messages": message_params(params["messages"])}


def create_spec(
    client: Client | AsyncClient, params: Mapping[str, Any], *, stream: bool
) -> RequestSpec:
    """The request of `messages.create` (pure: no I/O)."""
    params = _with_messages(params)
    if not stream:
        check_long_request(
            int(params.get("max_tokens", 0)),
            str(params.get("model")),
            timeout_given="timeout" in params or client.timeout != DEFAULT_TIMEOUT,
        )
    spec = spec_from_params(
        "POST",
        "/v1/messages",
        params,
        parse=_stream_parser(client) if stream else _parse_message,
        stream=stream,
    )
    if stream:
        spec.body["stream"] = True
    return spec


def body_spec(
    client: Client | AsyncClient,
    body: bytes | Mapping[str, Any],
    *,
    stream: bool,
    headers: Mapping[str, str | None] | None = None,
) -> RequestSpec:
    """A `messages.create` request from a ready body (the runner's pre-encoded bytes)."""
    return RequestSpec(
        "POST",
        "/v1/messages",
        body=body,
        headers=headers or {},
        stream=stream,
        parse=_stream_parser(client) if stream else _parse_message,
    )


def _parse_message(body: Any) -> Message:
    return Message.model_validate(body)


def _stream_parser(client: Client | AsyncClient) -> Callable[[httpx.Response], Any]:
    decoder = client._stream_decoder()

    def parse(response: httpx.Response) -> Any:
        from ..streaming._streams import AsyncStream, Stream

        kwargs = {} if decoder is None else {"decoder_factory": decoder}
        if isinstance(response.stream, httpx.AsyncByteStream):
            return AsyncStream(response, **kwargs)
        return Stream(response, **kwargs)

    parse.streaming = True  # type: ignore[attr-defined]
    return parse


def count_spec(params: Mapping[str, Any]) -> RequestSpec:
    """The request of `messages.count_tokens` (pure)."""
    return spec_from_params(
        "POST",
        "/v1/messages/count_tokens",
        _with_messages(params),
        parse=MessageTokensCount.model_validate,
    )


class Messages:
    """`client.messages` on a sync `Client`."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @overload
    def create(
        self, *, stream: Literal[False] = False, **params: Unpack[MessageCreateParams]
    ) -> Message: ...

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[MessageCreateParams]) -> Stream: ...

    def create(self, *, stream: bool = False, **params: Unpack[MessageCreateParams]) -> Any:
        """Send a Messages API request.

        Args:
            stream: Return an iterator of raw stream events instead of a `Message`.
            **params: Every documented request field (model, max_tokens, messages, system,
                tools, tool_choice, thinking, ...) plus request options (betas, extra_headers,
                extra_query, extra_body, timeout, max_retries).

        Returns:
            The `Message`, or a `Stream` of raw events when `stream=True`.

        Raises:
            APIStatusError: a typed subclass for the error status, after retries.
            APIConnectionError: no response, after retries.
            ConfigurationError: a non-streaming call that may exceed ten minutes.
        """
        return self._client._call(create_spec(self._client, params, stream=stream))

    def stream(self, **params: Unpack[MessageCreateParams]) -> MessageStreamManager:
        """Stream a request with helpers: `with client.messages.stream(...) as stream:`.

        The stream gives `text_stream`, helper events, `current_message_snapshot`,
        `get_final_message()` and `get_final_text()`; leaving the block closes the connection.
        """
        from ..streaming._streams import MessageStreamManager

        spec = create_spec(self._client, params, stream=True)
        factory = self._client._stream_decoder()
        kwargs = {} if factory is None else {"decoder_factory": factory}
        return MessageStreamManager(lambda: self._client._send(spec, stream=True), **kwargs)

    def count_tokens(self, **params: Unpack[CountTokensParams]) -> MessageTokensCount:
        """Count the input tokens of a request without sending it to the model."""
        result: MessageTokensCount = self._client._call(count_spec(params))
        return result

    @property
    def batches(self) -> Batches:
        """`client.messages.batches`: the Message Batches API."""
        from ._batches import Batches

        return Batches(self._client)

    @property
    def with_raw_response(self) -> MessagesWithRawResponse:
        """The same methods, returning the raw response (`.headers`, `.parse()`)."""
        return MessagesWithRawResponse(self, "raw")

    @property
    def with_streaming_response(self) -> MessagesWithRawResponse:
        """The same methods, returning the response with its body unread (use `with`)."""
        return MessagesWithRawResponse(self, "stream")


class MessagesWithRawResponse:
    """`messages.with_raw_response` / `with_streaming_response`."""

    def __init__(self, messages: Messages, mode: Literal["raw", "stream"]) -> None:
        self.create: Callable[..., APIResponse[Any]] = wrap_mode(messages.create, mode)
        self.count_tokens = wrap_mode(messages.count_tokens, mode)


class AsyncMessages:
    """`client.messages` on an `AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @overload
    async def create(
        self, *, stream: Literal[False] = False, **params: Unpack[MessageCreateParams]
    ) -> Message: ...

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[MessageCreateParams]
    ) -> AsyncStream: ...

    async def create(self, *, stream: bool = False, **params: Unpack[MessageCreateParams]) -> Any:
        """Send a Messages API request; see `Messages.create`."""
        return await self._client._call(create_spec(self._client, params, stream=stream))

    def stream(self, **params: Unpack[MessageCreateParams]) -> AsyncMessageStreamManager:
        """Stream with helpers: `async with client.messages.stream(...) as stream:`."""
        from ..streaming._streams import AsyncMessageStreamManager

        spec = create_spec(self._client, params, stream=True)
        factory = self._client._stream_decoder()
        kwargs = {} if factory is None else {"decoder_factory": factory}
        return AsyncMessageStreamManager(lambda: self._client._send(spec, stream=True), **kwargs)

    async def count_tokens(self, **params: Unpack[CountTokensParams]) -> MessageTokensCount:
        """Count the input tokens of a request without sending it to the model."""
        result: MessageTokensCount = await self._client._call(count_spec(params))
        return result

    @property
    def batches(self) -> AsyncBatches:
        """`client.messages.batches`: the Message Batches API."""
        from ._batches import AsyncBatches

        return AsyncBatches(self._client)

    @property
    def with_raw_response(self) -> AsyncMessagesWithRawResponse:
        """The same methods, returning the raw response."""
        return AsyncMessagesWithRawResponse(self, "raw")

    @property
    def with_streaming_response(self) -> AsyncMessagesWithRawResponse:
        """The same methods, returning the response with its body unread."""
        return AsyncMessagesWithRawResponse(self, "stream")


class AsyncMessagesWithRawResponse:
    """`messages.with_raw_response` / `with_streaming_response` (async)."""

    def __init__(self, messages: AsyncMessages, mode: Literal["raw", "stream"]) -> None:
        self.create: Callable[..., AsyncResponseContext[Any]] = async_wrap_mode(
            messages.create, mode
        )
        self.count_tokens = async_wrap_mode(messages.count_tokens, mode)
