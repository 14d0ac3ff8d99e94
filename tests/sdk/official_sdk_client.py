"""Drive `agentkit fake-server` with the official `anthropic` SDK; prints what it saw as JSON.

Run by tests/test_testing_official_sdk.py in a venv of its own (the SDK is not a dependency of
agentkit): `python official_sdk_client.py <base url>`.
"""

from __future__ import annotations

import json
import sys
import time

import anthropic
from anthropic import beta_tool

MODEL = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "ping"}]


@beta_tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


@beta_tool
def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city.
    """
    return f"{city}: 12:00"


def main(url: str) -> None:
    client = anthropic.Anthropic(api_key="sdk-key", base_url=url, max_retries=0)
    seen: dict[str, object] = {"version": anthropic.__version__}
    message = client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    seen["create"] = [message.model, message.content[0].text, message._request_id]
    with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    seen["stream"] = [streamed, final.content[0].text, final.stop_reason]
    seen["count_tokens"] = client.messages.count_tokens(model=MODEL, messages=HELLO).input_tokens
    seen["models"] = [m.id for m in client.models.list(limit=100)]
    seen["retrieve"] = client.models.retrieve("claude-sonnet-4-20250514").display_name
    params = {"model": MODEL, "max_tokens": 64, "messages": HELLO}
    batch = client.messages.batches.create(requests=[{"custom_id": "a", "params": params}])
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        time.sleep(0.05)
    seen["batch"] = [
        (r.custom_id, r.result.type) for r in client.messages.batches.results(batch.id)
    ]
    uploaded = client.beta.files.upload(file=("notes.txt", b"hello", "text/plain"))
    seen["file"] = client.beta.files.retrieve_metadata(uploaded.id).filename
    client.beta.files.delete(uploaded.id)
    runner = client.beta.messages.tool_runner(
        model=MODEL,
        max_tokens=256,
        tools=[get_weather, get_time],
        messages=[{"role": "user", "content": "Weather and time in Paris?"}],
    )
    turns = list(runner)
    seen["tool_runner"] = [[turn.stop_reason, [b.type for b in turn.content]] for turn in turns]
    seen["tool_runner_text"] = turns[-1].content[0].text
    try:
        client.messages.create(model="claude-sonet-4-5", max_tokens=64, messages=HELLO)
    except anthropic.NotFoundError as exc:
        seen["not_found"] = exc.body
    sys.stdout.write(json.dumps(seen) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
