"""The sync and async shells of the in-process driver: they perform the I/O the core asks for.

`sync_events` runs a run in the caller's thread (tools on a blocking portal's event loop);
`async_events` in the caller's event loop. Everything else a run does is in `_core.run_flow`.
"""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import ExitStack
from functools import partial
from typing import TYPE_CHECKING

import anyio
import anyio.from_thread
import anyio.to_thread
from typing_extensions import assert_never

from .._exceptions import ConfigurationError
from ..client._messages import body_spec
from ..stores import AsyncConversationStore, to_async
from ..streaming import AsyncMessageStreamManager, MessageStreamManager
from ..tools._execute import ToolOutcome
from ..types._message import Message
from ._events import AgentEvent, RunFinished, ToolCallFinished
from ._hooks import (
    Pending,
    async_value,
    sync_value,
)
from ._loop import (
    Emit,
)

if TYPE_CHECKING:
    from ..client import AsyncClient, Client
    from ..stores import ConversationStore

from ._core import (
    Block,
    Journal,
    ModelCall,
    Run,
    RunParts,
    ToolCalls,
    agent_event,
    beta_headers,
    decoder_kwargs,
    model_spec,
    run_flow,
)

__all__ = ["Journal", "RunParts", "async_events", "sync_events"]


def sync_events(client: Client, parts: RunParts) -> Iterator[AgentEvent]:
    """Run the loop in this thread; yield its events (deltas too when `parts.stream`)."""
    store = parts.store
    if store is not None and inspect.iscoroutinefunction(store.commit):
        raise ConfigurationError("a sync run needs a sync store (or use arun)")
    run = Run(run_flow(parts, store))
    with ExitStack() as stack:
        portal: anyio.from_thread.BlockingPortal | None = None
        op = run.step()
        while op is not None:
            try:
                value: object = None
                match op:
                    case Pending():
                        value = sync_value(op.value)
                    case ModelCall():
                        value = yield from _call_sync(client, parts, op)
                    case ToolCalls():
                        if portal is None:
                            portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                            stack.enter_context(portal.wrap_async_context_manager(parts.runtime))
                        value = yield from _sync_tools(portal, parts, op)
                    case Emit():
                        yield op.event
                    case _:
                        assert_never(op)
            except BaseException as exc:
                op = run.step(error=exc)
            else:
                op = run.step(value)
    assert run.result is not None
    yield RunFinished(run.result)


def _call_sync(
    client: Client, parts: RunParts, op: ModelCall
) -> Generator[AgentEvent, None, Message]:
    if not parts.streams_model():
        headers = beta_headers(parts.spec.betas)
        return client.call(body_spec(client, op.body(stream=False), stream=False, headers=headers))
    spec = model_spec(client, op.body(stream=True), True, parts.spec.betas)
    manager = MessageStreamManager(
        partial(client.send, spec, stream=True), **decoder_kwargs(client)
    )
    with manager as events:
        tool_ids: dict[int, str] = {}
        for raw in events:
            event = agent_event(raw, tool_ids)
            if event is not None and parts.stream:
                yield event
        return events.get_final_message()


def _sync_tools(
    portal: anyio.from_thread.BlockingPortal, parts: RunParts, op: ToolCalls
) -> Generator[AgentEvent, None, list[ToolOutcome]]:
    """Run the calls on the portal's event loop, yielding each outcome as it finishes."""
    finished: queue.SimpleQueue[ToolOutcome | None] = queue.SimpleQueue()
    store = parts.store
    conversation = op.conversation

    async def journal(result: Block) -> None:
        assert store is not None
        write = partial(
            store.journal_tool_result, conversation.id, result, version=conversation.version
        )
        await anyio.to_thread.run_sync(write)  # the store is sync, and this is the portal's loop

    ended = threading.Event()

    async def run_calls() -> list[ToolOutcome]:
        try:
            return await parts.run_calls(op, journal if store else None, finished.put)
        finally:
            ended.set()

    future = portal.start_task_soon(run_calls)
    future.add_done_callback(lambda _: finished.put(None))
    try:
        while (outcome := finished.get()) is not None:
            yield ToolCallFinished(outcome)
    finally:
        if not ended.is_set():
            # Left early (the caller closed the stream, or an interrupt): cancel the calls and
            # wait for them to end before the runtime closes the resources they are using.
            future.cancel()
            ended.wait()
    return future.result()


