"""Review tests for the client and streaming layer: behaviours the issues require."""

import json

import httpx
import pytest
import respx

from agentkit import AsyncClient, BadRequestError, Client, IncompleteStreamError, OverloadedError
from agentkit.client import RetryPolicy

BASE = "https://api.anthropic.com"
KEY = "sk-ant-review-secret"
PARAMS = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    },
}


def sse(*events: tuple[str, str]) -> bytes:
    return b"".join(f"event: {name}\ndata: {data}\n\n".encode() for name, data in events)


OK_STREAM = sse(
    ("message_start", json.dumps(START)),
    (
        "content_block_start",
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
    ),
    (
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}',
    ),
    ("content_block_stop", '{"type":"content_block_stop","index":0}'),
    (
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":"end_turn",'
        '"stop_sequence":null},"usage":{"output_tokens":2}}',
    ),
    ("message_stop", '{"type":"message_stop"}'),
)
# Synthetic: the API opens a 200 stream, then reports overload before any event.
OVERLOADED_FIRST = sse(
    ("error", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
)


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def make_client(retries: int = 2) -> tuple[Client, list[float]]:
    waits: list[float] = []
    return Client(api_key=KEY, retry=RetryPolicy(max_retries=retries, sleep=waits.append)), waits


@respx.mock
def test_stream_error_event_before_first_event_is_retried() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            sse_response(OVERLOADED_FIRST),
            sse_response(OK_STREAM),
            sse_response(OK_STREAM),
        ]
    )
    client, waits = make_client()
    with client.messages.stream(**PARAMS) as stream:
        assert stream.get_final_text() == "hello"
    assert route.call_count == 2 and len(waits) == 1
    events = list(client.messages.create(stream=True, **PARAMS))  # create(stream=True) too
    assert events[0].type == "message_start"
    assert route.call_count == 3


@respx.mock
def test_stream_cut_before_first_event_is_retried_then_raised() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[sse_response(b""), sse_response(OK_STREAM)]
    )
    client, _ = make_client()
    assert client.messages.create(stream=True, **PARAMS) is not None
    assert route.call_count == 2
    route.side_effect = None
    route.return_value = sse_response(b"")
    route.reset()
    with pytest.raises(IncompleteStreamError) as info:
        with client.messages.stream(**PARAMS):
            pass
    assert route.call_count == 3 and info.value.content_delivered is False


@respx.mock
def test_stream_error_after_first_content_is_not_retried() -> None:
    head = OK_STREAM.split(b"event: content_block_stop")[0]  # a block started, "hello" sent
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=sse_response(head + OVERLOADED_FIRST)
    )
    client, _ = make_client()
    shown: list[str] = []
    with pytest.raises(OverloadedError) as info:
        with client.messages.stream(**PARAMS) as stream:
            shown.extend(stream.text_stream)
    assert route.call_count == 1 and shown == ["hello"]
    assert info.value.content_delivered is True
    assert info.value.partial_message is not None and info.value.partial_message.text == "hello"


@respx.mock
def test_stream_error_after_message_start_and_ping_is_retried() -> None:
    head = sse(("message_start", json.dumps(START)), ("ping", '{"type": "ping"}'))
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[sse_response(head + OVERLOADED_FIRST), sse_response(OK_STREAM)]
    )
    client, waits = make_client()
    with client.messages.stream(**PARAMS) as stream:
        assert list(stream.text_stream) == ["hello"]
    assert route.call_count == 2 and len(waits) == 1
    route.side_effect = None
    route.return_value = sse_response(head + OVERLOADED_FIRST)
    route.reset()
    with pytest.raises(OverloadedError) as info:  # the budget spent: the last error, typed
        client.messages.create(stream=True, **PARAMS)
    assert route.call_count == 3 and info.value.content_delivered is False


@pytest.mark.anyio
@respx.mock
async def test_async_stream_error_event_before_first_event_is_retried() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            sse_response(OVERLOADED_FIRST),
            sse_response(OK_STREAM),
            sse_response(OVERLOADED_FIRST),
            sse_response(OK_STREAM),
        ]
    )
    waits: list[float] = []
    client = AsyncClient(api_key=KEY, retry=RetryPolicy(sleep=waits.append))
    async with client.messages.stream(**PARAMS) as stream:
        assert await stream.get_final_text() == "hello"
    events = [e async for e in await client.messages.create(stream=True, **PARAMS)]
    assert events[-1].type == "message_stop"
    assert route.call_count == 4 and len(waits) == 2


class CutBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Synthetic: a body that breaks after its first bytes."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield b'{"type":"error","err'
        raise httpx.ReadError("connection reset")

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b'{"type":"error","err'
        raise httpx.ReadError("connection reset")


@respx.mock
def test_error_status_with_cut_body_keeps_its_class_and_x_should_retry() -> None:
    # A 400 whose body is cut is still a BadRequestError (not a retried connection error), and
    # `x-should-retry: false` on a 529 is honoured even though its body never arrived.
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(400, stream=CutBody())
    )
    client, waits = make_client()
    with pytest.raises(BadRequestError, match="400") as info:
        client.messages.create(**PARAMS)
    assert route.call_count == 1 and waits == []
    assert isinstance(info.value.__cause__, httpx.ReadError)
    route.return_value = httpx.Response(529, headers={"x-should-retry": "false"}, stream=CutBody())
    route.reset()
    with pytest.raises(OverloadedError):
        client.messages.create(**PARAMS)
    assert route.call_count == 1


