"""MCP servers' tools in the agent, against a real MCP server (tests/mcp_server.py, written with
the `mcp` package's server API) over stdio and streamable HTTP; the fake Claude calls them."""

from __future__ import annotations

import base64
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import agentkit
from agentkit import Agent, tool
from agentkit.mcp import MCPServerError, MCPToolset
from agentkit.stores import SQLiteStore
from agentkit.testing import FakeClaude, Reply
from agentkit.tools import Allow

SERVER = str(Path(__file__).with_name("mcp_server.py"))
MODEL = "claude-sonnet-4-5"


def server(**options: Any) -> MCPToolset:
    return MCPToolset.stdio(sys.executable, [SERVER], name="test", **options)


@pytest.fixture(scope="module")
def shared() -> Iterator[MCPToolset]:
    toolset = server()
    yield toolset
    toolset.close()


def agent_for(fake: FakeClaude, tools: list[Any], *, sync: bool = True, **kwargs: Any) -> Agent:
    client: Any
    if sync:
        client = agentkit.Client(api_key="test", http_client=fake.http_client())
    else:
        client = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
    return Agent(MODEL, client=client, tools=tools, **kwargs)


def results(fake: FakeClaude, request: int = 1) -> list[dict[str, Any]]:
    """The tool_result blocks of the user message the request ends with."""
    blocks: list[dict[str, Any]] = fake.message_bodies[request]["messages"][-1]["content"]
    return [{k: v for k, v in b.items() if k != "tool_use_id"} for b in blocks]


@tool
def local_add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def test_results_map_to_tool_result_content_exactly(shared: MCPToolset) -> None:
    fake = FakeClaude(
        [
            Reply.tool_uses(
                ("picture", {}),
                ("document", {}),
                ("weather", {"city": "Oslo"}),
                ("add", {"a": 1, "b": 2}),
                ("fail", {"message": "no such city"}),
                ("local_add", {"a": 2, "b": 2}),
            ),
            Reply.text("done"),
        ]
    )
    result = agent_for(fake, [local_add, shared]).run("go")
    assert result.text == "done"
    png = base64.b64encode(base64.b64decode(_png())).decode()
    assert results(fake) == [
        {
            "type": "tool_result",
            "content": [
                {"type": "text", "text": "a red pixel"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": png},
                },
            ],
            "is_error": False,
        },
        {
            "type": "tool_result",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "buy milk"},
                    "title": "file:///notes/todo.txt",
                },
                {
                    "type": "document",
                    "source": {
                        "type": "base64",
                        "media_type": "application/pdf",
                        "data": base64.b64encode(b"%PDF-1.4 tiny").decode(),
                    },
                    "title": "file:///docs/a.pdf",
                },
                {
                    "type": "text",
                    "text": (
                        "Resource link: big.csv <file:///docs/big.csv> (text/csv) - All the rows"
                    ),
                },
            ],
            "is_error": False,
        },
        {
            "type": "tool_result",
            # The server sends the structured content and the same JSON as text: the text goes.
            "content": [{"type": "text", "text": '{\n  "city": "Oslo",\n  "celsius": 21.5\n}'}],
            "is_error": False,
        },
        {
            "type": "tool_result",
            # With a text block, the structured {"result": 3} is not repeated.
            "content": [{"type": "text", "text": "3"}],
            "is_error": False,
        },
        {
            "type": "tool_result",
            "content": [{"type": "text", "text": "Error executing tool fail: no such city"}],
            "is_error": True,
        },
        {"type": "tool_result", "content": "4", "is_error": False},
    ]


def _png() -> str:
    return "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ" + (
        "/pLvAAAAAElFTkSuQmCC"
    )


def test_async_agent_sends_the_servers_schemas_as_they_are_with_a_prefix() -> None:
    toolset = server(prefix="srv", include=["echo", "add"])

    async def main() -> None:
        fake = FakeClaude([Reply.tool_use("srv_echo", {"text": "hi"}), Reply.text("ok")])
        async with agent_for(fake, [local_add, toolset], sync=False) as agent:
            result = await agent.arun("echo hi")
        assert result.text == "ok"
        sent = fake.message_bodies[0]["tools"]
        assert [t["name"] for t in sent] == ["local_add", "srv_echo", "srv_add"]
        assert sent[1] == {
            "name": "srv_echo",
            "description": "Return the text unchanged.",
            "input_schema": {
                "type": "object",
                "properties": {"text": {"title": "Text", "type": "string"}},
                "required": ["text"],
                "title": "echoArguments",
            },
        }
        assert results(fake) == [
            {"type": "tool_result", "content": [{"type": "text", "text": "hi"}], "is_error": False}
        ]

    anyio.run(main)


