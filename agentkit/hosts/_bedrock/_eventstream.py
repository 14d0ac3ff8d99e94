"""Decode Bedrock's streaming body (AWS event-stream binary framing), fed as bytes in any
chunking, into the same `ServerSentEvent`s the first-party SSE stream gives.

Sans-IO, like `SSEDecoder`: `feed(bytes)` returns the events the chunk completed. A frame is

    total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32)
    headers: name length (u8), name, value type (u8), value ...
    payload
    CRC32 of everything before it (u32)

all big-endian. Both CRCs are checked, so a corrupted or truncated body is a clear error instead
of garbage JSON. A `chunk` event's payload is `{"bytes": "<base64 of one Messages event JSON>"}`;
the decoded JSON becomes the event's data and its `type` the event name. Exception frames
(`:message-type: exception`, e.g. `throttlingException`) become an `error` event shaped like the
API's own, with the error type their HTTP status maps to, so the stream raises the same typed
errors (`RateLimitError`, `OverloadedError` ...) a first-party stream would. The official SDK
raised a bare `ValueError` here (anthropic-sdk-python#1477).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import struct
import sys
import zlib
from collections.abc import Callable

from pydantic_core import from_json, to_json

from ..._exceptions import StreamError
from ...streaming._sse import ServerSentEvent

__all__ = ["EventStreamDecoder", "EventStreamError", "exception_error_type", "status_error_type"]

HeaderValue = bool | int | str | bytes
"""A frame header's value: the wire's bool, integer, timestamp, string, bytes and UUID types."""

logger = logging.getLogger("agentkit")

# Strict base64 (a bad byte is an error, not silently skipped); `strict_mode` is 3.11+.
_b64decode: Callable[[bytes], bytes] = (
    functools.partial(binascii.a2b_base64, strict_mode=True)
    if sys.version_info >= (3, 11)
    else functools.partial(base64.b64decode, validate=True)
)

_PRELUDE = struct.Struct(">III")
_CRC = struct.Struct(">I")
_PRELUDE_LEN = 12
# The limits the framing defines; a larger length means the stream is corrupt.
_MAX_MESSAGE = 16 * 1024 * 1024
_MAX_HEADERS = 128 * 1024

# Bedrock's exception shapes and the HTTP status each carries (botocore's bedrock-runtime model),
# keyed by the lowerCamel member name used in `:exception-type`.
_EXCEPTION_STATUS = {
    "validationException": 400,
    "serviceQuotaExceededException": 400,
    "conflictException": 400,
    "accessDeniedException": 403,
    "resourceNotFoundException": 404,
    "modelTimeoutException": 408,
    "modelStreamErrorException": 424,
    "modelErrorException": 424,
    "throttlingException": 429,
    "modelNotReadyException": 429,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
}

# HTTP status -> the Messages API error type, which picks the error class for a 200 stream.
_STATUS_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


class EventStreamError(StreamError):
    """The event-stream framing is broken: a CRC mismatch, an impossible length, a bad header."""


def status_error_type(status: int) -> str:
    """The Messages API error type an HTTP status stands for."""
    return _STATUS_TYPE.get(status, "api_error" if status >= 500 else "invalid_request_error")


def exception_error_type(exception_type: str, original_status: int | None = None) -> str:
    """The Messages API error type for a Bedrock exception name.

    A `modelStreamErrorException` wraps the model's own failure; its `originalStatusCode` (a 429
    or 529 from the model) is the better guide when present.
    """
    status = _EXCEPTION_STATUS.get(exception_type[:1].lower() + exception_type[1:])
    if status == 424 and original_status:
        status = original_status
    # Anything else (500, a 424 without the model's status, an unknown name) is the API's
    # generic server error.
    return _STATUS_TYPE.get(status or 500, "api_error")


class EventStreamDecoder:
    """Incremental AWS event-stream decoder: bytes in, Messages stream events out.

    Example:
        >>> decoder = EventStreamDecoder()
        >>> decoder.feed(frame_bytes[:5])   # any split works
        []
    """

    __slots__ = ("_buffer", "_header_cache", "_names", "_offset")

    def __init__(self) -> None:
        self._buffer = bytearray()
        # Stream offset of the buffer's first byte, for error messages.
        self._offset = 0
        self._names: dict[bytes, str] = {}
        # Every chunk frame carries the same header bytes: parse each distinct block once.
        self._header_cache: dict[bytes, dict[str, HeaderValue]] = {}

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Take the next chunk of the body; return the events it completed, in order.

        Raises:
            EventStreamError: A frame fails its CRC or has impossible lengths or headers.
        """
        buffer = self._buffer
        buffer += chunk
        out: list[ServerSentEvent] = []
        pos = 0
        size = len(buffer)
        while size - pos >= _PRELUDE_LEN:
            total, headers_len, prelude_crc = _PRELUDE.unpack_from(buffer, pos)
            actual = zlib.crc32(buffer[pos : pos + 8])
            if actual != prelude_crc:
                raise self._error(
                    pos,
                    f"prelude CRC mismatch (frame says {prelude_crc:#010x}, bytes give "
                    f"{actual:#010x})",
                )
            if total > _MAX_MESSAGE or headers_len > _MAX_HEADERS or total < headers_len + 16:
                raise self._error(
                    pos, f"impossible frame lengths (total {total}, headers {headers_len})"
                )
            if size - pos < total:
                break  # the rest of this frame is in a later chunk
            frame = bytes(buffer[pos : pos + total])
            (message_crc,) = _CRC.unpack_from(frame, total - 4)
            actual = zlib.crc32(frame[:-4])
            if actual != message_crc:
                raise self._error(
                    pos,
                    f"message CRC mismatch (frame says {message_crc:#010x}, bytes give "
                    f"{actual:#010x}); the body was corrupted in transit",
                )
            end = _PRELUDE_LEN + headers_len
            raw_headers = frame[_PRELUDE_LEN:end]
            headers = self._header_cache.get(raw_headers)
            if headers is None:
                headers = self._headers(raw_headers, 0, headers_len, pos)
                if len(self._header_cache) < 64:
                    self._header_cache[raw_headers] = headers
            event = self._event(headers, frame[end : total - 4], pos)
            if event is not None:
                out.append(event)
            pos += total
        if pos:
            del buffer[:pos]
            self._offset += pos
        return out

    def flush(self) -> list[ServerSentEvent]:
        """The body ended. Nothing is left to dispatch: a partial frame is dropped, and the
        stream reports the missing `message_stop` (with the partial message) itself."""
        if self._buffer:
            logger.debug("event stream ended inside a frame (%d bytes left)", len(self._buffer))
            self._buffer.clear()
        return []

    # -- one frame ---------------------------------------------------------------------------

    def _headers(self, frame: bytes, pos: int, end: int, at: int) -> dict[str, HeaderValue]:
        headers: dict[str, HeaderValue] = {}
        try:
            while pos < end:
                name_len = frame[pos]
                name = frame[pos + 1 : pos + 1 + name_len].decode()
                pos += 1 + name_len
                kind = frame[pos]
                pos += 1
                value: HeaderValue
                if kind in (0, 1):
                    value = kind == 0
                elif kind == 2:
                    value = struct.unpack_from(">b", frame, pos)[0]
                    pos += 1
                elif kind == 3:
                    value = struct.unpack_from(">h", frame, pos)[0]
                    pos += 2
                elif kind == 4:
                    value = struct.unpack_from(">i", frame, pos)[0]
                    pos += 4
                elif kind in (5, 8):  # int64; 8 is a timestamp in epoch milliseconds
                    value = struct.unpack_from(">q", frame, pos)[0]
                    pos += 8
                elif kind in (6, 7):
                    (length,) = struct.unpack_from(">H", frame, pos)
                    raw = frame[pos + 2 : pos + 2 + length]
                    value = raw.decode() if kind == 7 else raw
                    pos += 2 + length
                elif kind == 9:
                    value = frame[pos : pos + 16]
                    pos += 16
                else:
                    raise ValueError(f"unknown header value type {kind}")
                headers[name] = value
        except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
            raise self._error(at, f"malformed headers ({exc})") from exc
        if pos != end:
            raise self._error(at, "the headers overrun their declared length")
        return headers

    def _event(
        self, headers: dict[str, HeaderValue], payload: bytes, at: int
    ) -> ServerSentEvent | None:
        kind = headers.get(":message-type")
        if kind == "event":
            if headers.get(":event-type") == "chunk":
                return self._chunk(payload, at)
            # Bedrock's stream defines only `chunk` events beyond the exceptions; anything else
            # carries no Messages event.
            logger.debug("skipping event-stream event %r", headers.get(":event-type"))
            return None
        if kind == "exception":
            return _exception_event(str(headers.get(":exception-type", "")), payload)
        if kind == "error":
            code = str(headers.get(":error-code", "error"))
            message = str(headers.get(":error-message", ""))
            return _error_event(exception_error_type(code), message or code, code, None)
        raise self._error(at, f"unknown :message-type {kind!r}")

    def _chunk(self, payload: bytes, at: int) -> ServerSentEvent:
        try:
            start = 10 if payload.startswith(b'{"bytes":"') else 0
            if not start and payload.startswith(b'{"bytes": "'):
                start = 11
            text = b"\\"
            if start:
                # The usual shape: take the base64 text without a JSON parse (base64 has no
                # characters JSON escapes, unless a serializer escaped "/" as "\/").
                text = payload[start : payload.index(b'"', start)]
            if b"\\" in text:
                text = from_json(payload)["bytes"].encode()
            raw = _b64decode(text)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise self._error(
                at, f'a chunk payload is not {{"bytes": <base64>}}: {payload[:200]!r}'
            ) from exc
        return ServerSentEvent(self._name(raw), raw)

    def _name(self, raw: bytes) -> str:
        # The event name is the JSON `type`; read it without a parse when the object opens with
        # it, as Bedrock's (and the API's) events do. The stream parses the data anyway.
        if raw.startswith(b'{"type":"'):
            end = raw.find(b'"', 9)
            if end > 9:
                key = raw[9:end]
                name = self._names.get(key)
                if name is None:
                    name = self._names[key] = key.decode("utf-8", "replace")
                return name
        try:
            data = from_json(raw)
        except ValueError:
            return "message"  # the stream reports the bad data with its context
        kind = data.get("type") if isinstance(data, dict) else None
        return kind if isinstance(kind, str) else "message"

    def _error(self, pos: int, what: str) -> EventStreamError:
        return EventStreamError(
            f"Bedrock event stream: {what} in the frame at byte {self._offset + pos}"
        )


def _exception_event(exception_type: str, payload: bytes) -> ServerSentEvent:
    try:
        body = from_json(payload) if payload else {}
    except ValueError:
        body = {"message": payload.decode("utf-8", "replace")}
    if not isinstance(body, dict):
        body = {"message": str(body)}
    message = body.get("message") or body.get("Message") or exception_type
    original = body.get("originalStatusCode")
    original_status = original if isinstance(original, int) else None
    detail = body.get("originalMessage")
    if detail:
        message = f"{message} ({detail})"
    return _error_event(
        exception_error_type(exception_type, original_status),
        str(message),
        exception_type,
        original_status,
    )


def _error_event(
    error_type: str, message: str, bedrock_type: str, original_status: int | None
) -> ServerSentEvent:
    # The API's own `error` event shape, plus where it came from.
    error: dict[str, object] = {
        "type": error_type,
        "message": message,
        "bedrock_exception": bedrock_type,
    }
    if original_status is not None:
        error["original_status_code"] = original_status
    return ServerSentEvent("error", to_json({"type": "error", "error": error}))
