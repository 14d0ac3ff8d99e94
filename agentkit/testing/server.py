"""A real loopback HTTP/1.1 server for a `FakeClaude`: `python -m agentkit.testing.server`.

It runs an anyio TCP listener in a background thread, one task per connection, keep-alive, so
many clients can hold connections at once; HTTP/1.1 framing is the lean sans-IO codec in
`_wire`. SSE and JSONL bodies go out chunk by chunk with chunked transfer encoding. Faults are
real: a delay before the status line, delays between chunks, and a cut connection closes the
socket part way through the body.

Usage::

    with FakeServer(FakeClaude()) as server:
        httpx.post(server.url + "/v1/messages", json=...)

or from a shell (test-model mode, prints the URL and serves until interrupted)::

    python -m agentkit.testing.server --port 0
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.abc
import anyio.from_thread
from anyio.abc import SocketAttribute

from ._fake import FakeClaude
from ._http import FakeRequest, FakeResponse
from ._render import json_bytes
from ._wire import CONTINUE, LAST_CHUNK, RequestParser, WireError, WireRequest, chunk, head

__all__ = ["FakeServer", "main"]

_RECEIVE = 65536


class FakeServer:
    """Serve a fake over loopback HTTP; a context manager whose `.url` is the base URL.

    Args:
        fake: The fake to serve (test-model mode when omitted).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
    """

    def __init__(self, fake: FakeClaude | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.fake = fake if fake is not None else FakeClaude()
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


def main(argv: list[str] | None = None) -> None:
    """Run a fake Claude server in test-model mode until interrupted; prints its URL."""
    parser = argparse.ArgumentParser(prog="python -m agentkit.testing.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--batch-delay", type=float, default=0.0, help="seconds per batch")
    parser.add_argument("--api-key", default=None, help="require this API key")
    parser.add_argument("--seed", type=int, default=None, help="seed for generated ids")
    args = parser.parse_args(argv)
    fake = FakeClaude(batch_delay=args.batch_delay, api_key=args.api_key, seed=args.seed)

    def terminate(*_: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    with FakeServer(fake, host=args.host, port=args.port) as server:
        print(server.url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