# -- the async shell ------------------------------------------------------------------------------


async def async_events(client: AsyncClient, parts: RunParts) -> AsyncGenerator[AgentEvent, None]:
    """Run the loop in this task; yield its events (deltas too when `parts.stream`)."""
    store = _async_store(parts.store)
    run = Run(run_flow(parts, store))
    runtime = parts.runtime
    entered = False
    try:
        op = run.step()
        while op is not None:
            try:
                value: object = None
                match op:
                    case Pending():
                        value = await async_value(op.value)
                    case ModelCall():
                        async for item in _call_async(client, parts, op):
                            if isinstance(item, Message):
                                value = item
                            else:
                                yield item
                    case ToolCalls():
                        if not entered:
                            await runtime.__aenter__()
                            entered = True
                        finished: list[ToolOutcome] = []
                        value = await _run_calls(store, parts, op, finished)
                        if parts.stream:
                            # After the whole step, not as each call finishes: see `Agent.astream`.
                            for outcome in finished:
                                yield ToolCallFinished(outcome)
                    case Emit():
                        yield op.event
                    case _:
                        assert_never(op)
            except BaseException as exc:
                op = run.step(error=exc)
            else:
                op = run.step(value)
    finally:
        if entered:
            with anyio.CancelScope(shield=True):
                await runtime.__aexit__(None, None, None)
    assert run.result is not None
    yield RunFinished(run.result)


async def _call_async(
    client: AsyncClient, parts: RunParts, op: ModelCall
) -> AsyncGenerator[AgentEvent | Message, None]:
    """The model call's events, then its message."""
    if not parts.streams_model():
        headers = beta_headers(parts.spec.betas)
        spec = body_spec(client, op.body(stream=False), stream=False, headers=headers)
        message = await client.call(spec)
        yield message
        return
    streamed = model_spec(client, op.body(stream=True), True, parts.spec.betas)
    manager = AsyncMessageStreamManager(
        partial(client.send, streamed, stream=True), **decoder_kwargs(client)
    )
    async with manager as events:
        tool_ids: dict[int, str] = {}
        async for raw in events:
            event = agent_event(raw, tool_ids)
            if event is not None and parts.stream:
                yield event
        yield await events.get_final_message()


async def _run_calls(
    store: ConversationStore | AsyncConversationStore | None,
    parts: RunParts,
    op: ToolCalls,
    finished: list[ToolOutcome],
) -> list[ToolOutcome]:
    """Run the calls, journaling each result; `finished` gets them in the order they finished.

    The caller yields their events once the step is over, on purpose: yielding from inside a
    task group would leave its cancel scope on the caller's task whenever the caller stops
    iterating early (a `break`), and the garbage collector would later close it from another
    task, cancelling the caller (PEP 789). An async generator cannot own a background task
    safely, so it does not try.
    """
    conversation = op.conversation

    async def journal(result: Block) -> None:
        assert store is not None
        await async_value(
            store.journal_tool_result(conversation.id, result, version=conversation.version)
        )

    return await parts.run_calls(op, journal if store else None, finished.append)


def _async_store(
    store: ConversationStore | AsyncConversationStore | None,
) -> ConversationStore | AsyncConversationStore | None:
    """The store as an async run calls it: a sync store's calls go to worker threads."""
    if store is None or isinstance(store, AsyncConversationStore):
        return store
    if inspect.iscoroutinefunction(store.commit):
        return store  # a sync-looking class with async methods: called as it is
    return to_async(store)
