"""The MCP side of the `agentkit` command: `chat --mcp`, `tools lint --mcp`, `mcp serve`."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from agentkit.cli import main

HERE = Path(__file__).parent
TEST_SERVER = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'mcp_server.py'))}"
SERVED_TOOLS = (
    f"{shlex.quote(sys.executable)} -m agentkit mcp serve "
    f"{shlex.quote(str(HERE / 'mcp_agentkit_tools.py'))}:TOOLS"
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_chat_with_an_mcp_server_offline(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "chat", "--mcp", SERVED_TOOLS, "--mcp", SERVED_TOOLS],
        input="convert 3 km\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Two copies of one server: their tool names clash, and the chat says so.
    assert done.returncode == 1
    assert "tool name 'convert' is used more than once" in done.stderr

    done = subprocess.run(
        [sys.executable, "-m", "agentkit", "chat", "--mcp", SERVED_TOOLS],
        input="convert 3 km\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # The offline fake calls every tool it is offered, the MCP server's among them.
    assert 'convert returned: {"metres":0.0}' in done.stdout
    assert "swatch returned: a [image]" in done.stdout
    assert "refuse failed: refused: a" in done.stdout


def test_demo_with_an_mcp_server_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--mcp", SERVED_TOOLS]) == 0
    out = capsys.readouterr().out
    tools_line = next(line for line in out.splitlines() if line.startswith("tools: "))
    assert "lookup_fact, convert, swatch, refuse" in tools_line
    assert '  ok convert({"amount": 0.0, "unit": "km"}) = {"metres":0.0}' in out
    assert "8 tool calls, 2 failed; 2 turns in" in out


def test_tools_lint_an_mcp_servers_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "lint", "--mcp", TEST_SERVER]) == 1
    out = capsys.readouterr().out
    assert "echo: 1 issue" in out
    assert "undocumented-parameter (text): parameter 'text' has no description" in out
    assert main(["tools", "lint", "--mcp", SERVED_TOOLS]) == 0
    assert capsys.readouterr().out.endswith("3 tools, 0 issues\n")


def test_mcp_command_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "lint"]) == 2
    assert "required: target (or --mcp SERVER)" in capsys.readouterr().err
    assert main(["mcp"]) == 2
    assert "choose an action: serve" in capsys.readouterr().err
    assert main(["mcp", "serve", "no_such_module_here:TOOLS"]) == 1
    assert "cannot import 'no_such_module_here'" in capsys.readouterr().err
    assert main(["tools", "lint", "--mcp", "  "]) == 1
    assert "--mcp needs a command line or a URL" in capsys.readouterr().err
