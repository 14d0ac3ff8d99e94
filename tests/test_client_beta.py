"""`client.beta` (messages, files, models with `betas=`), `messages.parse` (structured outputs)
and the SDK's tool runner on the Agent loop, against the fake Claude."""

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from agentkit import AsyncClient, Client, ConfigurationError
from agentkit.client import ParsedMessage
from agentkit.runner import BetaAsyncToolRunner, BetaToolRunner, beta_tool
from agentkit.testing import FakeClaude, Reply, text

KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "Hello"}]


def client_for(fake: FakeClaude) -> Client:
    return Client(api_key=KEY, http_client=fake.http_client())


def async_client_for(fake: FakeClaude) -> AsyncClient:
    return AsyncClient(api_key=KEY, http_client=fake.async_http_client())


# --- client.beta ---------------------------------------------------------------------------


def test_beta_namespace_is_the_plain_resources_with_betas() -> None:
    fake = FakeClaude([Reply.text("hi"), Reply.text("streamed")])
    client = client_for(fake)
    beta = client.beta
    assert type(beta.messages).__mro__[1] is type(client.messages)  # a subclass, no copy
    message = beta.messages.create(
        model=MODEL, max_tokens=64, messages=HELLO, betas=["context-1m-2025-08-07"]
    )
    assert message.text == "hi"
    with beta.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        assert stream.get_final_text() == "streamed"
    counted = beta.messages.count_tokens(model=MODEL, messages=HELLO, betas=["b-1"])
    assert counted.input_tokens > 0
    logged = fake.requests
    assert logged[0].headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert logged[-1].headers["anthropic-beta"] == "b-1"
    uploaded = beta.files.upload(
        file=("a.txt", b"hello", "text/plain"), betas=["files-api-2025-04-14"]
    )
    assert [f.id for f in beta.files.list()] == [uploaded.id]
    assert beta.models.list(limit=1).data[0].id
    assert beta.messages.batches.list().data == []


def test_beta_messages_reject_unknown_keywords_like_the_plain_ones() -> None:
    client = client_for(FakeClaude())
    with pytest.raises(TypeError, match="max_tokens"):
        client.beta.messages.create(model=MODEL, max_token=5, messages=HELLO)  # type: ignore[call-arg]


@pytest.mark.anyio
async def test_async_beta_namespace() -> None:
    fake = FakeClaude([Reply.text("hi")])
    client = async_client_for(fake)
    message = await client.beta.messages.create(
        model=MODEL, max_tokens=64, messages=HELLO, betas=["x-1"]
    )
    assert message.text == "hi" and fake.requests[-1].headers["anthropic-beta"] == "x-1"
    uploaded = await client.beta.files.upload(file=("a.txt", b"hello", "text/plain"))
    assert (await client.beta.files.retrieve_metadata(uploaded.id)).filename == "a.txt"


# --- messages.parse: structured outputs ------------------------------------------------------


class Contact(BaseModel):
    name: str
    email: str
    plan_interest: str
    demo_requested: bool


def test_parse_sends_output_config_and_validates_the_reply() -> None:
    reply = json.dumps(
        {"name": "Ada", "email": "ada@example.com", "plan_interest": "Pro", "demo_requested": True}
    )
    fake = FakeClaude([Reply.text(reply)])
    client = client_for(fake)
    message = client.messages.parse(
        model=MODEL, max_tokens=256, messages=HELLO, output_format=Contact
    )
    assert isinstance(message, ParsedMessage)
    assert message.parsed_output == Contact(
        name="Ada", email="ada@example.com", plan_interest="Pro", demo_requested=True
    )
    assert message.request_id is not None and message._request_id == message.request_id
    assert "parsed_output" not in message.to_dict()  # goes back into a conversation unchanged
    fmt = fake.message_bodies[-1]["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["schema"]["additionalProperties"] is False
    assert fmt["schema"]["required"] == ["name", "email", "plan_interest", "demo_requested"]


def test_parse_with_a_json_schema_keeps_other_output_config() -> None:
    fake = FakeClaude()  # test-model mode: the reply is JSON matching the schema
    client = client_for(fake)
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}},
        "required": ["n"],
    }
    message = client.beta.messages.parse(
        model="claude-opus-4-5",  # a model with effort levels
        max_tokens=256,
        messages=HELLO,
        output_format=schema,
        output_config={"effort": "low"},
    )
    assert isinstance(message.parsed_output, dict) and isinstance(message.parsed_output["n"], int)
    config = fake.message_bodies[-1]["output_config"]
    assert config["effort"] == "low"
    sent = config["format"]["schema"]
    assert (
        "minimum" not in sent["properties"]["n"]
        and "minimum" in sent["properties"]["n"]["description"]
    )
    assert schema["properties"]["n"] == {
        "type": "integer",
        "minimum": 1,
    }  # the caller's is untouched


def test_parse_errors() -> None:
    fake = FakeClaude([Reply.text('{"name": "Ada"}'), Reply.text("not json")])
    client = client_for(fake)
    with pytest.raises(ValidationError):
        client.messages.parse(model=MODEL, max_tokens=64, messages=HELLO, output_format=Contact)
    with pytest.raises(ValueError, match="not JSON"):
        client.messages.parse(
            model=MODEL,
            max_tokens=64,
            messages=HELLO,
            output_format={"type": "object", "properties": {}},
        )
    with pytest.raises(ConfigurationError, match="open-ended object"):
        client.messages.parse(
            model=MODEL, max_tokens=64, messages=HELLO, output_format=dict[str, int]
        )
    with pytest.raises(TypeError, match="cannot make a JSON schema"):
        client.messages.parse(model=MODEL, max_tokens=64, messages=HELLO, output_format=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="temperature"):
        client.messages.parse(
            model=MODEL,
            max_tokens=64,
            messages=HELLO,
            output_format=Contact,
            temprature=0.1,  # type: ignore[call-arg]
        )
    assert len(fake.requests) == 2  # the bad calls were refused before sending


