"""Estimate token usage for a request and keep the fake's prompt-cache ledger.

Text is estimated at about four characters a token (the documented average for English), plus a
few tokens of framing per block and message; images cost the documented `width * height / 750`
after the documented downscaling (sizes read from the image header), PDFs a page image plus a
page of text per page (`_media`); tools add their definitions and the documented tool-use
system prompt. Caching follows the documented model, simplified: the request is a sequence of
blocks in cache order (`tools`, `system`, `messages`); each `cache_control` marks a breakpoint
whose prefix is written to the cache the first time it is seen and read from it afterwards. The
minimum cacheable length and the 5-minute expiry are not modelled, so a test sees a write, then
reads.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TypedDict

from pydantic_core import to_json

from ._media import decode_base64, image_info, image_tokens, pdf_tokens

__all__ = [
    "CacheLedger",
    "InputUsage",
    "compaction_view",
    "count_input_tokens",
    "estimate_tokens",
    "value_tokens",
]


class CacheCreation(TypedDict):
    """Cache write tokens by time to live."""

    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class InputUsage(TypedDict):
    """The input side of a response's `usage`."""

    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cache_creation: CacheCreation


def estimate_tokens(value: object) -> int:
    """About one token per four characters of JSON, at least one."""
    size = len(value) if isinstance(value, (str, bytes)) else len(to_json(value))
    return max(1, math.ceil(size / 4))


_IMAGE_CEILING = 1600  # an image whose size the fake cannot see (a URL, a file id)
# The tool-use system prompt: documented as 346 tokens (313 when tool_choice forces a tool) for
# Claude 4 models; the recorded exchanges show about 550 (640 when forced), which the fake uses.
_TOOL_PROMPT = 550
_FORCED_TOOL_PROMPT = 640
_THINKING_PROMPT = 27  # what thinking adds to the recorded counts
_FORMAT_PROMPT = 70  # a JSON output format adds this plus its schema (recorded counts)
_MESSAGE_FRAMING = 3
# Opaque tokens the model never reads as text: thinking signatures, redacted thinking, encrypted
# search results (the API does not bill their length).
_OPAQUE = frozenset({"signature", "data", "encrypted_content", "encrypted_index", "cache_control"})


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _media_tokens(block: Mapping[str, object]) -> int | None:
    """An image's or a document's cost, or None for other blocks."""
    source = block.get("source")
    if not isinstance(source, dict):
        return None
    kind, source_type = block.get("type"), source.get("type")
    data = source.get("data")
    if kind == "image":
        raw = decode_base64(data) if source_type == "base64" and isinstance(data, str) else None
        info = image_info(raw) if raw is not None else None
        if info is None or info[1] is None:
            return _IMAGE_CEILING
        return image_tokens(*info[1])
    if kind == "document" and source_type in ("base64", "url", "file"):
        # A PDF the fake cannot open (by URL or file id) counts as one page.
        raw = decode_base64(data) if isinstance(data, str) else None
        return pdf_tokens(raw) if raw is not None else pdf_tokens(b"")
    return None


def value_tokens(value: object) -> int:
    """Estimated tokens of one JSON value: strings as text, media by the documented formulas."""
    if isinstance(value, str):
        return _text_tokens(value)
    if isinstance(value, list):
        return sum(value_tokens(v) for v in value)
    if isinstance(value, dict):
        media = _media_tokens(value)
        if media is not None:
            return media
        if value.get("type") == "redacted_thinking":
            return 0
        # keys and punctuation: about one token a field, besides the values
        return sum(value_tokens(v) + 1 for k, v in value.items() if k not in _OPAQUE)
    return 1


def _tool_tokens(tool: object) -> int:
    # JSON schemas tokenize densely (punctuation, short keys): about two characters a token.
    return math.ceil(len(to_json(tool)) / 2)


def count_input_tokens(body: Mapping[str, object]) -> int:
    """The input tokens of a request body, as `count_tokens` reports them (before caching)."""
    return sum(_unit_tokens(unit) for unit in _units(body)) + _overhead(body)


def _unit_tokens(unit: object) -> int:
    return value_tokens(unit) + (
        _MESSAGE_FRAMING if isinstance(unit, dict) and "role" in unit else 0
    )


