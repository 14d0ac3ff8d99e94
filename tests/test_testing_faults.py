"""Fault injection over real loopback HTTP (plain httpx) and through the in-process transport."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx

from agentkit.streaming import SSEDecoder
from agentkit.testing import FakeClaude, FakeServer, Fault, Reply

BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "Hi"}],
}
STREAM = {**BODY, "stream": True}
LONG = Reply.text("A reply long enough to be streamed as several text deltas, one by one.")


@pytest.fixture
def fake() -> FakeClaude:
    return FakeClaude()


@pytest.fixture
def client(fake: FakeClaude) -> Iterator[httpx.Client]:
    with fake.serve() as server, httpx.Client(base_url=server.url, timeout=5) as http:
        yield http


def events(raw: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [e.json() for e in decoder.feed(raw) + decoder.flush()]


def test_rate_limit_then_success(fake: FakeClaude, client: httpx.Client) -> None:
    fake.add(Fault.rate_limit(retry_after=1), "ok")
    first = client.post("/v1/messages", json=BODY)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert first.headers["x-should-retry"] == "true"
    assert first.headers["request-id"].startswith("req_")
    assert first.json()["error"]["type"] == "rate_limit_error"
    assert first.json()["request_id"] == first.headers["request-id"]
    second = client.post("/v1/messages", json=BODY)
    assert second.status_code == 200
    assert second.json()["content"] == [{"type": "text", "text": "ok"}]


def test_retry_after_ms(fake: FakeClaude, client: httpx.Client) -> None:
    fake.add(Fault.rate_limit(retry_after=None, retry_after_ms=250))
    response = client.post("/v1/messages", json=BODY)
    assert response.headers["retry-after-ms"] == "250"
    assert "retry-after" not in response.headers


@pytest.mark.parametrize(
    ("fault", "status", "kind", "should_retry"),
    [
        (Fault.overloaded(), 529, "overloaded_error", "true"),
        (Fault.server_error(), 500, "api_error", None),
        (Fault.server_error(503, should_retry=False), 503, "api_error", "false"),
        (
            Fault.status_error(400, "invalid_request_error", "nope", should_retry=True),
            400,
            "invalid_request_error",
            "true",
        ),
        (Fault.status_error(409, "conflict_error", "busy"), 409, "conflict_error", None),
        (Fault.status_error(408, "timeout_error", "slow"), 408, "timeout_error", None),
    ],
)
def test_status_faults(
    fake: FakeClaude,
    client: httpx.Client,
    fault: Fault,
    status: int,
    kind: str,
    should_retry: str | None,
) -> None:
    fake.add(fault)
    response = client.post("/v1/messages", json=STREAM)  # errors are JSON even for streams
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == kind
    assert response.headers.get("x-should-retry") == should_retry


def test_mid_stream_error_event(fake: FakeClaude, client: httpx.Client) -> None:
    fake.add(Fault.stream_error(LONG, after_events=4))
    response = client.post("/v1/messages", json=STREAM)
    assert response.status_code == 200
    got = events(response.content)
    assert [e["type"] for e in got] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "error",
    ]
    assert got[-1]["error"] == {
        "type": "overloaded_error",
        "message": "Overloaded",
        "details": None,
    }


def test_stream_error_on_a_json_request_is_a_529(fake: FakeClaude, client: httpx.Client) -> None:
    fake.add(Fault.stream_error())
    assert client.post("/v1/messages", json=BODY).status_code == 529


@pytest.mark.parametrize("body", [BODY, STREAM], ids=["json", "sse"])
def test_cut_connection(fake: FakeClaude, client: httpx.Client, body: dict[str, Any]) -> None:
    fake.add(Fault.disconnect(LONG), "after")
    received = bytearray()
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/v1/messages", json=body) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
    assert 0 < len(received)
    if body is STREAM:
        assert b"message_start" in received and b"message_stop" not in received
    # the connection pool recovers: the next request gets the next script item
    assert client.post("/v1/messages", json=BODY).json()["content"][0]["text"] == "after"


def test_slow_headers(fake: FakeClaude) -> None:
    fake.add(Fault.slow(delay=30))
    with (
        fake.serve() as server,
        httpx.Client(base_url=server.url, timeout=0.2) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.post("/v1/messages", json=BODY)


def test_sse_is_sent_chunk_by_chunk(fake: FakeClaude) -> None:
    # With 30 s between chunks, the first event can only arrive if chunks are sent one by one.
    fake.add(Fault.slow(LONG, chunk_delay=30))
    with (
        fake.serve() as server,
        httpx.Client(base_url=server.url, timeout=1) as http,
        http.stream("POST", "/v1/messages", json=STREAM) as response,
    ):
        chunks = response.iter_raw()
        first = next(chunks)
        assert first.startswith(b"event: message_start")
        with pytest.raises(httpx.ReadTimeout):
            next(chunks)


def test_many_concurrent_keep_alive_connections(fake: FakeClaude) -> None:
    async def main(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        statuses: list[int] = []
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as http:

            async def one(n: int) -> None:
                body = STREAM if n % 2 else BODY
                response = await http.post("/v1/messages", json=body)
                statuses.append(response.status_code)

            async with anyio.create_task_group() as tg:
                for n in range(64):
                    tg.start_soon(one, n)
        return statuses

    with fake.serve() as server:
        statuses = anyio.run(main, server.url)
    assert statuses == [200] * 64
    assert len(fake.requests) == 64


# ----- in-process transport --------------------------------------------------------------------


def test_transport_faults_sync() -> None:
    fake = FakeClaude([Fault.overloaded(), Fault.disconnect(LONG), Fault.slow(LONG, delay=0.05)])
    with fake.http_client() as http:
        assert http.post("/v1/messages", json=BODY).status_code == 529
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/messages", json=STREAM)
        started = time.monotonic()
        assert http.post("/v1/messages", json=BODY).status_code == 200
        assert time.monotonic() - started >= 0.05


@pytest.mark.anyio
async def test_transport_faults_async() -> None:
    fake = FakeClaude([Fault.rate_limit(retry_after=2), Fault.disconnect(LONG, after_bytes=10)])
    async with fake.async_http_client() as http:
        response = await http.post("/v1/messages", json=BODY)
        assert (response.status_code, response.headers["retry-after"]) == (429, "2")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/v1/messages", json=BODY)
        reply = await http.post("/v1/messages", json=STREAM)  # script ran out
        assert reply.status_code == 500


def test_respx_side_effect() -> None:
    fake = FakeClaude(["via respx"])
    with respx.mock:
        respx.route(host="api.anthropic.com").mock(side_effect=fake.transport().respond)
        response = httpx.post("https://api.anthropic.com/v1/messages", json=STREAM)
    assert response.status_code == 200
    texts = [
        e["delta"]["text"] for e in events(response.content) if e["type"] == "content_block_delta"
    ]
    assert "".join(texts) == "via respx"


def test_agentkit_client_retries_a_rate_limit_through_the_fake() -> None:
    from agentkit import Client

    fake = FakeClaude([Fault.rate_limit(retry_after=0), "after retry"])
    client = Client(api_key="test", http_client=fake.http_client(), max_retries=2)
    message = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
    )
    assert message.text == "after retry"
    assert [r.headers.get("x-stainless-retry-count", "") for r in fake.requests] != []
    assert len(fake.requests) == 2
    assert fake.requests[0].headers["x-api-key"] == "test"


# ----- the command line ------------------------------------------------------------------------


def test_server_command_prints_its_url_and_serves() -> None:
    command = [sys.executable, "-m", "agentkit.testing.server", "--port", "0", "--seed", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            response = httpx.post(url + "/v1/messages", json=BODY, timeout=10)
            assert response.status_code == 200
            assert response.json()["content"][0]["text"] == "Test model reply to: Hi"
            listed = httpx.get(url + "/v1/models", timeout=10).json()
            assert listed["data"] and listed["has_more"] is False
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0


def test_server_context_manager_is_restartable_and_stops_cleanly() -> None:
    server = FakeServer()
    with server:
        url = server.url
        assert httpx.get(url + "/v1/models/claude-haiku-4-5-20251001").json()["type"] == "model"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/models", timeout=2)
    with server:
        assert httpx.get(server.url + "/v1/models").status_code == 200


def test_unknown_path_is_a_404_in_the_api_shape(client: httpx.Client) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["type"] == "not_found_error"


def test_agentkit_client_streams_from_the_loopback_server() -> None:
    from agentkit import Client

    fake = FakeClaude([LONG])
    with fake.serve() as server, httpx.Client(base_url=server.url) as http:
        client = Client(api_key="test", base_url=server.url, http_client=http)
        with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            pieces = list(stream.text_stream)
            message = stream.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == message.text == LONG.blocks[0].data["text"]
    assert message.request_id is not None and message.request_id.startswith("req_")


@pytest.mark.anyio
async def test_agentkit_async_client_sees_a_mid_stream_error() -> None:
    from agentkit import APIStatusError, AsyncClient

    fake = FakeClaude([Fault.stream_error(LONG, after_events=4)])
    client = AsyncClient(api_key="test", http_client=fake.async_http_client())
    with pytest.raises(APIStatusError) as caught:
        async with client.messages.stream(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
        ) as stream:
            await stream.get_final_message()
    assert (caught.value.status_code, caught.value.type) == (200, "overloaded_error")
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")
    assert len(fake.requests) == 1  # a mid-stream error is never retried


@pytest.mark.anyio
async def test_server_runs_as_a_task_in_your_own_event_loop() -> None:
    server = FakeServer(FakeClaude(["from a task"]))
    async with anyio.create_task_group() as tg:
        url = await tg.start(server.serve)
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.post("/v1/messages", json=BODY)
        tg.cancel_scope.cancel()
    assert response.json()["content"][0]["text"] == "from a task"


def test_a_whole_number_chunk_delay_is_a_pause_not_a_body_chunk() -> None:
    from agentkit.testing._http import FakeRequest, FakeResponse
    from agentkit.testing._transport import FakeTransport

    class TwoChunks:
        def handle(self, request: FakeRequest, *, origin: str = "") -> FakeResponse:
            sse = [("content-type", "text/event-stream")]
            return FakeResponse(200, sse, [b"data: a\n\n", b"data: b\n\n"], chunk_delay=1)

    with httpx.Client(transport=FakeTransport(TwoChunks()), base_url="http://fake") as http:
        response = http.post("/v1/messages", json=STREAM)
    assert response.content == b"data: a\n\ndata: b\n\n"
