"""The AWS event-stream decoder: frames built from the spec (a small encoder below, checked
against botocore's own parser), split at every byte, corrupted, and carrying exceptions."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recordings import load

from agentkit import (
    APIStatusError,
    BadRequestError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
)
from agentkit.bedrock import EventStreamDecoder, EventStreamError
from agentkit.streaming import MessageStream, ServerSentEvent, SSEDecoder, Stream

# -- a frame encoder, written from the framing spec ------------------------------------------

Header = tuple[str, int, Any]  # name, value type, value


def encode_header(name: str, kind: int, value: Any) -> bytes:
    raw_name = name.encode()
    out = bytes([len(raw_name)]) + raw_name + bytes([kind])
    if kind in (0, 1):
        return out
    if kind == 2:
        return out + struct.pack(">b", value)
    if kind == 3:
        return out + struct.pack(">h", value)
    if kind == 4:
        return out + struct.pack(">i", value)
    if kind in (5, 8):
        return out + struct.pack(">q", value)
    if kind in (6, 7):
        data = value.encode() if kind == 7 else value
        return out + struct.pack(">H", len(data)) + data
    if kind == 9:
        return out + value
    raise AssertionError(kind)


def frame(headers: list[Header], payload: bytes) -> bytes:
    """One event-stream message: prelude, prelude CRC, headers, payload, message CRC."""
    header_bytes = b"".join(encode_header(*h) for h in headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + header_bytes + payload
    return message + struct.pack(">I", zlib.crc32(message))


def chunk_frame(event: dict[str, Any] | bytes) -> bytes:
    """A Bedrock `chunk` event carrying one Messages event, as InvokeModelWithResponseStream
    sends it (the `p` field is Bedrock's padding)."""
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    payload = json.dumps({"bytes": base64.b64encode(raw).decode(), "p": "abcdefgh"}).encode()
    return frame(
        [
            (":event-type", 7, "chunk"),
            (":content-type", 7, "application/json"),
            (":message-type", 7, "event"),
        ],
        payload,
    )


def exception_frame(kind: str, body: dict[str, Any]) -> bytes:
    return frame(
        [
            (":exception-type", 7, kind),
            (":content-type", 7, "application/json"),
            (":message-type", 7, "exception"),
        ],
        json.dumps(body).encode(),
    )


def bedrock_body(sse_body: bytes) -> bytes:
    """The Bedrock stream for the same content as a first-party SSE body."""
    return b"".join(chunk_frame(e.raw) for e in sse_events(sse_body))


def sse_events(sse_body: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [e for e in decoder.feed(sse_body) + decoder.flush() if e.event != "ping"]


def decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = EventStreamDecoder()
    out: list[ServerSentEvent] = []
    for piece in chunks:
        out += decoder.feed(piece)
    return out + decoder.flush()


RECORDED = load("text-stream-basic-ratelimit-headers").sse
TOOL_RECORDED = load("stop-max-tokens-mid-tool-json-stream").sse


# -- the encoder agrees with botocore ---------------------------------------------------------


def test_encoder_frames_parse_with_botocore() -> None:
    from botocore.eventstream import EventStreamBuffer

    buffer = EventStreamBuffer()
    buffer.add_data(chunk_frame({"type": "message_stop"}) + exception_frame("x", {"message": "m"}))
    messages = list(buffer)
    assert messages[0].headers[":event-type"] == "chunk"
    assert json.loads(base64.b64decode(json.loads(messages[0].payload)["bytes"])) == {
        "type": "message_stop"
    }
    assert messages[1].headers[":exception-type"] == "x"


# -- decoding ---------------------------------------------------------------------------------


def test_recorded_stream_decodes_to_the_same_events_as_sse() -> None:
    expected = sse_events(RECORDED)
    got = decode([bedrock_body(RECORDED)])
    assert [(e.event, e.raw) for e in got] == [(e.event, e.raw) for e in expected]
    assert got[0].event == "message_start" and got[-1].event == "message_stop"


def test_split_at_every_byte() -> None:
    data = bedrock_body(RECORDED)
    expected = decode([data])
    assert expected
    for cut in range(len(data) + 1):
        assert decode([data[:cut], data[cut:]]) == expected, cut


def test_one_byte_at_a_time() -> None:
    data = bedrock_body(TOOL_RECORDED)
    assert decode([data[i : i + 1] for i in range(len(data))]) == decode([data])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_any_chunking(cuts: list[int]) -> None:
    data = bedrock_body(RECORDED)
    points = sorted({min(c, len(data)) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert decode(pieces) == decode([data])


def test_event_name_read_from_json_type_even_with_spaces() -> None:
    (event,) = decode([chunk_frame(b'{ "type" : "content_block_stop", "index": 0}')])
    assert event.event == "content_block_stop"
    assert event.json() == {"type": "content_block_stop", "index": 0}


@pytest.mark.parametrize(
    "template",
    [b'{"bytes":"%s","p":"ab"}', b'{"bytes": "%s"}', b'{"p":"ab","bytes":"%s"}'],
    ids=["compact", "spaced", "bytes-not-first"],
)
def test_chunk_payload_shapes(template: bytes) -> None:
    # A "/" escaped as "\/" (legal JSON) must still decode: the fast path falls back to JSON.
    raw = b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"???>>>"}}'
    encoded = base64.b64encode(raw)
    assert b"/" in encoded
    for b64 in (encoded, encoded.replace(b"/", b"\\/")):
        headers: list[Header] = [(":event-type", 7, "chunk"), (":message-type", 7, "event")]
        (event,) = decode([frame(headers, template % b64)])
        assert (event.event, event.raw) == ("content_block_delta", raw)


def test_every_header_value_type_is_parsed() -> None:
    headers: list[Header] = [
        ("t", 0, True),
        ("f", 1, False),
        ("b", 2, -3),
        ("s", 3, -300),
        ("i", 4, 70000),
        ("l", 5, 2**40),
        ("bytes", 6, b"\x00\x01"),
        ("ts", 8, 1_700_000_000_000),
        ("uuid", 9, bytes(range(16))),
        (":event-type", 7, "chunk"),
        (":message-type", 7, "event"),
    ]
    payload = json.dumps({"bytes": base64.b64encode(b'{"type":"ping"}').decode()}).encode()
    decoder = EventStreamDecoder()
    data = frame(headers, payload)
    parsed = decoder._headers(data, 12, 12 + struct.unpack(">I", data[4:8])[0], 0)
    assert parsed == {
        "t": True,
        "f": False,
        "b": -3,
        "s": -300,
        "i": 70000,
        "l": 2**40,
        "bytes": b"\x00\x01",
        "ts": 1_700_000_000_000,
        "uuid": bytes(range(16)),
        ":event-type": "chunk",
        ":message-type": "event",
    }
    assert [e.event for e in decoder.feed(data)] == ["ping"]


def test_other_event_types_are_skipped() -> None:
    other = frame([(":event-type", 7, "metadata"), (":message-type", 7, "event")], b"{}")
    stop = chunk_frame({"type": "message_stop"})
    assert [e.event for e in decode([other + stop])] == ["message_stop"]


# -- broken framing ---------------------------------------------------------------------------


def test_corrupted_payload_fails_the_message_crc() -> None:
    good = chunk_frame({"type": "message_stop"})
    bad = bytearray(chunk_frame({"type": "content_block_stop", "index": 0}))
    bad[-10] ^= 0x01  # one bit inside the payload
    with pytest.raises(EventStreamError, match=r"message CRC mismatch .* at byte 0"):
        decode([bytes(bad)])
    # The offset points at the broken frame, not the start of the stream.
    with pytest.raises(EventStreamError, match=f"at byte {len(good)}"):
        decode([good + bytes(bad)])


def test_corrupted_prelude_fails_the_prelude_crc() -> None:
    bad = bytearray(chunk_frame({"type": "message_stop"}))
    bad[3] ^= 0x04  # the total length
    with pytest.raises(EventStreamError, match="prelude CRC mismatch"):
        decode([bytes(bad)])


def test_impossible_lengths_are_rejected() -> None:
    prelude = struct.pack(">II", 8, 4)
    data = prelude + struct.pack(">I", zlib.crc32(prelude)) + b"\x00" * 8
    with pytest.raises(EventStreamError, match="impossible frame lengths"):
        decode([data])


def test_chunk_without_base64_bytes_is_a_clear_error() -> None:
    data = frame(
        [(":event-type", 7, "chunk"), (":message-type", 7, "event")], b'{"bytes": "@@not base64"}'
    )
    with pytest.raises(EventStreamError, match="chunk payload"):
        decode([data])


def test_unknown_message_type_is_an_error() -> None:
    with pytest.raises(EventStreamError, match="unknown :message-type 'weird'"):
        decode([frame([(":message-type", 7, "weird")], b"")])


def test_partial_frame_at_the_end_is_dropped_for_the_stream_to_report() -> None:
    data = chunk_frame({"type": "message_stop"})
    decoder = EventStreamDecoder()
    assert decoder.feed(data[:-3]) == []
    assert decoder.flush() == []


# -- errors through the stream ----------------------------------------------------------------


def _stream(body: bytes) -> Stream:
    request = httpx.Request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/x")
    return Stream(
        httpx.Response(200, content=body, request=request), decoder_factory=EventStreamDecoder
    )


def _message_stream(body: bytes) -> MessageStream:
    request = httpx.Request("POST", "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/x")
    return MessageStream(
        httpx.Response(200, content=body, request=request), decoder_factory=EventStreamDecoder
    )


@pytest.mark.parametrize(
    ("kind", "body", "cls", "error_type"),
    [
        (
            "throttlingException",
            {"message": "Too many requests"},
            RateLimitError,
            "rate_limit_error",
        ),
        ("validationException", {"message": "bad input"}, BadRequestError, "invalid_request_error"),
        ("internalServerException", {"message": "oops"}, InternalServerError, "api_error"),
        ("serviceUnavailableException", {"message": "busy"}, OverloadedError, "overloaded_error"),
        ("modelTimeoutException", {"message": "slow"}, InternalServerError, "timeout_error"),
        ("accessDeniedException", {"message": "no"}, PermissionDeniedError, "permission_error"),
        ("resourceNotFoundException", {"message": "?"}, NotFoundError, "not_found_error"),
        (
            "modelStreamErrorException",
            {"message": "model failed", "originalStatusCode": 529, "originalMessage": "Overloaded"},
            OverloadedError,
            "overloaded_error",
        ),
        (
            "modelStreamErrorException",
            {"message": "model failed", "originalStatusCode": 429},
            RateLimitError,
            "rate_limit_error",
        ),
        (
            "modelStreamErrorException",
            {"message": "model failed"},
            InternalServerError,
            "api_error",
        ),
        ("somethingNewException", {"message": "?"}, InternalServerError, "api_error"),
    ],
)
def test_exception_frames_raise_typed_errors(
    kind: str, body: dict[str, Any], cls: type[APIStatusError], error_type: str
) -> None:
    events = sse_events(RECORDED)
    data = b"".join(chunk_frame(e.raw) for e in events[:3]) + exception_frame(kind, body)
    stream = _message_stream(data)
    with pytest.raises(APIStatusError) as caught:
        stream.get_final_message()
    error = caught.value
    assert type(error) is cls
    assert error.type == error_type
    assert body["message"] in str(error)
    assert error.body["error"]["bedrock_exception"] == kind  # type: ignore[index]
    # What arrived before the exception is kept, never passed on as complete.
    assert error.partial_message is not None
    if "originalMessage" in body:
        assert body["originalMessage"] in str(error)


def test_exception_frame_raises_from_the_raw_stream_too() -> None:
    data = chunk_frame({"type": "ping"}) + exception_frame("throttlingException", {"message": "x"})
    with pytest.raises(RateLimitError):
        list(_stream(data))


def test_error_message_type_frame() -> None:
    data = frame(
        [
            (":message-type", 7, "error"),
            (":error-code", 7, "InternalFailure"),
            (":error-message", 7, "something broke"),
        ],
        b"",
    )
    with pytest.raises(InternalServerError, match="something broke"):
        list(_stream(data))


def test_in_band_error_chunk_raises_the_typed_error_with_the_partial_message() -> None:
    # The official SDK crashed with AttributeError on this (anthropic-sdk-python#1472).
    events = sse_events(RECORDED)
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    data = b"".join(chunk_frame(e.raw) for e in events[:4]) + chunk_frame(error)
    stream = _message_stream(data)
    with pytest.raises(OverloadedError, match="Overloaded") as caught:
        stream.get_final_message()
    assert caught.value.status_code == 200
    partial = caught.value.partial_message
    assert partial is not None and partial.content


def test_cut_stream_is_incomplete_with_the_partial_message() -> None:
    data = bedrock_body(RECORDED)
    cut = data[: len(data) - len(chunk_frame({"type": "message_stop"})) - 5]
    with pytest.raises(IncompleteStreamError) as caught:
        _message_stream(cut).get_final_message()
    assert caught.value.partial_message is not None


def test_corrupted_frame_through_the_stream_is_a_stream_error() -> None:
    data = bytearray(bedrock_body(RECORDED))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(EventStreamError, match="CRC mismatch"):
        _message_stream(bytes(data)).get_final_message()
