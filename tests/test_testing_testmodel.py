"""Test-model mode: call every offered tool once, then summarize the results."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from agentkit.testing import FakeClaude, arguments_for, auto_reply

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {}},
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 3},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "ratio": {"type": "number", "exclusiveMinimum": 0},
            "when": {"type": "string", "format": "date"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "flag": {"type": "boolean"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 5}]},
            "kind": {"const": "fixed"},
            "nested": {"$ref": "#/$defs/Point"},
        },
        "required": ["city", "unit", "days", "nested"],
        "additionalProperties": False,
        "$defs": {
            "Point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": ["null", "number"]}},
                "required": ["x", "y"],
                "additionalProperties": False,
            }
        },
    },
    {
        "type": "object",
        "properties": {"mode": {"type": "string", "default": "fast"}, "n": {"type": "integer"}},
        "allOf": [{"properties": {"extra": {"type": "string"}}}],
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_generated_arguments_satisfy_the_schema(schema: dict[str, Any]) -> None:
    args = arguments_for(schema)
    jsonschema.validate(args, schema)
    assert arguments_for(schema) == args  # deterministic


def test_generated_arguments_for_a_rich_schema() -> None:
    args = arguments_for(SCHEMAS[1])
    assert args["unit"] == "celsius"
    assert args["days"] == 1
    assert len(args["city"]) == 3
    assert args["when"] == "2024-01-01"
    assert args["nested"] == {"x": 0.0, "y": 0.0}
    assert args["maybe"] == 5


TOOLS = [
    {"name": "get_weather", "description": "w", "input_schema": SCHEMAS[1]},
    {"name": "get_time", "description": "t", "input_schema": {"type": "object", "properties": {}}},
    {"type": "web_search_20250305", "name": "web_search"},
]


def post(fake: FakeClaude, body: dict[str, Any]) -> dict[str, Any]:
    with fake.http_client() as http:
        response = http.post("/v1/messages", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_whole_tool_loop_without_a_script() -> None:
    fake = FakeClaude()
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "Plan my day"}],
    }
    first = post(fake, body)
    assert first["stop_reason"] == "tool_use"
    calls = first["content"]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]  # client tools only
    jsonschema.validate(calls[0]["input"], SCHEMAS[1])
    results = [
        {"type": "tool_result", "tool_use_id": calls[0]["id"], "content": "Sunny, 21 C"},
        {
            "type": "tool_result",
            "tool_use_id": calls[1]["id"],
            "content": [{"type": "text", "text": "09:00"}],
            "is_error": True,
        },
    ]
    body["messages"] += [
        {"role": "assistant", "content": calls},
        {"role": "user", "content": results},
    ]
    second = post(fake, body)
    assert second["stop_reason"] == "end_turn"
    summary = second["content"][0]["text"]
    assert "get_weather returned: Sunny, 21 C" in summary
    assert "get_time failed: 09:00" in summary


def test_tool_choice_is_respected() -> None:
    base = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    forced = auto_reply({**base, "tool_choice": {"type": "tool", "name": "get_time"}})
    assert [b.data["name"] for b in forced.blocks] == ["get_time"]
    none = auto_reply({**base, "tool_choice": {"type": "none"}})
    assert none.stop_reason == "end_turn"
    assert none.blocks[0].data["text"] == "Test model reply to: Hi"


def test_thinking_requests_get_signed_thinking_that_round_trips() -> None:
    fake = FakeClaude()
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "tools": TOOLS[1:2],
        "messages": [{"role": "user", "content": "What time is it?"}],
    }
    first = post(fake, body)
    assert [b["type"] for b in first["content"]] == ["thinking", "tool_use"]
    call = first["content"][1]
    body["messages"] += [
        {"role": "assistant", "content": first["content"]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "noon"}],
        },
    ]
    second = post(fake, body)
    assert [b["type"] for b in second["content"]] == ["thinking", "text"]
    assert "get_time returned: noon" in second["content"][1]["text"]


def test_streaming_in_test_model_mode() -> None:
    fake = FakeClaude()
    with fake.http_client() as http:
        response = http.post(
            "/v1/messages",
            json={
                "model": "claude-haiku-4-5",
                "max_tokens": 64,
                "stream": True,
                "tools": TOOLS[1:2],
                "messages": [{"role": "user", "content": "time?"}],
            },
        )
    lines = [json.loads(x[6:]) for x in response.text.splitlines() if x.startswith("data: ")]
    partial = "".join(
        e["delta"]["partial_json"] for e in lines if e["type"] == "content_block_delta"
    )
    assert partial == ""  # a tool without parameters streams one empty fragment, like the API
    assert lines[-2]["delta"]["stop_reason"] == "tool_use"


def test_structured_output_requests_get_json_matching_the_schema() -> None:
    schema = SCHEMAS[1]
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
        "messages": [{"role": "user", "content": "Weather as JSON"}],
    }
    reply = post(FakeClaude(), body)
    jsonschema.validate(json.loads(reply["content"][0]["text"]), schema)
