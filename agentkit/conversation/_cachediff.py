"""Why a request read nothing from the prompt cache: a pure comparison of two requests' prefixes.

The API caches a request's prefix in a fixed order: tools, then the system prompt, then the
messages, up to each cache breakpoint. A read of 0 tokens after a request that cached the same
conversation means the prefix changed (the first changed part names the cause), the cache entry
expired (its TTL, 5 minutes by default, refreshed on each use), the breakpoint moved further
than the API looks back for an entry (20 blocks), or the prefix is under the model's minimum
cacheable length (the API then neither reads nor writes). `prefix_of` fingerprints a request
from pieces the conversation already holds encoded (a run keeps each message's hash as the
message is added, `prefix_from`), so keeping one per request costs next to nothing;
`explain_miss` compares only on a miss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pydantic_core import to_json

__all__ = [
    "LOOKBACK_BLOCKS",
    "CacheMiss",
    "CacheMissReason",
    "PrefixHead",
    "PromptPrefix",
    "explain_miss",
    "prefix_from",
    "prefix_head",
    "prefix_of",
]

LOOKBACK_BLOCKS = 20
"""How many blocks before a breakpoint the API checks for an earlier cache entry."""

CacheMissReason = Literal["tools", "system", "message", "ttl", "too_short", "breakpoint", "evicted"]


class PromptPrefix(NamedTuple):
    """A request's cacheable prefix, fingerprinted (a named tuple: one is made every request,
    and a frozen dataclass costs three times as much to build).

    Attributes:
        tools: A hash of the tool list (0 without tools).
        system: A hash per system prompt block.
        messages: A hash per message.
        blocks: The number of content blocks in the messages (for the look-back window).
        cached: Whether the request asks for caching (a breakpoint, or top-level caching).
        ttl: The breakpoints' time to live in seconds (300, or 3600 for `"1h"`).
        at: When the request was sent (seconds, the clock of the caller's choice).
    """

    tools: int
    system: tuple[int, ...]
    messages: tuple[int, ...]
    blocks: int
    cached: bool
    ttl: float
    at: float


@dataclass(frozen=True, slots=True)
class CacheMiss:
    """Why a request read 0 tokens from the cache.

    Attributes:
        reason: The cause, as a word: `tools`, `system`, `message`, `ttl`, `too_short`,
            `breakpoint` or `evicted`.
        explanation: One sentence saying it, e.g. "the system prompt changed at block 0 since
            the previous request".
        index: The changed system block or message (0-based), where the cause has one.
    """

    reason: CacheMissReason
    explanation: str
    index: int | None = None


# Hashes of tool lists and system blocks by identity: a run sends the same objects every turn,
# so each is encoded once, not once a turn. The object is kept with its hash, so an id is never
# reused while its entry lives; the memo is cleared when it grows.
_MEMO: dict[int, tuple[object, int]] = {}


def _hash(value: object) -> int:
    if isinstance(value, bytes | str):
        return hash(value)
    known = _MEMO.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    if len(_MEMO) >= 256:
        _MEMO.clear()
    digest = hash(to_json(value))
    _MEMO[id(value)] = (value, digest)
    return digest


def _controls(value: object) -> list[Mapping[str, object]]:
    """The `cache_control` markers in a block list (or a string: none)."""
    if not isinstance(value, list):
        return []
    found = []
    for block in value:
        if isinstance(block, Mapping):
            control = block.get("cache_control")
            if isinstance(control, Mapping):
                found.append(control)
    return found


@dataclass(frozen=True, slots=True)
class PrefixHead:
    """The part of a request's prefix that comes before the messages (see `prefix_head`):
    `tools` and `system` as in `PromptPrefix`; `cached`, whether the tools, the system prompt or
    a top-level `cache_control` ask for caching; `ttl`, their breakpoints' time to live in
    seconds (300, or 3600 if one says `"1h"`)."""

    tools: int
    system: tuple[int, ...]
    cached: bool
    ttl: float


def prefix_head(params: Mapping[str, object]) -> PrefixHead:
    """The tools and system part of the prefix of a request with `params`; a caller sending
    the same tools and system again (a run does, every turn) can keep it for `prefix_from`."""
    system = params.get("system")
    if isinstance(system, list):
        system_hashes = tuple(_hash(block) for block in system)
    else:
        system_hashes = () if system is None else (_hash(system),)
    tools = params.get("tools")
    controls = _controls(tools) + _controls(system)
    top = params.get("cache_control")
    if isinstance(top, Mapping):
        controls.append(top)
    return PrefixHead(
        tools=_hash(tools) if tools else 0,
        system=system_hashes,
        cached=bool(controls),
        ttl=3600.0 if any(c.get("ttl") == "1h" for c in controls) else 300.0,
    )


def prefix_of(
    params: Mapping[str, object],
    messages: Sequence[bytes],
    *,
    block_count: int,
    message_breakpoints: int,
    at: float,
) -> PromptPrefix:
    """The prefix of a request with `params` (tools, system, ...) and these messages.

    Args:
        params: Every request field but the messages.
        messages: Each message's encoded JSON, in order.
        block_count: How many content blocks the messages hold.
        message_breakpoints: How many cache breakpoints the messages carry.
        at: When the request is sent.
    """
    hashes = tuple(map(hash, messages))
    return prefix_from(prefix_head(params), hashes, block_count, message_breakpoints, at)


def prefix_from(
    head: PrefixHead, message_hashes: tuple[int, ...], blocks: int, breakpoints: int, at: float
) -> PromptPrefix:
    """`prefix_of` from its parts: the `prefix_head`, each message's `hash` of its bytes (for a
    caller that hashed the messages as they came: a run, whose history only grows), the
    messages' block count and breakpoints, and when the request is sent."""
    cached = head.cached or breakpoints > 0
    return PromptPrefix(head.tools, head.system, message_hashes, blocks, cached, head.ttl, at)


