"""The official reference MCP servers from npm (server-everything, server-filesystem), installed at
pinned versions by scripts/mcp-servers, as an agent's tools; the fake Claude calls them.

Skipped, saying why, only where node is missing outside CI; under CI=true the script installs
node and the servers, and a failure fails the tests.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentkit
from agentkit import Agent
from agentkit.mcp import MCPToolset
from agentkit.testing import FakeClaude, Reply

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def servers() -> Path:
    if shutil.which("node") is None and os.environ.get("CI") != "true":
        pytest.skip("node is not installed here (CI installs it: scripts/mcp-servers)")
    done = subprocess.run(
        [str(ROOT / "scripts" / "mcp-servers")], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/mcp-servers failed:\n{done.stderr}")
    return Path(done.stdout.strip()) / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def everything(servers: Path) -> Iterator[MCPToolset]:
    toolset = MCPToolset.stdio(str(servers / "mcp-server-everything"), ["stdio"])
    yield toolset
    toolset.close()


def run(tools: list[Any], *turns: Reply) -> FakeClaude:
    fake = FakeClaude([*turns, Reply.text("ok")])
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    with Agent("claude-sonnet-4-5", client=client, tools=tools) as agent:
        agent.run("go")
    return fake


def results(fake: FakeClaude, request: int = 1) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = fake.message_bodies[request]["messages"][-1]["content"]
    return blocks


def test_server_everything_tools_and_results(everything: MCPToolset) -> None:
    fake = run(
        [everything],
        Reply.tool_uses(
            ("echo", {"message": "hi"}),
            ("get-sum", {"a": 2, "b": 3}),
            ("get-tiny-image", {}),
            ("get-structured-content", {"location": "Chicago"}),
            ("get-resource-reference", {"resourceType": "Text", "resourceId": 1}),
            ("get-sum", {"a": "two"}),
        ),
    )
    sent = {t["name"]: t for t in fake.message_bodies[0]["tools"]}
    assert sent["echo"]["input_schema"]["properties"]["message"] == {
        "type": "string",
        "description": "Message to echo",
    }
    echo, total, image, structured, reference, invalid = results(fake)
    assert echo["content"] == [{"type": "text", "text": "Echo: hi"}]
    assert total["content"][0]["text"].endswith("5.")
    blocks = image["content"]
    [picture] = [b for b in blocks if b["type"] == "image"]
    assert picture["source"]["media_type"] == "image/png"
    assert base64.b64decode(picture["source"]["data"]).startswith(b"\x89PNG")
    assert structured["is_error"] is False
    assert json.loads(structured["content"][0]["text"]).keys() == {
        "temperature",
        "conditions",
        "humidity",
    }
    documents = [b for b in reference["content"] if b["type"] == "document"]
    assert documents and documents[0]["title"].startswith("demo://resource/")
    assert invalid["is_error"] is True
    assert "Invalid input for tool 'get-sum':" in invalid["content"]


def test_server_filesystem_with_approval_for_writes(servers: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("the budget is 4,800 EUR")
    files = MCPToolset.stdio(
        str(servers / "mcp-server-filesystem"),
        [str(tmp_path)],
        prefix="fs",
        include=["read_text_file", "write_file"],
        requires_approval=["write_file"],
    )
    fake = FakeClaude(
        [
            Reply.tool_uses(
                ("fs_read_text_file", {"path": str(tmp_path / "notes.txt")}),
                ("fs_write_file", {"path": str(tmp_path / "out.txt"), "content": "x"}),
            ),
            Reply.text("ok"),
        ]
    )
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    with Agent("claude-sonnet-4-5", client=client, tools=[files]) as agent:
        result = agent.run("read and write")
    assert [t["name"] for t in fake.message_bodies[0]["tools"]] == [
        "fs_read_text_file",
        "fs_write_file",
    ]
    assert result.status == "awaiting_approval"
    assert [call.name for call in result.pending] == ["fs_write_file"]
    assert not (tmp_path / "out.txt").exists()
