"""The other direction: agentkit tools served over MCP (stdio or streamable HTTP).

`to_mcp_server` builds a server of the `mcp` package's low-level API whose `tools/list` sends
each tool's definition exactly as the agent sends it to the model, and whose `tools/call` runs
the call through agentkit's executor: the same validation (pydantic's per-field errors), the
same timeouts, the same result conversion, an error as `isError: true`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from ..tools import RunContext, ToolCall, ToolLike, ToolRuntime, Toolset
from ._results import from_tool_result
from ._toolset import IDEMPOTENCY_KEY_META

__all__ = ["serve_http", "serve_stdio", "to_mcp_server"]

_DEFERRED = (
    "This tool needs a human's approval before it runs, and agentkit cannot ask for one over "
    "MCP; the call was not run."
)


def to_mcp_server(
    tools: Toolset | Iterable[ToolLike],
    *,
    name: str = "agentkit",
    instructions: str | None = None,
    tool_timeout: float | None = None,
) -> Server[ToolRuntime]:
    """An MCP server (the `mcp` package's `mcp.server.lowlevel.Server`) for agentkit tools.

    The tools' resources (`@tool(resources=...)`) are opened once, when the server starts.
    A `requires_approval` tool is listed, but its calls answer with an error saying no
    approval can be asked for (an MCP client asks its user before calling, if it does).

    Args:
        tools: `@tool` functions, plain functions or a `Toolset` (raw tool dicts and tool
            sources are not served: they do not run here).
        name: The server's name, sent to clients.
        instructions: Instructions for clients' models.
        tool_timeout: Seconds a call may take unless its tool says otherwise.

    Returns:
        The server; run it with `serve_stdio` or `serve_http` (or your own transport).
    """
    toolset = Toolset.of(tools)
    listed = [
        types.Tool(
            name=t.name,
            description=t.description or None,
            input_schema=t.to_param()["input_schema"],  # type: ignore[arg-type]
        )
        for t in toolset
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_server: Server[ToolRuntime]) -> AsyncIterator[ToolRuntime]:
        async with ToolRuntime(toolset, default_timeout=tool_timeout) as runtime:
            yield runtime

    async def list_tools(ctx: Any, params: object) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        runtime: ToolRuntime = ctx.lifespan_context
        call_id = f"mcp-{ctx.request_id}"
        arguments = dict(params.arguments or {})
        block = {"type": "tool_use", "id": call_id, "name": params.name, "input": arguments}
        meta = ctx.meta if isinstance(ctx.meta, Mapping) else {}
        key = meta.get(IDEMPOTENCY_KEY_META)

        def context(call: ToolCall) -> RunContext[object]:
            return RunContext(
                deps=None,
                tool_use_id=call.id,
                tool_name=call.name,
                idempotency_key=key if isinstance(key, str) else None,
            )

        [outcome] = await runtime.run_calls([block], context_factory=context)
        if outcome.result is None:
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=_DEFERRED)], is_error=True
            )
        content = outcome.result.get("content")
        shaped = from_tool_result(
            content if isinstance(content, (str, list)) else None, outcome.is_error
        )
        return types.CallToolResult.model_validate(shaped)

    return Server(
        name,
        instructions=instructions,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(server: Server[Any]) -> None:
    """Serve on this process's stdin and stdout until the client closes stdin."""
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(server: Server[Any], *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve streamable HTTP at `http://HOST:PORT/mcp` until cancelled."""
    import uvicorn  # installed with the `mcp` package

    app = server.streamable_http_app(host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()
