"""Helpers of the web app tests: the app served by uvicorn on a loopback port, a tool that
waits for the test, and a reader of the UI message stream.

`served(app)` binds and listens on the socket before uvicorn starts, so a client can connect
at once (the kernel queues the connection until uvicorn accepts it): nothing waits for the
server to come up.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import anyio.to_thread
import httpx
import uvicorn

import agentkit
from agentkit.stores import MemoryStore
from agentkit.testing import FakeClaude, ScriptItem


@contextmanager
def served(app: object) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


class Gate:
    """What a tool waits on until the test opens it; `entered` is set when the tool starts."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()

    def open(self) -> None:
        self._open.set()

    async def wait(self) -> None:
        self.entered.set()
        # Abandoned on cancel, so stopping the run does not wait for the test.
        await anyio.to_thread.run_sync(self._open.wait, 60, abandon_on_cancel=True)


def chunks(body: str) -> list[dict[str, object]]:
    """The chunks of a UI message stream body; checks it ends with exactly one `[DONE]`."""
    frames = [f for f in body.split("\n\n") if f]
    assert frames[-1] == "data: [DONE]", frames[-3:]
    out = []
    for f in frames[:-1]:
        assert f.startswith("data: ") and "\n" not in f, f
        out.append(json.loads(f[6:]))
    return out


def user(text: str, message_id: str = "u1") -> dict[str, object]:
    """A user `UIMessage` as `useChat` sends it."""
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


def post_chat(http: httpx.Client, chat_id: str, text: str, **kwargs: object) -> httpx.Response:
    """`POST /api/chat` with the body `useChat` sends for a new user message."""
    body = {"id": chat_id, "messages": [user(text)], "trigger": "submit-message"}
    return http.post("/api/chat", json=body, **kwargs)  # type: ignore[arg-type]


def agent_on(
    script: list[ScriptItem], tools: list[object], *, store: object = None, **kwargs: object
) -> tuple[agentkit.Agent, FakeClaude]:
    """An agent on the fake Claude with an async client, and the fake."""
    fake = FakeClaude(script)
    client = agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client())
    agent = agentkit.Agent(
        "claude-sonnet-4-5",
        tools=tools,  # type: ignore[arg-type]
        client=client,
        store=store if store is not None else MemoryStore(),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    return agent, fake


@agentkit.tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


@agentkit.tool(requires_approval=True)
def delete_file(name: str) -> str:
    """Delete a file (a person approves each call).

    Args:
        name: The file name.
    """
    return f"deleted {name}"
