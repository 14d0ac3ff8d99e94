"""`agentkit conversations show --cache`: each stored model call's cache use, misses explained.

A store keeps the messages and each reply's usage, not the tools or system prompt a request
carried, so a miss is explained from what it does keep: the time since the previous call (the
TTL), a prefix too short to cache, a breakpoint that moved too far; an unchanged, recent prefix
that still missed points at the tools or system prompt (or an evicted entry).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from ..conversation import Entry, explain_miss, prefix_of
from ._output import Style

__all__ = ["render_cache"]


def _count(usage: dict[str, object], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def render_cache(entries: Sequence[Entry], out: TextIO, style: Style) -> None:
    """Write one line per model call: cache reads, writes and uncached input; then why a call
    read nothing, when it should have."""
    calls = []
    for index, entry in enumerate(entries):
        response = entry.meta.get("response")
        usage = response.get("usage") if isinstance(response, dict) else None
        if index and isinstance(usage, dict):
            calls.append((index, usage))
    if not calls:
        out.write("cache: no model calls stored\n")
        return
    cached = any(
        _count(u, "cache_read_input_tokens") or _count(u, "cache_creation_input_tokens")
        for _, u in calls
    )
    previous = None
    for turn, (index, usage) in enumerate(calls, 1):
        read = _count(usage, "cache_read_input_tokens")
        wrote = _count(usage, "cache_creation_input_tokens")
        uncached = _count(usage, "input_tokens")
        line = f"call {turn}: cache read {read:,}, wrote {wrote:,}, uncached {uncached:,}"
        out.write(style.paint(line, "dim") + "\n")
        before = entries[:index]
        blocks = sum(len(e.blocks) for e in before)
        # The request went out right after the message before the reply was added.
        prefix = prefix_of(
            {},
            [e.raw for e in before],
            block_count=blocks,
            message_breakpoints=1 if cached else 0,
            at=before[-1].created_at,
        )
        miss = explain_miss(previous, prefix, cache_read=read, cache_write=wrote)
        if miss is not None:
            text = miss.explanation
            if miss.reason == "evicted":
                text = (
                    "cache read 0 tokens: the stored history is unchanged and recent, so the "
                    "tools or system prompt changed (the store keeps neither) or the entry was "
                    "evicted"
                )
            out.write(style.paint(f"  {text}", "yellow") + "\n")
        previous = prefix
