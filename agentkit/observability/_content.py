"""Message content in the GenAI semantic conventions' shapes, for opt-in content capture.

Only what the model saw or said goes in: text, reasoning text, tool calls and their results.
Thinking signatures, redacted thinking and binary sources (images, documents) are left out,
and no header, key or client setting ever reaches this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic_core import to_json

__all__ = ["input_messages", "output_messages", "system_instructions", "to_text"]


def to_text(value: object) -> str:
    """A value as the JSON text an attribute holds."""
    return value if isinstance(value, str) else to_json(value).decode()


def _part(block: object) -> dict[str, object]:
    if not isinstance(block, Mapping):
        return {"type": "text", "content": str(block)}
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "content": block.get("text", "")}
    if kind in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call",
            "id": block.get("id"),
            "name": block.get("name"),
            "arguments": block.get("input"),
        }
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            content = [_part(b) for b in content]
        return {"type": "tool_call_response", "id": block.get("tool_use_id"), "response": content}
    if kind == "thinking":
        return {"type": "reasoning", "content": block.get("thinking", "")}
    # Images, documents, redacted thinking, server tool results: their kind, not their bytes.
    return {"type": str(kind)}


def _parts(content: object) -> list[dict[str, object]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, Iterable) and not isinstance(content, Mapping | bytes):
        return [_part(b) for b in content]
    return []


def input_messages(messages: Iterable[Mapping[str, object]]) -> str:
    """`gen_ai.input.messages`: the request's messages, role and parts each."""
    return to_text([{"role": m.get("role"), "parts": _parts(m.get("content"))} for m in messages])


def system_instructions(system: object) -> str | None:
    """`gen_ai.system_instructions`: the system prompt's parts (None without one)."""
    if system is None:
        return None
    return to_text(_parts(system))


def output_messages(content: Iterable[object], stop_reason: str | None) -> str:
    """`gen_ai.output.messages`: the reply as one assistant message with its finish reason."""
    parts = [_part(b) for b in content]
    return to_text([{"role": "assistant", "parts": parts, "finish_reason": stop_reason or ""}])
