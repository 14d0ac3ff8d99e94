"""The SSE decoder: line ends, fields, chunking, and every recorded stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recordings import cases

from agentkit.streaming import ServerSentEvent, SSEDecoder

STREAMS = {rec.name: rec.sse for rec in cases(streaming=True)}


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    out: list[ServerSentEvent] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.flush())
    return out


def decode_pairs(*chunks: bytes) -> list[tuple[str, bytes]]:
    decoder = SSEDecoder()
    out: list[tuple[str, bytes]] = []
    for chunk in chunks:
        out.extend(decoder.feed_pairs(chunk))
    out.extend(decoder.flush_pairs())
    return out


def pairs_of(events: list[ServerSentEvent]) -> list[tuple[str, bytes]]:
    return [(e.event, e.raw) for e in events]


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


def test_fields_and_dispatch() -> None:
    body = (
        b"event: message_start\ndata: {}\n\n"
        b": a comment line\n"
        b"data: first\ndata:second\ndata\n\n"
        b"id: 7\nretry: 1500\nevent: custom\ndata: x\n\n"
        b"data: y\n\n"
    )
    assert decode_pairs(body) == [
        ("message_start", b"{}"),
        ("message", b"first\nsecond\n"),
        ("custom", b"x"),
        ("message", b"y"),
    ]
    events = decode(
        b"event: message_start\ndata: {}\n\n"
        b": a comment line\n"
        b"data: first\ndata:second\ndata\n\n"
        b"id: 7\nretry: 1500\nevent: custom\ndata: x\n\n"
        b"data: y\n\n"
    )
    assert events == [
        ServerSentEvent("message_start", b"{}"),
        # Multi-line data joined with LF; "data" without a colon is an empty line of data.
        ServerSentEvent("message", b"first\nsecond\n"),
        ServerSentEvent("custom", b"x", id="7", retry=1500),
        # The last event id carries forward (the standard's rule); retry does not.
        ServerSentEvent("message", b"y", id="7"),
    ]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_end(eol: bytes) -> None:
    body = eol.join([b"event: a", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    assert decode(body) == [ServerSentEvent("a", b"1"), ServerSentEvent("message", b"2\n3")]
    # Split between the CR and the LF of a CRLF: still one line end, not two.
    assert decode(*[body[i : i + 1] for i in range(len(body))]) == decode(body)


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert decode(b"data: 1\r", b"\ndata: 2\r\n\r\n") == [ServerSentEvent("message", b"1\n2")]


def test_utf8_split_across_chunks() -> None:
    payload = '{"text": "héllo 👋 世界"}'.encode()
    body = b"event: content_block_delta\ndata: " + payload + b"\n\n"
    cut = body.index("👋".encode()) + 2  # inside the 4-byte emoji
    (event,) = decode(body[:cut], body[cut:])
    assert event.json() == {"text": "héllo 👋 世界"}
    assert event.data == payload.decode()


def test_padding_after_json_is_kept_and_parses() -> None:
    (event,) = decode(
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0 }  \n\n'
    )
    assert event.raw.endswith(b"}  ")
    assert event.json() == {"type": "content_block_stop", "index": 0}


def test_unknown_event_names_pass_through() -> None:
    assert decode(b"event: brand_new_event\ndata: {}\n\n") == [
        ServerSentEvent("brand_new_event", b"{}")
    ]


def test_odd_fields() -> None:
    events = decode(
        b"id: a\0b\nretry: soon\nunknown: field\ndata: z\n\n"  # NUL id and bad retry ignored
        b"event: named_only\n\n"  # a named event without data is still passed on
        b"id: only-an-id\n\n"  # not an event
        b"data:no-space\n\n"
    )
    assert events == [
        ServerSentEvent("message", b"z"),
        ServerSentEvent("named_only", b""),
        ServerSentEvent("message", b"no-space", id="only-an-id"),
    ]


def test_leading_bom_is_dropped_even_when_split() -> None:
    body = b"\xef\xbb\xbfdata: 1\n\n"
    assert decode(body) == [ServerSentEvent("message", b"1")]
    assert decode(body[:1], body[1:2], body[2:]) == [ServerSentEvent("message", b"1")]


def test_flush_dispatches_the_last_event_without_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'event: message_stop\ndata: {"type":"message_stop"}') == []
    assert decoder.flush() == [ServerSentEvent("message_stop", b'{"type":"message_stop"}')]
    assert decoder.flush() == []


def test_empty_input() -> None:
    assert decode() == []
    assert decode(b"", b"") == []


def test_data_text_and_repr() -> None:
    event = ServerSentEvent("e", "dätä")
    assert event.raw == "dätä".encode()
    assert event.data == "dätä"
    assert "e" in repr(event)
    assert event != ServerSentEvent("e", "data")
    assert event != "not an event"


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_recorded_stream_decodes(name: str) -> None:
    body = STREAMS[name]
    events = decode(body)
    assert events, name
    for event in events:
        data = event.json()
        # In every recording the event name equals the payload's type (corpus README).
        assert data["type"] == event.event
    # One byte at a time gives the same events.
    assert decode(*[body[i : i + 1] for i in range(len(body))]) == events
    # So do CRLF and CR line ends.
    assert decode(body.replace(b"\n", b"\r\n")) == events
    assert decode(body.replace(b"\n", b"\r")) == events
    # The (event, data) pairs the stream shells use say the same.
    assert decode_pairs(body) == pairs_of(events)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(STREAMS)),
    cuts=st.lists(st.integers(min_value=0, max_value=1 << 20), max_size=40),
)
def test_any_chunking_of_a_recording_gives_the_same_events(name: str, cuts: list[int]) -> None:
    body = STREAMS[name]
    assert decode(*split(body, cuts)) == decode(body)
    assert decode_pairs(*split(body, cuts)) == pairs_of(decode(body))


_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["message_start", "content_block_delta", "x", "brand_new_event"]),
            st.lists(_text, min_size=1, max_size=3),
        ),
        max_size=6,
    ),
    eol=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=20),
)
def test_generated_streams_round_trip(
    events: list[tuple[str, list[str]]], eol: str, cuts: list[int]
) -> None:
    body = "".join(
        f"event: {name}{eol}" + "".join(f"data: {line}{eol}" for line in lines) + eol
        for name, lines in events
    ).encode()
    expected = [ServerSentEvent(name, "\n".join(lines)) for name, lines in events]
    assert decode(*split(body, cuts)) == expected
    assert decode_pairs(*split(body, cuts)) == pairs_of(expected)
