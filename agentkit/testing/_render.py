"""Render a complete message as the API's JSON body or as its SSE byte stream.

The byte format follows the recordings in `tests/fixtures/anthropic-recordings`: compact JSON
with raw unicode, `event:`/`data:` pairs separated by a blank line, whitespace padding inside
the data object before its closing brace (the real API pads to hide lengths), `ping` written as
`{"type": "ping"}` right after the first `content_block_start` and, in longer streams, now and
then between later events (placed by a seeded random generator, so a seeded fake streams the
same bytes every time), text split into several `text_delta`s, thinking ending with an empty
`thinking_delta` before its `signature_delta`, tool input split into `input_json_delta`
fragments that start with an empty one, `output_tokens_details` in `message_delta.usage`, and
server tool results and `redacted_thinking` sent whole in `content_block_start`.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping

from pydantic_core import to_json

__all__ = [
    "error_event",
    "json_bytes",
    "message_start_usage",
    "render_json",
    "sse_events",
    "split_text",
]

_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
_PING_CHANCE = 1 / 40  # recorded streams: a later ping about every 40 events
_STREAMED_INPUT = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_WORDS = re.compile(r"\S*\s*")


def json_bytes(value: object) -> bytes:
    """Compact JSON with raw unicode, as the API writes it."""
    return to_json(value)


def render_json(message: Mapping[str, object]) -> bytes:
    """The non-streaming response body of a message."""
    return json_bytes(message)


def split_text(value: str, size: int = 24) -> list[str]:
    """Split text at word boundaries into pieces of about `size` characters (one delta each)."""
    pieces: list[str] = []
    current = ""
    for match in _WORDS.finditer(value):
        current += match.group()
        if len(current) >= size:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _split_json(value: str, size: int = 16) -> list[str]:
    # The API cuts tool input at arbitrary characters and always opens with an empty fragment.
    return [""] + [value[i : i + size] for i in range(0, len(value), size)]


def _event(name: str, payload: Mapping[str, object], seq: int) -> bytes:
    pad = b" " * ((seq * 7 + 3) % 16)  # deterministic stand-in for the API's random padding
    data = json_bytes(payload)
    # The API pads inside the object, before its closing brace: `{"type":"...","index":0   }`.
    return b"event: " + name.encode() + b"\ndata: " + data[:-1] + pad + b"}\n\n"


def message_start_usage(usage: Mapping[str, object]) -> dict[str, object]:
    """The usage in `message_start`: input and cache counts final, output not yet counted."""
    start = dict(usage)
    output = usage.get("output_tokens", 1)
    start["output_tokens"] = min(output, 1) if isinstance(output, int) else 1
    start.pop("server_tool_use", None)
    start.pop("output_tokens_details", None)
    return start


def _delta_usage(usage: Mapping[str, object]) -> dict[str, object]:
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    delta = {k: usage[k] for k in keys if k in usage}
    delta["output_tokens"] = usage.get("output_tokens", 0)
    for key in ("output_tokens_details", "server_tool_use"):
        if key in usage:
            delta[key] = usage[key]
    return delta


def _block_events(
    index: int, block: Mapping[str, object], partial_json: str | None
) -> list[tuple[str, dict[str, object]]]:
    """`content_block_start`, its deltas and (unless cut mid tool input) `content_block_stop`."""
    kind = block.get("type")
    deltas: list[dict[str, object]] = []
    if kind == "text":
        start: dict[str, object] = {"type": "text", "text": ""}
        if "citations" in block:
            start = {"citations": [], **start}
            citations = block["citations"]
            if isinstance(citations, list):
                deltas += [{"type": "citations_delta", "citation": c} for c in citations]
        deltas += [{"type": "text_delta", "text": t} for t in split_text(_text(block, "text"))]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        thought = _text(block, "thinking")
        deltas += [{"type": "thinking_delta", "thinking": t} for t in split_text(thought)]
        if thought:  # recorded streams close the thinking text with an empty delta
            deltas.append({"type": "thinking_delta", "thinking": ""})
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in _STREAMED_INPUT:
        start = {k: ({} if k == "input" else v) for k, v in block.items()}
        raw = partial_json if partial_json is not None else _input_text(block.get("input"))
        deltas += [{"type": "input_json_delta", "partial_json": p} for p in _split_json(raw)]
    elif kind == "compaction":
        start = {"type": "compaction", "content": None}
        deltas.append(
            {"type": "compaction_delta", **{k: v for k, v in block.items() if k != "type"}}
        )
    else:  # redacted_thinking, server tool results, unknown blocks: sent whole
        start = dict(block)
    events = [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    ]
    if partial_json is None:  # a tool call cut by max_tokens never gets its stop (recordings)
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _input_text(value: object) -> str:
    return "" if not value else json.dumps(value, ensure_ascii=False)


def _text(block: Mapping[str, object], key: str) -> str:
    value = block[key]
    if not isinstance(value, str):
        raise TypeError(f"the {block.get('type')!r} block's {key!r} is not a string: {value!r}")
    return value


def sse_events(
    message: Mapping[str, object],
    partial_json: Mapping[int, str] | None = None,
    *,
    pings: random.Random | None = None,
) -> list[bytes]:
    """The message as SSE, one encoded event per list item, in the API's order.

    Args:
        message: The complete message (as `render_json` would send it).
        partial_json: Per block index, the cut-off input JSON text of a tool call truncated by
            `max_tokens`; streamed instead of the block's (empty) `input`.
        pings: Places the later `ping` events, as long real streams have them; None sends only
            the first one (after the first `content_block_start`).
    """
    partial_json = partial_json or {}
    usage = message.get("usage")
    if not isinstance(usage, Mapping):
        usage = {}
    head = {k: v for k, v in message.items() if k not in ("content", "context_management")}
    head["content"] = []
    head["stop_reason"] = None
    head["stop_sequence"] = None
    if "stop_details" in head:
        head["stop_details"] = None
    head.pop("container", None)
    head["usage"] = message_start_usage(usage)
    # Keep the API's key order: content right after role.
    order = ["model", "id", "type", "role", "content", "stop_reason", "stop_sequence"]
    head = {k: head[k] for k in order if k in head} | head
    named: list[tuple[str, dict[str, object]]] = [
        ("message_start", {"type": "message_start", "message": head})
    ]
    content = message.get("content")
    for index, block in enumerate(content if isinstance(content, list) else []):
        named += _block_events(index, block, partial_json.get(index))
    delta: dict[str, object] = {
        "stop_reason": message.get("stop_reason"),
        "stop_sequence": message.get("stop_sequence"),
    }
    if "stop_details" in message:
        delta["stop_details"] = message["stop_details"]
    if "container" in message:
        delta["container"] = message["container"]
    final: dict[str, object] = {
        "type": "message_delta",
        "delta": delta,
        "usage": _delta_usage(usage),
    }
    if "context_management" in message:
        final["context_management"] = message["context_management"]
    named += [("message_delta", final), ("message_stop", {"type": "message_stop"})]
    out: list[bytes] = []
    first = 2 if message.get("content") else 1  # after the first block starts
    for seq, (name, payload) in enumerate(named):
        if seq == first:
            out.append(_PING)
        elif seq > first and name.startswith("content_block") and pings is not None:
            if pings.random() < _PING_CHANCE:
                out.append(_PING)
        out.append(_event(name, payload, seq))
    return out


def error_event(error_type: str, message: str) -> bytes:
    """A mid-stream `error` event as the API sends it."""
    payload = {"type": "error", "error": {"type": error_type, "message": message, "details": None}}
    return b"event: error\ndata: " + json_bytes(payload) + b"\n\n"
