"""An httpx transport (sync and async) that answers from a fake (`FakeHandler`), without a socket.

Faults are acted out the way a real connection shows them: a delay before the response, delays
between body chunks, and a cut connection raises `httpx.RemoteProtocolError` part way through the
body, exactly where httpx raises it when a server closes the socket early. The request's read
timeout is honoured: a wait longer than it raises `httpx.ReadTimeout` once the timeout has passed,
as a real socket would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx

from ._http import FakeHandler, FakeRequest, FakeResponse

__all__ = ["FakeTransport"]

_CUT = "peer closed connection without sending complete message body (fake disconnect)"


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _wait(delay: float, limit: float | None) -> tuple[float, bool]:
    """How long to wait for a delay under a read timeout, and whether it then times out."""
    if limit is not None and delay > limit:
        return limit, True
    return delay, False


class _PlanStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body of a `FakeResponse`, chunk by chunk, with its delays and its cut."""

    def __init__(self, plan: FakeResponse, read_timeout: float | None = None) -> None:
        self._plan = plan
        self._pause, self._times_out = _wait(plan.chunk_delay, read_timeout)

    def _arrivals(self) -> Iterator[bytes | float]:
        """The body as it arrives: chunks (bytes), and the pauses (seconds) between them."""
        for n, chunk in enumerate(self._plan.planned_chunks()):
            if n and self._pause:
                yield self._pause
                if self._times_out:
                    raise httpx.ReadTimeout("timed out reading the body (fake)")
            yield chunk
        if self._plan.cut_after is not None:
            raise httpx.RemoteProtocolError(_CUT)

    def __iter__(self) -> Iterator[bytes]:
        for item in self._arrivals():
            if not isinstance(item, bytes):  # a pause
                time.sleep(item)
            else:
                yield item

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self._arrivals():
            if not isinstance(item, bytes):  # a pause
                await anyio.sleep(item)
            else:
                yield item


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve httpx requests from a fake: `httpx.Client(transport=fake.transport())`.

    The same object works for `httpx.AsyncClient`; `respond` is a respx side effect
    (`respx_mock.route(host="api.anthropic.com").mock(side_effect=transport.respond)`).
    """

    def __init__(self, fake: FakeHandler) -> None:
        self.fake = fake

    def _plan(self, request: httpx.Request) -> FakeResponse:
        fake_request = FakeRequest.build(
            request.method,
            request.url.path,
            query=dict(request.url.params.items()),
            headers=[(k, v) for k, v in request.headers.items()],
            content=request.content,
        )
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        return self.fake.handle(fake_request, origin=origin)

    @staticmethod
    def _response(plan: FakeResponse, request: httpx.Request) -> httpx.Response:
        stream = _PlanStream(plan, _read_timeout(request))
        return httpx.Response(plan.status, headers=plan.headers, stream=stream, request=request)

    def respond(self, request: httpx.Request) -> httpx.Response:
        """Answer a request without the delay before headers (for respx side effects)."""
        request.read()
        return self._response(self._plan(request), request)

    def _start(self, request: httpx.Request) -> tuple[FakeResponse, float, bool]:
        """The plan, the pause before its headers, and whether the read times out first."""
        plan = self._plan(request)
        pause, times_out = _wait(plan.delay, _read_timeout(request))
        return plan, pause, times_out

    def _answer(
        self, plan: FakeResponse, times_out: bool, request: httpx.Request
    ) -> httpx.Response:
        if times_out:
            raise httpx.ReadTimeout("timed out waiting for the response (fake)", request=request)
        return self._response(plan, request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Sync transport entry point."""
        request.read()
        plan, pause, times_out = self._start(request)
        if pause:
            time.sleep(pause)
        return self._answer(plan, times_out, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Async transport entry point."""
        await request.aread()
        plan, pause, times_out = self._start(request)
        if pause:
            await anyio.sleep(pause)
        return self._answer(plan, times_out, request)
