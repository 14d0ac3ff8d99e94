"""Hello, tool: one typed function becomes a tool, and an agent runs the tool loop with it.

Run it: `python examples/hello_tool.py`. With ANTHROPIC_API_KEY set it talks to Claude;
without, to the built-in fake Claude (test-model mode), so it also runs offline.
"""

import os

import agentkit


@agentkit.tool
def greet(name: str, excited: bool = False) -> str:
    """Greet someone by name.

    Args:
        name: Who to greet.
        excited: End with an exclamation mark.
    """
    return f"Hello, {name}{'!' if excited else '.'}"


def make_client() -> agentkit.Client:
    """Claude when a key is set; otherwise the fake Claude, which needs no network."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return agentkit.Client()
    from agentkit.testing import FakeClaude

    print("(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)")
    return agentkit.Client(api_key="offline", http_client=FakeClaude().http_client())


def main() -> None:
    agent = agentkit.Agent("claude-sonnet-4-5", tools=[greet], client=make_client())
    # `run` loops: call the model, run the tools it asks for, send the results back, until it stops.
    result = agent.run("Please greet Ada Lovelace, with excitement.")
    print(result.text)
    print(f"{result.turns} model calls, ${result.usage.cost_usd:.4f}")


if __name__ == "__main__":
    main()
