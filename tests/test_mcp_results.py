"""The pure parts of agentkit.mcp: MCP results to tool_result content and back, input
validation against a server's JSON schema, and the toolset's option checks. (A unit test of
private pure modules; tests/test_mcp.py covers the same mapping through a real server.)"""

from __future__ import annotations

import base64
import sys

import pydantic
import pytest

from agentkit import ConfigurationError
from agentkit.mcp import MCPServerError, MCPToolset
from agentkit.mcp._results import from_tool_result, to_tool_result
from agentkit.mcp._schema import input_schema

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def test_each_kind_of_content_maps_to_what_the_api_takes() -> None:
    result = {
        "content": [
            {"type": "text", "text": "hello"},
            {"type": "text", "text": ""},  # carries nothing: left out
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {"type": "image", "data": "PHN2Zz4=", "mimeType": "image/svg+xml"},
            {
                "type": "image",
                "data": base64.b64encode(b"not a png").decode(),
                "mimeType": "image/png",
            },
            {"type": "audio", "data": "AAAA", "mimeType": "audio/wav"},
            {
                "type": "resource",
                "resource": {
                    "uri": "file:///a.md",
                    "mimeType": "text/markdown",
                    "blob": base64.b64encode(b"# Title").decode(),
                },
            },
            {
                "type": "resource",
                "resource": {"uri": "file:///b.png", "mimeType": "image/png", "blob": PNG},
            },
            {
                "type": "resource",
                "resource": {"uri": "file:///c.zip", "mimeType": "application/zip", "blob": "UEs="},
            },
            {"type": "resource_link", "uri": "file:///d", "name": "d"},
            {"type": "hologram", "depth": 3},
        ],
        "isError": True,
    }
    blocks, is_error = to_tool_result(result)
    assert is_error is True
    assert blocks == [
        {"type": "text", "text": "hello"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {
            "type": "text",
            "text": "[image (image/svg+xml, 5 bytes) not shown: the Messages API cannot take "
            "this type]",
        },
        {
            "type": "text",
            "text": "[image (image/png, 9 bytes) not shown: the image's bytes are not image/png]",
        },
        {
            "type": "text",
            "text": "[audio (audio/wav, 3 bytes) not shown: the Messages API cannot take "
            "this type]",
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "# Title"},
            "title": "file:///a.md",
        },
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {
            "type": "text",
            "text": "[resource file:///c.zip (application/zip, 2 bytes) not shown: the "
            "Messages API cannot take this type]",
        },
        {"type": "text", "text": "Resource link: d <file:///d>"},
        {"type": "text", "text": '{"type": "hologram", "depth": 3}'},
    ]


def test_structured_content_alone_becomes_json_text() -> None:
    blocks, is_error = to_tool_result({"content": [], "structuredContent": {"ok": True, "n": 2}})
    assert blocks == [{"type": "text", "text": '{"ok": true, "n": 2}'}]
    assert is_error is False


def test_agentkit_results_become_mcp_content() -> None:
    assert from_tool_result("3", False) == {
        "content": [{"type": "text", "text": "3"}],
        "isError": False,
    }
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "x"},
    }
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert from_tool_result([image, document], True) == {
        "content": [
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {
                "type": "text",
                "text": '{"type": "document", "source": {"type": "text", "media_type": '
                '"text/plain", "data": "x"}}',
            },
        ],
        "isError": True,
    }
    assert from_tool_result(None, False) == {"content": [], "isError": False}


def test_input_is_checked_against_the_json_schema() -> None:
    schema = input_schema(
        "pick",
        "Pick one.",
        {
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 1, "description": "How many."}},
            "required": ["n"],
        },
    )
    assert schema.validate({"n": 2}) == {"arguments": {"n": 2}}
    with pytest.raises(pydantic.ValidationError) as caught:
        schema.validate({"n": 0})
    [error] = caught.value.errors()
    assert error["loc"] == ("n",) and error["msg"] == "0 is less than the minimum of 1"
    with pytest.raises(pydantic.ValidationError, match="Input should be an object"):
        schema.validate(["n", 2])
    assert schema.lint_issues == ()


def test_an_invalid_schema_is_linted_and_left_to_the_server() -> None:
    schema = input_schema("odd", "", {"type": "object", "properties": {"x": {"type": 12}}})
    assert schema.validate({"x": "anything"}) == {"arguments": {"x": "anything"}}
    assert [i.code for i in schema.lint_issues] == [
        "no-description",
        "invalid-schema",
        "undocumented-parameter",
    ]


def test_toolset_options_are_checked() -> None:
    with pytest.raises(TypeError, match="prefx"):
        MCPToolset.stdio("server", prefx="a")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="args is a list of strings"):
        MCPToolset.stdio("npx", "-y server")
    with pytest.raises(ConfigurationError, match="transport is 'streamable-http' or 'sse'"):
        MCPToolset.http("http://127.0.0.1:1/mcp", transport="websocket")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="timeout must be a number > 0"):
        MCPToolset.stdio("server", timeout=0)
    with pytest.raises(ConfigurationError, match="requires_approval is a list of tool names"):
        MCPToolset.stdio("server", requires_approval="write_file")


def test_a_prefixed_name_the_api_refuses_is_an_error_naming_the_fix() -> None:
    toolset = MCPToolset.stdio(
        sys.executable, [__file__.replace("test_mcp_results.py", "mcp_server.py")], prefix="p" * 56
    )
    with pytest.raises(MCPServerError, match=r"does not fit the API's rule .* exclude="):
        toolset.list_tools()
    toolset.close()
