"""MCP servers' tools as toolsets, and agentkit tools served over MCP, on the official `mcp`
package.

Install the extra (`pip install 'agentkit[mcp]'`); this package imports `mcp` (an ImportError
saying so when it is missing), and `import agentkit` never imports this package. See
docs/mcp.md.

    from agentkit.mcp import MCPToolset
    agent = Agent("claude-sonnet-4-5", tools=[add, MCPToolset.stdio("npx", ["-y", server])])
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401 - only to say which extra is missing
except ImportError as _missing:  # pragma: no cover - depends on the environment
    _hint = "agentkit.mcp needs mcp: pip install 'agentkit[mcp]'"
    raise ImportError(_hint, name=_missing.name) from _missing

from ._connection import MCPServerError, ServerSpec
from ._serve import serve_http, serve_stdio, to_mcp_server
from ._toolset import IDEMPOTENCY_KEY_META, MCPToolset, MCPToolsetOptions

__all__ = [
    "IDEMPOTENCY_KEY_META",
    "MCPServerError",
    "MCPToolset",
    "MCPToolsetOptions",
    "ServerSpec",
    "serve_http",
    "serve_stdio",
    "to_mcp_server",
]
