"""The stream shells over HTTP: every recorded stream replayed through respx, sync and async."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from recordings import Recording, cases, load

from agentkit import (
    APIStatusError,
    IncompleteStreamError,
    InternalServerError,
    Message,
    OverloadedError,
    RateLimitError,
    StreamError,
)
from agentkit.streaming import (
    AsyncMessageStream,
    AsyncMessageStreamManager,
    AsyncStream,
    ContentBlockStopEvent,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    MessageStream,
    MessageStreamManager,
    ServerSentEvent,
    SSEDecoder,
    Stream,
    TextEvent,
    UnknownEvent,
    accumulate,
)
from agentkit.types import ToolUseBlock

BASE = "https://api.test"
# One TLS context for every test client: building one per client costs ~40 ms (certifi).
SSL = ssl.create_default_context()
STREAMING = cases(streaming=True)
MID_TOOL = "stop-max-tokens-mid-tool-json-stream"


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body served in pieces, optionally failing after them; records being closed."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.closed = False
        self.served = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.served += 1
            yield chunk
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.served += 1
            yield chunk
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def headers_of(rec: Recording | None = None) -> dict[str, str]:
    if rec is None:
        return {"content-type": "text/event-stream", "request-id": "req_synthetic"}
    return rec.headers()


@contextmanager
def serve(body: Body, headers: dict[str, str]) -> Iterator[httpx.Client]:
    with respx.mock(base_url=BASE) as router:
        router.post("/v1/messages").mock(
            side_effect=lambda request: httpx.Response(200, headers=headers, stream=body)
        )
        with httpx.Client(base_url=BASE, verify=SSL) as client:
            yield client


@asynccontextmanager
async def aserve(body: Body, headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    with respx.mock(base_url=BASE) as router:
        router.post("/v1/messages").mock(
            side_effect=lambda request: httpx.Response(200, headers=headers, stream=body)
        )
        async with httpx.AsyncClient(base_url=BASE, verify=SSL) as client:
            yield client


def send(client: httpx.Client) -> httpx.Response:
    return client.send(client.build_request("POST", "/v1/messages", json={}), stream=True)


async def asend(client: httpx.AsyncClient) -> httpx.Response:
    return await client.send(client.build_request("POST", "/v1/messages", json={}), stream=True)


def raw_events(body: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [s.json() for s in decoder.feed(body) + decoder.flush() if s.event != "ping"]


def sse(*events: dict[str, Any]) -> bytes:
    """Synthetic SSE bytes shaped like the API's (event name = payload type)."""
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- every recording, replayed ----------------------------------------------------------------


@pytest.mark.parametrize("rec", STREAMING, ids=lambda r: r.name)
def test_raw_stream_replays_every_recording(rec: Recording) -> None:
    body = Body(chunked(rec.sse, 1000))
    with serve(body, headers_of(rec)) as client:
        response = send(client)
        stream = Stream(response)
        events = list(stream)
    assert [e.raw for e in events] == raw_events(rec.sse)
    assert [e.type for e in events] == [e["type"] for e in raw_events(rec.sse)]
    assert stream.request_id == rec.headers().get("request-id", rec.headers().get("Request-Id"))
    assert stream.response is response
    assert response.is_closed and body.closed


@pytest.mark.parametrize("rec", STREAMING, ids=lambda r: r.name)
def test_message_stream_replays_every_recording(rec: Recording) -> None:
    body = Body(chunked(rec.sse, 700))
    with serve(body, headers_of(rec)) as client, MessageStream(send(client)) as stream:
        events = list(stream)
        message = stream.get_final_message()
    assert message.to_dict() == accumulate(raw_events(rec.sse)).to_dict()
    assert isinstance(events[-1], MessageStopEvent) and events[-1].message is message
    assert message.request_id == stream.request_id
    assert stream.current_message_snapshot is message
    if rec.name == MID_TOOL:
        tool = message.content[1]
        assert isinstance(tool, ToolUseBlock) and tool.input == {}
        assert message.stop_reason == "max_tokens"
        assert stream.unparsed_tool_inputs[tool.id].startswith('{"filename"')
    else:
        assert stream.unparsed_tool_inputs == {}


