"""Run a pydantic-ai agent with one tool on its Anthropic model against `agentkit fake-server`.

Run by tests/test_testing_official_sdk.py in the SDK's venv: `python pydantic_ai_client.py <url>`;
prints the run's output and the tool calls it made as JSON.
"""

from __future__ import annotations

import json
import sys

from pydantic_ai import Agent
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

calls: list[str] = []


def main(url: str) -> None:
    provider = AnthropicProvider(api_key="sdk-key", base_url=url)
    agent = Agent(AnthropicModel("claude-haiku-4-5", provider=provider))

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"{city}: sunny"

    result = agent.run_sync("Weather in Paris?")
    sys.stdout.write(json.dumps({"output": result.output, "calls": calls}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
