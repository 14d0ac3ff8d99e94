"""The AI SDK's own client reads agentkit.web's stream (issue 21).

`scripts/ai-sdk` installs the `ai` npm package (and Debian's node when missing); a node script
(tests/js/ai_sdk_client.mjs) uses `DefaultChatTransport`, which `useChat` uses, and
`readUIMessageStream` against the app on loopback. The transport validates every chunk against
the SDK's published chunk schema, so a chunk of the wrong shape fails the test. Outside CI the
test skips, saying why, only when the package cannot be installed; under CI=true that fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _web import add, agent_on, delete_file, served
from starlette.requests import Request

from agentkit.testing import Reply, text, thinking, tool_use
from agentkit.web import create_app

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "tests" / "js" / "ai_sdk_client.mjs"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def ai_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with node_modules/ai and the client script beside it."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "ai-sdk")], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        message = f"the ai npm package could not be installed: {done.stderr.strip()[-2000:]}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    folder = Path(done.stdout.strip())
    # A bare `import "ai"` resolves from the importing file's folder: put the script there.
    shutil.copy(CLIENT, folder / CLIENT.name)
    return folder


def _owner(request: Request) -> str | None:
    return request.headers.get("x-user")


def test_the_ai_sdk_reads_a_turn_with_thinking_text_tools_and_an_approval(ai_sdk: Path) -> None:
    script = [
        Reply(
            thinking("Two sums, one deletion."),
            text("On it."),
            tool_use("add", {"a": 1, "b": 2}, id="toolu_a1"),
            tool_use("add", {"a": 3, "b": 4}, id="toolu_a2"),
            tool_use("delete_file", {"name": "old.txt"}, id="toolu_d"),
        ),
        Reply.text("3 and 7, and old.txt is gone."),
    ]
    agent, _ = agent_on(
        script,
        [add, delete_file],
        params={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        max_tokens=2048,
    )
    with served(create_app(agent, owner=_owner)) as url:
        done = subprocess.run(
            ["node", CLIENT.name, url, "sdk-chat", "Add 1+2 and 3+4, delete old.txt"],
            cwd=ai_sdk,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    messages = json.loads(done.stdout)

    first = messages["first"]
    assert first["id"] == "m1" and first["role"] == "assistant"
    parts = first["parts"]
    assert [p["type"] for p in parts] == [
        "step-start",
        "reasoning",
        "text",
        "tool-add",
        "tool-add",
        "tool-delete_file",
    ]
    assert parts[1]["text"] == "Two sums, one deletion."
    assert parts[2]["text"] == "On it."
    adds = {p["toolCallId"]: (p["state"], p["input"], p.get("output")) for p in parts[3:5]}
    assert adds == {
        "toolu_a1": ("output-available", {"a": 1, "b": 2}, "3"),
        "toolu_a2": ("output-available", {"a": 3, "b": 4}, "7"),
    }
    assert parts[5]["state"] == "approval-requested"
    assert parts[5]["approval"]["id"] == "toolu_d"
    assert parts[5]["input"] == {"name": "old.txt"}

    second = messages["second"]
    assert second["id"] == "m1"  # the approval continued the same message
    parts = second["parts"]
    deleted = [p for p in parts if p.get("toolCallId") == "toolu_d"]
    assert len(deleted) == 1
    assert deleted[0]["state"] == "output-available"
    assert deleted[0]["output"] == "deleted old.txt"
    assert parts[-1]["type"] == "text" and parts[-1]["text"] == "3 and 7, and old.txt is gone."
    assert [p["type"] for p in parts].count("step-start") == 3
    assert messages["resumed"] is None  # the SDK's resume route: no live run, 204
