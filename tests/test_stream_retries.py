"""Stream requests that fail before any content, and stream requests answered with JSON."""

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

import agentkit
from agentkit import Agent, APIResponseValidationError, OverloadedError
from agentkit.client import RetryPolicy
from agentkit.runner import RunFinished
from agentkit.testing import FakeClaude, Fault, Reply

MODEL = "claude-haiku-4-5"
PARAMS: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
MESSAGE = {
    "id": "msg_json",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [{"type": "text", "text": "Hello from JSON", "citations": None}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 4},
}


class Proxy:
    """A proxy that ignores `"stream": true`: every request gets `body` as application/json."""

    def __init__(self, body: object, status: int = 200) -> None:
        self.body = body
        self.status = status
        self.requests: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        headers = {"request-id": f"req_{len(self.requests)}"}
        return httpx.Response(self.status, json=self.body, headers=headers)

    def client(self) -> agentkit.Client:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return agentkit.Client(api_key="test", http_client=http, max_retries=2)

    def async_client(self) -> agentkit.AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return agentkit.AsyncClient(api_key="test", http_client=http, max_retries=2)


def test_json_answer_to_messages_stream_is_read_once() -> None:
    proxy = Proxy(MESSAGE)
    client = proxy.client()
    with client.messages.stream(**PARAMS) as stream:
        message = stream.get_final_message()
    assert message.text == "Hello from JSON" and message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 4 and message.id == "msg_json"
    with client.messages.stream(**PARAMS) as stream:
        assert list(stream.text_stream) == ["Hello from JSON"]
    raw = [event.type for event in client.messages.create(stream=True, **PARAMS)]
    assert raw[0] == "message_start" and raw[-1] == "message_stop"
    assert len(proxy.requests) == 3 and all(r["stream"] is True for r in proxy.requests)


def test_json_answer_to_async_messages_stream_is_read_once() -> None:
    async def main() -> None:
        proxy = Proxy(MESSAGE)
        client = proxy.async_client()
        async with client.messages.stream(**PARAMS) as stream:
            assert [text async for text in stream.text_stream] == ["Hello from JSON"]
            message = await stream.get_final_message()
        assert message.text == "Hello from JSON" and message.id == "msg_json"
        async with client.messages.stream(**PARAMS) as stream:
            assert (await stream.get_final_message()).stop_reason == "end_turn"
        assert len(proxy.requests) == 2

    anyio.run(main)


@pytest.mark.parametrize("mode", ["run", "stream", "arun", "astream"])
def test_json_answer_in_the_runner_is_one_request(mode: str) -> None:
    proxy = Proxy(MESSAGE)
    # max_tokens above the silent-request bound: run and arun stream their model calls too.
    result = _run(mode, lambda sync: Agent(MODEL, client=_client(proxy, sync), max_tokens=32_000))
    assert result.text == "Hello from JSON"
    assert len(proxy.requests) == 1 and proxy.requests[0]["stream"] is True


