"""How agentkit's own pools hand connections to requests: httpcore's pool, leaner.

httpcore 1.0's pool (`httpcore.ConnectionPool` / `AsyncConnectionPool`, under httpx) re-plans
after every request and every response: it asks each connection whether it has expired (for an
idle one, a `poll` of its socket through anyio's attribute table), then, for each queued
request, lists the available and the idle connections again. With 2,000 conversations on one
client that was the largest part of httpx's CPU per turn (py-spy, benchmarks/bench_runner.py's
concurrency rows). It also hands the same idle connection to every request queued in one pass
(a connection stays idle until its request is sent), so all but one of them fail with
`ConnectionNotAvailable`, go round again, and open connections the pool did not need.

`assign_requests` is the same plan in one pass over the connections and one over the requests:

- a connection some request holds (sending, or about to) is never given to another one,
  unless it multiplexes (HTTP/2, `is_available` while active);
- an idle connection is checked for expiry (its keep-alive, or the server closing it) when it is
  about to be handed out, and the idle connections nobody takes are swept at most once every
  `SWEEP_INTERVAL` seconds, not on every request: an expired one may stay open that much longer,
  never be used;
- idle connections beyond `max_keepalive_connections` are closed (httpcore 1.0 compares the
  count of all connections), the oldest first.

The decisions are the pool's own: its connections (`create_connection`, `is_idle` ...), its
limits and its request queue; the same function serves the sync and the async pool.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Protocol, cast

import httpcore

__all__ = [
    "SWEEP_INTERVAL",
    "AsyncLeanPool",
    "Connection",
    "LeanPool",
    "PoolRequest",
    "PoolState",
    "assign_requests",
    "make_lean",
]

SWEEP_INTERVAL = 1.0
"""Seconds between two expiry checks of the idle connections no request is taking."""

if TYPE_CHECKING:
    import httpx


class Connection(Protocol):
    """What the plan asks of a connection (httpcore's sync and async connections both answer)."""

    def can_handle_request(self, origin: httpcore.Origin) -> bool: ...
    def is_available(self) -> bool: ...
    def has_expired(self) -> bool: ...
    def is_idle(self) -> bool: ...
    def is_closed(self) -> bool: ...


class PoolRequest(Protocol):
    """A request in the pool's queue (`httpcore`'s `PoolRequest` / `AsyncPoolRequest`)."""

    request: httpcore.Request

    @property
    def connection(self) -> Connection | None: ...
    def assign_to_connection(self, connection: Connection) -> None: ...


class PoolState(Protocol):
    """The state of httpcore 1.0's pool that the plan reads and writes."""

    _requests: list[PoolRequest]
    _connections: list[Connection]
    _max_connections: int
    _max_keepalive_connections: int
    _sweep_at: float

    def create_connection(self, origin: httpcore.Origin) -> Connection: ...


def assign_requests(pool: PoolState, now: float) -> list[Connection]:
    """Assign the pool's queued requests to connections; the connections to close.

    `pool` is an `httpcore.ConnectionPool` or `AsyncConnectionPool` (called under its lock, as
    its own `_assign_requests_to_connections`); `now` is `time.monotonic()`.
    """
    requests = pool._requests
    held = {request.connection for request in requests}
    sweep = now >= pool._sweep_at
    if sweep:
        pool._sweep_at = now + SWEEP_INTERVAL
    closing: list[Connection] = []
    kept: list[Connection] = []
    idle: list[Connection] = []  # idle and held by no request, oldest first
    shared: list[Connection] = []  # active and taking more requests (HTTP/2)
    for connection in pool._connections:
        if connection.is_closed():
            continue
        if connection in held:
            if connection.is_available() and not connection.is_idle():
                shared.append(connection)
        elif connection.is_idle():
            if sweep and connection.has_expired():
                closing.append(connection)
                continue
            idle.append(connection)
        elif connection.is_available():
            shared.append(connection)
        kept.append(connection)

    budget = pool._max_connections - len(kept)
    for request in requests:
        if request.connection is not None:
            continue
        if not (shared or idle or budget > 0):
            break  # nothing left for any queued request
        origin = request.request.url.origin
        chosen = next((c for c in shared if c.can_handle_request(origin)), None)
        if chosen is None:
            chosen, expired = _take_idle(idle, origin)
            for old in expired:
                kept.remove(old)
                closing.append(old)
            budget += len(expired)
        if chosen is None:
            if budget <= 0 and idle:  # full: close an idle connection of another origin
                old = idle.pop(0)
                kept.remove(old)
                closing.append(old)
                budget += 1
            if budget <= 0:
                continue
            chosen = pool.create_connection(origin)
            kept.append(chosen)
            budget -= 1
            if chosen.is_available():  # HTTP/2 possible: others may share it
                shared.append(chosen)
        request.assign_to_connection(chosen)

    for old in idle[: max(0, len(idle) - pool._max_keepalive_connections)]:
        kept.remove(old)
        closing.append(old)
    pool._connections = kept
    return closing


def _take_idle(
    idle: list[Connection], origin: httpcore.Origin
) -> tuple[Connection | None, list[Connection]]:
    """The first idle connection to `origin` that has not expired (taken out of `idle`), or
    None; and the expired ones met on the way (taken out too, to be closed)."""
    expired: list[Connection] = []
    for connection in list(idle):
        if not connection.can_handle_request(origin):
            continue
        idle.remove(connection)
        if connection.has_expired():
            expired.append(connection)
            continue
        return connection, expired
    return None, expired


class _LeanAssign:
    """What makes an httpcore pool lean: its assignment step is `assign_requests`.

    A mixin without state or slots: `make_lean` swaps a built pool's class for its subclass.
    """

    _sweep_at = 0.0

    # Any: the sync pool's connections are `ConnectionInterface`, the async one's
    # `AsyncConnectionInterface`; `PoolState` describes what both have.
    def _assign_requests_to_connections(self) -> list[Any]:
        return assign_requests(cast("PoolState", self), time.monotonic())


class LeanPool(_LeanAssign, httpcore.ConnectionPool):
    """`httpcore.ConnectionPool` with `assign_requests` (see the module)."""


class AsyncLeanPool(_LeanAssign, httpcore.AsyncConnectionPool):
    """`httpcore.AsyncConnectionPool` with `assign_requests` (see the module)."""


_LEAN = {httpcore.ConnectionPool: LeanPool, httpcore.AsyncConnectionPool: AsyncLeanPool}


def make_lean(transport: httpx.HTTPTransport | httpx.AsyncHTTPTransport) -> None:
    """Make the transport's pool lean when it is httpcore's plain pool of this httpcore.

    httpx builds the pool (TLS, limits, socket options, HTTP/2, as it always does); only its
    class changes, which adds no state and overrides one method. A proxy's pool
    (`HTTPProxy`, `SOCKSProxy`) and any other pool are left as they are.
    """
    pool = getattr(transport, "_pool", None)
    lean = _LEAN.get(type(pool))
    if lean is not None and _has_pool_state(pool):
        # A pool laid out otherwise (another httpcore) refuses the class: it stays as it is.
        with contextlib.suppress(TypeError):
            pool.__class__ = lean


def _has_pool_state(pool: object) -> bool:
    """httpcore 1.0's pool state, which `assign_requests` reads (a later httpcore may differ)."""
    return all(
        hasattr(pool, name)
        for name in ("_requests", "_connections", "_max_connections", "_max_keepalive_connections")
    )
