"""agentkit.web behind `uvicorn --workers 2` on PostgreSQL: one run per conversation across the
worker processes (every other submit gets 409, whichever worker it reaches), and many chats at
once with every turn stored exactly once, in order.

The PostgreSQL server comes from `scripts/postgres` (see _pg.py: skipped outside CI only when
none can be started; under CI=true that fails).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from _pg import postgres_dsn  # noqa: F401 - a fixture
from _web import chunks

pytestmark = pytest.mark.anyio

APP = '''
import os
import pathlib

import anyio

import agentkit
from agentkit.stores.postgres import AsyncPostgresStore
from agentkit.testing import FakeClaude, Reply
from agentkit.web import create_app

GATE = pathlib.Path(os.environ["CHAT_GATE"])


@agentkit.tool
async def wait_for_gate() -> str:
    """Wait until the test opens the gate."""
    while not GATE.exists():  # the test opens it from another process: poll
        await anyio.sleep(0.02)
    return "opened"


def respond(body):
    last = body["messages"][-1]["content"]
    if isinstance(last, list) and any(b.get("type") == "tool_result" for b in last):
        return Reply.text("the gate opened")
    text = last if isinstance(last, str) else "".join(b.get("text", "") for b in last)
    if text == "wait":
        return Reply.tool_use("wait_for_gate", {})
    return Reply.text("echo: " + text)


fake = FakeClaude(respond)
client = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
store = AsyncPostgresStore(os.environ["CHAT_DSN"])
agent = agentkit.Agent("claude-sonnet-4-5", tools=[wait_for_gate], client=client, store=store)
app = create_app(agent, owner=lambda request: request.headers.get("x-user"))
'''


def _body(chat: str, text: str) -> dict[str, object]:
    message = {"id": "u", "role": "user", "parts": [{"type": "text", "text": text}]}
    return {"id": chat, "messages": [message], "trigger": "submit-message"}


@pytest.fixture
def workers(tmp_path: Path, postgres_dsn: str) -> object:  # noqa: F811 - the fixture
    (tmp_path / "chatapp.py").write_text(APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHAT_GATE": str(tmp_path / "gate"), "CHAT_DSN": postgres_dsn}
    command = [sys.executable, "-m", "uvicorn", "chatapp:app", "--workers", "2"]
    command += ["--port", str(port), "--app-dir", str(tmp_path), "--no-access-log"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        # The parent binds the socket; the first worker up makes it listen (the other worker
        # accepts from the same socket once it is up).
        for line in proc.stderr:
            if "Application startup complete" in line:
                break
        try:
            yield f"http://127.0.0.1:{port}", tmp_path / "gate"
        finally:
            proc.terminate()
            proc.wait(60)


def test_one_run_per_conversation_across_worker_processes(workers: tuple[str, Path]) -> None:
    url, gate = workers
    chat = f"w-{uuid.uuid4().hex[:8]}"
    headers = {"x-user": "ada"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as first:
        with first.stream("POST", "/api/chat", json=_body(chat, "wait")) as live:
            # The stream is open: the run holds the conversation's lease in PostgreSQL.
            assert live.status_code == 200
            statuses = []
            for _ in range(8):  # new connections, spread over both workers by the kernel
                with httpx.Client(base_url=url, headers=headers, timeout=60) as other:
                    statuses.append(other.post("/api/chat", json=_body(chat, "me too")).status_code)
            assert statuses == [409] * 8
            gate.touch()
            done = chunks(live.read().decode())
        assert done[-1] == {"type": "finish", "finishReason": "stop"}
        history = first.get(f"/api/chats/{chat}").json()["messages"]
        assert [m["role"] for m in history] == ["user", "assistant"]
        assert history[1]["parts"][-1]["text"] == "the gate opened"


async def test_many_chats_at_once_on_two_workers(workers: tuple[str, Path]) -> None:
    url, _ = workers
    prefix = uuid.uuid4().hex[:6]
    names = [f"{prefix}-{i}" for i in range(30)]

    async def chat(http: httpx.AsyncClient, name: str) -> list[tuple[str, str]]:
        for turn in range(3):
            reply = await http.post(
                "/api/chat", json=_body(name, f"{name}:{turn}"), headers={"x-user": name}
            )
            assert reply.status_code == 200, reply.text
            assert chunks(reply.text)[-1] == {"type": "finish", "finishReason": "stop"}
        got = await http.get(f"/api/chats/{name}", headers={"x-user": name})
        return [
            (m["role"], "".join(p.get("text", "") for p in m["parts"] if p["type"] == "text"))
            for m in got.json()["messages"]
        ]

    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        histories = await asyncio.gather(*(chat(http, n) for n in names))
    for name, history in zip(names, histories, strict=True):
        want = []
        for turn in range(3):
            want += [("user", f"{name}:{turn}"), ("assistant", f"echo: {name}:{turn}")]
        assert history == want
