"""Message threads on the fake: create, continue with only the new turn, and the refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit.testing import FakeClaude, FakeRequest, FakeResponse, Reply

BETA = {"anthropic-beta": "message-threads-2026-08-12"}
TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
FIRST = {
    "model": "claude-haiku-4-5",
    "max_tokens": 256,
    "system": "Be brief.",
    "tools": [TOOL],
    "messages": [{"role": "user", "content": "Weather?"}],
    "thread": {"type": "create"},
}


def post(fake: FakeClaude, body: dict[str, Any]) -> FakeResponse:
    return fake.handle(
        FakeRequest.build("POST", "/v1/messages", headers=BETA, content=json.dumps(body).encode())
    )


def answer(fake: FakeClaude, body: dict[str, Any]) -> dict[str, Any]:
    response = post(fake, body)
    assert response.status == 200, response.body
    reply: dict[str, Any] = json.loads(response.body)
    return reply


def then(reply: dict[str, Any], *messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    thread = {"type": "continue", "previous_message_id": reply["id"]}
    return {"model": "claude-haiku-4-5", "max_tokens": 256, "messages": list(messages),
            "thread": thread, **extra}  # fmt: skip


def results_for(reply: dict[str, Any]) -> dict[str, Any]:
    content = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": "sunny"}
        for b in reply["content"]
        if b["type"] == "tool_use"
    ]
    return {"role": "user", "content": content}


def test_a_continue_sends_only_the_new_turn() -> None:
    fake = FakeClaude()  # test-model mode: it answers tool results only if it sees the calls
    first = answer(fake, FIRST)
    assert first["stop_reason"] == "tool_use"
    second = answer(fake, then(first, results_for(first)))
    assert second["content"][0]["text"].startswith("I called 1 tool(s).")
    third = answer(fake, then(second, {"role": "user", "content": "Again?"}))
    assert third["stop_reason"] == "tool_use"  # the thread's tools, though this turn sent none


def test_the_script_sees_the_whole_conversation() -> None:
    seen: list[dict[str, Any]] = []

    def reply(body: dict[str, Any]) -> Reply:
        seen.append(body)
        return Reply.tool_use("get_weather") if len(seen) == 1 else Reply.text("Sunny.")

    fake = FakeClaude(reply)
    first = answer(fake, FIRST)
    answer(fake, then(first, results_for(first)))
    assert [m["role"] for m in seen[1]["messages"]] == ["user", "assistant", "user"]
    assert seen[1]["tools"] == [TOOL] and seen[1]["system"] == "Be brief."
    assert "tools" not in fake.message_bodies[1]  # what was sent stays as sent


def test_unknown_previous_message_is_a_thread_not_found_404() -> None:
    fake = FakeClaude()
    response = post(fake, then({"id": "msg_nope"}, {"role": "user", "content": "Hi"}))
    error = json.loads(response.body)["error"]
    assert response.status == 404 and error["type"] == "not_found_error"
    assert error["details"] == {"error_code": "thread_not_found"}
    assert "msg_nope" in error["message"]


def test_each_reply_is_continued_once() -> None:
    fake = FakeClaude(["one", "two", "three"])
    first = answer(fake, {**FIRST, "tools": []})
    answer(fake, then(first, {"role": "user", "content": "More"}))
    again = post(fake, then(first, {"role": "user", "content": "More"}))
    error = json.loads(again.body)["error"]
    assert again.status == 400 and error["details"] == {"error_code": "thread_already_continued"}
    assert fake.remaining == 1  # a refused request consumes nothing


def test_a_continue_may_not_change_the_threads_tools() -> None:
    fake = FakeClaude(["one", "two"])
    first = answer(fake, FIRST)
    same = then(first, {"role": "user", "content": "More"}, tools=[TOOL])
    other = then(first, {"role": "user", "content": "More"}, tools=[{**TOOL, "name": "x"}])
    refused = post(fake, other)
    assert refused.status == 400
    assert json.loads(refused.body)["error"]["details"]["error_code"] == (
        "thread_fingerprint_mismatch"
    )
    assert answer(fake, same)["content"][0]["text"] == "two"


@pytest.mark.parametrize("thread", [{"type": "fork"}, {"type": "continue"}, "create"])
def test_a_malformed_thread_is_a_400(thread: object) -> None:
    response = post(FakeClaude(), {**FIRST, "thread": thread})
    assert response.status == 400
    assert json.loads(response.body)["error"]["message"].startswith("thread: Input should be")


def test_a_paused_turn_continues_with_no_new_messages() -> None:
    fake = FakeClaude([Reply.pause_turn("Searching..."), "Found it."])
    first = answer(fake, {**FIRST, "tools": []})
    assert first["stop_reason"] == "pause_turn"
    assert answer(fake, then(first))["content"][0]["text"] == "Found it."


def test_the_agentkit_client_passes_thread_through() -> None:
    import agentkit

    fake = FakeClaude([Reply.tool_use("get_weather"), "Sunny."])
    client = agentkit.Client(api_key="k", http_client=fake.http_client())
    common: Any = {"model": "claude-haiku-4-5", "max_tokens": 64, "betas": [BETA["anthropic-beta"]]}
    with client:
        first = client.messages.create(
            **common, tools=[TOOL], messages=FIRST["messages"], thread={"type": "create"}
        )
        call = first.content[0].to_dict()
        results = [{"type": "tool_result", "tool_use_id": call["id"], "content": "sunny"}]
        second = client.messages.create(
            **common,
            messages=[{"role": "user", "content": results}],
            thread={"type": "continue", "previous_message_id": first.id},
        )
    assert second.text == "Sunny."
    assert fake.requests[-1].headers["anthropic-beta"] == "message-threads-2026-08-12"
