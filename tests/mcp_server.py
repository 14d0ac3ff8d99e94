"""A real MCP server for agentkit's tests, written with the `mcp` package's server API.

    python tests/mcp_server.py                  serve over stdio
    python tests/mcp_server.py --http PORT      serve streamable HTTP on 127.0.0.1:PORT/mcp
    python tests/mcp_server.py --sse PORT       serve the older SSE transport on :PORT/sse

Its tools cover each kind of result (text, image, embedded resource, resource link,
structured content), an error, a slow call, a crash mid-call, an invalid result, a tool list
that changes, stderr output, and a call log for the crash-resume test (`MCP_TEST_LOG`: a file
each `record` call appends a line to; `wait_for` blocks until a file exists).
"""

from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path
from typing import TypedDict

import anyio
import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

# A 1x1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)

server = MCPServer("agentkit-test", instructions="Tools for agentkit's MCP tests.")


class Weather(TypedDict):
    city: str
    celsius: float


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def weather(city: str) -> Weather:
    """The weather in a city (structured content)."""
    return {"city": city, "celsius": 21.5}


@server.tool()
def picture() -> list[types.ContentBlock]:
    """A caption and a tiny PNG image."""
    image = types.ImageContent(
        type="image", data=base64.b64encode(PNG).decode(), mime_type="image/png"
    )
    return [types.TextContent(type="text", text="a red pixel"), image]


@server.tool()
def document() -> list[types.ContentBlock]:
    """An embedded text resource, an embedded PDF blob and a resource link."""
    return [
        types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(
                uri="file:///notes/todo.txt", mime_type="text/plain", text="buy milk"
            ),
        ),
        types.EmbeddedResource(
            type="resource",
            resource=types.BlobResourceContents(
                uri="file:///docs/a.pdf",
                mime_type="application/pdf",
                blob=base64.b64encode(b"%PDF-1.4 tiny").decode(),
            ),
        ),
        types.ResourceLink(
            type="resource_link",
            uri="file:///docs/big.csv",
            name="big.csv",
            description="All the rows",
            mime_type="text/csv",
        ),
    ]


@server.tool()
def fail(message: str) -> str:
    """Always fails with the message."""
    raise ToolError(message)


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
async def freeze(seconds: float) -> str:
    """Block the server's event loop: it answers nothing, not even a tools/list, meanwhile."""
    time.sleep(seconds)  # noqa: ASYNC251 - blocking the loop is the point
    return "thawed"


MARKS: dict[str, anyio.Event] = {}


@server.tool()
async def meet(me: str, peer: str) -> str:
    """Leave a mark, then wait (up to 3 s) for the peer's: two calls meet only when they run
    at the same time."""
    MARKS.setdefault(me, anyio.Event()).set()
    with anyio.move_on_after(3):
        await MARKS.setdefault(peer, anyio.Event()).wait()
        return f"{me} met {peer}"
    return f"{me} waited alone"


@server.tool()
def crash() -> str:
    """Exit the server process in the middle of the call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
async def garbage() -> str:
    """Write a line that is not JSON-RPC where the protocol goes (stdout), then hang."""
    # The SDK points fd 1 at stderr while it serves, to keep stray prints off the wire; this
    # copy of the wire, made before it started, gets the garbage through.
    os.write(WIRE, b"this is not JSON-RPC\n")
    await anyio.sleep(3600)
    return "never"


@server.tool()
def shout(text: str) -> str:
    """Write the text to stderr and return it."""
    sys.stderr.write(f"shouting: {text}\n")
    sys.stderr.flush()
    return text.upper()


@server.tool()
async def grow(ctx: Context) -> str:
    """Add a tool named `extra` and tell the client the tool list changed."""

    def extra(n: int) -> int:
        """Double a number."""
        return 2 * n

    server.add_tool(extra)
    await ctx.notify_tools_changed()  # 2026-07-28 connections: subscriptions/listen
    await ctx.request_context.session.send_tool_list_changed()  # handshake-era connections
    return "added extra"


@server.tool()
def idempotency(ctx: Context) -> str:
    """Return the idempotency key the client sent in the request's `_meta`."""
    meta = ctx.request_context.meta or {}
    return str(meta.get("io.agentkit/idempotency-key"))


@server.tool()
def record(key: str) -> str:
    """Append the key to the call log (MCP_TEST_LOG) and return it."""
    with Path(os.environ["MCP_TEST_LOG"]).open("a") as log:
        log.write(key + "\n")
    return f"recorded {key}"


@server.tool()
def wait_for(path: str) -> str:
    """Log the call, then block until the file at `path` exists."""
    record(f"wait_for {path}")
    while not Path(path).exists():
        time.sleep(0.05)
    return "released"


WIRE = os.dup(1)

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--sse":
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
