"""Streaming events into a simple terminal UI: text as it is written, a status line per tool
call (with its input as it streams in), and the usage of every model call.

`Agent.astream()` (or `stream()` when sync) yields typed events: TextEvent, ThinkingEvent,
ToolCallStarted, InputJsonEvent, ToolCallFinished, TurnFinished and finally RunFinished.

Run it: `python examples/streaming_ui.py` (offline on the fake Claude without ANTHROPIC_API_KEY).
"""

import os

import anyio

import agentkit
import agentkit.runner
import agentkit.streaming


@agentkit.tool
async def search_docs(query: str) -> list[str]:
    """Search the documentation.

    Args:
        query: What to look for.
    """
    await anyio.sleep(0.1)
    return [f"doc about {query} #1", f"doc about {query} #2"]


@agentkit.tool
def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text.
    """
    return len(text.split())


def make_client() -> agentkit.AsyncClient:
    """Claude when a key is set; otherwise the fake Claude, which needs no network."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return agentkit.AsyncClient()
    from agentkit.testing import FakeClaude

    print("(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)")
    return agentkit.AsyncClient(api_key="offline", http_client=FakeClaude().async_http_client())


class TerminalUI:
    """Renders events; a real app would update widgets or send server-sent events instead."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}  # content block index -> tool name

    def render(self, event: agentkit.runner.AgentEvent) -> None:
        if isinstance(event, agentkit.streaming.TextEvent):
            print(event.text, end="", flush=True)
        elif isinstance(event, agentkit.streaming.ThinkingEvent):
            print(f"\x1b[2m{event.thinking}\x1b[0m", end="", flush=True)
        elif isinstance(event, agentkit.runner.ToolCallStarted):
            self.names[event.index] = event.name
            print(f"\n[tool] {event.name} started")
        elif isinstance(event, agentkit.streaming.InputJsonEvent):
            # `snapshot` is the input parsed so far: show a form filling in live.
            print(f"[tool] {self.names[event.index]} input so far: {event.snapshot}")
        elif isinstance(event, agentkit.runner.ToolCallFinished):
            outcome = event.outcome
            print(
                f"[tool] {outcome.call.name} {outcome.status} in {outcome.duration * 1000:.0f} ms"
            )
        elif isinstance(event, agentkit.runner.TurnFinished):
            message = event.message
            tokens = message.usage.output_tokens
            print(f"\n[turn] stop_reason={message.stop_reason} output_tokens={tokens}")
        elif isinstance(event, agentkit.runner.RunFinished):
            print(f"[run] {event.result.turns} turns, ${event.result.usage.cost_usd:.4f}")


async def main() -> None:
    agent = agentkit.Agent(
        "claude-sonnet-4-5", tools=[search_docs, word_count], client=make_client()
    )
    ui = TerminalUI()
    async for event in agent.astream(
        "Find the docs about streaming and count the words of the title."
    ):
        ui.render(event)


if __name__ == "__main__":
    anyio.run(main)
