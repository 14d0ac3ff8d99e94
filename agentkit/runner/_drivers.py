"""The sync and async shells of the in-process driver: they perform the I/O the core asks for.

`sync_events` runs a run in the caller's thread (sync tools there too, or in the run's pool of
worker threads; tools that need an event loop on a blocking portal's);
`async_events` in the caller's event loop. Everything else a run does is in `_core.run_flow`.
"""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import ExitStack
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread
from typing_extensions import assert_never

from .._exceptions import ConfigurationError
from ..client._messages import message_spec
from ..streaming import AsyncMessageStreamManager, MessageStreamManager
from ..tools._execute import ToolOutcome
from ._events import AgentEvent, RunFinished, ToolCallFinished
from ._hooks import (
    Pending,
    async_value,
    sync_value,
)
from ._loop import Emit, journal_entries
from ._telemetry import observe

if TYPE_CHECKING:
    import anyio.from_thread

    from ..client import AsyncClient, Client
    from ..stores import AsyncConversationStore, ConversationStore
    from ..types._message import Message

from ._core import (
    Block,
    Journal,
    Lease,
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
    run = Run(observe(parts, run_flow(parts, store), client))
    with ExitStack() as stack:
        stack.callback(_release_sync, parts)
        portal: anyio.from_thread.BlockingPortal | None = None
        entered = keeping = False
        op = run.step()
        while op is not None:
            if parts.lease is not None and not keeping:
                # Taken by the run's first store call: a thread keeps it while this one waits
                # for the model or the tools.
                stack.callback(_keep_sync(parts.lease, store))
                keeping = True
            try:
                value: object = None
                match op:
                    case Pending():
                        value = sync_value(op.value)
                    case ModelCall():
                        value = yield from _call_sync(client, parts, op)
                    case ToolCalls() if parts.runtime.runs_without_loop(op.effect.calls):
                        value = yield from _tools_here(parts, op)
                    case ToolCalls():
                        if portal is None:
                            # Loaded here, not at import: anyio's portal module costs a few
                            # milliseconds of every cold start (issue 18).
                            import anyio.from_thread

                            portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                        if not entered:
                            stack.enter_context(portal.wrap_async_context_manager(parts.runtime))
                            entered = True
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


def _keep_sync(lease: Lease, store: object) -> Callable[[], None]:
    """Refresh the lease from a thread every third of its time; returns what stops it."""
    stop = threading.Event()

    from ..stores import ConversationStore  # loaded already: the run has a store

    def keep() -> None:
        while isinstance(store, ConversationStore) and not stop.wait(lease.ttl / 3):
            try:
                lease.refreshed_with(
                    store.take_lease(lease.conversation_id, lease.owner, ttl=lease.ttl)
                )
            except Exception:  # unreachable for now: the lease lapses only after `ttl`
                continue

    thread = threading.Thread(target=keep, name="agentkit-lease", daemon=True)
    thread.start()

    def stop_keeping() -> None:
        stop.set()
        thread.join()

    return stop_keeping


def _release_sync(parts: RunParts) -> None:
    """Give the run's lease up as the run ends, however it ends."""
    lease, parts.lease = parts.lease, None
    store = parts.store
    if lease is None or store is None:
        return
    from ..stores import ConversationStore  # loaded already: the run has a store

    if isinstance(store, ConversationStore):
        store.release_lease(lease.conversation_id, lease.owner)


def _call_sync(
    client: Client, parts: RunParts, op: ModelCall
) -> Generator[AgentEvent, None, Message]:
    if not parts.streams_model():
        headers = beta_headers(parts.spec.betas)
        return client.call(message_spec(op.body(stream=False), headers=headers))
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


def _tools_here(parts: RunParts, op: ToolCalls) -> Generator[AgentEvent, None, list[ToolOutcome]]:
    """Run calls that need no event loop from this thread, journaling each result as it ends."""
    store, conversation = parts.store, op.conversation
    calls = parts.runtime.run_calls_sync(
        op.effect.calls,
        context_factory=parts.context_factory(op),
        approvals=op.effect.approvals,
        scope=parts.tool_scope,
    )
    try:
        while True:
            outcome = next(calls)
            for block in journal_entries(outcome):
                if store is None:
                    parts.remember(conversation.id, block)
                else:
                    write = store.journal_tool_result
                    sync_value(write(conversation.id, block, version=conversation.version))
            if parts.stream:
                yield ToolCallFinished(outcome)
    except StopIteration as stop:
        outcomes: list[ToolOutcome] = stop.value
        return outcomes
    finally:
        calls.close()


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
            if parts.stream:
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
    from ..types._message import Message  # the response models load on first use (issue 18)

    store = _async_store(parts.store)
    parts.sleep = anyio.sleep
    run = Run(observe(parts, run_flow(parts, store), client))
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
                    case ModelCall() if not parts.streams_model():
                        headers = beta_headers(parts.spec.betas)
                        spec = message_spec(op.body(stream=False), headers=headers)
                        value = await _kept(parts.lease, store, partial(client.call, spec))
                    case ModelCall():
                        async for item in _streamed_call(client, parts, op, store):
                            if isinstance(item, Message):
                                value = item
                            else:
                                yield item
                    case ToolCalls():
                        if not entered:
                            await runtime.__aenter__()
                            entered = True
                        finished: list[ToolOutcome] = []
                        calls = partial(_run_calls, store, parts, op, finished)
                        value = await _kept(parts.lease, store, calls)
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
        with anyio.CancelScope(shield=True):
            if entered:
                await runtime.__aexit__(None, None, None)
            lease, parts.lease = parts.lease, None
            if lease is not None and store is not None:
                await async_value(store.release_lease(lease.conversation_id, lease.owner))
    assert run.result is not None
    yield RunFinished(run.result)


T = TypeVar("T")


def _kept(
    lease: Lease | None,
    store: ConversationStore | AsyncConversationStore | None,
    work: Callable[[], Awaitable[T]],
) -> Awaitable[T]:
    """`work()`, with a task refreshing the lease meanwhile when the run holds one (without
    one, `work()` itself: no coroutine between the run and the work)."""
    if lease is None or store is None:
        return work()
    return _keeping(lease, store, work)


async def _keeping(
    lease: Lease,
    store: ConversationStore | AsyncConversationStore,
    work: Callable[[], Awaitable[T]],
) -> T:
    """Await `work` while a task refreshes the lease every third of its time.

    No `yield` happens inside the task group (see `_run_calls` for why that matters).
    """

    async def keep() -> None:
        while True:
            await anyio.sleep(lease.ttl / 3)
            await _refresh(lease, store)

    error: BaseException | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(keep)
        try:
            result = await work()
        except BaseException as exc:  # raised below as itself, not inside an exception group
            error = exc
        tg.cancel_scope.cancel()
    if error is not None:
        raise error
    return result


async def _refresh(lease: Lease, store: ConversationStore | AsyncConversationStore) -> None:
    try:
        holder = await async_value(
            store.take_lease(lease.conversation_id, lease.owner, ttl=lease.ttl)
        )
    except Exception:  # unreachable for now: the lease lapses only after its whole `ttl`
        return
    lease.refreshed_with(holder)


async def _streamed_call(
    client: AsyncClient,
    parts: RunParts,
    op: ModelCall,
    store: ConversationStore | AsyncConversationStore | None,
) -> AsyncGenerator[AgentEvent | Message, None]:
    """A streamed model call's events, then its message (the lease kept meanwhile)."""
    lease = parts.lease
    streamed = model_spec(client, op.body(stream=True), True, parts.spec.betas)
    manager = AsyncMessageStreamManager(
        partial(client.send, streamed, stream=True), **decoder_kwargs(client)
    )
    async with manager as events:
        tool_ids: dict[int, str] = {}
        async for raw in events:
            if lease is not None and store is not None and lease.due():
                await _refresh(lease, store)
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
    if store is None:
        return None
    from ..stores import AsyncConversationStore, to_async  # loaded already: there is a store

    if isinstance(store, AsyncConversationStore):
        return store
    if inspect.iscoroutinefunction(store.commit):
        return store  # a sync-looking class with async methods: called as it is
    return to_async(store)