@pytest.mark.anyio
@pytest.mark.parametrize("rec", STREAMING, ids=lambda r: r.name)
async def test_async_streams_replay_every_recording(rec: Recording) -> None:
    expected = accumulate(raw_events(rec.sse)).to_dict()
    async with aserve(Body(chunked(rec.sse, 500)), headers_of(rec)) as client:
        async with AsyncStream(await asend(client)) as raw:
            assert [e.raw async for e in raw] == raw_events(rec.sse)
    async with aserve(Body(chunked(rec.sse, 500)), headers_of(rec)) as client:
        async with AsyncMessageStream(await asend(client)) as stream:
            events = [e async for e in stream]
            message = await stream.get_final_message()
    assert message.to_dict() == expected
    assert isinstance(events[-1], MessageStopEvent)


def test_any_chunking_over_http_gives_the_same_events_and_message() -> None:
    small = [r for r in STREAMING if len(r.sse) < 40_000]
    expected = {r.name: (raw_events(r.sse), accumulate(raw_events(r.sse)).to_dict()) for r in small}
    with respx.mock(base_url=BASE) as router, httpx.Client(base_url=BASE, verify=SSL) as client:
        route = router.post("/v1/messages")

        @settings(max_examples=60, deadline=None)
        @given(
            rec=st.sampled_from(small),
            cuts=st.lists(st.integers(min_value=0, max_value=40_000), max_size=60),
        )
        def check(rec: Recording, cuts: list[int]) -> None:
            data = rec.sse
            points = sorted({c % (len(data) + 1) for c in cuts})
            chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
            route.side_effect = lambda request: httpx.Response(
                200, headers=headers_of(rec), stream=Body(chunks)
            )
            events, message = expected[rec.name]
            assert [e.raw for e in Stream(send(client))] == events
            assert MessageStream(send(client)).get_final_message().to_dict() == message

        check()


@pytest.mark.parametrize("name", ["text-stream-basic-ratelimit-headers", "thinking-stream-events"])
def test_one_byte_chunks_over_http(name: str) -> None:
    rec = load(name)
    with serve(Body(chunked(rec.sse, 1)), headers_of(rec)) as client:
        message = MessageStream(send(client)).get_final_message()
    assert message.to_dict() == accumulate(raw_events(rec.sse)).to_dict()


# --- helpers: text_stream, snapshots, final text -----------------------------------------------


def test_text_stream_and_final_text() -> None:
    rec = load("thinking-stream-signature-delta")
    with serve(Body([rec.sse]), headers_of(rec)) as client:
        with MessageStreamManager(lambda: send(client)) as stream:
            text = "".join(stream.text_stream)
            assert text == stream.get_final_text()
            assert stream.get_final_message().text == text
    assert text


def test_snapshot_while_iterating_then_final_message_reads_the_rest() -> None:
    rec = load("tools-stream-input-json-delta")
    with serve(Body(chunked(rec.sse, 64)), headers_of(rec)) as client:
        with MessageStreamManager(lambda: send(client)) as stream:
            assert stream.current_message_snapshot is None
            first_stop = next(e for e in stream if isinstance(e, ContentBlockStopEvent))
            snapshot = stream.current_message_snapshot
            assert snapshot is not None and snapshot.stop_reason is None
            assert snapshot.content[0].to_dict() == first_stop.block
            message = stream.get_final_message()
            stream.until_done()  # already done: a no-op
    assert message.stop_reason == "tool_use"
    assert message.content[0].to_dict() == first_stop.block


# --- errors in the middle of a stream (synthetic) ----------------------------------------------


def _start() -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_synthetic",
            "type": "message",
            "role": "assistant",
            "model": "claude-synthetic",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    }


def _text_events(*pieces: str) -> list[dict[str, Any]]:
    return [
        _start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in pieces
        ),
    ]


def _complete(*pieces: str) -> list[dict[str, Any]]:
    return [
        *_text_events(*pieces),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]


