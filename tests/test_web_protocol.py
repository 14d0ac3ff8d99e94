"""The UI message stream an agent's turn becomes, chunk by chunk, and the stored history as
`UIMessage`s (agentkit.web's pure parts, driven by real runs on the fake Claude).

The chunk shapes are the AI SDK's (`ai` 7, `uiMessageChunkSchema`); test_web_ai_sdk.py feeds
the same stream to the AI SDK's own reader, which validates every chunk against that schema.
"""

from __future__ import annotations

import re

import pytest
from _web import add, agent_on, delete_file

import agentkit
from agentkit.testing import Reply, text, thinking, tool_use
from agentkit.web import DONE, HEADERS, UIStream, frame, ui_messages
from agentkit.web._history import pending_calls, reply_id, title_of
from agentkit.web._request import BadRequest, parse_chat_request

pytestmark = pytest.mark.anyio

THINKING = {"type": "enabled", "budget_tokens": 1024}


def _script() -> list[object]:
    return [
        Reply(
            thinking("The user wants two sums and a deletion."),
            text("Adding both, and deleting the file."),
            tool_use("add", {"a": 1, "b": 2}, id="toolu_add1"),
            tool_use("add", {"a": 3, "b": 4}, id="toolu_add2"),
            tool_use("delete_file", {"name": "old.txt"}, id="toolu_del"),
        ),
        Reply.text("3 and 7; old.txt is gone."),
    ]


async def _chunks(agent: agentkit.Agent, message_id: str, **kwargs: object) -> list[dict]:
    ui = UIStream(message_id)
    out = ui.start()
    async for event in agent.astream(**kwargs):  # type: ignore[arg-type]
        out += ui.feed(event)
    return out


_DELTAS = {"text-delta": "delta", "reasoning-delta": "delta", "tool-input-delta": "inputTextDelta"}


def _merged(chunks: list[dict]) -> list[dict]:
    """The chunks with each run of deltas of one part joined into one (the fake splits long
    deltas the way the API does; where it splits is not what these tests check)."""
    out: list[dict] = []
    for chunk in chunks:
        field = _DELTAS.get(chunk["type"])
        last = out[-1] if out else None
        same = last is not None and last["type"] == chunk["type"]
        if (
            field
            and same
            and last.get("id", last.get("toolCallId")) == chunk.get("id", chunk.get("toolCallId"))
        ):
            out[-1] = {**last, field: last[field] + chunk[field]}
        else:
            out.append(dict(chunk))
    return out


