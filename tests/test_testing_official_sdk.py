"""The official `anthropic` SDK and pydantic-ai (current PyPI releases) on `agentkit fake-server`.

Neither is a dependency of agentkit: the test installs them into a venv of its own (pip's cache
makes later runs quick) and runs the clients in `tests/sdk/` there. It skips, and says why, only
when the packages cannot be installed (no package index reachable).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
AGENTKIT = str(Path(sys.executable).with_name("agentkit"))


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("anthropic-sdk") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "anthropic",
            "pydantic-ai-slim[anthropic]",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        pytest.skip(f"anthropic / pydantic-ai could not be installed: {install.stderr[-500:]}")
    return python


@pytest.fixture
def server() -> Iterator[str]:
    proc = subprocess.Popen(
        [AGENTKIT, "fake-server", "--port", "0", "--api-key", "sdk-key"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_the_official_sdk_runs_everything_on_the_fake(sdk_python: Path, server: str) -> None:
    done = subprocess.run(
        [str(sdk_python), str(HERE / "sdk" / "official_sdk_client.py"), server],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout)
    assert int(seen["version"].split(".")[0]) >= 2, seen["version"]
    model, text, request_id = seen["create"]
    assert (model, text) == ("claude-haiku-4-5-20251001", "Test model reply to: ping")
    assert request_id.startswith("req_")
    assert seen["stream"] == ["Test model reply to: ping"] * 2 + ["end_turn"]
    assert seen["count_tokens"] > 0
    assert "claude-sonnet-4-20250514" in seen["models"] and seen["retrieve"] == "Claude Sonnet 4"
    assert seen["batch"] == [["a", "succeeded"]]
    assert seen["file"] == "notes.txt"
    # The default tool runner: parallel calls, then the answer, over a server-held thread.
    assert seen["tool_runner"] == [["tool_use", ["tool_use", "tool_use"]], ["end_turn", ["text"]]]
    assert "get_weather returned: a: sunny" in seen["tool_runner_text"]
    assert "get_time returned: a: 12:00" in seen["tool_runner_text"]
    assert seen["not_found"]["error"] == {
        "type": "not_found_error",
        "message": "model: claude-sonet-4-5",
    }
    log = httpx.get(server + "/_fake/log").json()["requests"]
    runner = [r for r in log if "BetaToolRunner" in r["headers"].get("x-stainless-helper", "")]
    assert [r["body"]["thread"]["type"] for r in runner] == ["create", "continue"]
    assert "tools" not in runner[1]["body"]  # the thread holds them
    assert all(r["headers"]["anthropic-beta"] == "message-threads-2026-08-12" for r in runner)


def test_a_pydantic_ai_agent_with_a_tool_runs_on_the_fake(sdk_python: Path, server: str) -> None:
    done = subprocess.run(
        [str(sdk_python), str(HERE / "sdk" / "pydantic_ai_client.py"), server],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["calls"] == ["a"]  # test-model mode called the tool with schema-made arguments
    assert seen["output"] == "I called 1 tool(s). Results:\n- get_weather returned: a: sunny"
