"""One MCP server connection, kept on its own event loop thread: start, list, call, restart.

The session of the `mcp` package belongs to the event loop it was opened in, while agentkit
runs a sync agent's tools on a new loop per run and an async agent's on the caller's loop.
So each connection owns a daemon thread with its own loop (an anyio blocking portal); calls
from any thread or loop are handed to it, and the server lives across runs until `close`.

A server that exits, stops answering, or sends what is not MCP gives the call in flight an
error; the session is marked broken and the next call starts the server again. After a call
is abandoned (its timeout), the next call first checks the server with a `tools/list`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Literal, TypeVar

import anyio
import anyio.abc
import anyio.from_thread
import anyio.to_thread
import mcp_types
import pydantic
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .._exceptions import AgentkitError
from .._version import __version__

if sys.version_info < (3, 11):  # pragma: no cover - anyio installs the backport there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Connection", "MCPServerError", "ServerSpec", "ToolCallFailed"]

T = TypeVar("T")

CONNECTION_CLOSED = -32000  # the `mcp` package's code for a connection that went away


class MCPServerError(AgentkitError):
    """An MCP server could not be started or listed (a tool call's failure is a tool result).

    Attributes:
        server: The server's name.
    """

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        super().__init__(f"MCP server {server!r}: {message}")


@dataclass(frozen=True)
class ServerSpec:
    """How to reach a server: a command (stdio) or a URL (streamable HTTP or SSE)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    transport: Literal["stdio", "streamable-http", "sse"] = "stdio"

    def __repr__(self) -> str:  # headers may hold credentials
        where = self.url if self.url is not None else " ".join([self.command or "", *self.args])
        return f"ServerSpec({self.name!r}, {where!r})"


class _LoopThread:
    """A daemon thread running an event loop that other threads hand coroutines to."""

    def __init__(self, name: str) -> None:
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._group: anyio.abc.TaskGroup | None = None
        ready = threading.Event()

        async def main() -> None:
            async with anyio.create_task_group() as group:
                async with anyio.from_thread.BlockingPortal() as portal:
                    self._portal, self._group = portal, group
                    ready.set()
                    await portal.sleep_until_stopped()
                group.cancel_scope.cancel()

        # A daemon: a toolset nobody closed must not keep the interpreter from exiting (the
        # server's stdin closes with this process, and MCP servers exit on that).
        self._thread = threading.Thread(
            target=anyio.run, args=(main,), name=f"agentkit-mcp-{name}", daemon=True
        )
        self._thread.start()
        ready.wait()

    @property
    def group(self) -> anyio.abc.TaskGroup:
        assert self._group is not None
        return self._group

    def submit(self, func: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        assert self._portal is not None
        return self._portal.start_task_soon(func)

    def stop(self) -> None:
        if self._portal is not None and self._thread.is_alive():
            self._portal.call(self._portal.stop, True)
        self._thread.join()


class Connection:
    """A server's session and tool list; every method but the `*_now` shells runs on its loop.

    Args:
        spec: Where the server is.
        logger: Where the server's stderr lines and log messages go.
        probe_timeout: Seconds the check after an abandoned call may take.
    """

    def __init__(self, spec: ServerSpec, logger: logging.Logger, probe_timeout: float) -> None:
        self.spec = spec
        self.logger = logger
        self.probe_timeout = probe_timeout
        self.tools: list[dict[str, object]] = []
        self.listed = 0  # how many times the tool list was read
        self.starts = 0  # how many times the server was started
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._stop: anyio.Event | None = None
        self._stopped: anyio.Event | None = None
        self._broken: str | None = None  # why the session must be restarted
        self._broken_event: anyio.Event | None = None
        self._suspect = False  # a call was abandoned: check the server before the next one
        self._changed = True  # the tool list must be read (again)
        self._guard: anyio.Lock | None = None

    # -- shells: from any thread or event loop --------------------------------------------------

    def run_now(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run `func` on the connection's loop and wait for it (blocking)."""
        return self._submit(func).result()

    async def run_async(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run `func` on the connection's loop; await it from any event loop.

        Cancelling the caller (a tool timeout) cancels the work on the connection's loop.
        """
        future = self._submit(func)
        try:
            return await anyio.to_thread.run_sync(future.result, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            future.cancel()
            raise

    def _submit(self, func: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._loop is None:
                self._loop = _LoopThread(self.spec.name)
            return self._loop.submit(func)

    def shutdown(self) -> None:
        """Stop the server and the loop thread (blocking); a later call starts both again."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        with contextlib.suppress(concurrent.futures.CancelledError, RuntimeError):
            loop.submit(self._close).result()
        loop.stop()
        self._guard = None

    # -- on the connection's loop ---------------------------------------------------------------

    async def refresh(self) -> bool:
        """Start the server if needed and read its tools if they may have changed.

        Returns:
            Whether the tool list was read.

        Raises:
            MCPServerError: The server cannot be started or listed.
        """
        async with self._lock_on_loop():
            before = self.listed
            await self._ready()
            return self.listed != before

    async def call(
        self, name: str, arguments: dict[str, object], meta: dict[str, object] | None
    ) -> dict[str, object]:
        """Call a tool; returns the result's JSON.

        Raises:
            MCPServerError: The server could not be started.
            ToolCallFailed: The call failed (the message says why, for the model).
        """
        async with self._lock_on_loop():
            client = await self._ready()
            broken = self._broken_event
        assert broken is not None
        outcome: list[dict[str, object]] = []

        async def race() -> None:
            # The call against the session breaking (data that is not MCP): the first wins.
            async with anyio.create_task_group() as group:

                async def call() -> None:
                    result = await client.call_tool(name, arguments, meta=meta)  # type: ignore[arg-type]
                    outcome.append(result.model_dump(by_alias=True, mode="json", exclude_none=True))
                    group.cancel_scope.cancel()

                async def watch() -> None:
                    await broken.wait()
                    group.cancel_scope.cancel()

                group.start_soon(call)
                group.start_soon(watch)

        try:
            try:
                await race()
            except BaseExceptionGroup as group:  # one of the two tasks failed: that error
                raise _only(group) from None
        except anyio.get_cancelled_exc_class():
            self._suspect = True  # abandoned (a timeout): is the server still there?
            raise
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._mark_broken("it closed the connection during the call (it exited?)")
                raise ToolCallFailed(self._restart_note("closed the connection")) from exc
            raise ToolCallFailed(f"MCP error {exc.code}: {exc}") from exc
        except pydantic.ValidationError as exc:
            self._mark_broken("it answered with an invalid result")
            raise ToolCallFailed(self._restart_note("answered with an invalid result")) from exc
        except RuntimeError as exc:  # structured content that breaks the tool's output schema
            raise ToolCallFailed(f"MCP server {self.spec.name!r}: {exc}") from exc
        if not outcome:
            raise ToolCallFailed(self._restart_note(self._broken or "failed"))
        return outcome[0]

    def abandoned(self) -> None:
        """A call was given up (its timeout): check the server before it is used again."""
        self._suspect = True

    def _restart_note(self, what: str) -> str:
        return (
            f"The MCP server {self.spec.name!r} {what}; the call did not complete. "
            "The server will be restarted on the next call."
        )

    def _lock_on_loop(self) -> anyio.Lock:
        if self._guard is None:
            self._guard = anyio.Lock()
        return self._guard

    def _mark_broken(self, why: str) -> None:
        if self._broken is None:
            self._broken = why
            self.logger.warning(
                "MCP server %r: %s; restarting it on the next call", self.spec.name, why
            )
        if self._broken_event is not None:
            self._broken_event.set()

    async def _ready(self) -> Client:
        if self._client is not None and self._suspect and self._broken is None:
            self._suspect = False
            with anyio.move_on_after(self.probe_timeout) as scope:
                try:
                    await self._list()
                except (MCPError, pydantic.ValidationError, OSError) as exc:
                    self._mark_broken(f"it failed a check after an abandoned call ({exc})")
            if scope.cancelled_caught:
                self._mark_broken("it did not answer a check after an abandoned call")
        if self._client is not None and self._broken is not None:
            await self._close()
        if self._client is None:
            await self._open()
        if self._changed:
            try:
                await self._list()
            except (MCPError, pydantic.ValidationError) as exc:
                self._mark_broken(f"listing its tools failed ({exc})")
                raise MCPServerError(self.spec.name, f"listing its tools failed: {exc}") from exc
        assert self._client is not None
        return self._client

    async def _list(self) -> None:
        assert self._client is not None
        self._changed = False
        tools: list[dict[str, object]] = []
        cursor: str | None = None
        while True:
            page = await self._client.list_tools(cursor=cursor)
            tools.extend(
                t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in page.tools
            )
            cursor = page.next_cursor
            if cursor is None:
                break
        self.tools = tools
        self.listed += 1

    async def _open(self) -> None:
        self._broken = None
        self._suspect = False
        self._changed = True
        self._broken_event = anyio.Event()
        self._stop, self._stopped = anyio.Event(), anyio.Event()
        assert self._loop is not None
        try:
            self._client = await self._loop.group.start(self._own)
        except Exception as exc:
            raise MCPServerError(self.spec.name, f"could not start: {_describe(exc)}") from exc
        self.starts += 1

    async def _close(self) -> None:
        if self._stop is not None and self._stopped is not None:
            self._stop.set()
            await self._stopped.wait()
        self._client = None

    async def _own(self, *, task_status: anyio.abc.TaskStatus[Client]) -> None:
        """Hold the session open (entered and exited in this one task) until `_close`."""
        stop, stopped = self._stop, self._stopped
        assert stop is not None and stopped is not None
        started = False
        try:
            async with contextlib.AsyncExitStack() as stack:
                client = Client(
                    await self._transport(stack),  # type: ignore[arg-type]
                    message_handler=self._on_message,
                    logging_callback=self._on_log,
                    client_info=mcp_types.Implementation(name="agentkit", version=__version__),
                    cache=None,
                )
                await stack.enter_async_context(client)
                async with anyio.create_task_group() as group:
                    capabilities = client.server_capabilities.tools
                    if (
                        client.protocol_version in MODERN_PROTOCOL_VERSIONS
                        and capabilities is not None
                        and capabilities.list_changed
                    ):
                        group.start_soon(self._listen, client)
                    task_status.started(client)
                    started = True
                    await stop.wait()
                    group.cancel_scope.cancel()
        except Exception as exc:
            if not started:
                raise
            self._mark_broken(f"its session failed ({_describe(exc)})")
        finally:
            stopped.set()

    async def _transport(self, stack: contextlib.AsyncExitStack) -> object:
        """The transport to enter (the `mcp.Client` enters it: that spawns or connects)."""
        spec = self.spec
        if spec.transport == "stdio":
            assert spec.command is not None
            read_fd, write_fd = os.pipe()
            _pipe_to_logger(os.fdopen(read_fd, "rb"), self.logger, spec.name)
            errlog = os.fdopen(write_fd, "w")
            stack.callback(errlog.close)
            params = StdioServerParameters(
                command=spec.command, args=list(spec.args), env=dict(spec.env or {}), cwd=spec.cwd
            )
            return stdio_client(params, errlog=errlog)
        assert spec.url is not None
        if spec.transport == "sse":
            return sse_client(spec.url, headers=dict(spec.headers))
        http = await stack.enter_async_context(create_mcp_http_client(headers=dict(spec.headers)))
        return streamable_http_client(spec.url, http_client=http)

    async def _listen(self, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._changed = True
        except Exception as exc:  # the session ends or the server refuses: no refresh pushes
            self.logger.debug(
                "MCP server %r: tool list subscription ended: %s", self.spec.name, exc
            )

    async def _on_message(self, message: object) -> None:
        if isinstance(message, Exception):
            self._mark_broken(f"it sent data that is not MCP ({_describe(message)})")
        elif isinstance(message, mcp_types.ToolListChangedNotification):
            self._changed = True

    async def _on_log(self, params: mcp_types.LoggingMessageNotificationParams) -> None:
        self.logger.info("MCP server %r log (%s): %s", self.spec.name, params.level, params.data)


class ToolCallFailed(Exception):
    """A call to an MCP tool failed; the message is for the model."""


def _only(group: BaseExceptionGroup[BaseException]) -> BaseException:
    return group.exceptions[0] if len(group.exceptions) == 1 else group


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _describe(exc.exceptions[0])
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _pipe_to_logger(stream: IO[bytes], logger: logging.Logger, name: str) -> None:
    """Send each line the server writes to stderr to `logger` (a thread reads until EOF)."""

    def pump() -> None:
        with stream:
            for line in stream:
                logger.info("%s: %s", name, line.decode("utf-8", "replace").rstrip())

    threading.Thread(target=pump, name=f"agentkit-mcp-stderr-{name}", daemon=True).start()
