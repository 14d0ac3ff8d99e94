"""`agentkit mcp serve MODULE:TOOLS`, and the `--mcp "command ..."` servers of chat and lint."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    from ..mcp import MCPToolset

__all__ = ["add_parser", "mcp_toolsets", "run"]

MCP_HELP = (
    'an MCP server whose tools to add: a command line ("npx -y '
    '@modelcontextprotocol/server-everything") or an http(s) URL; repeatable'
)


def add_parser(
    commands: Any, parents: Sequence[argparse.ArgumentParser]
) -> argparse.ArgumentParser:
    """Add `mcp serve` to the command's subcommands; returns the `mcp` parser."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "mcp",
        parents=list(parents),
        help="serve agentkit tools over MCP",
        description="The Model Context Protocol: serve @tool functions to MCP clients "
        "(Claude Desktop, Claude Code, any MCP client).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    serve = actions.add_parser(
        "serve",
        parents=list(parents),
        help="serve tools over stdio (default) or streamable HTTP",
        description="Serve the tools named by MODULE:TOOLS (a tool, a list of tools, a Toolset "
        "or an Agent; the module may be a .py path) with the schemas and validation the agent "
        "uses. Over stdio by default (what Claude Desktop and Claude Code start); with --http, "
        "streamable HTTP at http://HOST:PORT/mcp.",
    )
    serve.add_argument("target", metavar="MODULE:TOOLS", help="the tools to serve")
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    serve.add_argument("--host", default="127.0.0.1", help="with --http (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="with --http (default: %(default)s)")
    serve.add_argument("--name", default="agentkit", help="the server name (default: %(default)s)")
    serve.add_argument(
        "--tool-timeout", type=float, default=None, metavar="SECONDS", help="per-call limit"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until the client goes away (stdio) or Ctrl-C (HTTP)."""
    from ..mcp import serve_http, serve_stdio, to_mcp_server
    from ._lint import load_target, toolset_of

    toolset = toolset_of(load_target(args.target))
    if not len(toolset):
        raise ConfigurationError(f"{args.target} holds no tools that run here")
    server = to_mcp_server(toolset, name=args.name, tool_timeout=args.tool_timeout)
    if args.http:
        anyio.run(partial(serve_http, server, host=args.host, port=args.port))
    else:
        anyio.run(serve_stdio, server)
    return 0


def mcp_toolsets(servers: Sequence[str]) -> list[MCPToolset]:
    """The toolsets of `--mcp` options: a URL is an HTTP server, anything else a command.

    Raises:
        ConfigurationError: An empty command.
        ImportError: Servers were given, and the `mcp` extra is not installed.
    """
    if not servers:
        return []  # no `--mcp`: the commands run on the core install, without the extra
    from ..mcp import MCPToolset

    found: list[MCPToolset] = []
    for server in servers:
        if server.startswith(("http://", "https://")):
            found.append(MCPToolset.http(server))
            continue
        words = shlex.split(server)
        if not words:
            raise ConfigurationError("--mcp needs a command line or a URL")
        found.append(MCPToolset.stdio(words[0], words[1:]))
    return found
