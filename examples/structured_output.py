"""Structured output: the run returns a validated pydantic object instead of text.

For a model that takes the API's structured outputs (Sonnet 4.5 does), agentkit sends your
type's schema as `output_config.format`, and the final reply is JSON of that shape; for other
models it offers a `final_result` tool with the schema instead. Either way the answer is
validated by pydantic, and an invalid one goes back to the model with the errors so it can
correct itself. Structured outputs cannot enforce bounds such as `ge=1`: they are written into
the field's description for the model, and pydantic checks them here.

Run it: `python examples/structured_output.py` (offline on the fake Claude without a key).
"""

import os

from pydantic import BaseModel, Field

import agentkit


class Trip(BaseModel):
    """A trip plan."""

    destination: str = Field(description="Where to go")
    days: int = Field(ge=1, le=30, description="How many days", examples=[3])
    activities: list[str] = Field(min_length=1, description="Things to do", examples=[["a walk"]])
    budget_eur: float = Field(ge=0, description="Total budget in euros")


def make_client() -> agentkit.Client:
    """Claude when a key is set; otherwise the fake Claude, which needs no network."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return agentkit.Client()
    from agentkit.testing import FakeClaude

    print("(no ANTHROPIC_API_KEY: using the fake Claude in test-model mode)")
    return agentkit.Client(api_key="offline", http_client=FakeClaude().http_client())


def main() -> None:
    agent = agentkit.Agent("claude-sonnet-4-5", output_type=Trip, client=make_client())
    result = agent.run("Plan a relaxed long weekend in Lisbon for two, around 900 euros.")
    trip = result.output  # a Trip instance, already validated
    assert isinstance(trip, Trip)
    print(f"destination: {trip.destination}")
    print(f"days: {trip.days}")
    print(f"activities: {', '.join(trip.activities)}")
    print(f"budget: {trip.budget_eur:.0f} EUR")


if __name__ == "__main__":
    main()