@pytest.mark.anyio
@respx.mock
async def test_async_error_status_with_cut_body_keeps_its_class() -> None:
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(400, stream=CutBody())
    )
    client = AsyncClient(api_key=KEY, retry=RetryPolicy(sleep=lambda s: None))
    with pytest.raises(BadRequestError):
        await client.messages.create(**PARAMS)
    assert route.call_count == 1


@respx.mock
def test_per_request_timeout_none_means_no_timeout() -> None:
    # `timeout=None` turns the long-request guard off "to accept the risk"; the request must then
    # really have no timeout, not silently keep the 600 s default the guard warned about.
    route = respx.post(f"{BASE}/v1/messages").mock(
        return_value=httpx.Response(200, json=json.loads(json.dumps(START["message"])))
    )
    client, _ = make_client()
    client.messages.create(**{**PARAMS, "max_tokens": 64_000}, timeout=None)
    assert route.calls.last.request.extensions["timeout"] == httpx.Timeout(None).as_dict()
    client.messages.create(**PARAMS, timeout=12.0)
    assert route.calls.last.request.extensions["timeout"]["read"] == 12.0
    client.messages.create(**PARAMS)
    assert route.calls.last.request.extensions["timeout"]["read"] == 600.0


@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
@pytest.mark.parametrize("value", ["nan", "-inf", "inf"])
def test_non_finite_retry_after_never_reaches_sleep(header: str, value: str) -> None:
    # `time.sleep(nan)` raises ValueError: a malformed header must fall back to backoff (or,
    # for inf, the cap), not crash the retry loop.
    from agentkit.client._retry import parse_retry_after

    policy = RetryPolicy()
    wait = parse_retry_after(httpx.Headers({header: value}))
    assert wait is None or 0.0 <= wait
    with respx.mock:
        respx.post(f"{BASE}/v1/messages").mock(
            side_effect=[
                httpx.Response(529, headers={header: value}),
                httpx.Response(200, json=START["message"]),
            ]
        )
        client, waits = make_client()
        client.messages.create(**PARAMS)
    assert len(waits) == 1 and 0.0 <= waits[0] <= policy.max_retry_after


def test_keys_passed_as_headers_are_redacted_in_reprs() -> None:
    # Gateways are often given their credential as a default or extra header.
    from agentkit.client._base import spec_from_params

    client = Client(
        api_key=KEY, default_headers={"Authorization": "Bearer gw-secret", "x-team": "blue"}
    )
    clone = client.with_options(default_headers={"X-Api-Key": "other-secret"})
    spec = spec_from_params("POST", "/v1/x", {"extra_headers": {"x-api-key": "spec-secret"}})
    shown = " ".join(
        [repr(client), repr(client._config), repr(clone._config), repr(spec), str(spec)]
    )
    for secret in (KEY, "gw-secret", "other-secret", "spec-secret"):
        assert secret not in shown
    assert "x-team" in repr(client._config) and "/v1/x" in repr(spec)


class StallingBody(httpx.AsyncByteStream):
    """Synthetic: sends `head`, then waits forever (until cancelled); records closing."""

    def __init__(self, head: bytes) -> None:
        import anyio

        self.head = head
        self.waiting = anyio.Event()
        self.closed = False

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        import anyio

        if self.head:
            yield self.head
        self.waiting.set()
        await anyio.Event().wait()
        yield b""  # pragma: no cover

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
@pytest.mark.parametrize("head", [b"", sse(("message_start", json.dumps(START)))])
async def test_async_cancellation_releases_the_connection(head: bytes) -> None:
    # Cancelled while waiting for the first event (inside the client's retry attempt) or in the
    # middle of the stream: either way the body is closed, releasing the connection.
    import anyio

    body = StallingBody(head)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=body
        )
    )
    client = AsyncClient(api_key=KEY, http_client=httpx.AsyncClient(transport=transport))

    async def consume() -> None:
        async with client.messages.stream(**PARAMS) as stream:
            async for _ in stream:
                pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await body.waiting.wait()
        tg.cancel_scope.cancel()
    assert body.closed


@respx.mock
def test_generic_request_timeout_none_means_no_timeout_like_create() -> None:
    route = respx.get(f"{BASE}/v1/things").mock(return_value=httpx.Response(200, json={}))
    client, _ = make_client()
    client.get("/v1/things", timeout=None)
    assert route.calls.last.request.extensions["timeout"] == httpx.Timeout(None).as_dict()
    client.get("/v1/things")
    assert route.calls.last.request.extensions["timeout"]["read"] == 600.0


@pytest.mark.anyio
@respx.mock
async def test_connection_error_while_reading_a_2xx_body_is_retried() -> None:
    ok = httpx.Response(200, json=START["message"])
    route = respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(200, stream=CutBody()),
            ok,
            httpx.Response(200, stream=CutBody()),
            ok,
        ]
    )
    client, waits = make_client()
    assert client.messages.create(**PARAMS).id == "msg_1"
    aclient = AsyncClient(api_key=KEY, retry=RetryPolicy(sleep=waits.append))
    assert (await aclient.messages.create(**PARAMS)).id == "msg_1"
    assert route.call_count == 4 and len(waits) == 2
