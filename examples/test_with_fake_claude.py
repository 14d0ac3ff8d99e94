"""Testing your agent on the fake Claude: copy this file into your tests and run `pytest`.

`FakeClaude` speaks the real wire format (SSE included) and validates every request like the
API does, so these tests catch malformed requests, not just wrong answers. Script the model's
turns with `Reply`, run your agent, then assert on what it *sent* (`fake.message_bodies`), not
only on what it returned. No network, no key, milliseconds per test.
"""

import agentkit
from agentkit.testing import FakeClaude, Reply, text, tool_use


@agentkit.tool
def get_weather(city: str) -> str:
    """Today's weather.

    Args:
        city: The city name.
    """
    if city == "Atlantis":
        raise agentkit.ToolError("no weather station in Atlantis")
    return f"{city}: sunny, 21°C"


def make_agent(fake: FakeClaude) -> agentkit.Agent:
    """Your agent, with its client wired to the fake instead of the network."""
    client = agentkit.Client(api_key="test", http_client=fake.http_client())
    return agentkit.Agent("claude-sonnet-4-5", tools=[get_weather], client=client)


def test_the_agent_calls_the_tool_and_answers() -> None:
    fake = FakeClaude(
        [
            Reply(tool_use("get_weather", {"city": "Paris"})),  # turn 1: the model calls the tool
            Reply(text("It is sunny in Paris.")),  # turn 2: it answers
        ]
    )
    result = make_agent(fake).run("Weather in Paris?")

    assert result.text == "It is sunny in Paris."
    assert result.turns == 2
    # The second request carried the tool's result back to the model.
    tool_result = fake.message_bodies[1]["messages"][-1]["content"][0]
    assert tool_result["content"] == "Paris: sunny, 21°C"
    assert tool_result["is_error"] is False


def test_a_failing_tool_becomes_an_error_result() -> None:
    fake = FakeClaude(
        [Reply(tool_use("get_weather", {"city": "Atlantis"})), Reply(text("Sorry, no data."))]
    )
    result = make_agent(fake).run("Weather in Atlantis?")

    assert result.text == "Sorry, no data."
    tool_result = fake.message_bodies[1]["messages"][-1]["content"][0]
    assert tool_result == {
        "type": "tool_result",
        "tool_use_id": tool_result["tool_use_id"],
        "content": "no weather station in Atlantis",
        "is_error": True,
    }


def test_invalid_arguments_are_sent_back_for_the_model_to_fix() -> None:
    fake = FakeClaude([Reply(tool_use("get_weather", {"town": "Paris"})), Reply(text("Oops."))])
    make_agent(fake).run("Weather?")

    error = fake.message_bodies[1]["messages"][-1]["content"][0]
    assert error["is_error"] is True
    assert "city" in error["content"]  # pydantic's per-field error names the missing argument


def test_smoke_in_test_model_mode() -> None:
    # Without a script the fake calls every tool once with generated arguments, then summarizes.
    fake = FakeClaude()
    result = make_agent(fake).run("anything")

    assert result.text.startswith("I called 1 tool(s).")
    assert len(fake.message_bodies) == 2