@pytest.mark.parametrize(
    ("error_type", "cls"),
    [
        ("overloaded_error", OverloadedError),
        ("rate_limit_error", RateLimitError),
        ("api_error", InternalServerError),
        ("mystery_error", APIStatusError),
    ],
)
def test_error_event_mid_stream(error_type: str, cls: type[APIStatusError]) -> None:
    # Synthetic: the API sends an error event after some text (no recording has one).
    error = {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}
    data = sse(*_text_events("Hel", "lo"), error)
    with serve(Body([data]), headers_of()) as client:
        stream = MessageStream(send(client))
        seen: list[str] = []
        with pytest.raises(cls) as info:
            seen.extend(stream.text_stream)
    err = info.value
    assert type(err) is cls and err.status_code == 200 and err.type == error_type
    assert err.request_id == "req_synthetic"
    assert isinstance(err.partial_message, Message) and err.partial_message.text == "Hello"
    assert seen == ["Hel", "lo"]
    assert stream.response.is_closed
    # The raw stream raises the same class, with the same partial message.
    with serve(Body([data]), headers_of()) as client, pytest.raises(cls) as raw_info:
        list(Stream(send(client)))
    assert type(raw_info.value) is cls
    assert isinstance(raw_info.value.partial_message, Message)
    assert raw_info.value.partial_message.text == "Hello"
    assert raw_info.value.request_id == "req_synthetic"


@pytest.mark.anyio
async def test_async_error_event_mid_stream() -> None:
    # Synthetic: as above, async.
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    async with aserve(Body([sse(*_text_events("Hi"), error)]), headers_of()) as client:
        stream = AsyncMessageStream(await asend(client))
        with pytest.raises(OverloadedError) as info:
            await stream.get_final_message()
    assert info.value.partial_message.text == "Hi"
    assert stream.response.is_closed


# --- truncated and broken streams (synthetic cuts of recordings) ------------------------------


def _event_boundaries(data: bytes) -> list[int]:
    return [i + 2 for i in range(len(data)) if data[i : i + 2] == b"\n\n"]


def test_stream_cut_at_any_event_boundary_is_incomplete() -> None:
    rec = load("text-stream-basic-ratelimit-headers")
    data = rec.sse
    cuts = _event_boundaries(data)[:-1]  # every cut before message_stop's end
    assert len(cuts) > 5
    for cut in cuts:
        with serve(Body([data[:cut]]), headers_of(rec)) as client:
            stream = MessageStream(send(client))
            delivered: list[Any] = []
            with pytest.raises(IncompleteStreamError, match="before message_stop") as info:
                delivered.extend(stream)
        err = info.value
        assert err.content_delivered == bool(delivered)
        assert "already delivered" in str(err) if delivered else "no event" in str(err)
        if any(isinstance(e, TextEvent) for e in delivered):
            partial = err.partial_message
            assert isinstance(partial, Message)
            # The partial message is only what arrived (a stop reason only if message_delta did).
            assert (partial.stop_reason is None) != any(
                isinstance(e, MessageDeltaEvent) for e in delivered
            )
            assert partial.text == "".join(e.text for e in delivered if isinstance(e, TextEvent))
        assert stream.response.is_closed


def test_stream_cut_inside_the_last_line_is_incomplete() -> None:
    rec = load("tools-stream-square-root")
    data = rec.sse
    cut = data.index(b'"message_stop"') - 3
    with serve(Body([data[:cut]]), headers_of(rec)) as client:
        with pytest.raises(IncompleteStreamError, match="inside an event") as info:
            MessageStream(send(client)).get_final_message()
    # get_final_message handed no event to the caller before the cut.
    assert info.value.content_delivered is False
    assert info.value.partial_message is not None
    with serve(Body([data[:cut]]), headers_of(rec)) as client:
        with pytest.raises(IncompleteStreamError):
            list(Stream(send(client)))


@pytest.mark.parametrize(
    "error",
    [httpx.RemoteProtocolError("peer closed"), httpx.ReadError("reset"), httpx.ReadTimeout("slow")],
)
def test_connection_broken_mid_stream(error: httpx.TransportError) -> None:
    # Synthetic: the transport fails after a few events (a reset connection).
    data = sse(*_text_events("a", "b"))
    body = Body([data], error=error)
    with serve(body, headers_of()) as client:
        stream = MessageStream(send(client))
        got: list[str] = []
        with pytest.raises(IncompleteStreamError) as info:
            got.extend(stream.text_stream)
    err = info.value
    assert got == ["a", "b"]
    assert err.__cause__ is error
    assert err.content_delivered is True
    assert err.partial_message.text == "ab"
    assert err.request is stream.response.request
    assert body.closed


