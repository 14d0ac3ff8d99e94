"""Tool results that cannot poison a conversation: block-shaped results are checked against the
API's tool_result content rules (else sent as JSON text), long results are cut with a note,
and a repeated tool_use id runs nothing twice. Each test runs an Agent against the fake Claude,
which checks every request it receives the way the API does, and asserts what was sent."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest

import agentkit
from agentkit.stores import MemoryStore
from agentkit.testing import FakeClaude, Reply, tool_use
from agentkit.tools import ToolOutcome, ToolRuntime

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
PDF = base64.b64encode(b"%PDF-1.4\n%\xe2\xe3\n").decode()

VALID = {
    "text": {"type": "text", "text": "hello"},
    "image": {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    },
    "image-url": {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
    "document-pdf": {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
    },
    "document-text": {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "plain words"},
        "title": "notes",
    },
    "search_result": {
        "type": "search_result",
        "source": "https://example.com/ruby",
        "title": "Ruby",
        "content": [{"type": "text", "text": "Ruby was created by Matz."}],
    },
}

INVALID = {
    # A Notion rich-text object: "type": "text", but its text is an object.
    "notion-rich-text": {"type": "text", "text": {"content": "hi", "link": None}},
    "empty-text": {"type": "text", "text": ""},
    "image-not-base64": {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "not base64!"},
    },
    "image-wrong-media-type": {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
    },
    "image-no-source": {"type": "image", "url": "https://example.com/a.png"},
    "document-not-pdf": {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PNG},
    },
    "search_result-no-title": {
        "type": "search_result",
        "source": "https://example.com",
        "content": [{"type": "text", "text": "x"}],
    },
    "search_result-image-content": {
        "type": "search_result",
        "source": "s",
        "title": "t",
        "content": [VALID["image"]],
    },
}


def run_tool(value: object, **agent_options: Any) -> tuple[FakeClaude, agentkit.RunResult[str]]:
    """One turn in which the model calls `give`, which returns `value`; then a final answer."""

    @agentkit.tool
    def give() -> object:
        """Return the value under test."""
        return value

    fake = FakeClaude([Reply.tool_use("give", {}), Reply.text("done")])
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    agent = agentkit.Agent("claude-haiku-4-5", tools=[give], client=client, **agent_options)
    return fake, agent.run("go")


def sent_result(fake: FakeClaude) -> dict[str, Any]:
    """The tool_result block of the second request (the one that answers the call)."""
    block = fake.message_bodies[1]["messages"][2]["content"][0]
    assert block["type"] == "tool_result"
    return block  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(VALID))
def test_a_valid_content_block_is_sent_as_a_block(name: str) -> None:
    fake, result = run_tool(VALID[name])
    assert sent_result(fake)["content"] == [VALID[name]]
    assert result.text == "done"


@pytest.mark.parametrize("name", sorted(INVALID))
def test_an_invalid_block_shape_is_sent_as_json_text(name: str) -> None:
    fake, result = run_tool(INVALID[name])
    content = sent_result(fake)["content"]
    assert isinstance(content, str) and json.loads(content) == INVALID[name]
    assert result.text == "done"  # the fake, checking like the API, took the request


def test_one_invalid_block_in_a_list_sends_the_whole_list_as_json_text() -> None:
    value = [VALID["text"], INVALID["notion-rich-text"]]
    fake, _ = run_tool(value)
    assert json.loads(sent_result(fake)["content"]) == value


def test_an_oversize_text_result_is_cut_with_a_note_and_hooks_see_it_whole() -> None:
    seen: list[int] = []

    def after(call: object, outcome: ToolOutcome, ctx: object) -> None:
        content = outcome.result["content"] if outcome.result else ""
        seen.append(len(str(content)))

    big = "x" * 10_000_000
    fake, result = run_tool(big, hooks=agentkit.Hooks(after_tool=(after,)))
    content = sent_result(fake)["content"]
    assert content.startswith("x" * 100_000)
    assert not content[100_000:].startswith("x")
    assert "9,900,000 of 10,000,000 characters were cut" in content
    assert len(content) < 100_500
    assert seen == [10_000_000]  # the after_tool hook saw the whole result
    assert result.text == "done"


def test_the_size_bound_is_an_agent_option_and_counts_text_blocks() -> None:
    blocks = [
        {"type": "text", "text": "a" * 30},
        VALID["image"],
        {"type": "text", "text": "b" * 30},
    ]
    fake, _ = run_tool(blocks, max_result_chars=40)
    content = sent_result(fake)["content"]
    assert content[0] == {"type": "text", "text": "a" * 30}
    assert content[1] == VALID["image"]  # images are bounded by the API's limits, not this
    assert content[2] == {"type": "text", "text": "b" * 10}
    assert "20 of 60 characters were cut" in content[3]["text"]


def test_a_result_that_fits_is_sent_unchanged() -> None:
    fake, _ = run_tool("y" * 100_000)
    assert sent_result(fake)["content"] == "y" * 100_000


def test_an_after_tool_hook_cannot_commit_an_invalid_result() -> None:
    def after(call: Any, outcome: ToolOutcome, ctx: object) -> ToolOutcome:
        broken = {"type": "tool_result", "tool_use_id": "wrong", "content": [{"type": "text"}]}
        return ToolOutcome(call, "ok", broken)

    fake, result = run_tool("fine", hooks=agentkit.Hooks(after_tool=(after,)))
    block = sent_result(fake)
    assert block["tool_use_id"] == fake.message_bodies[1]["messages"][1]["content"][0]["id"]
    assert json.loads(block["content"]) == [{"type": "text"}]
    assert result.text == "done"


def test_agent_refuses_a_bad_size_bound() -> None:
    with pytest.raises(agentkit.ConfigurationError, match="max_result_chars"):
        agentkit.Agent("claude-haiku-4-5", max_result_chars=0)


# -- repeated tool_use ids -----------------------------------------------------------------------


def test_a_reply_repeating_a_tool_use_id_runs_nothing_and_stores_nothing() -> None:
    ran: list[int] = []

    @agentkit.tool
    def act(n: int) -> str:
        """Do something with a side effect."""
        ran.append(n)
        return "ok"

    twice = Reply(
        tool_use("act", {"n": 1}, id="toolu_same"), tool_use("act", {"n": 2}, id="toolu_same")
    )
    fake = FakeClaude([twice, Reply.text("answered")])
    store = MemoryStore()
    client = agentkit.Client(api_key="test", http_client=fake.http_client(), max_retries=0)
    agent = agentkit.Agent("claude-haiku-4-5", tools=[act], client=client, store=store)
    conversation = agentkit.Conversation(id="dup")
    with pytest.raises(agentkit.APIError, match="repeats tool_use id"):
        agent.run("go", conversation=conversation)
    assert ran == []
    assert len(store.load("dup")) == 0  # neither the prompt nor the broken reply was stored
    # The conversation is not broken: the next run works.
    result = agent.run("go", conversation="dup")
    assert result.text == "answered"
    assert [e.role for e in store.load("dup")] == ["user", "assistant"]


def test_the_runtime_answers_a_repeated_id_without_running_any_call_twice() -> None:
    ran: list[int] = []

    @agentkit.tool
    def act(n: int) -> str:
        """Do something with a side effect."""
        ran.append(n)
        return f"did {n}"

    calls = [
        {"type": "tool_use", "id": "t1", "name": "act", "input": {"n": 1}},
        {"type": "tool_use", "id": "t1", "name": "act", "input": {"n": 2}},
        {"type": "tool_use", "id": "t2", "name": "act", "input": {"n": 3}},
    ]

    async def main() -> list[ToolOutcome]:
        return await ToolRuntime([act]).run_calls(calls)

    outcomes = anyio.run(main)
    assert sorted(ran) == [1, 3]
    assert [o.status for o in outcomes] == ["ok", "error", "ok"]
    assert outcomes[1].result is not None
    assert "repeats the tool_use id 't1'" in str(outcomes[1].result["content"])