async def test_a_turn_with_thinking_text_two_parallel_tools_and_an_approval() -> None:
    agent, _ = agent_on(
        _script(), [add, delete_file], params={"thinking": THINKING}, max_tokens=2048
    )
    conversation = agentkit.Conversation(id="c1")
    first = _merged(
        await _chunks(
            agent, "m1", prompt="Add 1+2 and 3+4, delete old.txt", conversation=conversation
        )
    )
    outputs = [
        c
        for c in first
        if c["type"].startswith("tool-output") or c["type"] == "tool-approval-request"
    ]
    head = first[: len(first) - len(outputs) - 2]
    assert head == [
        {"type": "start", "messageId": "m1"},
        {"type": "start-step"},
        {"type": "reasoning-start", "id": "reasoning-1-0"},
        {
            "type": "reasoning-delta",
            "id": "reasoning-1-0",
            "delta": "The user wants two sums and a deletion.",
        },
        {"type": "reasoning-end", "id": "reasoning-1-0"},
        {"type": "text-start", "id": "text-1-1"},
        {"type": "text-delta", "id": "text-1-1", "delta": "Adding both, and deleting the file."},
        {"type": "text-end", "id": "text-1-1"},
        {"type": "tool-input-start", "toolCallId": "toolu_add1", "toolName": "add"},
        {
            "type": "tool-input-delta",
            "toolCallId": "toolu_add1",
            "inputTextDelta": '{"a": 1, "b": 2}',
        },
        {"type": "tool-input-start", "toolCallId": "toolu_add2", "toolName": "add"},
        {
            "type": "tool-input-delta",
            "toolCallId": "toolu_add2",
            "inputTextDelta": '{"a": 3, "b": 4}',
        },
        {"type": "tool-input-start", "toolCallId": "toolu_del", "toolName": "delete_file"},
        {
            "type": "tool-input-delta",
            "toolCallId": "toolu_del",
            "inputTextDelta": '{"name": "old.txt"}',
        },
        {
            "type": "tool-input-available",
            "toolCallId": "toolu_add1",
            "toolName": "add",
            "input": {"a": 1, "b": 2},
        },
        {
            "type": "tool-input-available",
            "toolCallId": "toolu_add2",
            "toolName": "add",
            "input": {"a": 3, "b": 4},
        },
        {
            "type": "tool-input-available",
            "toolCallId": "toolu_del",
            "toolName": "delete_file",
            "input": {"name": "old.txt"},
        },
    ]
    by_call = {c["toolCallId"]: c for c in outputs}
    assert by_call == {
        "toolu_add1": {"type": "tool-output-available", "toolCallId": "toolu_add1", "output": "3"},
        "toolu_add2": {"type": "tool-output-available", "toolCallId": "toolu_add2", "output": "7"},
        "toolu_del": {
            "type": "tool-approval-request",
            "approvalId": "toolu_del",
            "toolCallId": "toolu_del",
            "reason": "requires approval",
        },
    }
    assert first[-2:] == [{"type": "finish-step"}, {"type": "finish", "finishReason": "tool-calls"}]

    approved = _merged(
        await _chunks(agent, "m1", conversation="c1", approvals={"toolu_del": agentkit.Allow()})
    )
    assert approved == [
        {"type": "start", "messageId": "m1"},
        {"type": "start-step"},
        {"type": "tool-output-available", "toolCallId": "toolu_del", "output": "deleted old.txt"},
        {"type": "finish-step"},
        {"type": "start-step"},
        {"type": "text-start", "id": "text-2-0"},
        {"type": "text-delta", "id": "text-2-0", "delta": "3 and 7; old.txt is gone."},
        {"type": "text-end", "id": "text-2-0"},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "stop"},
    ]


async def test_denied_failed_and_cut_off_tool_calls() -> None:
    @agentkit.tool
    def boom() -> str:
        """Fails."""
        raise ValueError("no luck")

    script = [
        Reply(
            tool_use("boom", {}, id="toolu_boom"),
            tool_use("delete_file", {"name": "x"}, id="toolu_d"),
        ),
        Reply.max_tokens("", tool=("add", '{"a": 1, "b"')),
    ]
    agent, _ = agent_on(script, [boom, add, delete_file])
    await _chunks(agent, "m1", prompt="go", conversation=agentkit.Conversation(id="c2"))
    denied = await _chunks(
        agent, "m1", conversation="c2", approvals={"toolu_d": agentkit.Deny("no")}
    )
    assert {"type": "tool-output-denied", "toolCallId": "toolu_d"} in denied
    cut = [c for c in denied if c["type"] == "tool-input-error"]
    assert len(cut) == 1 and cut[0]["toolName"] == "add"
    assert "max_tokens" in cut[0]["errorText"]
    assert denied[-1] == {"type": "finish", "finishReason": "length"}
    assert not any(c["type"] == "tool-input-available" for c in denied)


async def test_a_failed_tool_is_an_output_error() -> None:
    @agentkit.tool
    def boom() -> str:
        """Fails."""
        raise ValueError("no luck")

    agent, _ = agent_on([Reply.tool_use("boom", {}), Reply.text("Sorry.")], [boom])
    chunks = await _chunks(agent, "m1", prompt="go", conversation=agentkit.Conversation())
    (error,) = [c for c in chunks if c["type"] == "tool-output-error"]
    assert "no luck" in error["errorText"]


