"""The aiohttp-backed async transport against the fake Claude over real loopback HTTP."""

import pytest

import agentkit
import agentkit.client
from agentkit.testing import FakeClaude, FakeServer, Fault, Reply

pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")

PARAMS = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.anyio
async def test_create_stream_and_retry_over_aiohttp() -> None:
    fake = FakeClaude([Fault.overloaded(), Reply.text("hello"), Reply.text("streamed text")])
    with FakeServer(fake) as server:
        http = agentkit.DefaultAioHttpClient()
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        client = agentkit.AsyncClient(
            api_key="test",
            base_url=server.url,
            http_client=http,
            retry=agentkit.client.RetryPolicy(sleep=sleep),
        )
        message = await client.messages.create(**PARAMS)
        assert message.text == "hello" and len(sleeps) == 1
        async with client.messages.stream(**PARAMS) as stream:
            text = "".join([t async for t in stream.text_stream])
        assert text == "streamed text"
        await http.aclose()
