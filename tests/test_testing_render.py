"""The fake's replies parse and stream exactly like the recorded API responses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from recordings import Recording, cases, load

from agentkit import Message
from agentkit.streaming import SSEDecoder, accumulate
from agentkit.testing import (
    FakeClaude,
    FakeRequest,
    Reply,
    compaction,
    redacted_thinking,
    render_json,
    server_tool_result,
    server_tool_use,
    sse_events,
    text,
    thinking,
    tool_use,
    web_search_result,
)

BODY = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Hi"}],
}


def events_of(raw: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    found = decoder.feed(raw) + decoder.flush()
    for event in found:  # every recorded stream names each event after its payload's type
        assert event.event == event.json()["type"]
    return [e.json() for e in found]


def skeleton(events: list[dict[str, Any]]) -> list[str]:
    """Event order with pings dropped and runs of the same delta collapsed."""
    out: list[str] = []
    for event in events:
        kind = event["type"]
        if kind == "ping":
            continue
        if kind == "content_block_start":
            kind = "start:" + event["content_block"]["type"]
        elif kind == "content_block_delta":
            kind = "delta:" + event["delta"]["type"]
        if not (out and out[-1] == kind and kind.startswith("delta:")):
            out.append(kind)
    return out


def serve(fake: FakeClaude, body: dict[str, Any]) -> bytes:
    response = fake.handle(
        FakeRequest.build("POST", "/v1/messages", content=json.dumps(body).encode())
    )
    assert response.status == 200, response.body
    return response.body


def reply_from(message: Message) -> Reply:
    blocks = [b.to_dict() for b in message.content]
    return Reply(
        *blocks,
        stop_reason=message.stop_reason,
        stop_sequence=message.stop_sequence,
        model=message.model,
    )


STREAMS = [r for r in cases(streaming=True) if r.name != "stop-max-tokens-mid-tool-json-stream"]


@pytest.mark.parametrize("rec", STREAMS, ids=lambda r: r.name)
def test_recorded_stream_replayed_by_the_fake_has_the_same_event_order_and_content(
    rec: Recording,
) -> None:
    recorded = events_of(rec.sse)
    message = accumulate(recorded)
    fake = FakeClaude([reply_from(message)], check_thinking=False)
    ours = events_of(serve(fake, {**BODY, "stream": True}))
    assert skeleton(ours) == skeleton(recorded)
    again = accumulate(ours)
    assert [b.to_dict() for b in again.content] == [b.to_dict() for b in message.content]
    assert again.stop_reason == message.stop_reason


def test_max_tokens_mid_tool_input_streams_like_the_recording() -> None:
    rec = load("stop-max-tokens-mid-tool-json-stream")
    recorded = events_of(rec.sse)
    partial = "".join(
        e["delta"]["partial_json"]
        for e in recorded
        if e["type"] == "content_block_delta" and e["index"] == 1
    )
    lead = "I'll create a comprehensive tax guide for someone with multiple W2s."
    fake = FakeClaude([Reply.max_tokens(lead, tool=("make_file", partial))])
    ours = events_of(serve(fake, {**BODY, "stream": True}))
    assert skeleton(ours) == skeleton(recorded)  # no content_block_stop for the cut block
    ours_partial = "".join(
        e["delta"]["partial_json"] for e in ours if e.get("index") == 1 and "delta" in e
    )
    assert ours_partial == partial
    with pytest.raises(json.JSONDecodeError):
        json.loads(ours_partial)
    final = accumulate(ours)
    assert final.stop_reason == "max_tokens"
    assert final.content[1].to_dict()["input"] == {}
    as_json = json.loads(
        serve(FakeClaude([Reply.max_tokens(lead, tool=("make_file", partial))]), BODY)
    )
    assert as_json["content"][1]["input"] == {}


JSON_MESSAGES = [
    r
    for r in cases(streaming=False, endpoint="POST /v1/messages")
    if r.status == 200 and isinstance(r.body, dict) and "content" in r.body
]


@pytest.mark.parametrize("rec", JSON_MESSAGES, ids=lambda r: r.name)
def test_recorded_json_content_is_rendered_unchanged(rec: Recording) -> None:
    message = Message.model_validate(rec.body)
    fake = FakeClaude([reply_from(message)], check_thinking=False)
    ours = json.loads(serve(fake, BODY))
    assert ours["content"] == rec.body["content"]
    assert Message.model_validate(ours).to_dict()["content"] == rec.body["content"]


def test_json_key_order_and_usage_shape_match_a_raw_recorded_body() -> None:
    raw = load("text-nonstream-basic").body_bytes
    recorded = json.loads(raw)
    ours = json.loads(serve(FakeClaude(["2 + 2 = 4"]), BODY))
    assert list(ours) == list(recorded)
    assert list(ours["usage"]) == list(recorded["usage"])
    assert re.fullmatch(r"msg_01[1-9A-HJ-NP-Za-km-z]{22}", ours["id"])


def test_sse_bytes_follow_the_recorded_line_format() -> None:
    raw = serve(
        FakeClaude(["Hello there, this is a long enough text to be split."]),
        {**BODY, "stream": True},
    )
    frames = raw.split(b"\n\n")
    assert frames[-1] == b""
    assert frames[2] == b'event: ping\ndata: {"type": "ping"}'
    padded = 0
    for frame in frames[:-1]:
        event, data = frame.decode().split("\n")
        assert re.fullmatch(r"event: [a-z_]+", event)
        assert re.fullmatch(r"data: \{.*\}", data)
        padded += data.endswith(" }")
    assert padded > len(frames) // 2  # padding inside the object, as the API sends it
    deltas = [e for e in events_of(raw) if e["type"] == "content_block_delta"]
    assert len(deltas) >= 2  # text split into several deltas


def test_usage_is_cumulative_in_message_delta() -> None:
    events = events_of(serve(FakeClaude(["Some answer text"]), {**BODY, "stream": True}))
    start = events[0]["message"]["usage"]
    final = next(e for e in events if e["type"] == "message_delta")["usage"]
    assert start["output_tokens"] == 1
    assert final["input_tokens"] == start["input_tokens"]
    assert final["output_tokens"] > 1


def every_builder() -> list[Reply]:
    return [
        Reply.text("plain"),
        Reply.tool_use("lookup", {"q": "x"}, text="Let me look."),
        Reply.tool_uses(("a", {"n": 1}), ("b", {"m": [1, 2]})),
        Reply(thinking("Reasoning about it."), text("Done.")),
        Reply(redacted_thinking(), text("Done.")),
        Reply.pause_turn(
            server_tool_use("web_search", {"query": "news"}),
            server_tool_result("web_search_tool_result", [web_search_result("https://e.x", "E")]),
        ),
        Reply.compacted("Summary of the talk.", "Hello!"),
        Reply(compaction(None), text("no-op compaction")),
        Reply.max_tokens("cut here"),
        Reply.refusal("I can't help with that."),
        Reply.stopped_by("The capital is ", "Paris"),
        Reply(
            text(
                "cited",
                citations=[
                    {
                        "type": "char_location",
                        "cited_text": "c",
                        "document_index": 0,
                        "document_title": None,
                        "start_char_index": 0,
                        "end_char_index": 1,
                    }
                ],
            )
        ),
        Reply(),
    ]


@pytest.mark.parametrize("reply", every_builder(), ids=repr)
def test_every_builder_renders_json_and_sse_that_agree(reply: Reply) -> None:
    fake = FakeClaude([reply, reply], seed=3)
    as_json = json.loads(serve(fake, BODY))
    parsed = Message.model_validate(as_json)
    streamed = accumulate(events_of(serve(fake, {**BODY, "stream": True})))
    strip = {"id", "signature", "data", "tool_use_id"}  # fresh per response

    def blocks(m: Message) -> list[dict[str, Any]]:
        return [{k: v for k, v in b.to_dict().items() if k not in strip} for b in m.content]

    assert blocks(streamed) == blocks(parsed)
    assert streamed.stop_reason == parsed.stop_reason == reply.stop_reason
    assert as_json["stop_sequence"] == reply.stop_sequence
    assert as_json["stop_details"] == reply.stop_details


def test_ids_and_server_result_links() -> None:
    reply = Reply(
        server_tool_use("web_search", {"query": "q"}),
        server_tool_result("web_search_tool_result", []),
        tool_use("local", {}),
    )
    body = json.loads(serve(FakeClaude([reply]), BODY))
    server, result, call = body["content"]
    assert server["id"].startswith("srvtoolu_01")
    assert result["tool_use_id"] == server["id"]
    assert call["id"].startswith("toolu_01")
    assert body["stop_reason"] == "tool_use"
    assert body["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


def test_render_helpers_are_public_and_pure() -> None:
    message = json.loads(serve(FakeClaude(["hi"]), BODY))
    assert json.loads(render_json(message)) == message
    assert accumulate(events_of(b"".join(sse_events(message)))).to_dict()["content"] == [
        {"type": "text", "text": "hi"}
    ]


# ----- framing details seen in the recordings (issue 17) ----------------------------------------

STREAM = {**BODY, "stream": True}
LONG = "word " * 600  # about a hundred text deltas


def test_long_streams_carry_later_pings_placed_by_the_seed() -> None:
    first = serve(FakeClaude([LONG], seed=5), STREAM)
    again = serve(FakeClaude([LONG], seed=5), STREAM)
    other = serve(FakeClaude([LONG], seed=6), STREAM)
    assert first == again  # seeded: the same bytes every time
    kinds = [e["type"] for e in events_of(first)]
    pings = [n for n, kind in enumerate(kinds) if kind == "ping"]
    assert pings[0] == 2 and len(pings) > 1  # after the first block starts, then mid-block
    assert kinds.index("message_delta") > pings[-1]
    assert skeleton(events_of(first)) == skeleton(events_of(other))  # pings aside, the same
    assert b"event: ping" in other
    # Like a recorded long stream (pause-turn-stream: 168 events, 2 pings), not one per event.
    assert len(pings) < len(kinds) / 10


def test_thinking_ends_with_an_empty_delta_before_its_signature() -> None:
    fake = FakeClaude([Reply(thinking("Let me count the words."), "Four.")])
    body = {**STREAM, "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    events = events_of(serve(fake, body))
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta" and e["index"] == 0]
    assert deltas[-2] == {"type": "thinking_delta", "thinking": ""}
    assert deltas[-1]["type"] == "signature_delta"
    usage = next(e for e in events if e["type"] == "message_delta")["usage"]
    assert usage["output_tokens_details"]["thinking_tokens"] > 0
    recorded = load("thinking-stream-adaptive-opus-5").sse
    assert b'"output_tokens_details":{"thinking_tokens"' in recorded


def test_tool_calls_name_their_caller() -> None:
    fake = FakeClaude([Reply.tool_use("get_weather", {"city": "Paris"})] * 2)
    events = events_of(serve(fake, STREAM))
    start = next(e for e in events if e["type"] == "content_block_start")
    assert start["content_block"]["caller"] == {"type": "direct"}
    assert json.loads(serve(fake, BODY))["content"][0]["caller"] == {"type": "direct"}
    assert b'"caller":{"type":"direct"}' in load("tools-stream-no-args").sse


def test_padding_sits_inside_the_object_as_recorded() -> None:
    recorded = load("text-stream-basic-ratelimit-headers").sse
    assert re.search(rb'"index":0 +\}\n', recorded)
    ours = serve(FakeClaude(["Hi there"]), STREAM)
    assert re.search(rb'"index":0 +\}\n', ours)
