"""`agentkit demo`: one streamed run of a tool-using agent, against Claude or the offline fake."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..runner._agent import Agent
from ..runner._events import RunFinished, RunResult
from ..tools import ToolLike
from ._backend import Backend, connect
from ._defaults import DEFAULT_MODEL, DEMO_FILES
from ._output import EventPrinter, Style, format_usage
from ._tools import demo_tools

__all__ = ["DEFAULT_MODEL", "DEMO_PROMPT", "SYSTEM_PROMPT", "build_agent", "run_demo"]

SYSTEM_PROMPT = (
    "You are the agentkit demo assistant, running in a terminal. Use the tools whenever they "
    "help: the calculator for all arithmetic, the clock for dates and times, list_files and "
    "read_file for the files you can see, lookup_fact for facts. Call independent tools in "
    "parallel, in one response. If a tool fails, read its error: retry or work around it, and "
    "say what happened. Answer briefly, in plain text without Markdown."
)

DEMO_PROMPT = (
    "A few things, please: what is (1234 * 5678) / 3? What time is it now in Tokyo? "
    "Read notes.txt and tell me the budget per person of the offsite. "
    "And look up a fact about octopuses."
)


def build_agent(
    backend: Backend,
    model: str,
    *,
    root: Path = DEMO_FILES,
    thinking_budget: int | None = None,
    store: Any = None,
    extra_tools: Sequence[ToolLike] = (),
) -> Agent[None, str]:
    """The agent of `demo` and `chat`.

    Args:
        backend: Where requests go.
        model: The model id.
        root: The directory the file tools may read.
        thinking_budget: Enable extended thinking with this many budget tokens.
        store: A conversation store, or None.
        extra_tools: More tools (MCP servers' toolsets from `chat --mcp`).

    Returns:
        The agent.
    """
    params: dict[str, Any] = {}
    max_tokens = 4096
    if thinking_budget is not None:
        params["thinking"] = {"type": "enabled", "budget_tokens": thinking_budget}
        max_tokens += thinking_budget  # max_tokens must exceed the thinking budget
    return Agent(
        model,
        system=SYSTEM_PROMPT,
        tools=[*demo_tools(root), *extra_tools],
        client=backend.client,
        max_tokens=max_tokens,
        params=params,
        store=store,
        tool_timeout=30,
    )


def run_demo(
    prompt: str | None,
    *,
    model: str,
    root: Path,
    thinking_budget: int | None,
    out: TextIO,
    style: Style,
    servers: Sequence[ToolLike] = (),
) -> int:
    """Stream one run of the demo agent to `out`.

    Args:
        prompt: The question (the built-in demo prompt when None).
        model: The model id.
        root: The directory the file tools may read.
        thinking_budget: Extended-thinking budget tokens, or None.
        out: Where to write.
        style: Colours.
        servers: MCP servers' toolsets (`--mcp`), whose tools the agent gets too.

    Returns:
        The exit code.
    """
    backend = connect(model, "demo")
    out.write(style.paint(backend.banner, "bold", "yellow" if backend.offline else "green") + "\n")
    agent = build_agent(
        backend, model, root=root, thinking_budget=thinking_budget, extra_tools=servers
    )
    question = prompt or DEMO_PROMPT
    result: RunResult[Any] | None = None
    with backend.client, agent:  # the agent starts the MCP servers (--mcp), and stops them
        out.write(f"{style.paint('tools:', 'dim')} {', '.join(agent.toolset.names)}")
        out.write(f" {style.paint(f'(files from {root})', 'dim')}\n")
        out.write(f"{style.paint('you:', 'bold')} {question}\n")
        printer = EventPrinter(out, style)
        started = time.perf_counter()
        for event in agent.stream(question):
            printer.handle(event)
            if isinstance(event, RunFinished):
                result = event.result
    assert result is not None
    elapsed = time.perf_counter() - started
    failed = f", {printer.tool_errors} failed" if printer.tool_errors else ""
    out.write(
        style.paint(
            f"\n{printer.tool_calls} tool calls{failed}; {result.turns} turns in {elapsed:.1f} s\n"
            f"usage: {format_usage(result.usage)}\n",
            "dim",
        )
    )
    return 0
