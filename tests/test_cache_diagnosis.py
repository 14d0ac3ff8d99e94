"""Cache-miss diagnosis: the pure comparison of two requests' prefixes, the runner's
`CacheMissed` event and span event, and `agentkit conversations show --cache`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit
from agentkit import Agent, Conversation, tool
from agentkit.cli import main
from agentkit.conversation import (
    CacheMiss,
    Entry,
    PromptPrefix,
    explain_miss,
    prefix_from,
    prefix_head,
    prefix_of,
)
from agentkit.observability import Telemetry
from agentkit.runner import CacheMissed, Hooks
from agentkit.stores import SQLiteStore
from agentkit.testing import FakeClaude, Reply

MODEL = "claude-sonnet-4-5"
TOOL = {"name": "t", "description": "d", "input_schema": {"type": "object"}}


def prefix(
    *,
    system: object = "Be brief.",
    tools: object = (TOOL,),
    messages: tuple[bytes, ...] = (b'{"role":"user","content":"hi"}',),
    at: float = 1000.0,
    blocks: int | None = None,
    cached: bool = True,
    ttl: str | None = None,
) -> PromptPrefix:
    params: dict[str, Any] = {"system": system, "tools": list(tools)}  # type: ignore[call-overload]
    if cached:
        params["cache_control"] = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return prefix_of(
        params,
        messages,
        block_count=len(messages) if blocks is None else blocks,
        message_breakpoints=0,
        at=at,
    )


def miss(
    previous: PromptPrefix | None, current: PromptPrefix, read: int = 0, wrote: int = 500
) -> CacheMiss | None:
    return explain_miss(previous, current, cache_read=read, cache_write=wrote)


def test_each_change_is_named() -> None:
    base = prefix()
    grown = (*base_messages(), b'{"role":"assistant","content":"ok"}')
    # A stable prefix that read from the cache: nothing to explain.
    assert miss(base, prefix(messages=grown), read=400) is None
    changed_tools = prefix(tools=({**TOOL, "description": "other"},), messages=grown)
    assert miss(base, changed_tools) == CacheMiss(
        "tools", "cache read 0 tokens: the tool list changed since the previous request"
    )
    system_list = [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]
    before = prefix(system=system_list)
    after = prefix(system=[system_list[0], {"type": "text", "text": "C"}], messages=grown)
    found = miss(before, after)
    assert found is not None and found.reason == "system" and found.index == 1
    assert "the system prompt changed at block 1 since the previous request" in found.explanation
    edited = prefix(messages=(b'{"role":"user","content":"hello"}', grown[1]))
    found = miss(base, edited)
    assert found is not None and (found.reason, found.index) == ("message", 0)
    assert "message 0 changed" in found.explanation


def base_messages() -> tuple[bytes, ...]:
    return (b'{"role":"user","content":"hi"}',)


def test_ttl_length_and_lookback() -> None:
    base = prefix(at=1000.0)
    later = prefix(at=1000.0 + 7 * 60)
    found = miss(base, later)
    assert found is not None and found.reason == "ttl"
    assert (
        found.explanation
        == "cache read 0 tokens: the 5-minute TTL likely expired (last use 7 min ago)"
    )
    hour = prefix(at=0.0, ttl="1h")
    assert miss(hour, prefix(at=7 * 60, ttl="1h")) is not None  # not expired: evicted instead
    found = miss(hour, prefix(at=2 * 3600, ttl="1h"))
    assert (
        found is not None
        and "1-hour TTL likely expired (last use 120 min ago)" in found.explanation
    )
    # Neither read nor written: the prefix is too short to cache (first request or not).
    assert miss(None, base, wrote=0) == miss(base, prefix(at=1001), wrote=0)
    found = miss(None, base, wrote=0)
    assert found is not None and found.reason == "too_short"
    assert "under the model's minimum cacheable length" in found.explanation
    # A first write is no miss; a request that asked for no caching is not diagnosed.
    assert miss(None, base) is None
    assert miss(base, prefix(cached=False)) is None
    assert miss(prefix(cached=False), base) is None
    moved = prefix(blocks=30, at=1001)
    found = miss(prefix(blocks=5), moved)
    assert (
        found is not None
        and found.reason == "breakpoint"
        and "moved 25 blocks" in found.explanation
    )
    found = miss(base, prefix(at=1001))
    assert found is not None and found.reason == "evicted"


@tool
def lookup(key: str) -> str:
    """Looks a key up."""
    return f"value of {key}"


@tool
def other(key: str) -> str:
    """Another tool."""
    return key


def _events(agent: Agent[Any, Any], prompt: str, conversation: Any = None) -> tuple[list[Any], Any]:
    events = list(agent.stream(prompt, conversation=conversation))
    return [e for e in events if isinstance(e, CacheMissed)], events[-1].result


def _agent(fake: FakeClaude, **kwargs: Any) -> Agent[Any, Any]:
    client = agentkit.Client(api_key="k", http_client=fake.http_client())
    kwargs.setdefault("tools", [lookup])
    kwargs.setdefault("system", "You look things up. " * 20)
    return Agent(MODEL, client=client, **kwargs)


def _script() -> list[Any]:
    return [Reply.tool_use("lookup", {"key": "a"}), Reply.text("done")] * 3


def test_a_stable_loop_yields_no_explanation() -> None:
    fake = FakeClaude(_script())
    agent = _agent(fake)
    misses, result = _events(agent, "look up a")
    assert misses == []
    misses, result = _events(agent, "again", result.conversation)
    assert misses == []
    reads = [
        e.meta["response"]["usage"]["cache_read_input_tokens"]
        for e in result.conversation.entries
        if e.role == "assistant"
    ]
    assert len(reads) == 4 and reads[0] == 0 and all(r > 0 for r in reads[1:])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"system": "You are terse. " * 20}, "system"),
        ({"tools": [lookup, other]}, "tools"),
    ],
)
def test_a_changed_prompt_is_explained(change: dict[str, Any], reason: str) -> None:
    fake = FakeClaude(_script())
    misses, result = _events(_agent(fake), "look up a")
    assert misses == []
    misses, _ = _events(_agent(fake, **change), "again", result.conversation)
    assert [m.miss.reason for m in misses] == [reason]
    assert misses[0].message.usage.cache_read_input_tokens == 0
    if reason == "system":
        assert "the system prompt changed at block 0" in misses[0].miss.explanation


def test_a_hook_changing_the_prompt_mid_run_is_explained() -> None:
    # A run keeps the tools-and-system part of its fingerprint while it sends the same objects;
    # a `before_model` hook replacing the system prompt on the third call must still be seen.
    calls = 0

    def switch(params: dict[str, Any], conversation: Any) -> dict[str, Any] | None:
        nonlocal calls
        calls += 1
        return {**params, "system": "You are terse. " * 20} if calls >= 3 else None

    fake = FakeClaude([Reply.tool_use("lookup", {"key": "a"})] * 3 + [Reply.text("done")])
    misses, result = _events(_agent(fake, hooks=Hooks(before_model=(switch,))), "look up a")
    assert result.turns == 4
    assert [(m.miss.reason, m.miss.index) for m in misses] == [("system", 0)]
    # The miss is on the third response; the fourth reads the new prefix again.
    third = [e for e in result.conversation.entries if e.role == "assistant"][2]
    assert misses[0].message.id == third.meta["response"]["id"]


def test_the_prefix_head_is_the_same_kept_or_computed() -> None:
    params: dict[str, Any] = {"system": [{"type": "text", "text": "s"}], "tools": [TOOL]}
    head = prefix_head({**params, "cache_control": {"type": "ephemeral", "ttl": "1h"}})
    assert (head.cached, head.ttl) == (True, 3600.0)
    messages = (b'{"role":"user","content":"hi"}',)
    kept = prefix_from(head, tuple(map(hash, messages)), 1, 0, 1.0)
    computed = prefix_of(
        {**params, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        messages,
        block_count=1,
        message_breakpoints=0,
        at=1.0,
    )
    assert kept == computed
    bare = prefix_from(prefix_head(params), tuple(map(hash, messages)), 1, 1, 1.0)
    assert (bare.cached, bare.ttl) == (True, 300.0)  # a message breakpoint asks for caching


def test_an_edited_earlier_message_is_explained() -> None:
    fake = FakeClaude(_script())
    misses, result = _events(_agent(fake), "look up a")
    entries = list(result.conversation.entries)
    edited = Entry.of({"role": "user", "content": "look up b"})
    conversation = Conversation.from_entries([edited, *entries[1:]], id=result.conversation.id)
    misses, _ = _events(_agent(fake), "again", conversation)
    assert [(m.miss.reason, m.miss.index) for m in misses] == [("message", 0)]


def test_a_miss_is_an_event_on_the_chat_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    fake = FakeClaude(_script())
    _, result = _events(_agent(fake, telemetry=Telemetry(tracer_provider=provider)), "look up a")
    changed = _agent(fake, system="Other. " * 20, telemetry=Telemetry(tracer_provider=provider))
    _events(changed, "again", result.conversation)
    events = [
        e
        for s in exporter.get_finished_spans()
        for e in s.events
        if e.name == "agentkit.cache.miss"
    ]
    assert len(events) == 1
    assert events[0].attributes is not None
    assert events[0].attributes["agentkit.cache.miss.reason"] == "system"


def _reply(at: float, read: int, wrote: int, text: str = "ok") -> Entry:
    response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 2,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": wrote,
        },
    }
    entry = Entry.of(response)
    return Entry.from_raw(entry.raw, entry.meta, at)


def _user(text: str, at: float) -> Entry:
    entry = Entry.of({"role": "user", "content": text})
    return Entry.from_raw(entry.raw, entry.meta, at)


def test_conversations_show_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    store = SQLiteStore(db)
    t = 1_700_000_000.0
    entries = [
        _user("one", t),
        _reply(t + 1, 0, 2_000),
        _user("two", t + 30),
        _reply(t + 31, 2_000, 50),
        _user("three", t + 30 + 7 * 60),  # seven minutes later
        _reply(t + 30 + 7 * 60 + 1, 0, 2_100),
    ]
    store.create(Conversation.from_entries(entries, id="c1", version=0))
    assert main(["conversations", "show", "c1", "--db", str(db), "--cache"]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines()]
    assert "call 1: cache read 0, wrote 2,000, uncached 10" in lines
    assert "call 2: cache read 2,000, wrote 50, uncached 10" in lines
    assert "cache read 0 tokens: the 5-minute TTL likely expired (last use 7 min ago)" in lines
    assert json.dumps(lines).count("cache read 0 tokens") == 1
    assert main(["conversations", "show", "c1", "--db", str(db)]) == 0
    assert "call 1" not in capsys.readouterr().out
