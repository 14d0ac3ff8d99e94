"""The fake validates requests like the real API: accepted ones pass, violations get the 400."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from recordings import Recording, cases, load

from agentkit.testing import (
    FakeClaude,
    FakeRequest,
    FakeResponse,
    Reply,
    compaction,
    redacted_thinking,
    thinking,
    tool_use,
)

MODEL = "claude-sonnet-4-5"
THINKING = {"type": "enabled", "budget_tokens": 1024}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [{"name": "get_weather", "description": "Weather", "input_schema": SCHEMA}]


def post(fake: FakeClaude, body: Any, path: str = "/v1/messages", **headers: str) -> FakeResponse:
    content = json.dumps(body).encode()
    return fake.handle(FakeRequest.build("POST", path, headers=headers, content=content))


def error_of(response: FakeResponse) -> tuple[int, str, str]:
    body = json.loads(response.body)
    assert body["type"] == "error"
    assert body["request_id"].startswith("req_")
    assert dict(response.headers)["request-id"] == body["request_id"]
    return response.status, body["error"]["type"], body["error"]["message"]


def body_of(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 2048, "messages": messages, **extra}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def result(tool_id: str, content: str = "sunny") -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": content}


# ----- recorded requests ------------------------------------------------------------------------

ACCEPTED = [
    r
    for r in cases(endpoint="POST /v1/messages")
    if r.status == 200
    and r.request
    and isinstance(r.request.get("body"), dict)
    and not r.request["path"].startswith("/v1/messages/batches")
]


@pytest.mark.parametrize("rec", ACCEPTED, ids=lambda r: r.name)
def test_every_recorded_request_the_api_accepted_is_accepted(rec: Recording) -> None:
    assert rec.request is not None
    # Real signatures come from Anthropic's key, not the fake's: skip that check here only.
    fake = FakeClaude(check_thinking=False)
    headers = {k.lower(): v for k, v in (rec.request.get("headers") or {}).items()}
    response = post(fake, rec.request["body"], rec.request["path"], **headers)
    assert response.status == 200, response.body


def test_recorded_tool_result_without_tool_use_gets_the_recorded_400() -> None:
    rec = load("tools-400-tool-result-without-tool-use")
    assert rec.request is not None
    response = post(FakeClaude(), rec.request["body"])
    assert error_of(response) == (400, "invalid_request_error", rec.body["error"]["message"])
    assert dict(response.headers)["x-should-retry"] == "false"


def test_recorded_unknown_model_error() -> None:
    rec = load("error-404-model-not-found")
    assert rec.request is not None
    got = error_of(post(FakeClaude(), rec.request["body"]))
    assert got == (404, "not_found_error", rec.body["error"]["message"])


def test_prompt_too_long() -> None:
    # The recorded request's text was filtered by its recorder (<MASSIVE_TEXT>), so build one.
    status, kind, message = error_of(post(FakeClaude(), body_of([user("word " * 200_000)])))
    assert (status, kind) == (400, "invalid_request_error")
    assert message.startswith("prompt is too long: ") and message.endswith(" > 200000 maximum")


# ----- structural rules (from agentkit.conversation's preflight) ---------------------------

TOOL_TURN = [
    user("Weather in Paris?"),
    assistant(
        [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]
    ),
]

RULES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "first message is from the user",
        body_of([user("Hi")]),
        body_of([assistant("Hi"), user("Hello")]),
        'messages: first message must use the "user" role',
    ),
    (
        "tool_result needs the tool_use in the previous message",
        body_of([*TOOL_TURN, user([result("toolu_1")])]),
        body_of([*TOOL_TURN, user([result("toolu_1"), result("toolu_2")])]),
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
        "message.",
    ),
    (
        "tool_use needs its tool_result",
        body_of([*TOOL_TURN, user([result("toolu_1")])]),
        body_of([*TOOL_TURN, user("never mind")]),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message.",
    ),
    (
        "at most 4 cache breakpoints",
        body_of(
            [
                user(
                    [
                        {
                            "type": "text",
                            "text": f"part {n}",
                            "cache_control": {"type": "ephemeral"},
                        }
                        for n in range(4)
                    ]
                )
            ]
        ),
        body_of(
            [
                user(
                    [
                        {
                            "type": "text",
                            "text": f"part {n}",
                            "cache_control": {"type": "ephemeral"},
                        }
                        for n in range(5)
                    ]
                )
            ]
        ),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    (
        "thinking enabled: a final assistant message starts with thinking",
        body_of([user("Hi")], thinking=THINKING),
        body_of(
            [
                user("Weather?"),
                assistant([{"type": "text", "text": "Let me see."}, *TOOL_TURN[1]["content"]]),
                user([result("toolu_1")]),
            ],
            thinking=THINKING,
        ),
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`.",
    ),
]


@pytest.mark.parametrize(("rule", "good", "bad", "message"), RULES, ids=[r[0] for r in RULES])
def test_each_structural_rule(
    rule: str, good: dict[str, Any], bad: dict[str, Any], message: str
) -> None:
    fake = FakeClaude()
    assert post(fake, good).status == 200
    status, kind, text = error_of(post(fake, bad))
    assert (status, kind) == (400, "invalid_request_error")
    assert text.startswith(message)


def test_missing_required_field() -> None:
    body = body_of([user("Hi")])
    del body["max_tokens"]
    assert error_of(post(FakeClaude(), body)) == (
        400,
        "invalid_request_error",
        "max_tokens: Field required",
    )


def test_compaction_hides_everything_before_it() -> None:
    broken_history = [user("old"), assistant("old answer"), user([result("toolu_gone")])]
    compacted = assistant(
        [{"type": "compaction", "content": "Summary."}, {"type": "text", "text": "Continuing."}]
    )
    fake = FakeClaude()
    assert post(fake, body_of([*broken_history, assistant("x"), user("next")])).status == 400
    assert post(fake, body_of([*broken_history, compacted, user("next")])).status == 200


# ----- thinking signatures ---------------------------------------------------------------------


def thinking_turn(fake: FakeClaude, reply: Reply) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a first thinking turn; returns the request body and the assistant content."""
    fake.add(reply, Reply.text("Done."))
    body = body_of([user("Weather in Paris?")], thinking=THINKING, tools=TOOLS)
    response = post(fake, body)
    assert response.status == 200
    return body, json.loads(response.body)["content"]


