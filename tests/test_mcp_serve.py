"""The other direction: agentkit tools served with `agentkit mcp serve` (stdio and streamable
HTTP), listed and called by the `mcp` package's own client and by an agent through
`MCPToolset`: the schemas and results are the ones the agent sends for the local tools."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

import agentkit
from agentkit import Agent, RunContext, tool
from agentkit.mcp import IDEMPOTENCY_KEY_META, MCPToolset, to_mcp_server
from agentkit.testing import FakeClaude, Reply
from agentkit.tools import Toolset

TOOLS_FILE = str(Path(__file__).with_name("mcp_agentkit_tools.py"))
SERVE = [sys.executable, "-m", "agentkit", "mcp", "serve", f"{TOOLS_FILE}:TOOLS"]

CALLS = (
    ("convert", {"amount": 2, "unit": "mi"}),
    ("convert", {"amount": "far"}),  # invalid: pydantic's per-field errors
    ("swatch", {"label": "red"}),
    ("refuse", {"reason": "no"}),
)


def _local_tools() -> Toolset:
    sys.path.insert(0, str(Path(TOOLS_FILE).parent))
    try:
        import mcp_agentkit_tools
    finally:
        sys.path.pop(0)
    return Toolset(mcp_agentkit_tools.TOOLS)


def _as_blocks(content: object) -> object:
    """A string result is one text block (MCP has no bare-string content)."""
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _agent_sends(tools: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tool definitions and the tool results an agent sends for CALLS."""
    fake = FakeClaude([Reply.tool_uses(*CALLS), Reply.text("ok")])
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    with Agent("claude-sonnet-4-5", client=client, tools=tools) as agent:
        agent.run("go")
    results = [
        {"content": _as_blocks(b.get("content")), "is_error": b["is_error"]}
        for b in fake.message_bodies[1]["messages"][-1]["content"]
    ]
    return fake.message_bodies[0]["tools"], results


def test_the_mcp_client_lists_the_agents_schemas_and_gets_its_results() -> None:
    local_params, local_results = _agent_sends(list(_local_tools()))

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        params = StdioServerParameters(command=SERVE[0], args=SERVE[1:])
        async with Client(params, cache=None) as client:
            listed = (await client.list_tools()).tools
            results = [await client.call_tool(name, args) for name, args in CALLS]
        tools = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in listed
        ]
        return tools, [r.model_dump(by_alias=True, mode="json", exclude_none=True) for r in results]

    tools, results = anyio.run(main)
    assert tools == local_params
    shaped = [{"content": r["content"], "is_error": r["isError"]} for r in results]
    mcp_form = [
        {
            "content": [
                {"type": "image", "data": b["source"]["data"], "mimeType": "image/png"}
                if b["type"] == "image"
                else b
                for b in r["content"]
            ],
            "is_error": r["is_error"],
        }
        for r in local_results
    ]
    assert shaped == mcp_form
    assert results[1]["isError"] is True
    assert "- amount: Input should be a valid number" in results[1]["content"][0]["text"]


def _same_but_the_invalid_call(
    served: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    local: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """Identical tools and results, except the text of the invalid call's error: through MCP
    the agent checks the input against the served JSON schema itself (a jsonschema message),
    where the local tool's pydantic model words it its own way."""
    assert served[0] == local[0]
    assert served[1][:1] + served[1][2:] == local[1][:1] + local[1][2:]
    for results in (served[1], local[1]):
        assert results[1]["is_error"] is True
        assert "Invalid input for tool 'convert':\n- amount: " in results[1]["content"][0]["text"]


def test_an_agent_through_mcp_sends_what_it_sends_for_the_local_tools() -> None:
    local = _agent_sends(list(_local_tools()))
    served = MCPToolset.stdio(SERVE[0], SERVE[1:], name="served")
    _same_but_the_invalid_call(_agent_sends([served]), local)


@pytest.fixture
def http_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    process = subprocess.Popen(
        [*SERVE, "--http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("agentkit mcp serve --http did not start") from None
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(10)


def test_served_over_streamable_http(http_port: int) -> None:
    local = _agent_sends(list(_local_tools()))
    served = MCPToolset.http(f"http://127.0.0.1:{http_port}/mcp", name="served")
    _same_but_the_invalid_call(_agent_sends([served]), local)


@tool
def key_of(ctx: RunContext) -> str:
    """The call's idempotency key."""
    return str(ctx.idempotency_key)


@tool(requires_approval=True)
def delete_everything() -> str:
    """Needs a human's yes."""
    raise AssertionError("never runs without an approval")


def test_to_mcp_server_in_process() -> None:
    tools = [*_local_tools(), key_of, delete_everything]

    async def main() -> tuple[list[str], list[dict[str, Any]]]:
        async with Client(to_mcp_server(tools, name="local")) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            keyed = await client.call_tool("key_of", {}, meta={IDEMPOTENCY_KEY_META: "conv/tu_1"})
            unkeyed = await client.call_tool("key_of", {})
            refused = await client.call_tool("delete_everything", {})
        answers = [keyed, unkeyed, refused]
        return names, [a.model_dump(by_alias=True, exclude_none=True) for a in answers]

    names, (keyed, unkeyed, refused) = anyio.run(main)
    assert names == ["convert", "swatch", "refuse", "key_of", "delete_everything"]
    assert keyed["content"] == [{"type": "text", "text": "conv/tu_1"}]
    assert unkeyed["content"] == [{"type": "text", "text": "None"}]
    assert refused["isError"] is True
    assert "needs a human's approval" in refused["content"][0]["text"]