@pytest.mark.anyio
async def test_async_parse_and_raw_response() -> None:
    fake = FakeClaude()
    client = async_client_for(fake)
    message = await client.messages.parse(
        model=MODEL, max_tokens=256, messages=HELLO, output_format=Contact
    )
    assert isinstance(message.parsed_output, Contact)
    raw = await client.messages.with_raw_response.parse(
        model=MODEL, max_tokens=256, messages=HELLO, output_format=Contact
    )
    assert raw.request_id and isinstance((await raw.parse()).parsed_output, Contact)


# --- @beta_tool and client.beta.messages.tool_runner --------------------------------------------


@beta_tool
def add(a: int, b: int) -> str:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return str(a + b)


def test_tool_runner_yields_each_message_and_runs_tools() -> None:
    fake = FakeClaude([Reply.tool_use("add", {"a": 2, "b": 3}), Reply.text("5")])
    client = client_for(fake)
    runner = client.beta.messages.tool_runner(
        model=MODEL, max_tokens=256, tools=[add], messages=HELLO, temperature=0
    )
    assert isinstance(runner, BetaToolRunner)
    messages = list(runner)
    assert [m.stop_reason for m in messages] == ["tool_use", "end_turn"]
    second = fake.message_bodies[1]
    assert second["temperature"] == 0 and second["tools"][0]["name"] == "add"
    result = second["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["content"] == "5"
    assert runner.until_done() is messages[-1]


def test_tool_runner_until_done_and_max_iterations() -> None:
    fake = FakeClaude([Reply.tool_use("add", {"a": 1, "b": 1})] * 3 + [Reply.text("done")])
    client = client_for(fake)
    last = client.beta.messages.tool_runner(
        model=MODEL, max_tokens=64, tools=[add], messages=HELLO
    ).until_done()
    assert last.text == "done" and len(fake.requests) == 4
    fake.add(*[Reply.tool_use("add", {"a": 1, "b": 1})] * 3)
    runner = client.beta.messages.tool_runner(
        model=MODEL, max_tokens=64, tools=[add], messages=HELLO, max_iterations=2
    )
    assert [m.stop_reason for m in runner] == ["tool_use", "tool_use"]
    assert len(fake.requests) == 6


def test_tool_runner_refuses_what_it_cannot_take() -> None:
    client = client_for(FakeClaude())
    with pytest.raises(TypeError, match="max_tokens"):
        client.beta.messages.tool_runner(model=MODEL, tools=[add], messages=HELLO)
    with pytest.raises(TypeError, match="did you mean 'temperature'"):
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=64, tools=[add], messages=HELLO, temprature=0
        )
    with pytest.raises(TypeError, match=r"Agent\.stream"):
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=64, tools=[add], messages=HELLO, stream=True
        )
    with pytest.raises(TypeError, match="extra_headers"):
        client.beta.messages.tool_runner(
            model=MODEL, max_tokens=64, tools=[add], messages=HELLO, extra_headers={"a": "b"}
        )


@pytest.mark.anyio
async def test_async_tool_runner() -> None:
    fake = FakeClaude([Reply.tool_use("add", {"a": 2, "b": 2}), Reply(text("4"))])
    client = async_client_for(fake)
    runner = client.beta.messages.tool_runner(
        model=MODEL, max_tokens=64, tools=[add], messages=HELLO
    )
    assert isinstance(runner, BetaAsyncToolRunner)
    seen: list[Any] = [m.stop_reason async for m in runner]
    assert seen == ["tool_use", "end_turn"]
    fake.add(Reply.text("awaited"))
    awaited = await client.beta.messages.tool_runner(
        model=MODEL, max_tokens=64, tools=[add], messages=HELLO
    )
    assert (await awaited.until_done()).text == "awaited"
    assert (
        json.loads(json.dumps(fake.message_bodies[1]["messages"][-1]["content"][0]["content"]))
        == "4"
    )


def test_request_typeddicts_are_public_in_agentkit_types() -> None:
    from agentkit.types import (
        ImageBlockParam,
        MessageParam,
        TextBlockParam,
        ToolParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
    )

    tool: ToolParam = {"name": "add", "input_schema": {"type": "object"}}
    call: ToolUseBlockParam = {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {}}
    result: ToolResultBlockParam = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "2"}
    image: ImageBlockParam = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    question: TextBlockParam = {"type": "text", "text": "What is 1 + 1?"}
    messages: list[MessageParam] = [
        {"role": "user", "content": [question]},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [result]},
    ]
    fake = FakeClaude([Reply.text("2")])
    client_for(fake).messages.create(model=MODEL, max_tokens=64, messages=messages, tools=[tool])
    sent = fake.message_bodies[-1]
    assert sent["messages"] == messages and sent["tools"] == [tool]
    assert image["source"]["type"] == "base64"  # the shape type-checks as the API's


def test_create_and_stream_refuse_a_type_as_output_format() -> None:
    fake = FakeClaude()
    client = client_for(fake)
    with pytest.raises(TypeError, match=r"use messages.parse"):
        client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, output_format=Contact)  # type: ignore[typeddict-item]
    with pytest.raises(TypeError, match=r"messages.stream\(\): output_format="):
        client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO, output_format=Contact)  # type: ignore[typeddict-item]
    assert fake.requests == []