def test_error_and_abort_close_the_open_part_and_step() -> None:
    ui = UIStream("m3")
    ui.start()
    assert ui.error("the model API failed") == [
        {"type": "error", "errorText": "the model API failed"}
    ]
    ui._step()  # a step with an open text part
    ui._part("text", 0)
    assert ui.abort("stopped by the user") == [
        {"type": "text-end", "id": "text-1-0"},
        {"type": "finish-step"},
        {"type": "abort", "reason": "stopped by the user"},
    ]


def test_frames_and_headers() -> None:
    assert frame({"type": "text-delta", "id": "t", "delta": "é\n"}) == (
        b'data: {"type":"text-delta","id":"t","delta":"\xc3\xa9\\n"}\n\n'
    )
    assert DONE == b"data: [DONE]\n\n"
    assert HEADERS["x-vercel-ai-ui-message-stream"] == "v1"
    assert HEADERS["content-type"] == "text/event-stream"


async def test_the_stored_history_as_ui_messages() -> None:
    agent, _ = agent_on(
        _script(), [add, delete_file], params={"thinking": THINKING}, max_tokens=2048
    )
    await agent.arun("Add and delete", conversation=agentkit.Conversation(id="h"))
    store = agent.store
    conv = store.load("h")
    messages = [e.message for e in conv.entries]
    journal = store.journaled_tool_results("h")
    assert pending_calls(messages, journal) == {"toolu_del"}
    assert reply_id(messages) == "m1"
    ui = ui_messages(messages, journal)
    assert [m["id"] for m in ui] == ["m0", "m1"]
    assert ui[0] == {
        "id": "m0",
        "role": "user",
        "parts": [{"type": "text", "text": "Add and delete"}],
    }
    parts = ui[1]["parts"]
    assert [p["type"] for p in parts] == [
        "step-start",
        "reasoning",
        "text",
        "tool-add",
        "tool-add",
        "tool-delete_file",
    ]
    assert parts[3]["state"] == "output-available" and parts[3]["output"] == "3"
    assert parts[5]["state"] == "approval-requested"
    assert parts[5]["approval"] == {"id": "toolu_del"}

    await agent.arun(conversation="h", approvals={"toolu_del": agentkit.Allow()})
    conv = store.load("h")
    messages = [e.message for e in conv.entries]
    ui = ui_messages(messages, store.journaled_tool_results("h"))
    assert [m["id"] for m in ui] == ["m0", "m1"]  # the tool loop is one assistant message
    parts = ui[1]["parts"]
    assert [p["type"] for p in parts].count("step-start") == 2
    assert parts[5]["state"] == "output-available" and parts[5]["output"] == "deleted old.txt"
    assert parts[-1] == {"type": "text", "text": "3 and 7; old.txt is gone.", "state": "done"}
    assert pending_calls(messages, {}) == set()


def test_history_of_errors_server_tools_and_other_blocks() -> None:
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "look"}, {"type": "image", "source": {}}],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "redacted_thinking", "data": "x"},
                {
                    "type": "server_tool_use",
                    "id": "srv1",
                    "name": "web_search",
                    "input": {"query": "q"},
                },
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srv1",
                    "content": [{"type": "web_search_result"}],
                },
                {"type": "tool_use", "id": "t1", "name": "boom", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": "bad"}
            ],
        },
        {"role": "assistant", "content": "Done."},
    ]
    ui = ui_messages(messages, {})
    assert ui[0]["parts"] == [{"type": "text", "text": "look"}, {"type": "text", "text": "[image]"}]
    parts = ui[1]["parts"]
    assert parts[1] == {"type": "reasoning", "text": "[redacted thinking]", "state": "done"}
    assert parts[2]["type"] == "tool-web_search" and parts[2]["providerExecuted"] is True
    assert parts[2]["state"] == "output-available"
    assert parts[3] == {
        "type": "tool-boom",
        "toolCallId": "t1",
        "state": "output-error",
        "input": {},
        "errorText": "bad",
    }
    assert parts[-1]["text"] == "Done."
    assert reply_id(messages) == "m1"
    assert reply_id(messages[:1]) is None


def test_titles() -> None:
    assert title_of("  Hello\n  there ") == "Hello there"
    assert len(title_of("x" * 500)) == 80 and title_of("x" * 500).endswith("…")


