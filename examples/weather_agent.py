"""A weather agent: async tools that run in parallel, and a tool that fails.

The model asks for several tools in one turn; agentkit runs them concurrently and sends every
result back together. A failing tool does not crash the run: the model gets an error result
(`is_error: true`) and can explain or work around it.

Run it: `python examples/weather_agent.py` (offline on the fake Claude without ANTHROPIC_API_KEY).
"""

import os
import time

import anyio

import agentkit
import agentkit.runner

FORECASTS = {"paris": "sunny, 21°C", "oslo": "snow, -3°C", "lima": "cloudy, 18°C"}


@agentkit.tool
async def get_weather(city: str = "Paris") -> str:
    """Today's weather in a city.

    Args:
        city: The city name.
    """
    await anyio.sleep(0.3)  # a slow weather service: parallel calls overlap their waits
    forecast = FORECASTS.get(city.lower())
    if forecast is None:
        # ToolError is the deliberate way to tell the model what went wrong.
        raise agentkit.ToolError(f"no weather for {city!r}; try one of {sorted(FORECASTS)}")
    return f"{city}: {forecast}"


@agentkit.tool
async def get_air_quality(city: str = "Paris") -> str:
    """Today's air quality index in a city.

    Args:
        city: The city name.
    """
    await anyio.sleep(0.3)
    # Any exception becomes an error result the model reads; the run goes on.
    raise ConnectionError("the air quality service is down")


@agentkit.tool
def get_local_time(city: str = "Paris") -> str:
    """The local time in a city (sync tools run in worker threads).

    Args:
        city: The city name.
    """
    time.sleep(0.3)
    return f"{city}: 14:05"


# A module-level list: `agentkit tools lint examples/weather_agent.py:TOOLS` checks it.
TOOLS = [get_weather, get_air_quality, get_local_time]


def make_client() -> agentkit.AsyncClient:
    """Claude when a key is set; otherwise the fake Claude, which needs no network."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return agentkit.AsyncClient()
    from agentkit.testing import FakeClaude

    print("(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)")
    return agentkit.AsyncClient(api_key="offline", http_client=FakeClaude().async_http_client())


async def main() -> None:
    agent = agentkit.Agent(
        "claude-sonnet-4-5",
        system="Answer in two sentences. Call all the tools you need at once.",
        tools=TOOLS,
        client=make_client(),
        tool_timeout=10,  # a hung tool becomes an error result after 10 s
    )
    started = time.perf_counter()
    async for event in agent.astream("Weather, air quality and local time in Paris?"):
        if isinstance(event, agentkit.runner.ToolCallFinished):
            outcome = event.outcome
            status = "FAILED" if outcome.is_error else "ok"
            print(f"[{status}] {outcome.call.name}: {outcome.result['content']}")
        elif isinstance(event, agentkit.runner.RunFinished):
            print(event.result.text)
    # Three tools of 0.3 s each: about 0.3 s of tool time when they run in parallel.
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    anyio.run(main)