def _first_difference(old: Sequence[int], new: Sequence[int]) -> int | None:
    if len(old) <= len(new) and tuple(old) == tuple(new[: len(old)]):
        return None  # the common case, compared at C speed
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            return i
    return None if len(old) <= len(new) else len(new)


def _ago(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{seconds:.0f} s"


def explain_miss(
    previous: PromptPrefix | None,
    current: PromptPrefix,
    *,
    cache_read: int | None,
    cache_write: int | None,
) -> CacheMiss | None:
    """Why `current` read nothing from the cache, or None when there is nothing to explain.

    Nothing is explained when the request asked for no caching, read from the cache, or is a
    conversation's first request that wrote its prefix (a first write is no miss).

    Args:
        previous: The previous request of the same conversation (None: this is the first).
        current: This request.
        cache_read: The reply's `cache_read_input_tokens`.
        cache_write: The reply's `cache_creation_input_tokens`.
    """
    if not current.cached or (cache_read or 0) > 0:
        return None
    wrote = (cache_write or 0) > 0
    too_short = CacheMiss(
        "too_short",
        "cache read 0 tokens: the prefix is under the model's minimum cacheable length, so "
        "nothing is cached",
    )
    if previous is None or not previous.cached:
        return None if wrote else too_short  # the first request to cache this conversation
    if previous.tools != current.tools:
        return CacheMiss(
            "tools", "cache read 0 tokens: the tool list changed since the previous request"
        )
    at = _first_difference(previous.system, current.system)
    if at is not None:
        return CacheMiss(
            "system",
            f"cache read 0 tokens: the system prompt changed at block {at} since the previous "
            "request",
            at,
        )
    at = _first_difference(previous.messages, current.messages)
    if at is not None:
        return CacheMiss(
            "message",
            f"cache read 0 tokens: message {at} changed since the previous request (the history "
            "before the breakpoint must stay byte-for-byte the same)",
            at,
        )
    idle = current.at - previous.at
    if idle > previous.ttl:
        label = "1-hour" if previous.ttl >= 3600 else "5-minute"
        return CacheMiss(
            "ttl",
            f"cache read 0 tokens: the {label} TTL likely expired (last use {_ago(idle)} ago)",
        )
    if not wrote:
        return too_short
    moved = current.blocks - previous.blocks
    if moved > LOOKBACK_BLOCKS:
        return CacheMiss(
            "breakpoint",
            f"cache read 0 tokens: the breakpoint moved {moved} blocks past the previous one, and "
            f"the API looks back only {LOOKBACK_BLOCKS} blocks for a cached prefix (add a "
            "breakpoint in between)",
        )
    return CacheMiss(
        "evicted",
        "cache read 0 tokens: the prefix is unchanged and recent, so the entry was evicted or "
        "is still being written by a concurrent request",
    )
