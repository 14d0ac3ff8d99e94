"""An httpx transport (sync and async) that answers from a fake (`FakeHandler`), without a socket.

Faults are acted out the way a real connection shows them: a delay before the response, delays
between body chunks, and a cut connection raises `httpx.RemoteProtocolError` part way through the
body, exactly where httpx raises it when a server closes the socket early.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx

from ._http import FakeHandler, FakeRequest, FakeResponse

__all__ = ["FakeTransport"]

_CUT = "peer closed connection without sending complete message body (fake disconnect)"


class _PlanStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body of a `FakeResponse`, chunk by chunk, with its delays and its cut."""

    def __init__(self, plan: FakeResponse) -> None:
        self._plan = plan

    def __iter__(self) -> Iterator[bytes]:
        for n, chunk in enumerate(self._plan.planned_chunks()):
            if n and self._plan.chunk_delay:
                time.sleep(self._plan.chunk_delay)
            yield chunk
        if self._plan.cut_after is not None:
            raise httpx.RemoteProtocolError(_CUT)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for n, chunk in enumerate(self._plan.planned_chunks()):
            if n and self._plan.chunk_delay:
                await anyio.sleep(self._plan.chunk_delay)
            yield chunk
        if self._plan.cut_after is not None:
            raise httpx.RemoteProtocolError(_CUT)


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
        return httpx.Response(
            plan.status, headers=plan.headers, stream=_PlanStream(plan), request=request
        )

    def respond(self, request: httpx.Request) -> httpx.Response:
        """Answer a request without the delay before headers (for respx side effects)."""
        request.read()
        return self._response(self._plan(request), request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Sync transport entry point."""
        request.read()
        plan = self._plan(request)
        if plan.delay:
            time.sleep(plan.delay)
        return self._response(plan, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Async transport entry point."""
        await request.aread()
        plan = self._plan(request)
        if plan.delay:
            await anyio.sleep(plan.delay)
        return self._response(plan, request)