@pytest.mark.anyio
async def test_async_connection_broken_mid_stream() -> None:
    # Synthetic: as above, async, reading straight to the final message.
    error = httpx.RemoteProtocolError("peer closed")
    async with aserve(Body([sse(*_text_events("a"))], error=error), headers_of()) as client:
        stream = AsyncMessageStream(await asend(client))
        with pytest.raises(IncompleteStreamError) as info:
            await stream.get_final_message()
    assert info.value.__cause__ is error
    assert info.value.content_delivered is False
    assert info.value.partial_message.text == "a"
    async with aserve(Body([sse(*_text_events("a"))], error=error), headers_of()) as client:
        raw = AsyncStream(await asend(client))
        with pytest.raises(IncompleteStreamError) as raw_info:
            async for _ in raw:
                pass
    assert raw_info.value.content_delivered is True


# --- unknown and malformed events (synthetic) --------------------------------------------------


def test_unknown_events_pass_through_and_ping_is_skipped() -> None:
    # Synthetic: unknown event names, one with non-JSON data, mixed into a real-shaped stream.
    events = _complete("x")
    data = (
        sse(*events[:2])
        + b'event: ping\ndata: {"type": "ping"}\n\n'
        + b'event: brand_new\ndata: {"type":"brand_new","n":1}\n\n'
        + b"event: odd\ndata: not json\n\n"
        + sse(*events[2:])
    )
    with serve(Body([data]), headers_of()) as client:
        raw = [e.raw for e in Stream(send(client))]
    assert raw[2:4] == [{"type": "brand_new", "n": 1}, {"type": "odd", "data": "not json"}]
    assert all(e["type"] != "ping" for e in raw)
    with serve(Body([data]), headers_of()) as client:
        typed = list(MessageStream(send(client)))
    unknown = [e for e in typed if isinstance(e, UnknownEvent)]
    assert [e.event_type for e in unknown] == ["brand_new", "odd"]
    assert {e.type for e in unknown} == {"unknown"} and unknown[0].n == 1
    assert isinstance(typed[-1], MessageStopEvent) and typed[-1].message.text == "x"


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]"])
def test_known_event_with_bad_data_is_a_stream_error(data: bytes) -> None:
    # Synthetic: a content_block_delta whose data is not a JSON object.
    body = sse(*_text_events("a")) + b"event: content_block_delta\ndata: " + data + b"\n\n"
    with serve(Body([body]), headers_of()) as client:
        stream = MessageStream(send(client))
        with pytest.raises(StreamError, match="content_block_delta") as info:
            list(stream)
    assert not isinstance(info.value, IncompleteStreamError)
    assert info.value.content_delivered is True
    assert stream.response.is_closed


def test_out_of_order_events_over_http() -> None:
    # Synthetic: a delta for a block that was never started.
    events = _complete("a")
    del events[1]
    with serve(Body([sse(*events)]), headers_of()) as client:
        with pytest.raises(StreamError, match="out of order"):
            MessageStream(send(client)).get_final_message()


# --- early exit releases the connection --------------------------------------------------------


def test_leaving_the_block_early_closes_the_response() -> None:
    rec = load("pause-turn-stream")
    body = Body(chunked(rec.sse, 2000))
    with serve(body, headers_of(rec)) as client:
        with MessageStreamManager(lambda: send(client)) as stream:
            for event in stream:
                if isinstance(event, TextEvent):
                    break
        assert stream.response.is_closed and body.closed
    assert body.served < len(body.chunks)


def test_close_stops_a_raw_stream() -> None:
    rec = load("pause-turn-stream")
    body = Body(chunked(rec.sse, 2000))
    with serve(body, headers_of(rec)) as client:
        with Stream(send(client)) as stream:
            first = next(stream)
        assert first.type == "message_start"
        assert stream.response.is_closed and body.closed
        assert list(stream) == []


def test_manager_opens_lazily_and_passes_open_errors_through() -> None:
    calls = []

    def open_response() -> httpx.Response:
        calls.append(1)
        raise OverloadedError(
            "529", response=httpx.Response(529, request=httpx.Request("POST", BASE)), body=None
        )

    manager = MessageStreamManager(open_response)
    assert calls == []
    with pytest.raises(OverloadedError), manager:
        pass
    assert calls == [1]


