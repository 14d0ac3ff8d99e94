"""Decide where prompt-cache breakpoints go in a request: a pure policy over JSON-shaped dicts.

The API caches the prefix up to each `cache_control` breakpoint, in the order tools, system,
messages (reference §7.1). It allows at most 4 breakpoints per request, and a `ttl: "1h"`
breakpoint may not follow a 5-minute one. Three modes:

* `"auto"` (the default) sends the top-level `cache_control` ("automatic caching"): the API puts
  the breakpoint on the last cacheable block and moves it forward as the conversation grows, so the
  stored messages never change.
* `"explicit"` places breakpoints itself: on the last cacheable block of the last message, on the
  last system block and on the last tool, as many as fit beside the caller's own hints.
* `"off"` adds nothing.

In every mode, `cache_control` hints the caller put on blocks are kept exactly as given; they are
counted, never moved or dropped. A request that ends up with more than 4 breakpoints or a
forbidden TTL order is refused by preflight (`agentkit.conversation._preflight`) before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from .._options import check_choice, strict_init

__all__ = ["MAX_BREAKPOINTS", "CacheMode", "CachePolicy", "count_breakpoints", "mark_last_block"]

MAX_BREAKPOINTS = 4
"""The most `cache_control` breakpoints one request may carry (API limit)."""

CacheMode = Literal["auto", "explicit", "off"]

# Thinking blocks cannot carry cache_control (reference §2.6); a compaction block is replaced by
# the API, so a breakpoint there would not mark the prefix it seems to.
_UNCACHEABLE = frozenset({"thinking", "redacted_thinking", "compaction"})


@strict_init
@dataclass(frozen=True)
class CachePolicy:
    """How a conversation's requests use the prompt cache.

    Attributes:
        mode: `"auto"` (top-level `cache_control`, the default), `"explicit"` (breakpoints on
            the last message, system and tools) or `"off"`.
        ttl: `"5m"` or `"1h"` for the breakpoints this policy adds; None sends no `ttl` (the
            API's default, 5 minutes).
    """

    mode: CacheMode = "auto"
    ttl: Literal["5m", "1h"] | None = None

    def __post_init__(self) -> None:
        check_choice("CachePolicy()", "mode", self.mode, get_args(CacheMode))
        check_choice("CachePolicy()", "ttl", self.ttl, ("5m", "1h", None))

    def control(self) -> dict[str, object]:
        """The `cache_control` object this policy adds."""
        control: dict[str, object] = {"type": "ephemeral"}
        if self.ttl is not None:
            control["ttl"] = self.ttl
        return control

    def apply(self, params: Mapping[str, object], message_breakpoints: int) -> dict[str, object]:
        """The request parameters (everything but `messages`) with this policy's breakpoints.

        Args:
            params: Request parameters: model, max_tokens, system, tools, ... (not modified).
            message_breakpoints: Breakpoints already present in the messages to be sent.

        Returns:
            A new dict. For `"auto"`, with a top-level `cache_control` unless the caller set one
            or the request already has 4 breakpoints; for `"explicit"`, with the last system
            block and the last tool marked while slots remain (after one is kept for the last
            message, see `message_slot`).
        """
        out = dict(params)
        used = (
            message_breakpoints
            + count_breakpoints(out.get("tools"))
            + count_breakpoints(out.get("system"))
        )
        if self.mode == "auto":
            if "cache_control" not in out and used < MAX_BREAKPOINTS:
                out["cache_control"] = self.control()
        elif self.mode == "explicit":
            free = MAX_BREAKPOINTS - used - 1  # one slot is kept for the last message
            for key in ("system", "tools"):
                if free <= 0:
                    break
                marked = _mark_last_item(out.get(key), self.control())
                if marked is not None:
                    out[key] = marked
                    free -= 1
        return out

    def message_slot(self, params: Mapping[str, object], message_breakpoints: int) -> bool:
        """True when `"explicit"` mode should mark the last message (a slot is free for it)."""
        if self.mode != "explicit":
            return False
        used = (
            message_breakpoints
            + count_breakpoints(params.get("tools"))
            + count_breakpoints(params.get("system"))
        )
        return used < MAX_BREAKPOINTS


def count_breakpoints(value: object) -> int:
    """How many `cache_control` hints a list of blocks (or tools) carries, nested ones included.

    Args:
        value: A content list, a `system` list or a `tools` list (anything else counts 0).
    """
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, dict):
            if item.get("cache_control") is not None:
                total += 1
            if item.get("type") == "tool_result":
                total += count_breakpoints(item.get("content"))
    return total


def _mark_last_item(items: object, control: dict[str, object]) -> list[object] | None:
    """A copy of `items` with `control` on its last cacheable item, or None if none qualifies."""
    if not isinstance(items, list):
        return None
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if not isinstance(item, dict) or item.get("type") in _UNCACHEABLE:
            continue
        if item.get("type") == "text" and not item.get("text"):
            continue
        if item.get("cache_control") is not None:
            return None  # the caller already marked it; keep their hint exactly
        copy = list(items)
        copy[index] = {**item, "cache_control": control}
        return copy
    return None


def mark_last_block(
    message: Mapping[str, object], control: dict[str, object]
) -> dict[str, object] | None:
    """A copy of `message` with `control` on its last cacheable content block.

    String content becomes one text block. The original message is not modified.

    Args:
        message: A message param (`role`, `content`).
        control: The `cache_control` object to add.

    Returns:
        The marked copy, or None when no block can carry a breakpoint (or one already does).
    """
    content = message.get("content")
    if isinstance(content, str):
        if not content:
            return None
        return {**message, "content": [{"type": "text", "text": content, "cache_control": control}]}
    marked = _mark_last_item(content, control)
    return None if marked is None else {**message, "content": marked}
