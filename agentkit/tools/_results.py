"""What a `tool_result` may carry: the API's rules for its content, and the size bound.

A tool result goes into the conversation for good: one the API refuses (a malformed image, an
empty text block, ten megabytes of text) makes every later request of that conversation a 400.
So each block a tool returns is checked against the documented shapes of `tool_result`
content (`text`, `image`, `document`, `search_result`) before it is sent; a result that fails
is sent as JSON text instead, and text past the size bound is cut with a note to the model.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

import pydantic_core

__all__ = [
    "CONTENT_BLOCK_TYPES",
    "block_problem",
    "json_text",
    "truncate_content",
    "truncation_note",
    "valid_text",
]

CONTENT_BLOCK_TYPES = frozenset({"text", "image", "document", "search_result"})

_IMAGE_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the API refuses a larger base64 image
_SOURCES = {
    "image": ("base64", "url", "file"),
    "document": ("base64", "text", "content", "url", "file"),
}


def block_problem(block: object) -> str | None:
    """Why a block cannot be `tool_result` content (None when the API would take it).

    Checks the documented shapes: a non-empty `text` string; an image or PDF source whose
    base64 data decodes and matches its media type; a `search_result` with `source`, `title`
    and text `content`. Fields this code does not know are left for the API to judge.
    """
    if not isinstance(block, Mapping):
        return f"a content block is an object, not {type(block).__name__}"
    kind = block.get("type")
    if kind == "text":
        return _text_problem(block.get("text"))
    if kind in ("image", "document"):
        return _source_problem(str(kind), block.get("source"))
    if kind == "search_result":
        for name in ("source", "title"):
            if not isinstance(block.get(name), str):
                return f"a search_result needs a string {name!r}"
        content = block.get("content")
        if not isinstance(content, list) or not content:
            return "a search_result needs a list of text blocks as its content"
        inner = (
            b.get("type") == "text" and _text_problem(b.get("text")) is None
            if isinstance(b, Mapping)
            else False
            for b in content
        )
        return None if all(inner) else "a search_result's content holds only text blocks"
    return f"{kind!r} is not a tool_result content type ({', '.join(sorted(CONTENT_BLOCK_TYPES))})"


def valid_text(text: str) -> str:
    """The text with any lone surrogate replaced: one cannot be encoded as UTF-8, and would
    make the whole request fail."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _text_problem(text: object) -> str | None:
    if not isinstance(text, str) or not text:
        return "a text block needs a non-empty string 'text'"
    if valid_text(text) is not text:
        return "a text block holds a lone surrogate (not UTF-8)"
    return None


def _source_problem(kind: str, source: object) -> str | None:
    if not isinstance(source, Mapping) or source.get("type") not in _SOURCES[kind]:
        return f"an {kind} needs a source of type {' / '.join(_SOURCES[kind])}"
    match source.get("type"):
        case "base64":
            return _base64_problem(kind, source.get("media_type"), source.get("data"))
        case "url":
            return None if isinstance(source.get("url"), str) else f"an {kind} url is a string"
        case "file":
            ok = isinstance(source.get("file_id"), str)
            return None if ok else f"an {kind} file source needs a file_id"
        case "text":
            ok = source.get("media_type") == "text/plain" and isinstance(source.get("data"), str)
            return None if ok else "a text document source is text/plain with string data"
        case _:  # "content": a list of text and image blocks
            content = source.get("content")
            if isinstance(content, str):
                return _text_problem(content)
            if not isinstance(content, list) or not content:
                return "a content document source needs blocks"
            problems = [block_problem(b) for b in content]
            return next((p for p in problems if p is not None), None)


def _base64_problem(kind: str, media_type: object, data: object) -> str | None:
    allowed = ("application/pdf",) if kind == "document" else tuple(_IMAGE_TYPES)
    if media_type not in allowed:
        return f"an {kind}'s base64 media_type is one of {', '.join(allowed)}, not {media_type!r}"
    if not isinstance(data, str):
        return f"an {kind}'s base64 data is a string"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"an {kind}'s data is not valid base64"
    if kind == "document":
        return None if raw.startswith(b"%PDF") else "the document's data is not a PDF"
    if len(raw) > _MAX_IMAGE_BYTES:
        return f"the image is {len(raw):,} bytes; the API takes at most {_MAX_IMAGE_BYTES:,}"
    if not any(raw.startswith(magic) for magic in _IMAGE_TYPES[str(media_type)]):
        return f"the image's bytes are not {media_type}"
    if media_type == "image/webp" and raw[8:12] != b"WEBP":
        return "the image's bytes are not image/webp"
    return None


def json_text(value: object) -> str:
    """A value as JSON text that a request can carry: what pydantic cannot encode becomes its
    `str`, and a lone surrogate (not UTF-8) becomes U+FFFD."""
    try:
        return pydantic_core.to_json(value, fallback=str).decode()
    except pydantic_core.PydanticSerializationError:  # a lone surrogate somewhere inside
        try:
            return pydantic_core.to_json(_replaced(value), fallback=str).decode()
        except pydantic_core.PydanticSerializationError:  # inside an object's own fields
            return str(value).encode("utf-8", "replace").decode("utf-8")


def _replaced(value: object) -> object:
    """The value with every string's lone surrogates replaced (for values JSON cannot take)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_replaced(v) for v in value]
    return value


def truncation_note(cut: int, total: int) -> str:
    """What the model reads where a long result was cut."""
    return (
        f"[Result truncated: {cut:,} of {total:,} characters were cut to fit the size limit. "
        "Ask for less (a narrower query, a page, a summary) if you need the rest.]"
    )


def truncate_content(
    content: str | Sequence[Mapping[str, object]], limit: int
) -> str | list[dict[str, object]] | None:
    """The content cut to `limit` characters of text, with a note; None when it fits.

    Text is what is counted: the string, or the `text` of text blocks (images and documents
    are bounded by the API's own limits and are kept whole).
    """
    if isinstance(content, str):
        if len(content) <= limit:
            return None
        return content[:limit] + "\n\n" + truncation_note(len(content) - limit, len(content))
    total = sum(len(str(b.get("text", ""))) for b in content if b.get("type") == "text")
    if total <= limit:
        return None
    budget = limit
    blocks: list[dict[str, object]] = []
    for block in content:
        if block.get("type") != "text":
            blocks.append(dict(block))
            continue
        text = str(block.get("text", ""))
        if budget > 0:
            blocks.append({**block, "text": text[:budget]})
        budget -= min(budget, len(text))
    blocks.append({"type": "text", "text": truncation_note(total - limit, total)})
    return blocks