@pytest.mark.parametrize("sequential", [False, True])
def test_a_turns_mcp_calls_run_concurrently_unless_sequential(sequential: bool) -> None:
    toolset = server(include=["meet"], sequential=sequential)
    fake = FakeClaude(
        [
            Reply.tool_uses(("meet", {"me": "a", "peer": "b"}), ("meet", {"me": "b", "peer": "a"})),
            Reply.text("ok"),
        ]
    )
    with agent_for(fake, [toolset]) as agent:
        agent.run("meet")
    texts = [r["content"][0]["text"] for r in results(fake)]
    if sequential:  # the first waits alone (3 s), then the second finds its mark
        assert texts == ["a waited alone", "b met a"]
    else:
        assert texts == ["a met b", "b met a"]


def test_input_is_validated_against_the_servers_schema_before_the_call(
    shared: MCPToolset, tmp_path: Path
) -> None:
    fake = FakeClaude([Reply.tool_use("add", {"a": "one"}), Reply.text("ok")])
    agent_for(fake, [shared]).run("add")
    [error] = results(fake)
    assert error["is_error"] is True
    assert error["content"] == (
        "Invalid input for tool 'add':\n"
        "- (input): 'b' is a required property\n"
        "- a: 'one' is not of type 'integer'\n"
        "Fix the input and call the tool again."
    )


def test_a_slow_call_times_out_and_the_server_keeps_serving() -> None:
    toolset = server(timeout=0.5)
    fake = FakeClaude(
        [
            Reply.tool_use("slow", {"seconds": 30}),
            Reply.tool_use("echo", {"text": "x"}),
            Reply.text("ok"),
        ]
    )
    with agent_for(fake, [toolset]) as agent:
        result = agent.run("slow")
    assert result.text == "ok"
    assert results(fake, 1) == [
        {
            "type": "tool_result",
            "content": "Tool 'slow' timed out after 0.5 seconds.",
            "is_error": True,
        }
    ]
    assert results(fake, 2)[0]["content"] == [{"type": "text", "text": "x"}]
    assert toolset.starts == 1  # it answered the check after the abandoned call


def test_a_hung_server_times_out_and_is_restarted_on_the_next_call() -> None:
    toolset = server(timeout=0.5, probe_timeout=1)
    fake = FakeClaude(
        [
            Reply.tool_use("freeze", {"seconds": 60}),
            Reply.tool_use("echo", {"text": "x"}),
            Reply.text("ok"),
        ]
    )
    with agent_for(fake, [toolset]) as agent:
        result = agent.run("freeze")
    assert result.text == "ok"
    assert results(fake, 1)[0]["content"] == "Tool 'freeze' timed out after 0.5 seconds."
    assert results(fake, 2)[0]["content"] == [{"type": "text", "text": "x"}]
    assert toolset.starts == 2  # it failed the check after the abandoned call


@pytest.mark.parametrize("breaker", ["crash", "garbage"])
def test_a_server_that_crashes_or_sends_garbage_gives_an_error_and_restarts(breaker: str) -> None:
    toolset = server(timeout=20)
    fake = FakeClaude(
        [Reply.tool_use(breaker, {}), Reply.tool_use("echo", {"text": "back"}), Reply.text("ok")]
    )
    with agent_for(fake, [toolset]) as agent:
        result = agent.run("break it")
    assert result.text == "ok"
    [error] = results(fake, 1)
    assert error["is_error"] is True
    assert "The server will be restarted on the next call." in error["content"]
    assert results(fake, 2)[0]["content"] == [{"type": "text", "text": "back"}]
    assert toolset.starts == 2


def test_a_tool_list_change_is_sent_before_the_next_model_call() -> None:
    toolset = server(include=["grow", "echo"])  # a new tool outside the filter stays out
    fake = FakeClaude(
        [Reply.tool_use("grow", {}), Reply.tool_use("extra", {"n": 4}), Reply.text("ok")]
    )
    with agent_for(fake, [toolset]) as agent:
        agent.run("grow")
    assert [t["name"] for t in fake.message_bodies[1]["tools"]] == ["echo", "grow"]
    assert results(fake, 2)[0]["content"].startswith("Unknown tool 'extra'")

    toolset = server()
    fake = FakeClaude(
        [Reply.tool_use("grow", {}), Reply.tool_use("extra", {"n": 4}), Reply.text("ok")]
    )
    with agent_for(fake, [toolset]) as agent:
        agent.run("grow")
    first, second = ([t["name"] for t in body["tools"]] for body in fake.message_bodies[:2])
    assert "extra" not in first and second == [*first, "extra"]
    assert results(fake, 2)[0]["content"] == [{"type": "text", "text": "8"}]


def test_filters_and_approval_names_must_name_the_servers_tools() -> None:
    for options in (
        {"include": ["nope"]},
        {"exclude": ["echo", "nada"]},
        {"requires_approval": ["x"]},
    ):
        toolset = server(**options)
        with pytest.raises(MCPServerError, match="names tools it does not have"):
            toolset.list_tools()
        toolset.close()
    with pytest.raises(agentkit.ConfigurationError, match="list of tool names"):
        server(include="echo")
    with pytest.raises(agentkit.ConfigurationError, match="prefix"):
        server(prefix="bad prefix")


