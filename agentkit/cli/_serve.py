"""`agentkit serve MODULE:AGENT`: the web chat app of an agent (agentkit.web), with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._exceptions import ConfigurationError
from ..runner._agent import Agent

__all__ = ["add_parser", "run"]

_DEFAULT_STORE = "sqlite:///chats.db"
# The offline fake signs thinking blocks with a fixed key, so a conversation saved by one
# process still validates when another process (a restart) resumes it.
_OFFLINE_SECRET = b"agentkit-serve-offline-fake"


def add_parser(
    commands: argparse._SubParsersAction[Any], parents: list[argparse.ArgumentParser]
) -> None:
    """Add `serve` to the `agentkit` command."""
    serve = commands.add_parser(
        "serve",
        parents=parents,
        help="serve an agent's web chat (pip install 'agentkit[web]')",
        description="Serve the chat page and the AI SDK UI message stream API of an agent "
        "(agentkit.web) until interrupted. Without ANTHROPIC_API_KEY (and with no client on "
        "the agent) it answers with the built-in fake Claude, and the page says so.",
    )
    serve.add_argument(
        "target", help="module:agent, the Agent to serve (the module may be a path to a .py file)"
    )
    serve.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help=f"where conversations are kept: sqlite:///PATH, postgresql://..., memory:// "
        f"(default: the agent's store, else {_DEFAULT_STORE})",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from ._lint import load_target

    try:
        from .. import web
    except ImportError as exc:
        raise ConfigurationError(str(exc)) from exc
    agent = load_target(args.target)
    if not isinstance(agent, Agent):
        raise ConfigurationError(f"{args.target} is a {type(agent).__name__}, not an Agent")
    if args.store is not None or agent.store is None:
        agent.store = web.store_from_url(args.store or _DEFAULT_STORE)
    banner = None
    key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    if agent.client is None and not key:
        from ..client import AsyncClient
        from ..testing import FakeClaude

        fake = FakeClaude(secret=_OFFLINE_SECRET)
        agent.client = AsyncClient(api_key="offline", http_client=fake.async_http_client())
        banner = (
            "OFFLINE: no ANTHROPIC_API_KEY is set, so the built-in fake Claude answers (it "
            "calls each tool once with example arguments, then sums up). Set "
            "ANTHROPIC_API_KEY to talk to Claude."
        )
    sys.stderr.write(
        f"agentkit serve: {agent.model} on http://{args.host}:{args.port}/"
        f"{' (OFFLINE: fake Claude)' if banner else ''}\n"
    )
    web.serve(agent, host=args.host, port=args.port, banner=banner)
    return 0
