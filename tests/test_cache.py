"""Cache breakpoint policy: automatic, explicit and off; caller hints kept; limits enforced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit import CachePolicy, Conversation, RequestValidationError
from agentkit.conversation._cache import count_breakpoints, mark_last_block

EPHEMERAL = {"type": "ephemeral"}
PARAMS: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "You are terse."}],
    "tools": [
        {"name": "a", "input_schema": {"type": "object"}},
        {"name": "b", "input_schema": {"type": "object"}},
    ],
}


def chat() -> Conversation:
    return Conversation(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
            {"role": "user", "content": "What is 2+2?"},
        ]
    )


def sent(conversation: Conversation, **kwargs: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(conversation.request_body(PARAMS, **kwargs))
    return body


def test_auto_is_the_default_and_only_adds_the_top_level_field() -> None:
    conversation = chat()
    body = sent(conversation)
    assert body["cache_control"] == EPHEMERAL
    assert body["messages"] == conversation.messages  # messages untouched
    assert body["tools"] == PARAMS["tools"] and body["system"] == PARAMS["system"]


def test_auto_with_ttl_and_a_caller_top_level_value_wins() -> None:
    assert sent(chat(), cache=CachePolicy(ttl="1h"))["cache_control"] == {
        "type": "ephemeral",
        "ttl": "1h",
    }
    body = json.loads(
        chat().request_body({**PARAMS, "cache_control": {"type": "ephemeral", "ttl": "5m"}})
    )
    assert body["cache_control"] == {"type": "ephemeral", "ttl": "5m"}


def test_off_adds_nothing() -> None:
    body = sent(chat(), cache=CachePolicy(mode="off"))
    assert "cache_control" not in body
    assert count_breakpoints(body["tools"]) + count_breakpoints(body["system"]) == 0


def test_explicit_marks_last_message_system_and_last_tool_without_touching_history() -> None:
    conversation = chat()
    before = [e.raw for e in conversation]
    body = sent(conversation, cache=CachePolicy(mode="explicit"))
    assert "cache_control" not in body
    assert body["messages"][-1]["content"] == [
        {"type": "text", "text": "What is 2+2?", "cache_control": EPHEMERAL}
    ]
    assert body["messages"][:-1] == conversation.messages[:-1]
    assert body["system"][-1]["cache_control"] == EPHEMERAL
    assert (
        "cache_control" not in body["tools"][0] and body["tools"][-1]["cache_control"] == EPHEMERAL
    )
    assert [e.raw for e in conversation] == before  # stored bytes never change
    assert "cache_control" not in PARAMS["tools"][-1]  # params not mutated


def test_explicit_skips_thinking_blocks() -> None:
    thinking = {"type": "thinking", "thinking": "hm", "signature": "sig"}
    marked = mark_last_block(
        {"role": "assistant", "content": [{"type": "text", "text": "x"}, thinking]}, EPHEMERAL
    )
    assert marked is not None
    assert marked["content"][0]["cache_control"] == EPHEMERAL and marked["content"][1] == thinking


def test_caller_hints_are_kept_exactly_and_counted() -> None:
    hinted = {
        "type": "text",
        "text": "big document",
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    }
    conversation = Conversation([{"role": "user", "content": [hinted]}])
    for mode in ("auto", "explicit", "off"):
        body = json.loads(
            conversation.request_body({"model": "m", "max_tokens": 5}, cache=CachePolicy(mode=mode))
        )  # type: ignore[arg-type]
        assert body["messages"][0]["content"][0] == hinted


def test_auto_never_pushes_a_full_request_over_the_limit() -> None:
    blocks = [{"type": "text", "text": str(i), "cache_control": EPHEMERAL} for i in range(4)]
    conversation = Conversation([{"role": "user", "content": blocks}])
    body = json.loads(conversation.request_body({"model": "m", "max_tokens": 5}))
    assert "cache_control" not in body
    explicit = json.loads(
        conversation.request_body(
            {"model": "m", "max_tokens": 5}, cache=CachePolicy(mode="explicit")
        )
    )
    assert explicit["messages"][0]["content"] == blocks


def test_more_than_four_breakpoints_raise_before_sending() -> None:
    blocks = [{"type": "text", "text": str(i), "cache_control": EPHEMERAL} for i in range(5)]
    conversation = Conversation([{"role": "user", "content": blocks}])
    with pytest.raises(
        RequestValidationError,
        match=r"A maximum of 4 blocks with cache_control may be provided\. Found 5\.",
    ):
        conversation.request_body({"model": "m", "max_tokens": 5})
    # Preflight can be turned off; the body is then sent as is.
    assert (
        json.loads(conversation.request_body({"model": "m", "max_tokens": 5}, check=False))[
            "messages"
        ][0]["content"]
        == blocks
    )


def test_forbidden_ttl_mix_raises_before_sending() -> None:
    # A 5m hint in the system prompt, then the policy's 1h top-level breakpoint after it.
    conversation = chat()
    params = {**PARAMS, "system": [{"type": "text", "text": "s", "cache_control": EPHEMERAL}]}
    with pytest.raises(
        RequestValidationError,
        match="a ttl='1h' cache_control block must not come after a ttl='5m'",
    ):
        conversation.request_body(params, cache=CachePolicy(ttl="1h"))
    conversation.request_body(params, cache=CachePolicy(ttl="5m"))


def test_count_breakpoints_counts_nested_tool_result_blocks() -> None:
    content = [
        {
            "type": "tool_result",
            "tool_use_id": "t",
            "content": [{"type": "text", "text": "r", "cache_control": EPHEMERAL}],
        },
        {"type": "text", "text": "x", "cache_control": EPHEMERAL},
    ]
    assert count_breakpoints(content) == 2
    assert count_breakpoints("text") == 0