@pytest.mark.anyio
async def test_async_manager_early_exit_closes_the_response() -> None:
    rec = load("pause-turn-stream")
    body = Body(chunked(rec.sse, 2000))
    async with aserve(body, headers_of(rec)) as client:
        async with AsyncMessageStreamManager(lambda: asend(client)) as stream:
            async for text in stream.text_stream:
                assert text
                break
        assert stream.response.is_closed and body.closed
    assert body.served < len(body.chunks)


@pytest.mark.anyio
async def test_async_text_stream_and_final_text() -> None:
    rec = load("citations-stream-ruby")
    async with aserve(Body(chunked(rec.sse, 300)), headers_of(rec)) as client:
        async with AsyncMessageStreamManager(lambda: asend(client)) as stream:
            text = "".join([t async for t in stream.text_stream])
            assert text == await stream.get_final_text()
            assert stream.current_message_snapshot is not None
            assert stream.unparsed_tool_inputs == {}
            assert stream.request_id == stream.response.headers.get("request-id")
            await stream.until_done()


# --- a pluggable decoder ----------------------------------------------------------------------


class LinesDecoder:
    """A stand-in for another framing (Bedrock's event stream): one JSON event per line."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [ServerSentEvent(json.loads(line)["type"], line) for line in lines if line]

    def flush(self) -> list[ServerSentEvent]:
        rest, self.buffer = self.buffer, b""
        return self.feed(rest + b"\n")


def test_decoder_is_pluggable() -> None:
    rec = load("thinking-stream-events")
    events = raw_events(rec.sse)
    data = b"\n".join(json.dumps(e).encode() for e in events)
    with serve(Body(chunked(data, 37)), headers_of(rec)) as client:
        message = MessageStream(send(client), decoder_factory=LinesDecoder).get_final_message()
    assert message.to_dict() == accumulate(events).to_dict()
    with serve(Body([data]), headers_of(rec)) as client:
        assert [e.raw for e in Stream(send(client), decoder_factory=LinesDecoder)] == events


# --- mixing the ways of reading, closing mid-way --------------------------------------------


def test_events_then_text_stream_then_final_message() -> None:
    rec = load("thinking-stream-signature-delta")
    expected = accumulate(raw_events(rec.sse))
    with serve(Body(chunked(rec.sse, 300)), headers_of(rec)) as client:
        with MessageStreamManager(lambda: send(client)) as stream:
            first = [next(stream) for _ in range(3)]
            texts = list(stream.text_stream)
            message = stream.get_final_message()
    assert isinstance(first[0], MessageStartEvent)
    assert texts and all(type(t) is str for t in texts)
    assert "".join(texts) == expected.text
    assert message.to_dict() == expected.to_dict()


def test_text_stream_then_events_are_typed_from_the_next_chunk() -> None:
    rec = load("text-stream-basic-ratelimit-headers")
    with serve(Body(chunked(rec.sse, 1)), headers_of(rec)) as client:
        with MessageStreamManager(lambda: send(client)) as stream:
            text_iter = stream.text_stream
            assert isinstance(next(text_iter), str)
            rest = list(stream)  # one-byte chunks: no text left over from the text_stream chunk
    assert all(not isinstance(e, str) for e in rest)
    assert isinstance(rest[-1], MessageStopEvent)


def test_close_inside_the_loop_then_no_half_message() -> None:
    rec = load("pause-turn-stream")
    body = Body(chunked(rec.sse, 2000))
    with serve(body, headers_of(rec)) as client:
        stream = MessageStream(send(client))
        for event in stream:
            if isinstance(event, TextEvent):
                stream.close()
        assert body.closed
        with pytest.raises(StreamError, match="message_stop") as info:
            stream.get_final_message()
    assert info.value.partial_message is not None


def test_connection_broken_before_any_event() -> None:
    # Synthetic: the transport fails before the first byte of the body.
    error = httpx.ReadError("reset")
    with serve(Body([], error=error), headers_of()) as client:
        with pytest.raises(IncompleteStreamError, match="no event") as info:
            list(Stream(send(client)))
    assert info.value.content_delivered is False
    assert info.value.partial_message is None
    assert info.value.__cause__ is error