def test_json_error_body_raises_one_typed_error() -> None:
    proxy = Proxy({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    with pytest.raises(OverloadedError), proxy.client().messages.stream(**PARAMS) as stream:
        stream.get_final_message()
    assert len(proxy.requests) == 1


@pytest.mark.parametrize("body", [{"not": "a message"}, [1, 2], {"type": "message", "content": 3}])
def test_json_answer_that_is_no_message_is_one_validation_error(body: object) -> None:
    proxy = Proxy(body)
    with pytest.raises(APIResponseValidationError, match="not a message"):
        with proxy.client().messages.stream(**PARAMS) as stream:
            stream.get_final_message()
    assert len(proxy.requests) == 1


# -- retried up to the first content block ---------------------------------------------------

WAITS: list[float] = []
NO_WAIT = RetryPolicy(max_retries=2, sleep=WAITS.append)


def faults() -> list[Fault]:
    """Failures before any content block: an `error` event right after `message_start`, and a
    connection cut inside `message_start`."""
    return [
        Fault.stream_error(Reply.text("never shown"), after_events=1),
        Fault.disconnect(Reply.text("never shown"), after_bytes=40),
    ]


def fake_client(fake: FakeClaude, sync: bool) -> Any:
    if sync:
        return agentkit.Client(api_key="test", http_client=fake.http_client(), retry=NO_WAIT)
    return agentkit.AsyncClient(api_key="test", http_client=fake.async_http_client(), retry=NO_WAIT)


@pytest.mark.parametrize("fault", faults(), ids=["error_event", "cut"])
@pytest.mark.parametrize("mode", ["run", "stream", "arun", "astream"])
def test_failure_before_content_is_retried_in_the_runner(mode: str, fault: Fault) -> None:
    fake = FakeClaude([fault, "the answer"])
    result = _run(
        mode, lambda sync: Agent(MODEL, client=fake_client(fake, sync), max_tokens=32_000)
    )
    assert result.text == "the answer"
    assert len(fake.requests) == 2 and all(r.body["stream"] is True for r in fake.requests)


@pytest.mark.parametrize("fault", faults(), ids=["error_event", "cut"])
def test_failure_before_content_is_retried_in_messages_stream(fault: Fault) -> None:
    fake = FakeClaude([fault, "the answer", fault, "again"])
    client = fake_client(fake, True)
    with client.messages.stream(**PARAMS) as stream:
        assert list(stream.text_stream) == ["the answer"]
    events = list(client.messages.create(stream=True, **PARAMS))
    assert events[-1].type == "message_stop" and events[-1].message.text == "again"
    assert len(fake.requests) == 4


@pytest.mark.parametrize("fault", faults(), ids=["error_event", "cut"])
def test_failure_before_content_is_retried_in_async_messages_stream(fault: Fault) -> None:
    async def main() -> None:
        fake = FakeClaude([fault, "the answer", fault, "again"])
        client = fake_client(fake, False)
        async with client.messages.stream(**PARAMS) as stream:
            assert (await stream.get_final_message()).text == "the answer"
        events = [event async for event in await client.messages.create(stream=True, **PARAMS)]
        assert events[-1].message.text == "again"
        assert len(fake.requests) == 4

    anyio.run(main)


def test_failure_before_content_follows_the_retry_budget() -> None:
    fake = FakeClaude([Fault.stream_error(after_events=1)] * 3)
    client = agentkit.Client(
        api_key="test",
        http_client=fake.http_client(),
        retry=RetryPolicy(max_retries=1, sleep=WAITS.append),
    )
    with pytest.raises(OverloadedError) as info, client.messages.stream(**PARAMS):
        pass
    assert len(fake.requests) == 2 and info.value.content_delivered is False


def test_failure_after_content_is_not_retried() -> None:
    fake = FakeClaude([Fault.stream_error(Reply.text("partial answer"), after_events=4), "unused"])
    shown: list[str] = []
    with pytest.raises(OverloadedError) as info:
        with fake_client(fake, True).messages.stream(**PARAMS) as stream:
            shown.extend(stream.text_stream)
    assert len(fake.requests) == 1 and "".join(shown) == "partial answer"
    assert info.value.content_delivered is True
    assert info.value.partial_message is not None
    assert info.value.partial_message.text == "partial answer"


HEAD = (
    b"event: message_start\ndata: "
    + json.dumps({"type": "message_start", "message": MESSAGE | {"content": []}}).encode()
    + b'\n\nevent: ping\ndata: {"type": "ping"}\n\n'
)


class Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """`message_start` and a `ping`, then the transport fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __iter__(self) -> Any:
        yield HEAD
        raise self.error

    async def __aiter__(self) -> Any:
        yield HEAD
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        httpx.RemoteProtocolError("peer closed"),
        httpx.ReadTimeout("timed out"),
        httpx.ReadError("reset"),
    ],
    ids=["cut", "timeout", "reset"],
)
@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_transport_failure_after_message_start_is_retried(error: Exception, sync: bool) -> None:
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        if len(sent) == 1:
            return httpx.Response(200, stream=Broken(error))
        return httpx.Response(200, json=MESSAGE)  # the retry is answered (as JSON: item 5)

    transport = httpx.MockTransport(handler)
    if sync:
        client = agentkit.Client(
            api_key="test", http_client=httpx.Client(transport=transport), retry=NO_WAIT
        )
        with client.messages.stream(**PARAMS) as stream:
            assert stream.get_final_text() == "Hello from JSON"
    else:

        async def main() -> None:
            http = httpx.AsyncClient(transport=transport)
            client = agentkit.AsyncClient(api_key="test", http_client=http, retry=NO_WAIT)
            async with client.messages.stream(**PARAMS) as stream:
                assert await stream.get_final_text() == "Hello from JSON"

        anyio.run(main)
    assert len(sent) == 2


def _client(proxy: Proxy, sync: bool) -> Any:
    return proxy.client() if sync else proxy.async_client()


def _run(mode: str, make: Callable[[bool], Agent[Any, Any]]) -> Any:
    """The run's result in one of the four runner modes."""
    agent = make(mode in ("run", "stream"))
    if mode == "run":
        return agent.run("hi")
    if mode == "stream":
        events = list(agent.stream("hi"))
        assert isinstance(events[-1], RunFinished)
        return events[-1].result

    async def main() -> Any:
        if mode == "arun":
            return await agent.arun("hi")
        last = None
        async for event in agent.astream("hi"):
            last = event
        assert isinstance(last, RunFinished)
        return last.result

    return anyio.run(main)