def _overhead(body: Mapping[str, object]) -> int:
    tokens = 0
    if body.get("tools"):
        choice = body.get("tool_choice")
        forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")
        tokens += _FORCED_TOOL_PROMPT if forced else _TOOL_PROMPT
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        tokens += _THINKING_PROMPT
    config = body.get("output_config")
    output_format = config.get("format") if isinstance(config, dict) else None
    output_format = output_format or body.get("output_format")
    if isinstance(output_format, dict):
        tokens += _FORMAT_PROMPT + _tool_tokens(output_format.get("schema"))
    return tokens


def compaction_view(messages: object) -> list[tuple[int, dict[str, object]]]:
    """The messages the API looks at: from the latest compaction block on.

    Returns `(index in the request, message)` pairs; the message holding the compaction block is
    cut so that it starts with that block. Anything that is not a message is left out.
    """
    if not isinstance(messages, Sequence):
        return []
    indexed = [(i, m) for i, m in enumerate(messages) if isinstance(m, dict)]
    for pos in range(len(indexed) - 1, -1, -1):
        i, message = indexed[pos]
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for k in range(len(content) - 1, -1, -1):
            block = content[k]
            if isinstance(block, dict) and block.get("type") == "compaction":
                return [(i, {**message, "content": content[k:]}), *indexed[pos + 1 :]]
    return indexed


def _units(body: Mapping[str, object]) -> Iterator[object]:
    """The request's cacheable blocks in cache order."""
    tools = body.get("tools")
    if isinstance(tools, list):
        yield from tools
    system = body.get("system")
    if isinstance(system, list):
        yield from system
    elif system:
        yield system
    for _, message in compaction_view(body.get("messages") or []):
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                yield {"role": message.get("role"), "block": block}
        else:
            yield {"role": message.get("role"), "block": content}


def _breakpoint(unit: object) -> Mapping[str, object] | None:
    if isinstance(unit, dict):
        inner = unit.get("block", unit)
        if isinstance(inner, dict) and isinstance(inner.get("cache_control"), dict):
            control: Mapping[str, object] = inner["cache_control"]
            return control
    return None


_LOOKBACK = 20  # block boundaries the API checks before a breakpoint for a cache entry


class CacheLedger:
    """The prefixes the fake has cached; shared by all requests to one fake."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def usage(self, body: Mapping[str, object]) -> InputUsage:
        """Input-side usage for a request: input, cache write and cache read tokens."""
        total = 0
        digest = hashlib.sha256()
        points: list[tuple[int, bytes, str]] = []
        # Every block boundary's prefix, for the look-back: at a breakpoint the API also checks
        # the 20 boundaries before it for an entry an earlier request wrote.
        boundaries: list[tuple[int, bytes]] = []
        units = list(_units(body))
        top = body.get("cache_control")
        for n, unit in enumerate(units):
            plain = unit
            control = _breakpoint(unit)
            if control is not None and isinstance(unit, dict):  # _breakpoint found a dict
                # the cache key ignores the marker itself
                inner = {k: v for k, v in unit.get("block", unit).items() if k != "cache_control"}
                plain = {**unit, "block": inner} if "block" in unit else inner
            digest.update(to_json(plain))
            total += _unit_tokens(plain)
            boundaries.append((total, digest.copy().digest()))
            if control is None and isinstance(top, dict) and n == len(units) - 1:
                control = top  # automatic caching: the breakpoint is the last cacheable block
            if control is not None:
                points.append((total, digest.copy().digest(), str(control.get("ttl", "5m"))))
        read = write = 0
        ttl = "5m"
        if points:
            positions = {key: n for n, (_, key) in enumerate(boundaries)}
            with self._lock:
                hits = []
                for _, key, _ in points:
                    end = positions[key]
                    for pos, earlier in reversed(boundaries[max(0, end - _LOOKBACK) : end + 1]):
                        if earlier in self._seen:
                            hits.append(pos)
                            break
                read = max(hits, default=0)
                last, _, ttl = points[-1]
                write = last - read
                self._seen.update(key for _, key, _ in points)
        total += _overhead(body)
        return {
            "input_tokens": max(1, total - read - write),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": write if ttl != "1h" else 0,
                "ephemeral_1h_input_tokens": write if ttl == "1h" else 0,
            },
        }
