"""Test-model mode: a reply for any request, without a script.

When the latest user message carries no tool results, the test model calls every client tool the
request offers, once each and in parallel, with arguments generated from the tool's JSON schema
(deterministically: a schema's first `examples` entry when it has one, else enums take their
first value, numbers their minimum, strings are `"a"` stretched to `minLength` ...). When it
does carry tool results, the test model answers with a text that summarizes them, or with JSON
matching the schema when the request asks for structured output. So any agent loop runs end to
end: tools, results, final answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from ._builders import Block, Reply, text, thinking, tool_use
from ._tokens import compaction_view

__all__ = ["arguments_for", "auto_reply"]

_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
}


def _resolve(schema: Mapping[str, object], root: Mapping[str, object]) -> Mapping[str, object]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: object = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        return {**node, **merged} if isinstance(node, Mapping) else merged
    return schema


def _value(schema: object, root: Mapping[str, object], depth: int) -> object:
    if not isinstance(schema, Mapping) or depth > 8:
        return None
    schema = _resolve(schema, root)
    # An example the tool's author gave (JSON Schema `examples`, pydantic's Field(examples=...))
    # is the most realistic argument there is, so it wins over a default.
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    enum = _list(schema.get("enum"))
    if enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        options = [s for s in _list(schema.get(key)) if not _is_null(s, root)]
        if options:
            return _value(options[0], root, depth + 1)
    parts = _list(schema.get("allOf"))
    if parts:
        merged: dict[str, object] = {}
        for part in parts:
            if isinstance(part, Mapping):
                merged.update(_resolve(part, root))
        return _value(merged, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        props = schema.get("properties")
        if not isinstance(props, Mapping):
            return {}
        return {name: _value(sub, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        count = max(_int(schema.get("minItems"), 1), 0)
        count = min(count, _int(schema.get("maxItems"), count))
        items = schema.get("items", {})
        return [_value(items, root, depth + 1) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        return "a" * max(_int(schema.get("minLength"), 1), 1)
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return False
    return None


def _number(schema: Mapping[str, object], kind: str) -> int | float:
    low = _number_or_none(schema.get("minimum"))
    above = _number_or_none(schema.get("exclusiveMinimum"))
    if low is None and above is not None:
        low = above + (1 if kind == "integer" else 0.5)
    high = _number_or_none(schema.get("maximum", schema.get("exclusiveMaximum")))
    value = low if low is not None else (min(0, high - 1) if high is not None else 0)
    return int(value) if kind == "integer" else float(value)


def _number_or_none(value: object) -> float | None:
    return value if isinstance(value, (int, float)) else None


def _int(value: object, default: int) -> int:
    """A schema's count keyword (`minItems` ...), or `default` when it is not set."""
    return int(value) if isinstance(value, (int, float)) else default


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _is_null(schema: object, root: Mapping[str, object]) -> bool:
    return isinstance(schema, Mapping) and _resolve(schema, root).get("type") == "null"


def arguments_for(input_schema: Mapping[str, object]) -> dict[str, object]:
    """Deterministic arguments that satisfy a tool's JSON schema (for the common keywords)."""
    value = _value(input_schema, input_schema, 0)
    return value if isinstance(value, dict) else {}


def _client_tools(body: Mapping[str, object]) -> list[Mapping[str, object]]:
    tools = [
        t
        for t in _list(body.get("tools"))
        if isinstance(t, Mapping) and t.get("type") in (None, "custom") and "input_schema" in t
    ]
    choice = body.get("tool_choice")
    if not isinstance(choice, Mapping):
        return tools
    if choice.get("type") == "none":
        return []
    if choice.get("type") == "tool":
        return [t for t in tools if t.get("name") == choice.get("name")]
    return tools


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in _list(content):
        if isinstance(block, Mapping):
            parts.append(
                str(block["text"]) if block.get("type") == "text" else f"[{block.get('type')}]"
            )
    return " ".join(parts)


def _summary(results: Sequence[Mapping[str, object]], names: Mapping[str, str]) -> str:
    lines = []
    for result in results:
        name = names.get(str(result.get("tool_use_id")), "unknown tool")
        outcome = "failed" if result.get("is_error") else "returned"
        body = _result_text(result.get("content"))
        if len(body) > 200:
            body = body[:200] + "..."
        lines.append(f"- {name} {outcome}: {body}")
    return f"I called {len(results)} tool(s). Results:\n" + "\n".join(lines)


def auto_reply(body: Mapping[str, object]) -> Reply:
    """The test model's reply to a request body (see the module docstring)."""
    view = [m for _, m in compaction_view(body.get("messages"))]
    last = view[-1] if view else {}
    content = last.get("content")
    blocks = content if isinstance(content, list) else []
    results = [b for b in blocks if isinstance(b, Mapping) and b.get("type") == "tool_result"]
    lead = _thinking_lead(body)
    if results:
        names = {
            str(b.get("id")): str(b.get("name"))
            for m in view
            if m.get("role") == "assistant"
            for b in _list(m.get("content"))
            if isinstance(b, Mapping) and b.get("type") == "tool_use"
        }
        return Reply(*lead, text(_structured(body) or _summary(results, names)))
    tools = _client_tools(body)
    if tools:
        calls = [
            tool_use(str(t["name"]), arguments_for(_mapping(t["input_schema"]))) for t in tools
        ]
        return Reply(*lead, *calls)
    prompt = content if isinstance(content, str) else _result_text(blocks)
    return Reply(*lead, text(_structured(body) or f"Test model reply to: {prompt[:200]}"))


def _structured(body: Mapping[str, object]) -> str | None:
    """With structured outputs (`output_config.format`), the text is JSON matching the schema."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        return json.dumps(arguments_for(_mapping(fmt.get("schema"))), ensure_ascii=False)
    return None


def _thinking_lead(body: Mapping[str, object]) -> list[Block]:
    config = _mapping(body.get("thinking"))
    if config.get("type") not in ("enabled", "adaptive"):
        return []
    if config.get("display") == "omitted":
        return [thinking("")]
    names = [str(t.get("name")) for t in _client_tools(body)]
    return [thinking("The test model thinks about " + (json.dumps(names) if names else "it") + ".")]


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}