def follow_up(body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
    calls = [b["id"] for b in content if b["type"] == "tool_use"]
    answer = user([result(i) for i in calls]) if calls else user("And tomorrow?")
    return {**body, "messages": [*body["messages"], assistant(content), answer]}


TWO_THOUGHTS = Reply(
    thinking("First thought."), redacted_thinking(), tool_use("get_weather", {"city": "Paris"})
)


def test_unchanged_thinking_round_trips() -> None:
    fake = FakeClaude()
    body, content = thinking_turn(fake, TWO_THOUGHTS)
    assert post(fake, follow_up(body, content)).status == 200


def test_altered_thinking_text_is_rejected() -> None:
    fake = FakeClaude()
    body, content = thinking_turn(fake, TWO_THOUGHTS)
    content[0]["thinking"] = "First thought, edited."
    expected = "messages.1.content.0: Invalid `signature` in `thinking` block"
    assert error_of(post(fake, follow_up(body, content))) == (
        400,
        "invalid_request_error",
        expected,
    )


def test_altered_redacted_data_is_rejected() -> None:
    fake = FakeClaude()
    body, content = thinking_turn(fake, TWO_THOUGHTS)
    content[1]["data"] = content[1]["data"][:-4] + "AAA="
    status, _, message = error_of(post(fake, follow_up(body, content)))
    assert status == 400
    assert message == "messages.1.content.1: Invalid `data` in `redacted_thinking` block"


MODIFIED = (
    "`thinking` or `redacted_thinking` blocks in the latest assistant message cannot be "
    "modified. These blocks must remain as they were in the original response."
)


def test_reordered_thinking_is_rejected() -> None:
    fake = FakeClaude()
    body, content = thinking_turn(fake, TWO_THOUGHTS)
    content[0], content[1] = content[1], content[0]
    status, _, message = error_of(post(fake, follow_up(body, content)))
    assert status == 400
    assert message == "messages.1.content.0: " + MODIFIED


@pytest.mark.parametrize("dropped", [0, 1])
def test_partly_dropped_thinking_is_rejected(dropped: int) -> None:
    fake = FakeClaude()
    body, content = thinking_turn(fake, TWO_THOUGHTS)
    del content[dropped]
    status, _, message = error_of(post(fake, follow_up(body, content)))
    assert status == 400
    assert message.endswith(MODIFIED)


def test_all_thinking_dropped_breaks_the_thinking_first_rule() -> None:
    fake = FakeClaude()
    body, content = thinking_turn(fake, TWO_THOUGHTS)
    status, _, message = error_of(post(fake, follow_up(body, content[2:])))
    assert status == 400
    assert message.startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`"
    )


def test_signature_from_elsewhere_is_rejected_unless_checks_are_off() -> None:
    forged = [
        {"type": "thinking", "thinking": "x", "signature": "RXFzbm90b3Vycw=="},
        {"type": "text", "text": "ok"},
    ]
    body = body_of([user("Hi"), assistant(forged), user("again")], thinking=THINKING)
    assert error_of(post(FakeClaude(), body))[0] == 400
    assert post(FakeClaude(check_thinking=False), body).status == 200


def test_thinking_before_a_compaction_is_not_checked() -> None:
    forged = [
        {"type": "thinking", "thinking": "x", "signature": "bad"},
        {"type": "text", "text": "ok"},
    ]
    compacted = assistant([compaction("Summary.").data, {"type": "text", "text": "Hi"}])
    body = body_of([user("Hi"), assistant(forged), user("go on"), compacted, user("more")])
    assert post(FakeClaude(), copy.deepcopy(body)).status == 200


# ----- script bookkeeping ----------------------------------------------------------------------


def test_rejected_request_does_not_consume_a_script_item() -> None:
    fake = FakeClaude(["first", "second"])
    assert post(fake, body_of([assistant("bad start")])).status == 400
    assert fake.remaining == 2
    ok = json.loads(post(fake, body_of([user("Hi")])).body)
    assert ok["content"] == [{"type": "text", "text": "first"}]


def test_script_running_out_is_a_clear_500() -> None:
    fake = FakeClaude(["only"])
    assert post(fake, body_of([user("Hi")])).status == 200
    response = post(fake, body_of([user("Hi")]))
    status, kind, message = error_of(response)
    assert (status, kind) == (500, "api_error")
    assert "script ran out" in message and "request #2" in message
    assert dict(response.headers)["x-should-retry"] == "false"


def test_api_key_is_checked_when_configured() -> None:
    fake = FakeClaude(api_key="sk-test")
    body = body_of([user("Hi")])
    assert error_of(post(fake, body))[:2] == (401, "authentication_error")
    assert post(fake, body, **{"x-api-key": "sk-test"}).status == 200
    assert post(fake, body, authorization="Bearer sk-test").status == 200


def test_request_log_keeps_method_path_headers_and_parsed_body() -> None:
    fake = FakeClaude()
    body = body_of([user("Hi")])
    post(fake, body, **{"anthropic-version": "2023-06-01"})
    logged = fake.requests[-1]
    assert (logged.method, logged.path, logged.body) == ("POST", "/v1/messages", body)
    assert logged.headers["anthropic-version"] == "2023-06-01"
    assert fake.message_bodies == [body]


def test_callable_script_items_see_the_request_body() -> None:
    seen: list[Any] = []

    def echo(body: dict[str, Any]) -> str:
        seen.append(body)
        return "echo: " + body["messages"][-1]["content"]

    fake = FakeClaude([echo])
    reply = json.loads(post(fake, body_of([user("ping")])).body)
    assert reply["content"][0]["text"] == "echo: ping"
    assert seen == [body_of([user("ping")])]
    always = FakeClaude(lambda body: Reply.text(str(len(body["messages"]))))
    for n in (1, 3):
        msgs = [user("a"), assistant("b"), user("c")][:n]
        assert json.loads(post(always, body_of(msgs)).body)["content"][0]["text"] == str(n)


def test_a_failing_script_callable_becomes_a_500_and_is_kept() -> None:
    def broken(body: dict[str, Any]) -> str:
        raise ValueError("bad script")

    fake = FakeClaude([broken, "next"])
    status, kind, message = error_of(post(fake, body_of([user("Hi")])))
    assert (status, kind) == (500, "api_error")
    assert message == "agentkit.testing: the fake raised ValueError: bad script"
    assert [str(e) for e in fake.errors] == ["bad script"]
    assert json.loads(post(fake, body_of([user("Hi")])).body)["content"][0]["text"] == "next"
