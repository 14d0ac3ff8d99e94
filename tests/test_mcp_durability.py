"""Crash-resume with MCP tools: SIGKILL the agent's process during an MCP tool call, resume from
SQLite in a new process: the MCP calls that finished are not made again. Real processes, a real
MCP server (tests/mcp_server.py, logging each call), a real SQLite file and the fake Claude
over loopback HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import agentkit
from agentkit.stores import SQLiteStore
from agentkit.testing import FakeClaude, FakeServer, Reply

SERVER = str(Path(__file__).with_name("mcp_server.py"))

AGENT_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import agentkit
    from agentkit.mcp import MCPToolset
    from agentkit.stores import SQLiteStore

    server = MCPToolset.stdio(
        sys.executable, [os.environ["SERVER"]], name="test",
        env={"MCP_TEST_LOG": os.environ["MCP_TEST_LOG"]},
        include=["record", "wait_for"],
    )
    client = agentkit.Client(api_key="test", base_url=os.environ["BASE_URL"], max_retries=0)
    agent = agentkit.Agent(
        "claude-haiku-4-5", tools=[server], client=client, store=SQLiteStore(os.environ["DB"])
    )
    with agent:
        result = agent.run(sys.argv[1] if len(sys.argv) > 1 else None, conversation="mcp-crash")
    print(result.status, result.text)
    """
)


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_sigkill_during_an_mcp_call_then_resume(tmp_path: Path) -> None:
    release = tmp_path / "release"
    fake = FakeClaude(
        [
            Reply.tool_uses(
                ("record", {"key": "a"}),
                ("record", {"key": "b"}),
                ("wait_for", {"path": str(release)}),
            ),
            Reply.text("all done"),
        ]
    )
    db, log = tmp_path / "conv.db", tmp_path / "calls.log"
    log.touch()
    script = tmp_path / "agent_script.py"
    script.write_text(AGENT_SCRIPT)
    store = SQLiteStore(str(db))
    store.create(agentkit.Conversation(id="mcp-crash"))
    with FakeServer(fake) as server:
        env = {
            **os.environ,
            "SERVER": SERVER,
            "MCP_TEST_LOG": str(log),
            "DB": str(db),
            "BASE_URL": server.url,
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        proc = subprocess.Popen([sys.executable, str(script), "call them"], env=env)
        try:
            # Both quick MCP calls finished and were journaled; wait_for is running.
            _wait_for(lambda: len(store.journaled_tool_results("mcp-crash")) == 2)
            _wait_for(lambda: "wait_for" in log.read_text())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        release.touch()  # the orphaned server's call ends; the resumed one returns at once

        before = SQLiteStore(str(db)).load("mcp-crash")
        assert [e.role for e in before] == ["user", "assistant"]
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "complete all done"

    lines = log.read_text().splitlines()
    assert lines.count("a") == 1 and lines.count("b") == 1  # finished calls: not made again
    assert lines.count(f"wait_for {release}") == 2  # the interrupted call: made again
    final = SQLiteStore(str(db)).load("mcp-crash")
    assert [e.role for e in final] == ["user", "assistant", "user", "assistant"]
    contents = [r["content"] for r in final[2].blocks]
    assert contents == [
        [{"type": "text", "text": "recorded a"}],
        [{"type": "text", "text": "recorded b"}],
        [{"type": "text", "text": "released"}],
    ]
    assert len(fake.message_bodies) == 2
