"""Estimate token usage for a request and keep the fake's prompt-cache ledger.

Tokens are estimated as a quarter of the JSON length (what the API's tokenizer averages on
English). Caching follows the documented model, simplified: the request is a sequence of blocks in
cache order (`tools`, `system`, `messages`); each `cache_control` marks a breakpoint whose prefix
is written to the cache the first time it is seen and read from it afterwards. The minimum
cacheable length and the 5-minute expiry are not modelled, so a test sees a write, then reads.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TypedDict

from pydantic_core import to_json

__all__ = ["CacheLedger", "InputUsage", "compaction_view", "estimate_tokens"]


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
        units = list(_units(body))
        top = body.get("cache_control")
        for n, unit in enumerate(units):
            plain = unit
            control = _breakpoint(unit)
            if control is not None and isinstance(unit, dict):  # _breakpoint found a dict
                # the cache key ignores the marker itself
                inner = {k: v for k, v in unit.get("block", unit).items() if k != "cache_control"}
                plain = {**unit, "block": inner} if "block" in unit else inner
            encoded = to_json(plain)
            digest.update(encoded)
            total += estimate_tokens(encoded)
            if control is None and isinstance(top, dict) and n == len(units) - 1:
                control = top  # automatic caching: the breakpoint is the last cacheable block
            if control is not None:
                points.append((total, digest.copy().digest(), str(control.get("ttl", "5m"))))
        read = write = 0
        ttl = "5m"
        if points:
            with self._lock:
                hits = [pos for pos, key, _ in points if key in self._seen]
                read = max(hits, default=0)
                last, _, ttl = points[-1]
                write = last - read
                self._seen.update(key for _, key, _ in points)
        return {
            "input_tokens": max(1, total - read - write),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": write if ttl != "1h" else 0,
                "ephemeral_1h_input_tokens": write if ttl == "1h" else 0,
            },
        }
