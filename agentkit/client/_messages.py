"""The requests of `client.messages` (create, stream, count_tokens), built by pure functions.

The resources that send them are `AsyncMessages` (`_async/_messages.py`) and the sync copy
generated from it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import httpx

from .._options import check_options, option_names
from ..streaming._async._streams import AsyncStream
from ..streaming._core import EventDecoder
from ..streaming._sync._streams import Stream
from ..types._params import CountTokensParams, MessageCreateParams, MessageParseParams
from ._base import (
    Body,
    RequestSpec,
    check_long_request,
    check_max_retries,
    check_timeout,
    model_parser,
    spec_from_params,
)

if TYPE_CHECKING:
    from ..types._message import Message, MessageTokensCount

__all__ = [
    "COUNT_ARGUMENTS",
    "CREATE_ARGUMENTS",
    "StreamHost",
    "check_arguments",
    "message_spec",
    "stream_spec",
    "count_spec",
    "create_spec",
    "message_params",
    "parse_message",
]


def _validate_message(data: object) -> Message:
    # The response models load on the first response, not at import (issue 18); then the
    # validator is kept, so later responses pay no import statement.
    # The schema validator itself, not `model_validate`: that wrapper's keyword handling costs
    # about a twentieth of a response's validation.
    global _message_validator
    if _message_validator is None:
        from ..types._message import Message

        Message.model_rebuild()  # defer_build: makes the validator now
        _message_validator = Message.__pydantic_validator__.validate_python
    return _message_validator(data)


_message_validator: Callable[[object], Message] | None = None


def _validate_tokens_count(data: object) -> MessageTokensCount:
    from ..types._message import MessageTokensCount

    return MessageTokensCount.model_validate(data)


parse_message = model_parser(_validate_message, keep_body=True)
"""A `parse` function for a `Message` response (keeping its body: `Message.as_received`)."""

CREATE_ARGUMENTS = option_names(MessageCreateParams)
"""The keywords of `messages.create` / `stream`: the documented request fields and options."""
COUNT_ARGUMENTS = option_names(CountTokensParams)
"""The keywords of `messages.count_tokens`."""


def check_arguments(params: Mapping[str, object], valid: frozenset[str], where: str) -> None:
    """Refuse an unknown keyword, as the SDK does (`max_token=5` is a TypeError, not a field
    for the server to reject); `extra_body` is the way to send a field agentkit does not know.

    The per-request options' values are checked too: `timeout` and `max_retries` as the
    client's, and `betas` must be a list of names (a string would be split into letters).

    Raises:
        TypeError: naming the keyword and the closest valid one; `betas` given as a string.
        ConfigurationError: a timeout or retry count out of range.
    """
    if params.keys() - valid:
        check_options(params, valid, where=where, kind="argument")
    if "timeout" in params:
        check_timeout(where, params["timeout"])
    check_max_retries(where, params.get("max_retries"))
    if isinstance(params.get("betas"), str):
        raise TypeError(f"{where}: betas must be a list of beta names, not a string")


class StreamHost(Protocol):
    """A client, as far as the stream of a Messages response needs it: the body's framing."""

    def event_decoder(self) -> Callable[[], EventDecoder]:
        """The factory of the decoder for the host's stream framing."""
        ...


def message_params(messages: Iterable[object]) -> list[object]:
    """Messages as the API takes them; agentkit's own models become their wire JSON.

    A `Message` (an API response) becomes `{"role": "assistant", "content": [...]}` with its
    blocks exactly as received; a block model inside a content list becomes its dict. A
    base64 source whose `data` is a path or an open binary file (an image, a PDF) is read and
    encoded, as the official SDK does.
    """
    from ..types._message import Message

    out: list[object] = []
    for message in messages:
        if isinstance(message, Message):
            data = message.to_dict()
            out.append({"role": data.get("role", "assistant"), "content": data["content"]})
            continue
        if isinstance(message, Mapping):
            content = message.get("content")
            if isinstance(content, list) and any(_needs_wire(b) for b in content):
                message = {**message, "content": [_wire_block(b) for b in content]}
        out.append(message)
    return out


def _needs_wire(block: object) -> bool:
    from ..types._message import APIModel

    if isinstance(block, APIModel):
        return True
    source = block.get("source") if isinstance(block, Mapping) else None
    return isinstance(source, Mapping) and _is_file(source.get("data"))


