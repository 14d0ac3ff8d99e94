"""`FakeServer`: a real loopback HTTP/1.1 server for any fake (`FakeHandler`).

It runs an anyio TCP listener in a background thread, one task per connection, keep-alive, so
many clients can hold connections at once; HTTP/1.1 framing is the lean sans-IO codec in
`_wire`. SSE and JSONL bodies go out chunk by chunk with chunked transfer encoding. Faults are
real: a delay before the status line, delays between chunks, and a cut connection closes the
socket part way through the body. `python -m agentkit.testing.server` runs one (`server`).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from types import TracebackType
from urllib.parse import parse_qsl

import anyio
import anyio.abc
import anyio.from_thread
from anyio.abc import SocketAttribute

from ._fake import FakeAPI
from ._http import FakeHandler, FakeRequest, FakeResponse
from ._render import json_bytes
from ._wire import CONTINUE, LAST_CHUNK, RequestParser, WireError, WireRequest, chunk, head

__all__ = ["FakeServer"]

_RECEIVE = 65536


class FakeServer:
    """Serve a fake over loopback HTTP; a context manager whose `.url` is the base URL.

    Args:
        fake: The fake to serve (test-model mode when omitted).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
    """

    def __init__(self, fake: FakeHandler | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.fake = fake if fake is not None else FakeAPI()
        self._host = host
        self._port = port
        self.url = ""
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._scope: anyio.CancelScope | None = None

    def start(self) -> str:
        """Start serving in a background thread; returns the base URL."""
        if self._portal is not None:
            return self.url
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            _, self.url = self._portal.start_task(self.serve)
        except BaseException:
            self._portal_cm.__exit__(*sys.exc_info())
            self._portal = None
            raise
        return self.url

    def stop(self) -> None:
        """Close the listener and every open connection, and stop the thread."""
        if self._portal is None or self._portal_cm is None:
            return
        if self._scope is not None:
            self._portal.call(self._scope.cancel)
        self._portal_cm.__exit__(None, None, None)
        self._portal = self._portal_cm = None

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[str] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled (also usable inside an existing event loop via a task group)."""
        listener = await anyio.create_tcp_listener(local_host=self._host, local_port=self._port)
        port = listener.listeners[0].extra(SocketAttribute.local_port)
        with anyio.CancelScope() as scope:
            self._scope = scope
            async with listener:
                task_status.started(f"http://{self._host}:{port}")
                await listener.serve(self._connection)

    async def _connection(self, stream: anyio.abc.SocketStream) -> None:
        parser = RequestParser()
        try:
            while True:
                try:
                    data = await stream.receive(_RECEIVE)
                except anyio.EndOfStream:
                    return
                try:
                    requests = parser.feed(data)
                except WireError as exc:
                    error = {"type": "invalid_request_error", "message": str(exc)}
                    body = json_bytes({"type": "error", "error": error})
                    headers = [("content-type", "application/json")]
                    await stream.send(head(400, headers, length=len(body), keep_alive=False) + body)
                    return
                if parser.continue_due:
                    parser.continue_due = False
                    await stream.send(CONTINUE)
                for wire in requests:
                    if not await self._answer(stream, wire):
                        return  # a planned disconnect, or the client asked to close
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return  # the client went away; nothing to answer
        finally:
            await stream.aclose()

    async def _answer(self, stream: anyio.abc.SocketStream, wire: WireRequest) -> bool:
        """Answer one request; False when the connection must close after it."""
        path, _, query = wire.target.partition("?")
        request = FakeRequest.build(
            wire.method,
            path,
            query=dict(parse_qsl(query)),
            headers=wire.headers,
            content=wire.body,
        )
        host = next((v for k, v in wire.headers if k == "host"), "localhost")
        plan = self.fake.handle(request, origin=f"http://{host}")
        sent = await _send(stream, plan, keep_alive=wire.keep_alive, body=wire.method != "HEAD")
        return sent and wire.keep_alive


async def _send(
    stream: anyio.abc.SocketStream, plan: FakeResponse, *, keep_alive: bool, body: bool
) -> bool:
    """Send a response plan; False when it ended with a deliberate disconnect."""
    if plan.delay:
        await anyio.sleep(plan.delay)
    chunks = plan.planned_chunks() if body else []
    if not plan.streaming:
        start = head(plan.status, plan.headers, length=len(plan.body), keep_alive=keep_alive)
        await stream.send(start + b"".join(chunks))  # one write for a whole JSON response
        return plan.cut_after is None
    await stream.send(head(plan.status, plan.headers, length=None, keep_alive=keep_alive))
    for n, data in enumerate(chunks):  # one chunk per SSE event / JSONL line, as the API sends
        if n and plan.chunk_delay:
            await anyio.sleep(plan.chunk_delay)
        await stream.send(chunk(data))
    if plan.cut_after is not None:
        return False
    await stream.send(LAST_CHUNK)
    return True
