"""agentkit's lean connection pool (`agentkit.client._pool`): the assignment step over stand-in
connections (pure), the pools the default httpx clients get, and real sockets to a loopback
fake, sync and async, many requests at once on few connections."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpcore
import httpx
import pytest

import agentkit
from agentkit.client import DefaultAsyncHttpxClient, DefaultHttpxClient
from agentkit.client._pool import SWEEP_INTERVAL, AsyncLeanPool, LeanPool, assign_requests
from agentkit.testing import FakeClaude, FakeServer, Reply

A = httpcore.URL("https://a.test/v1/messages").origin
B = httpcore.URL("https://b.test/v1/messages").origin
PARAMS: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}


@dataclass(eq=False)
class Conn:
    """A stand-in for an httpcore connection: the questions the pool asks it."""

    origin: httpcore.Origin = field(default_factory=lambda: A)
    state: str = "idle"  # idle, active, closed
    expired: bool = False
    multiplex: bool = False  # HTTP/2: takes more requests while active
    asked_expiry: int = 0

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self.origin

    def is_idle(self) -> bool:
        return self.state == "idle"

    def is_closed(self) -> bool:
        return self.state == "closed"

    def is_available(self) -> bool:
        return self.state == "idle" or (self.state == "active" and self.multiplex)

    def has_expired(self) -> bool:
        self.asked_expiry += 1
        return self.expired


@dataclass(eq=False)
class Req:
    origin: httpcore.Origin = field(default_factory=lambda: A)
    connection: Conn | None = None

    @property
    def request(self) -> httpcore.Request:
        return httpcore.Request("POST", httpcore.URL(f"{self.origin}/v1/messages"))

    def assign_to_connection(self, connection: Conn) -> None:
        self.connection = connection


@dataclass
class Pool:
    """The pool state `assign_requests` reads and writes (as httpcore 1.0's pool has it)."""

    _connections: list[Any]  # of Conn (a list of a protocol's type is invariant)
    _requests: list[Any]  # of Req
    _max_connections: int = 10
    _max_keepalive_connections: int = 10
    _sweep_at: float = 0.0
    created: list[Conn] = field(default_factory=list)

    def create_connection(self, origin: httpcore.Origin) -> Conn:
        connection = Conn(origin, state="active")  # connecting: not idle, not available
        self.created.append(connection)
        return connection


def test_queued_requests_get_one_idle_connection_each() -> None:
    # httpcore 1.0's own step hands the first idle connection to every queued request.
    idle = [Conn(), Conn(), Conn()]
    requests = [Req(), Req(), Req()]
    pool = Pool(idle, requests)
    assert assign_requests(pool, now=0.0) == []
    assert [r.connection for r in requests] == idle
    assert pool.created == []


def test_a_connection_held_by_a_request_is_not_given_to_another() -> None:
    held, free = Conn(), Conn()
    waiting = Req()
    pool = Pool([held, free], [Req(connection=held), waiting])
    assign_requests(pool, now=0.0)
    assert waiting.connection is free
    # Nothing idle left and no room: the next request waits in the queue.
    late = Req()
    pool = Pool([held, free], [Req(connection=held), Req(connection=free), late], 2)
    assert assign_requests(pool, now=0.0) == [] and late.connection is None and not pool.created


def test_an_expired_connection_is_never_handed_out() -> None:
    old, fresh = Conn(expired=True), Conn()
    request = Req()
    pool = Pool([old, fresh], [request], _sweep_at=10.0)  # no sweep due
    assert assign_requests(pool, now=0.0) == [old]
    assert request.connection is fresh and pool._connections == [fresh]


def test_idle_connections_nobody_takes_are_swept_once_per_interval() -> None:
    stale, kept = Conn(expired=True), Conn()
    pool = Pool([stale, kept], [])
    assert assign_requests(pool, now=100.0) == [stale]  # the first pass sweeps
    assert pool._connections == [kept] and pool._sweep_at == 100.0 + SWEEP_INTERVAL
    kept.expired = True
    asked = kept.asked_expiry
    assert assign_requests(pool, now=100.0 + SWEEP_INTERVAL / 2) == []  # not due: not asked
    assert kept.asked_expiry == asked and pool._connections == [kept]
    assert assign_requests(pool, now=100.0 + SWEEP_INTERVAL) == [kept]


def test_closed_connections_leave_and_free_their_room() -> None:
    gone, busy = Conn(state="closed"), Conn(state="active")
    request = Req()
    pool = Pool([gone, busy], [Req(connection=busy), request], _max_connections=2)
    assert assign_requests(pool, now=0.0) == []
    assert request.connection is pool.created[0] and pool._connections == [busy, *pool.created]


def test_a_full_pool_closes_an_idle_connection_of_another_origin_for_a_new_one() -> None:
    other, busy = Conn(B), Conn(state="active")
    request = Req(A)
    pool = Pool([other, busy], [Req(connection=busy), request], _max_connections=2)
    assert assign_requests(pool, now=0.0) == [other]
    assert request.connection is pool.created[0] and pool._connections == [busy, *pool.created]


def test_idle_connections_beyond_the_keepalive_limit_are_closed_oldest_first() -> None:
    idle = [Conn(), Conn(), Conn()]
    busy = Conn(state="active")
    pool = Pool([*idle, busy], [Req(connection=busy)], _max_keepalive_connections=1)
    assert assign_requests(pool, now=0.0) == idle[:2]
    assert pool._connections == [idle[2], busy]


def test_a_multiplexing_connection_takes_several_requests() -> None:
    h2 = Conn(state="active", multiplex=True)
    requests = [Req(connection=h2), Req(), Req()]
    pool = Pool([h2], requests, _max_connections=1)
    assign_requests(pool, now=0.0)
    assert [r.connection for r in requests] == [h2, h2, h2] and not pool.created


def test_the_default_httpx_clients_get_the_lean_pool_and_keep_their_settings() -> None:
    for cls, lean in ((DefaultHttpxClient, LeanPool), (DefaultAsyncHttpxClient, AsyncLeanPool)):
        pool: Any = cls()._transport._pool  # type: ignore[union-attr]
        assert (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1) in pool._socket_options
        assert pool._max_connections == 100
        assert type(pool) is lean
    # A transport of yours, and a proxy's pool, are left as they are.
    mine = httpx.HTTPTransport()
    assert type(DefaultHttpxClient(transport=mine)._transport._pool) is httpcore.ConnectionPool  # type: ignore[attr-defined]
    proxied = DefaultHttpxClient(proxy="http://proxy.test:8080")
    pool = proxied._transport_for_url(httpx.URL("https://api.anthropic.com"))._pool  # type: ignore[attr-defined]
    assert type(pool) is httpcore.HTTPProxy


class CountingServer(FakeServer):
    def __init__(self, fake: FakeClaude) -> None:
        super().__init__(fake)
        self.connections = 0

    async def _connection(self, stream: Any) -> None:
        self.connections += 1
        await super()._connection(stream)


def test_many_requests_at_once_share_few_connections_sync_and_async() -> None:
    count = 40
    fake = FakeClaude([Reply.text("ok")] * (2 * count))
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    server = CountingServer(fake)
    with server:

        async def burst() -> list[str]:
            http = DefaultAsyncHttpxClient(limits=limits)
            client = agentkit.AsyncClient(
                api_key="k", base_url=server.url, http_client=http, max_in_flight=None
            )
            texts: list[str] = []

            async def one() -> None:
                texts.append((await client.messages.create(**PARAMS)).text)

            async with client, anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(one)
            return texts

        assert anyio.run(burst) == ["ok"] * count
        assert server.connections <= 4
        with agentkit.Client(
            api_key="k", base_url=server.url, http_client=DefaultHttpxClient(limits=limits)
        ) as client:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(8) as pool:
                texts = list(
                    pool.map(lambda _: client.messages.create(**PARAMS).text, range(count))
                )
        assert texts == ["ok"] * count
        assert server.connections <= 8


class ClosingServer(CountingServer):
    """Closes every connection after one reply; `closed` counts the connections it closed."""

    def __init__(self, fake: FakeClaude) -> None:
        super().__init__(fake)
        self.closed = threading.Semaphore(0)

    async def _answer(self, stream: Any, wire: Any) -> bool:
        await super()._answer(stream, wire)
        return False

    async def _connection(self, stream: Any) -> None:
        await super()._connection(stream)
        self.closed.release()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_connection_the_server_closed_is_not_reused(kind: str) -> None:
    # No retries: a request sent on the closed connection would fail. The pool checks the idle
    # connection it hands out (its socket reads as closed) and opens a new one instead.
    fake = FakeClaude([Reply.text("one"), Reply.text("two"), Reply.text("three")])
    server = ClosingServer(fake)
    with server:
        texts: list[str] = []
        if kind == "sync":
            with agentkit.Client(api_key="k", base_url=server.url, max_retries=0) as client:
                for _ in range(3):
                    texts.append(client.messages.create(**PARAMS).text)
                    assert server.closed.acquire(timeout=10)
        else:

            async def main() -> None:
                async with agentkit.AsyncClient(
                    api_key="k", base_url=server.url, max_retries=0
                ) as client:
                    for _ in range(3):
                        texts.append((await client.messages.create(**PARAMS)).text)
                        assert await anyio.to_thread.run_sync(server.closed.acquire, True, 10)

            anyio.run(main)
        assert texts == ["one", "two", "three"] and server.connections == 3
