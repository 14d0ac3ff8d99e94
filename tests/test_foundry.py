"""FoundryClient / AsyncFoundryClient against respx: base URL from a resource or a URL, both API
key headers, an Entra ID token provider asked on every attempt, streaming parity with the
first-party client, and configuration errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx
from recordings import load

from agentkit import Agent, Client, ConfigurationError, tool
from agentkit.foundry import AsyncFoundryClient, FoundryClient

MESSAGE = {
    "id": "msg_fdry_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 9, "output_tokens": 3},
}
HELLO = [{"role": "user", "content": "Hello"}]
URL = "https://my-res.services.ai.azure.com/anthropic/v1/messages"
RECORDED = load("text-stream-basic-ratelimit-headers").sse


@pytest.fixture(autouse=True)
def _no_ambient_foundry(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ANTHROPIC_FOUNDRY_API_KEY",
        "ANTHROPIC_FOUNDRY_RESOURCE",
        "ANTHROPIC_FOUNDRY_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@respx.mock
def test_api_key_goes_in_both_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-first-party-must-not-leak")
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=MESSAGE))
    client = FoundryClient(resource="my-res", api_key="foundry-key")
    message = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=16, messages=HELLO, betas=["b1"]
    )
    assert message.id == "msg_fdry_01"
    request = route.calls.last.request
    assert request.headers["api-key"] == "foundry-key"
    assert request.headers["x-api-key"] == "foundry-key"
    assert "authorization" not in request.headers
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["anthropic-beta"] == "b1"
    # The first-party wire format, unchanged.
    assert json.loads(request.content) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 16,
        "messages": HELLO,
    }


@respx.mock
def test_environment_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_RESOURCE", "my-res")
    route = respx.post(URL).mock(return_value=httpx.Response(200, json=MESSAGE))
    FoundryClient().messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HELLO)
    assert route.calls.last.request.headers["api-key"] == "env-key"

    monkeypatch.delenv("ANTHROPIC_FOUNDRY_RESOURCE")
    other = respx.post("https://proxy.example/anthropic/v1/messages/count_tokens").mock(
        return_value=httpx.Response(200, json={"input_tokens": 7})
    )
    client = FoundryClient(base_url="https://proxy.example/anthropic/")
    assert client.messages.count_tokens(model="m", messages=HELLO).input_tokens == 7
    assert other.called


@respx.mock
def test_token_provider_is_asked_on_every_attempt() -> None:
    calls: list[int] = []

    def provider() -> str:
        calls.append(1)
        return f"entra-{len(calls)}"

    route = respx.post(URL).mock(
        side_effect=[
            httpx.Response(429, json={}, headers={"retry-after-ms": "0"}),
            httpx.Response(200, json=MESSAGE),
        ]
    )
    client = FoundryClient(resource="my-res", azure_ad_token_provider=provider, max_retries=1)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HELLO)
    requests = [call.request for call in route.calls]
    assert [r.headers["authorization"] for r in requests] == ["Bearer entra-1", "Bearer entra-2"]
    assert all("api-key" not in r.headers and "x-api-key" not in r.headers for r in requests)


@pytest.mark.anyio
async def test_async_client_with_an_async_provider_streams() -> None:
    async def provider() -> str:
        return "entra-async"

    with respx.mock:
        route = respx.post(URL).mock(
            return_value=httpx.Response(
                200, content=RECORDED, headers={"content-type": "text/event-stream"}
            )
        )
        client = AsyncFoundryClient(resource="my-res", azure_ad_token_provider=provider)
        async with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=64, messages=HELLO
        ) as stream:
            final = await stream.get_final_message()
        await client.close()
    assert route.calls.last.request.headers["authorization"] == "Bearer entra-async"
    assert final.to_dict() == _first_party_final()


def _first_party_final() -> dict[str, Any]:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=RECORDED, headers={"content-type": "text/event-stream"})

    http = httpx.Client(transport=httpx.MockTransport(serve))
    with Client(api_key="sk-test", http_client=http).messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=HELLO
    ) as stream:
        return stream.get_final_message().to_dict()


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="needs credentials"):
        FoundryClient(resource="r")
    with pytest.raises(ConfigurationError, match="not both"):
        FoundryClient(resource="r", api_key="k", azure_ad_token_provider=lambda: "t")
    with pytest.raises(ConfigurationError, match="needs a resource"):
        FoundryClient(api_key="k")
    with pytest.raises(ConfigurationError, match="resource name or a base_url, not both"):
        FoundryClient(api_key="k", resource="r", base_url="https://x")


def test_unsupported_resources() -> None:
    client = FoundryClient(resource="r", api_key="k")
    with pytest.raises(ConfigurationError, match="Foundry does not offer the models API"):
        client.models.list()
    with pytest.raises(ConfigurationError, match="batches"):
        _ = client.messages.batches


def test_secrets_stay_out_of_reprs_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    client = FoundryClient(resource="my-res", api_key="foundry-secret-key")
    assert "foundry-secret-key" not in repr(client)
    caplog.set_level(logging.DEBUG, logger="agentkit")
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(200, json=MESSAGE))
        client.messages.create(model="claude-sonnet-4-5", max_tokens=8, messages=HELLO)
    assert "foundry-secret-key" not in caplog.text


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@respx.mock
def test_agent_tool_loop_runs_unchanged_on_foundry() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["api-key"] == request.headers["x-api-key"] == "foundry-key"
        body = json.loads(request.content)
        done = any(
            block.get("type") == "tool_result"
            for message in body["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
        )
        content: list[dict[str, Any]] = (
            [{"type": "text", "text": "The sum is 5."}]
            if done
            else [{"type": "tool_use", "id": "toolu_01", "name": "add", "input": {"a": 2, "b": 3}}]
        )
        stop = "end_turn" if done else "tool_use"
        return httpx.Response(200, json={**MESSAGE, "content": content, "stop_reason": stop})

    route = respx.post(URL).mock(side_effect=handle)
    client = FoundryClient(resource="my-res", api_key="foundry-key")
    result = Agent("claude-sonnet-4-5", tools=[add], client=client).run("What is 2 + 3?")
    assert result.message is not None and result.message.text == "The sum is 5."
    assert route.call_count == 2
