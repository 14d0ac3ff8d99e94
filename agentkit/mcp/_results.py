"""What an MCP `tools/call` result becomes: `tool_result` content blocks, and back.

Pure code over the wire JSON (camelCase, as the `mcp` package dumps it with `by_alias=True`).
Every item of a result reaches the model: text as text; images the Messages API takes as
image blocks; embedded resources as documents (text, PDF) or images; resource links, audio and
anything the API cannot carry as a text line saying what it was; `structuredContent` as JSON
text when the result has no text block (the spec asks a server to send its structured
content serialized as text too; that text is what the model reads).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence

from ..tools._results import block_problem

__all__ = ["from_tool_result", "to_tool_result"]

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def to_tool_result(result: Mapping[str, object]) -> tuple[list[dict[str, object]], bool]:
    """Map a `CallToolResult` (its JSON) to `tool_result` content and the `is_error` flag.

    Args:
        result: The result's JSON: `content`, `structuredContent`, `isError` ...

    Returns:
        The content blocks, in the server's order, and whether the server flagged an error.
    """
    content = result.get("content")
    items: Sequence[object] = content if isinstance(content, list) else []
    blocks = [block for item in items if (block := _block(item)) is not None]
    structured = result.get("structuredContent")
    if structured is not None and not any(b["type"] == "text" for b in blocks):
        blocks.append(_text(json.dumps(structured, ensure_ascii=False)))
    return blocks, result.get("isError") is True


def _text(text: str) -> dict[str, object]:
    return {"type": "text", "text": text}


def _block(item: object) -> dict[str, object] | None:
    if not isinstance(item, Mapping):
        return _text(json.dumps(item, ensure_ascii=False, default=str))
    kind = item.get("type")
    if kind == "text":
        text = item.get("text")
        return _text(text) if isinstance(text, str) and text else None
    if kind == "image":
        return _binary("image", item.get("mimeType"), item.get("data"), None)
    if kind == "audio":
        return _binary("audio", item.get("mimeType"), item.get("data"), None)
    if kind == "resource":
        resource = item.get("resource")
        return _resource(resource if isinstance(resource, Mapping) else {})
    if kind == "resource_link":
        return _text(_link_line(item))
    return _text(json.dumps(dict(item), ensure_ascii=False, default=str))


def _resource(resource: Mapping[str, object]) -> dict[str, object]:
    uri = str(resource.get("uri", ""))
    mime = resource.get("mimeType")
    text = resource.get("text")
    if isinstance(text, str):
        source = {"type": "text", "media_type": "text/plain", "data": text}
        return _checked({"type": "document", "source": source, "title": uri}, uri, mime, text)
    return _binary("resource", mime, resource.get("blob"), uri)


def _binary(kind: str, mime: object, data: object, uri: str | None) -> dict[str, object]:
    """An image or PDF block when the API takes the media type; else a line describing it."""
    if isinstance(data, str) and mime in _IMAGE_TYPES:
        source = {"type": "base64", "media_type": mime, "data": data}
        return _checked({"type": "image", "source": source}, uri, mime, data)
    if isinstance(data, str) and mime == "application/pdf":
        block: dict[str, object] = {
            "type": "document",
            "source": {"type": "base64", "media_type": mime, "data": data},
        }
        if uri:
            block["title"] = uri
        return _checked(block, uri, mime, data)
    if isinstance(data, str) and isinstance(mime, str) and mime.startswith("text/"):
        try:
            decoded = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = None
        if decoded is not None:
            return _resource({"uri": uri or "", "mimeType": mime, "text": decoded})
    return _text(_omitted(kind, uri, mime, data, "the Messages API cannot take this type"))


def _checked(
    block: dict[str, object], uri: str | None, mime: object, data: str
) -> dict[str, object]:
    problem = block_problem(block)
    if problem is None:
        return block
    return _text(_omitted(str(block["type"]), uri, mime, data, problem))


def _omitted(kind: str, uri: str | None, mime: object, data: object, why: str) -> str:
    where = f" {uri}" if uri else ""
    return f"[{kind}{where} ({mime or 'no media type'}, {_size(data)} bytes) not shown: {why}]"


def _size(data: object) -> int:
    if not isinstance(data, str):
        return 0
    try:
        return len(base64.b64decode(data, validate=True))
    except binascii.Error:
        return len(data) * 3 // 4  # not valid base64: about this many bytes


def _link_line(item: Mapping[str, object]) -> str:
    parts = [f"Resource link: {item.get('name', '')} <{item.get('uri', '')}>"]
    if item.get("mimeType"):
        parts.append(f"({item['mimeType']})")
    if item.get("description"):
        parts.append(f"- {item['description']}")
    return " ".join(parts)


def from_tool_result(
    content: str | Sequence[Mapping[str, object]] | None, is_error: bool
) -> dict[str, object]:
    """The `CallToolResult` JSON an agentkit tool result becomes when served over MCP.

    Text blocks become text content, base64 images image content, and any other block (a
    document, a search result) its JSON as text, so a client sees what the model would.

    Args:
        content: The `tool_result` content.
        is_error: Its `is_error` flag.

    Returns:
        `{"content": [...], "isError": ...}`.
    """
    items: list[dict[str, object]] = []
    blocks: Sequence[Mapping[str, object]] = (
        [_text(content)] if isinstance(content, str) else content or []
    )
    for block in blocks:
        source = block.get("source")
        if block.get("type") == "text":
            items.append({"type": "text", "text": block.get("text", "")})
        elif (
            block.get("type") == "image"
            and isinstance(source, Mapping)
            and source.get("type") == "base64"
        ):
            items.append(
                {"type": "image", "data": source.get("data"), "mimeType": source.get("media_type")}
            )
        else:
            items.append(_text(json.dumps(dict(block), ensure_ascii=False)))
    return {"content": items, "isError": is_error}