# -- the request body ---------------------------------------------------------------------------


def _body(**fields: object) -> bytes:
    import json

    return json.dumps(fields).encode()


def test_the_body_use_chat_sends() -> None:
    body = _body(
        id="chat-1",
        messages=[
            {"id": "a", "role": "user", "parts": [{"type": "text", "text": "old, not trusted"}]},
            {
                "id": "b",
                "role": "user",
                "parts": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}],
            },
        ],
        trigger="submit-message",
        messageId=None,
    )
    asked = parse_chat_request(body, max_prompt_chars=100)
    assert (asked.chat_id, asked.prompt, asked.approvals) == ("chat-1", "Hi there", {})
    one = parse_chat_request(
        _body(id="c", message={"role": "user", "parts": [{"type": "text", "text": "x"}]}),
        max_prompt_chars=5,
    )
    assert one.prompt == "x"


def test_approvals_in_the_body() -> None:
    message = {
        "id": "m1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {"type": "tool-add", "toolCallId": "t0", "state": "output-available", "output": 3},
            {
                "type": "tool-del",
                "toolCallId": "t1",
                "state": "approval-responded",
                "approval": {"id": "t1", "approved": True},
            },
            {
                "type": "tool-del",
                "toolCallId": "t2",
                "state": "approval-responded",
                "approval": {"id": "t2", "approved": False, "reason": "not that one"},
            },
            {
                "type": "dynamic-tool",
                "toolName": "x",
                "toolCallId": "t3",
                "state": "approval-responded",
                "approval": {"id": "t3", "approved": False},
            },
        ],
    }
    asked = parse_chat_request(_body(id="c", messages=[message]), max_prompt_chars=10)
    assert asked.prompt is None
    assert asked.approvals == {
        "t1": agentkit.Allow(),
        "t2": agentkit.Deny("The user denied this tool call: not that one"),
        "t3": agentkit.Deny("The user denied this tool call."),
    }


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[]", 400, "JSON object"),
        (_body(messages=[]), 400, "chat id"),
        (_body(id="../etc", messages=[]), 400, "chat id"),
        (_body(id="x" * 129, messages=[]), 400, "chat id"),
        (_body(id="c"), 400, "'message' or a non-empty 'messages'"),
        (_body(id="c", messages=["hi"]), 400, "JSON object"),
        (_body(id="c", message={"role": "user", "parts": "hi"}), 400, "list of parts"),
        (_body(id="c", message={"role": "system", "parts": []}), 400, "'user' or 'assistant'"),
        (
            _body(id="c", message={"role": "user", "parts": [{"type": "text", "text": "  "}]}),
            400,
            "no text",
        ),
        (
            _body(id="c", message={"role": "user", "parts": [{"type": "file", "url": "data:"}]}),
            400,
            "only text parts",
        ),
        (
            _body(id="c", message={"role": "user", "parts": [{"type": "text", "text": "x" * 11}]}),
            413,
            "longer than 10",
        ),
        (
            _body(id="c", message={"role": "assistant", "parts": [{"type": "text", "text": "x"}]}),
            400,
            "approval decisions",
        ),
        (
            _body(
                id="c",
                message={
                    "role": "assistant",
                    "parts": [
                        {
                            "type": "tool-x",
                            "toolCallId": "t",
                            "state": "approval-responded",
                            "approval": {"id": "t"},
                        }
                    ],
                },
            ),
            400,
            "'approved': true or false",
        ),
        (
            _body(
                id="c",
                message={
                    "role": "assistant",
                    "parts": [{"type": "tool-x", "state": "approval-responded"}],
                },
            ),
            400,
            "needs a toolCallId",
        ),
        (_body(id="c", trigger="regenerate-message", messages=[]), 400, "not supported"),
    ],
)
def test_bad_bodies_are_refused_saying_why(body: bytes, status: int, says: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(says)) as caught:
        parse_chat_request(body, max_prompt_chars=10)
    assert caught.value.status == status
