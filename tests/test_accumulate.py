"""The stream accumulator: recorded streams -> the same message the non-streaming call returns."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from recordings import Recording, cases, load

from agentkit import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    Message,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    StreamError,
)
from agentkit.streaming import (
    CitationEvent,
    CompactionEvent,
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    InputJsonEvent,
    MessageAccumulator,
    MessageDeltaEvent,
    MessageStartEvent,
    MessageStopEvent,
    SignatureEvent,
    SSEDecoder,
    TextEvent,
    ThinkingEvent,
    UnknownEvent,
    accumulate,
)
from agentkit.types import TextBlock, ToolUseBlock

# --- synthetic streams (shaped like the recordings) --------------------------------------------


def _message_start() -> dict[str, Any]:
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
            "usage": {"input_tokens": 10, "output_tokens": 1},
        },
    }


def _tail(stop_reason: str) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]


def _synthetic_text(pieces: list[str]) -> list[dict[str, Any]]:
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        for p in pieces
    ]
    return [
        _message_start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *deltas,
        *_tail("end_turn"),
    ]


def _synthetic_tool(fragments: list[str]) -> list[dict[str, Any]]:
    block = {"type": "tool_use", "id": "toolu_synthetic", "name": "weather", "input": {}}
    deltas = [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": f},
        }
        for f in fragments
    ]
    return [
        _message_start(),
        {"type": "content_block_start", "index": 0, "content_block": block},
        *deltas,
        *_tail("tool_use"),
    ]


def _synthetic_thinking(signatures: list[str]) -> list[dict[str, Any]]:
    block = {"type": "thinking", "thinking": "", "signature": ""}
    deltas = [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": s},
        }
        for s in signatures
    ]
    return [
        _message_start(),
        {"type": "content_block_start", "index": 0, "content_block": block},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hm"},
        },
        *deltas,
        *_tail("end_turn"),
    ]


STREAMING = cases(streaming=True)
MID_TOOL = "stop-max-tokens-mid-tool-json-stream"


def events_of(rec: Recording) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    sses = decoder.feed(rec.sse) + decoder.flush()
    return [sse.json() for sse in sses if sse.event != "ping"]


def run(events: list[dict[str, Any]], *, emit: bool = True) -> tuple[Message, list[Any]]:
    acc = MessageAccumulator(emit=emit)
    out = [acc.feed(event) for event in events]
    return acc.message(), out


@pytest.mark.parametrize("rec", STREAMING, ids=lambda r: r.name)
def test_every_recorded_stream_accumulates(rec: Recording) -> None:
    events = events_of(rec)
    message, typed = run(events)
    assert isinstance(typed[-1], MessageStopEvent)
    assert typed[-1].message is message
    # Every raw event maps to one typed event that keeps the raw dict.
    assert [t.raw for t in typed] == events
    # The message round-trips as data, and the no-typed-events mode gives the same message.
    assert Message.model_validate(message.to_dict()).to_dict() == message.to_dict()
    assert run(events, emit=False)[0].to_dict() == message.to_dict()
    assert message.stop_reason is not None
    start = events[0]["message"]
    assert message.id == start["id"]
    # Every block announced was filled and kept, in order.
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert [b.type for b in message.content] == starts
    # Text is exactly the deltas joined.
    for index, block in enumerate(message.content):
        deltas = [
            e["delta"] for e in events if e["type"] == "content_block_delta" and e["index"] == index
        ]
        if isinstance(block, TextBlock):
            assert block.text == "".join(d["text"] for d in deltas if d["type"] == "text_delta")
    if rec.name == MID_TOOL:
        return
    # Usage is the last message_delta's (cumulative) figures, not a sum.
    final_usage = next(e for e in reversed(events) if e["type"] == "message_delta")["usage"]
    assert message.usage.output_tokens == final_usage["output_tokens"]


def _non_streamed() -> list[Recording]:
    out = []
    for rec in cases(streaming=False, endpoint="POST /v1/messages"):
        body = rec.body
        if isinstance(body, dict) and body.get("type") == "message":
            out.append(rec)
    return out


def _counterparts() -> list[tuple[Recording, Recording]]:
    """Stream and non-stream recordings of the same model with the same content."""
    bodies = [(rec, Message.model_validate(rec.body).to_dict()) for rec in _non_streamed()]
    pairs = []
    for rec in STREAMING:
        streamed = accumulate(events_of(rec)).to_dict()
        for other, body in bodies:
            if body["model"] == streamed["model"] and body["content"] == streamed["content"]:
                pairs.append((rec, other))
    return pairs


COUNTERPARTS = _counterparts()


def test_the_corpus_has_counterparts() -> None:
    names = {(a.name, b.name) for a, b in COUNTERPARTS}
    assert ("stop-max-tokens-stream", "stop-max-tokens-nonstream") in names
    assert ("citations-char-location-stream", "citations-char-location-nonstream") in names


@pytest.mark.parametrize(
    ("streamed", "non_streamed"), COUNTERPARTS, ids=lambda r: getattr(r, "name", "")
)
def test_stream_equals_non_streamed_counterpart(
    streamed: Recording, non_streamed: Recording
) -> None:
    got = accumulate(events_of(streamed)).to_dict()
    want = Message.model_validate(non_streamed.body).to_dict()
    # Two calls, two message ids; everything else (blocks, citations, usage, stop) is equal.
    got.pop("id")
    want.pop("id")
    assert got == want


def test_streamed_shapes_match_non_streamed_shapes() -> None:
    """Each block a stream built from deltas has a shape the corpus has non-streamed, and so has
    each message. (Blocks that arrive whole in content_block_start are kept verbatim instead.)"""

    def shapes(message: dict[str, Any], kinds: set[str]) -> set[tuple[str, tuple[str, ...]]]:
        out = {("message", tuple(sorted(message)))}
        out |= {(b["type"], tuple(sorted(b))) for b in message["content"] if b["type"] in kinds}
        return out

    every_kind = {"message", "text", "thinking", "tool_use", "server_tool_use", "compaction"}
    non_streamed: set[tuple[str, tuple[str, ...]]] = set()
    for rec in _non_streamed():
        non_streamed |= shapes(rec.body, every_kind)
    checked = 0
    for rec in STREAMING:
        events = events_of(rec)
        filled = {e["index"] for e in events if e["type"] == "content_block_delta"}
        message = accumulate(events).to_dict()
        kinds = {b["type"] for i, b in enumerate(message["content"]) if i in filled}
        for shape in shapes(message, kinds):
            if any(kind == shape[0] for kind, _ in non_streamed):
                assert shape in non_streamed, (rec.name, shape)
                checked += 1
    assert checked > 50


def test_all_delta_types_are_covered_by_recordings() -> None:
    seen: set[str] = set()
    for rec in STREAMING:
        for event in events_of(rec):
            if event["type"] == "content_block_delta":
                seen.add(event["delta"]["type"])
    assert seen >= {
        "text_delta",
        "input_json_delta",
        "thinking_delta",
        "signature_delta",
        "citations_delta",
        "compaction_delta",
    }


def test_typed_events_and_snapshots() -> None:
    events = events_of(load("thinking-stream-signature-delta"))
    _, typed = run(events)
    thinking = [t for t in typed if isinstance(t, ThinkingEvent)]
    assert thinking and thinking[-1].snapshot == "".join(t.thinking for t in thinking)
    assert thinking[0].snapshot == thinking[0].thinking
    (signature,) = [t for t in typed if isinstance(t, SignatureEvent)]
    texts = [t for t in typed if isinstance(t, TextEvent)]
    assert texts[-1].snapshot == "".join(t.text for t in texts)
    stops = [t for t in typed if isinstance(t, ContentBlockStopEvent)]
    assert stops[0].content_block.type == "thinking"
    assert stops[0].block["signature"] == signature.signature
    assert isinstance(typed[0], MessageStartEvent)
    assert isinstance(typed[1], ContentBlockStartEvent)
    assert any(isinstance(t, MessageDeltaEvent) and t.delta["stop_reason"] for t in typed)


def test_signature_is_assigned_not_appended() -> None:
    # Synthetic: two signature deltas (the API sends one); the last one wins.
    events = _synthetic_thinking(["sig-a", "sig-b"])
    message, _ = run(events)
    assert message.to_dict()["content"][0]["signature"] == "sig-b"


def test_input_json_snapshots_and_final_input() -> None:
    events = events_of(load("tools-stream-input-json-delta"))
    message, typed = run(events)
    json_events = [t for t in typed if isinstance(t, InputJsonEvent)]
    assert json_events
    by_block: dict[int, str] = {}
    for event in json_events:
        by_block[event.index] = by_block.get(event.index, "") + event.partial_json
        assert isinstance(event.snapshot, dict)
    last = [e for e in json_events if e.index == json_events[-1].index][-1]
    tool = message.content[last.index]
    assert isinstance(tool, ToolUseBlock)
    assert last.snapshot == tool.input


def test_partial_input_keeps_an_unfinished_string() -> None:
    event = InputJsonEvent(0, "", {}, ['{"city": "Par'], 1)
    assert event.snapshot == {"city": "Par"}
    assert InputJsonEvent(0, "", {}, ["[1"], 1).snapshot == {}
    assert InputJsonEvent(0, "", {}, ["}"], 1).snapshot == {}


def test_citations_and_compaction() -> None:
    message, typed = run(events_of(load("citations-char-location-stream")))
    citations = [t for t in typed if isinstance(t, CitationEvent)]
    assert citations[-1].snapshot == [c.citation for c in citations]
    block = message.content[0]
    assert isinstance(block, TextBlock)
    assert block.citations == [c.citation for c in citations]
    message, typed = run(events_of(load("compaction-stream")))
    (compaction,) = [t for t in typed if isinstance(t, CompactionEvent)]
    assert message.to_dict()["content"][0]["content"] == compaction.content
    assert compaction.content


def test_message_delta_fields_are_kept() -> None:
    compaction = accumulate(events_of(load("compaction-stream"))).to_dict()
    assert "context_management" in compaction
    assert "iterations" in compaction["usage"]
    container = accumulate(events_of(load("server-code-execution-stream"))).to_dict()
    assert "container" in container and "stop_details" in container


def test_usage_is_overwritten_not_added_and_nulls_do_not_erase() -> None:
    # Synthetic: message_start reports input 10 / output 1; message_delta reports totals.
    events = _synthetic_text(["a"])
    events[-2]["usage"] = {"input_tokens": None, "output_tokens": 7, "server_tool_use": None}
    message, _ = run(events)
    usage = message.to_dict()["usage"]
    assert usage["input_tokens"] == 10
    assert usage["output_tokens"] == 7
    assert usage["server_tool_use"] is None


def test_server_tool_result_arrives_whole_in_block_start() -> None:
    events = events_of(load("server-web-search-stream"))
    message = accumulate(events)
    start = next(
        e["content_block"]
        for e in events
        if e["type"] == "content_block_start"
        and e["content_block"]["type"] == "web_search_tool_result"
    )
    got = next(b for b in message.to_dict()["content"] if b["type"] == "web_search_tool_result")
    assert got == start


def test_cut_off_tool_input_is_empty_and_kept_raw() -> None:
    events = events_of(load(MID_TOOL))
    acc = MessageAccumulator()
    for event in events:
        acc.feed(event)
    message = acc.message()
    assert message.stop_reason == "max_tokens"
    tool = message.content[1]
    assert isinstance(tool, ToolUseBlock)
    assert tool.input == {}
    raw = "".join(
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["index"] == 1
    )
    assert acc.unparsed_tool_inputs == {tool.id: raw}


def test_cut_off_tool_input_with_stop_reason_tool_use_is_a_broken_stream() -> None:
    # Synthetic: the recording's cut-off input, but claiming stop_reason tool_use.
    events = events_of(load(MID_TOOL))
    for event in events:
        if event["type"] == "message_delta":
            event["delta"]["stop_reason"] = "tool_use"
    acc = MessageAccumulator()
    assert events[-1]["type"] == "message_stop"
    for event in events[:-1]:
        acc.feed(event)
    with pytest.raises(StreamError, match="cut off"):
        acc.feed(events[-1])


def test_invalid_tool_json_at_block_stop_is_a_stream_error() -> None:
    # Synthetic: a tool block that stops with broken JSON.
    events = _synthetic_tool(['{"a": ', "}"])
    acc = MessageAccumulator()
    with pytest.raises(StreamError, match="not valid JSON") as info:
        for event in events:
            acc.feed(event)
    assert info.value.partial_message is not None


ERROR_TYPES = [
    ("overloaded_error", OverloadedError),
    ("rate_limit_error", RateLimitError),
    ("api_error", InternalServerError),
    ("timeout_error", InternalServerError),
    ("invalid_request_error", BadRequestError),
    ("authentication_error", AuthenticationError),
    ("permission_error", PermissionDeniedError),
    ("not_found_error", NotFoundError),
    ("request_too_large", RequestTooLargeError),
    ("some_future_error", APIStatusError),
]


@pytest.mark.parametrize(("error_type", "cls"), ERROR_TYPES)
def test_error_event_raises_the_typed_error(error_type: str, cls: type[APIStatusError]) -> None:
    # Synthetic: an error event after some text.
    events = _synthetic_text(["Hel", "lo"])[:4]
    error = {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}
    response = httpx.Response(
        200, headers={"request-id": "req_mid"}, request=httpx.Request("POST", "https://x/v1")
    )
    acc = MessageAccumulator(response=response)
    for event in events:
        acc.feed(event)
    with pytest.raises(cls) as info:
        acc.feed(error)
    err = info.value
    assert type(err) is cls
    assert err.status_code == 200
    assert err.type == error_type
    assert err.request_id == "req_mid"
    assert err.body == error
    partial = err.partial_message
    assert isinstance(partial, Message)
    assert partial.text == "Hello"
    assert partial.stop_reason is None


def test_error_event_without_response() -> None:
    # Synthetic: an error before anything else; no response known.
    acc = MessageAccumulator()
    with pytest.raises(OverloadedError) as info:
        acc.feed({"type": "error", "error": {"type": "overloaded_error", "message": "x"}})
    assert info.value.partial_message is None


def _out_of_order_cases() -> list[tuple[str, list[dict[str, Any]]]]:
    text = _synthetic_text(["a", "b"])
    start, block_start, delta, _, block_stop, message_delta, stop = text
    return [
        ("delta before anything", [delta]),
        ("block start before message start", [block_start]),
        ("second message_start", [start, start]),
        ("block index skipped", [start, {**block_start, "index": 1}]),
        ("delta for a closed block", [start, block_start, block_stop, delta]),
        ("stop for a block never opened", [start, block_stop]),
        ("message_delta before message_start", [message_delta]),
        ("message_stop before message_start", [stop]),
        ("event after message_stop", [start, stop, block_start]),
        ("message_delta after message_stop", [start, stop, message_delta]),
        ("second message_stop", [start, stop, stop]),
    ]


@pytest.mark.parametrize(("what", "events"), _out_of_order_cases(), ids=lambda x: str(x)[:40])
def test_out_of_order_events_raise(what: str, events: list[dict[str, Any]]) -> None:
    # Synthetic: events of a real-shaped stream, shuffled.
    acc = MessageAccumulator()
    with pytest.raises(StreamError, match="out of order"):
        for event in copy.deepcopy(events):
            acc.feed(event)


def test_malformed_event_is_a_stream_error() -> None:
    # Synthetic: a text delta without its text.
    events = _synthetic_text(["a"])
    del events[2]["delta"]["text"]
    acc = MessageAccumulator()
    with pytest.raises(StreamError, match="malformed"):
        for event in events:
            acc.feed(event)


def test_unknown_events_and_deltas_pass_through() -> None:
    # Synthetic: an unknown event type and an unknown delta type inside a real-shaped stream.
    events = _synthetic_text(["a"])
    unknown = {"type": "brand_new_event", "x": 1}
    odd_delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "sparkle_delta"}}
    events[3:3] = [unknown, odd_delta]
    message, typed = run(events)
    assert isinstance(typed[3], UnknownEvent) and typed[3].event_type == "brand_new_event"
    assert (
        isinstance(typed[4], ContentBlockDeltaEvent) and typed[4].delta["type"] == "sparkle_delta"
    )
    assert message.text == "a"


def test_message_before_stop_is_refused_and_snapshot_is_partial() -> None:
    events = _synthetic_text(["Hel", "lo"])
    acc = MessageAccumulator(emit=False)
    assert acc.snapshot() is None
    for event in events[:4]:
        assert acc.feed(event) is None
    snapshot = acc.snapshot()
    assert snapshot is not None and snapshot.text == "Hello" and snapshot.stop_reason is None
    assert acc.started and not acc.done
    with pytest.raises(StreamError, match="message_stop") as info:
        acc.message()
    assert info.value.partial_message is not None
    for event in events[4:]:
        acc.feed(event)
    assert acc.done and acc.message().text == "Hello"
    assert acc.snapshot() is acc.message()


def test_snapshot_of_open_tool_block_shows_partial_input() -> None:
    events = _synthetic_tool(['{"city": "Par', 'is"}'])
    acc = MessageAccumulator()
    for event in events[:3]:
        acc.feed(event)
    snapshot = acc.snapshot()
    assert snapshot is not None
    tool = snapshot.content[0]
    assert isinstance(tool, ToolUseBlock) and tool.input == {"city": "Par"}


def test_text_is_not_built_quadratically() -> None:
    # Synthetic: 20,000 deltas; the parts are joined once, so this is fast and exact.
    pieces = [f"w{i} " for i in range(20_000)]
    message = accumulate(_synthetic_text(pieces))
    assert message.text == "".join(pieces)