def _is_file(data: object) -> bool:
    return isinstance(data, os.PathLike) or callable(getattr(data, "read", None))


def _wire_block(block: object) -> object:
    from ..types._message import APIModel

    if isinstance(block, APIModel):
        return block.to_dict()
    if not isinstance(block, Mapping) or not _needs_wire(block):
        return block
    source = block["source"]
    data = source["data"]
    if isinstance(data, os.PathLike):
        raw = Path(data).read_bytes()
    else:
        raw = data.read()
        if not isinstance(raw, bytes):
            raise TypeError(f"a base64 source's file must be opened in binary mode: {data!r}")
    return {**block, "source": {**source, "data": base64.b64encode(raw).decode("ascii")}}


def _wire_fields(body: Body, *, stream: bool = False) -> dict[str, object]:
    fields = dict(body) if isinstance(body, Mapping) else {}
    messages = fields.get("messages")
    if isinstance(messages, Iterable):
        fields["messages"] = message_params(messages)
    if stream:
        fields["stream"] = True
    return fields


T = TypeVar("T")


def create_spec(
    params: MessageParseParams,
    parse: Callable[[httpx.Response], T],
    *,
    stream: bool,
    default_timeout: bool,
    where: str | None = None,
) -> RequestSpec[T]:
    """The request of `messages.create` / `messages.stream` (pure: no I/O).

    Args:
        params: The call's keyword arguments.
        parse: Makes the result: a `Message`, or a stream over the unread body.
        stream: Ask for an event stream.
        default_timeout: The client has its default timeout (the long-request guard's
            business: a non-streaming call that may outlast ten minutes is refused).
        where: The method called, for error messages (default: `messages.stream()` when
            streaming, else `messages.create()`).

    Raises:
        TypeError: an unknown keyword (see `check_arguments`).
    """
    where = where or ("messages.stream()" if stream else "messages.create()")
    check_arguments(params, CREATE_ARGUMENTS, where)
    output_format = params.get("output_format")
    if output_format is not None and not isinstance(output_format, Mapping):
        # The SDK's `stream(output_format=Model)` parses as it streams; here only `parse` does.
        raise TypeError(
            f"{where}: output_format={output_format!r} is not a JSON object; to have the reply "
            "validated into a type, use messages.parse(..., output_format=...)"
        )
    if not stream:
        check_long_request(
            int(params.get("max_tokens", 0)),
            str(params.get("model")),
            timeout_given="timeout" in params or not default_timeout,
        )
    spec = spec_from_params("POST", "/v1/messages", params, parse=parse, events=stream)
    return replace(spec, body=_wire_fields(spec.body, stream=stream))


def message_spec(
    body: bytes | Mapping[str, object], *, headers: Mapping[str, str | None] | None = None
) -> RequestSpec[Message]:
    """A `messages.create` request from a ready body (the runner's pre-encoded bytes)."""
    return RequestSpec("POST", "/v1/messages", body, headers=headers or {}, parse=parse_message)


def stream_spec(
    client: StreamHost,
    body: bytes | Mapping[str, object],
    *,
    headers: Mapping[str, str | None] | None = None,
) -> RequestSpec[Message | Stream | AsyncStream]:
    """A streamed `messages.create` request from a ready body.

    Its result is a `Stream` or an `AsyncStream`, whichever the client's response is.
    """
    decoder = client.event_decoder()

    def parse(response: httpx.Response) -> Message | Stream | AsyncStream:
        if isinstance(response.stream, httpx.AsyncByteStream):
            return AsyncStream(response, decoder_factory=decoder)
        return Stream(response, decoder_factory=decoder)

    return RequestSpec(
        "POST", "/v1/messages", body, headers=headers or {}, events=True, parse=parse
    )


def count_spec(params: CountTokensParams) -> RequestSpec[MessageTokensCount]:
    """The request of `messages.count_tokens` (pure).

    Raises:
        TypeError: an unknown keyword (see `check_arguments`).
    """
    check_arguments(params, COUNT_ARGUMENTS, "messages.count_tokens()")
    spec = spec_from_params(
        "POST",
        "/v1/messages/count_tokens",
        params,
        parse=model_parser(_validate_tokens_count),
    )
    return replace(spec, body=_wire_fields(spec.body))