def test_requires_approval_by_name_and_before_tool_hooks(shared: MCPToolset) -> None:
    toolset = server(requires_approval=["echo"])
    seen: list[str] = []

    def hook(call: Any, ctx: Any) -> None:
        seen.append(call.name)

    fake = FakeClaude(
        [Reply.tool_uses(("echo", {"text": "a"}), ("add", {"a": 1, "b": 1})), Reply.text("ok")]
    )
    with agent_for(fake, [toolset], hooks=agentkit.Hooks(before_tool=(hook,))) as agent:
        paused = agent.run("go")
        assert paused.status == "awaiting_approval"
        [pending] = paused.pending
        assert pending.name == "echo"
        done = agent.run(conversation=paused.conversation, approvals={pending.id: Allow()})
    assert done.text == "ok"
    assert results(fake, 1)[0]["content"] == [{"type": "text", "text": "a"}]
    assert seen.count("echo") == 2 and "add" in seen


def test_the_idempotency_key_goes_in_the_requests_meta(tmp_path: Path) -> None:
    toolset = server(include=["idempotency"])
    store = SQLiteStore(tmp_path / "runs.db")
    fake = FakeClaude([Reply.tool_use("idempotency", {}), Reply.text("ok")])
    with agent_for(fake, [toolset], store=store) as agent:
        result = agent.run("key?")
    tool_use_id = result.new_messages[1]["content"][0]["id"]
    key = f"{result.conversation.id}/{tool_use_id}"
    assert results(fake)[0]["content"] == [{"type": "text", "text": key}]


def test_lifecycle_start_on_enter_reuse_across_runs_stop_on_close() -> None:
    toolset = server(include=["echo"])
    fake = FakeClaude([Reply.text("one"), Reply.text("two"), Reply.text("three")])
    agent = agent_for(fake, [toolset])
    assert toolset.starts == 0 and toolset.current_tools() == []
    with agent:
        assert toolset.starts == 1 and [t.name for t in toolset.current_tools()] == ["echo"]
        agent.run("a")
        anyio.run(agent.arun, "b")
        assert toolset.starts == 1
    agent.run("c")  # closed: the next run starts it again
    assert toolset.starts == 2
    agent.close()


def test_a_sync_run_called_inside_an_event_loop_refreshes_synchronously(shared: MCPToolset) -> None:
    # A notebook cell runs in an event loop; a sync `agent.run` there still gets sync hooks.
    fake = FakeClaude([Reply.tool_use("echo", {"text": "nb"}), Reply.text("ok")])
    agent = agent_for(fake, [shared])

    async def cell() -> str:
        return agent.run("echo").text

    assert anyio.run(cell) == "ok"
    assert results(fake)[0]["content"] == [{"type": "text", "text": "nb"}]


def test_server_stderr_goes_to_a_logger_not_the_terminal(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    toolset = server(include=["shout"])
    fake = FakeClaude([Reply.tool_use("shout", {"text": "hi"}), Reply.text("ok")])
    with caplog.at_level(logging.INFO, logger="agentkit.mcp.test"):
        with agent_for(fake, [toolset]) as agent:
            agent.run("shout")
        deadline = time.monotonic() + 10  # the pipe is read by a thread; wait for its line
        while "shouting: hi" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "test: shouting: hi" in caplog.text
    assert "shouting" not in capfd.readouterr().err


def test_a_server_that_cannot_start_is_a_clear_error() -> None:
    toolset = MCPToolset.stdio("/nonexistent/mcp-server", name="ghost")
    fake = FakeClaude([Reply.text("never")])
    with pytest.raises(MCPServerError, match="MCP server 'ghost': could not start"):
        agent_for(fake, [toolset]).run("hi")


def _serve(transport: str, path: str) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, SERVER, f"--{transport}", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{path}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the MCP test server did not start") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from _serve("http", "/mcp")


@pytest.fixture(scope="module")
def sse_url() -> Iterator[str]:
    yield from _serve("sse", "/sse")


def test_a_server_that_only_offers_sse(sse_url: str) -> None:
    toolset = MCPToolset.http(sse_url, transport="sse", include=["echo"])
    fake = FakeClaude([Reply.tool_use("echo", {"text": "over sse"}), Reply.text("ok")])
    with agent_for(fake, [toolset]) as agent:
        agent.run("echo")
    assert results(fake)[0]["content"] == [{"type": "text", "text": "over sse"}]


def test_streamable_http_server(http_url: str) -> None:
    toolset = MCPToolset.http(http_url, headers={"Authorization": "Bearer t0ken"}, name="web")
    assert "t0ken" not in repr(toolset)
    fake = FakeClaude(
        [Reply.tool_uses(("echo", {"text": "over http"}), ("picture", {})), Reply.text("ok")]
    )

    async def main() -> None:
        async with agent_for(fake, [toolset], sync=False) as agent:
            await agent.arun("echo")

    anyio.run(main)
    echo, picture = results(fake)
    assert echo["content"] == [{"type": "text", "text": "over http"}]
    assert picture["content"][1]["type"] == "image"
