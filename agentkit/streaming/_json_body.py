"""A complete JSON message, as the event stream that would have carried it (pure).

A proxy that ignores `"stream": true` answers a stream request with a `200 application/json`
body: the whole message at once. The client reads it once and hands the streams these events
instead, so every reader (`Stream`, `MessageStream`, the runner) gets the message as if it had
been streamed, and the request is never sent again. Text blocks start empty and get their text
in one `text_delta` (so `text_stream` yields it); every other block starts complete.
"""

from __future__ import annotations

from pydantic_core import from_json, to_json

__all__ = ["json_body_as_sse"]


def json_body_as_sse(body: bytes) -> bytes:
    """The SSE bytes of a Messages JSON body: a message's events, or one `error` event.

    Raises:
        ValueError: the body is not JSON, or neither a message nor an error object (the text
            says what it is).
    """
    try:
        data = from_json(body)
    except ValueError as exc:
        raise ValueError(f"the body is not JSON: {body[:200]!r}") from exc
    if isinstance(data, dict) and data.get("type") == "error":
        return _event("error", data)
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("type") != "message" or not isinstance(content, list):
        raise ValueError(f"the body is not a message: {body[:200]!r}")
    if not all(isinstance(block, dict) for block in content):
        raise ValueError(f"the message's content is not a list of objects: {body[:200]!r}")
    head = {k: v for k, v in data.items() if k != "context_management"}
    head |= {"content": [], "stop_reason": None, "stop_sequence": None}
    out = [_event("message_start", {"type": "message_start", "message": head})]
    for index, block in enumerate(content):
        out += _block(index, block)
    delta: dict[str, object] = {
        "stop_reason": data.get("stop_reason"),
        "stop_sequence": data.get("stop_sequence"),
    }
    final: dict[str, object] = {"type": "message_delta", "delta": delta}
    if isinstance(data.get("usage"), dict):
        final["usage"] = data["usage"]
    if "context_management" in data:
        final["context_management"] = data["context_management"]
    out += [_event("message_delta", final), _event("message_stop", {"type": "message_stop"})]
    return b"".join(out)


def _block(index: int, block: dict[str, object]) -> list[bytes]:
    stop = _event("content_block_stop", {"type": "content_block_stop", "index": index})
    text = block.get("text")
    if block.get("type") != "text" or not isinstance(text, str):
        start = {"type": "content_block_start", "index": index, "content_block": block}
        return [_event("content_block_start", start), stop]
    start = {"type": "content_block_start", "index": index, "content_block": block | {"text": ""}}
    delta = {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }
    return [_event("content_block_start", start), _event("content_block_delta", delta), stop]


def _event(name: str, payload: dict[str, object]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + to_json(payload) + b"\n\n"
