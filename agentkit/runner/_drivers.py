"""The two drivers that perform the agent loop's effects: one sync, one async.

`_loop.agent_loop` decides; a driver only does what it yields: it calls the model (streaming or
not), runs tools through the `ToolRuntime` (the sync driver on a blocking portal's event loop),
commits steps to the store, journals tool results, and hands events to the caller. Both are event
generators over the same effects; everything they share is a plain function here.
"""

from __future__ import annotations

import inspect
import queue
import threading
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
)
from contextlib import ExitStack, aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread

from .._exceptions import ConfigurationError
from ..client._messages import body_spec
from ..conversation._conversation import Conversation
from ..streaming._events import ContentBlockStartEvent, InputJsonEvent, TextEvent, ThinkingEvent
from ..tools._context import RunContext
from ..tools._execute import Approval, ToolCall, ToolOutcome, ToolRuntime
from ._events import (
    AgentEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolInputDelta,
)
from ._loop import CallHook, CallModel, Commit, Effect, Emit, LoadJournal, Loop, RunTools

if TYPE_CHECKING:
    from ..stores import AsyncConversationStore
    from ._agent import Agent, Hooks, Prompt

__all__ = [
    "Run",
    "agent_event",
    "async_events",
    "call_hooks_async",
    "call_hooks_sync",
    "decoder_kwargs",
    "journaler",
    "model_spec",
    "resolve_async",
    "resolve_sync",
    "sync_events",
]

# A non-streaming call with more max_tokens than this may outlast the ten-minute idle limit of
# a silent HTTP request (see `_base.check_long_request`), so the runner streams it instead.
_STREAM_ABOVE_MAX_TOKENS = 21_333


@dataclass
class Run:
    """One run's moving parts, shared by both drivers."""

    loop: Loop
    conversation: Conversation
    deps: Any
    run_id: str
    stream: bool
    metadata: dict[str, Any] = field(default_factory=dict)


def _context_factory(
    agent: Agent[Any, Any], run: Run, effect: RunTools
) -> Callable[[ToolCall], RunContext[Any]]:
    base = RunContext(
        deps=run.deps,
        conversation_id=run.conversation.id,
        run_id=run.run_id,
        turn=effect.turn,
        usage=effect.usage,
        metadata=run.metadata,
    )
    return lambda call: base.for_call(tool_use_id=call.id, tool_name=call.name)


def model_spec(agent: Agent[Any, Any], client: Any, body: bytes, stream: bool) -> Any:
    headers = {"anthropic-beta": ",".join(agent.betas)} if agent.betas else None
    if stream:  # the loop builds one body for both modes; streaming adds one field up front
        body = b'{"stream":true,' + body[1:]
    return body_spec(client, body, stream=stream, headers=headers)


def _streams_model(agent: Agent[Any, Any], run: Run) -> bool:
    return run.stream or int(agent._spec.params.get("max_tokens", 0)) > _STREAM_ABOVE_MAX_TOKENS


def sync_events(
    agent: Agent[Any, Any],
    prompt: Prompt,
    conversation: Conversation | str | None,
    deps: Any,
    approvals: Mapping[str, Approval] | None,
    stream: bool,
) -> Iterator[AgentEvent]:
    from ..streaming._streams import MessageStreamManager

    client = agent._client(sync=True)
    store = agent.store
    if store is not None and inspect.iscoroutinefunction(store.commit):
        raise ConfigurationError("a sync run needs a sync store (or use arun)")
    conv = _open_sync(agent, conversation)
    run = agent._start(prompt, conv, deps, approvals, stream)
    runtime = agent._runtime()
    with ExitStack() as stack:
        portal: anyio.from_thread.BlockingPortal | None = None
        effect: Effect | None = next(run.loop)
        try:
            while True:
                value: Any = None
                if isinstance(effect, CallModel):
                    spec = model_spec(agent, client, effect.body, _streams_model(agent, run))
                    if spec.stream:
                        manager = MessageStreamManager(
                            partial(client._send, spec, stream=True), **decoder_kwargs(client)
                        )
                        with manager as events:
                            tool_ids: dict[int, str] = {}
                            for raw in events:
                                event = agent_event(raw, tool_ids)
                                if event is not None and run.stream:
                                    yield event
                            value = events.get_final_message()
                    else:
                        value = client._call(spec)
                elif isinstance(effect, RunTools):
                    if portal is None:
                        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                        stack.enter_context(portal.wrap_async_context_manager(runtime))
                    value = yield from _sync_tools(agent, portal, runtime, run, effect)
                elif isinstance(effect, Commit):
                    _commit_sync(agent, effect.conversation)
                elif isinstance(effect, LoadJournal):
                    value = _load_journal_sync(agent, run.conversation)
                elif isinstance(effect, Emit):
                    yield effect.event
                elif isinstance(effect, CallHook):
                    value = call_hooks_sync(agent.hooks, effect)
                effect = run.loop.send(value)
        except StopIteration:
            return
        except GeneratorExit:
            raise  # the caller stopped iterating: not an error of the run
        except BaseException as exc:
            for hook in agent.hooks.on_error:
                resolve_sync(hook(exc, run.conversation))
            raise
        finally:
            run.loop.close()


def _sync_tools(
    agent: Agent[Any, Any],
    portal: anyio.from_thread.BlockingPortal,
    runtime: ToolRuntime,
    run: Run,
    effect: RunTools,
) -> Generator[AgentEvent, None, list[ToolOutcome]]:
    """Run the calls on the portal's event loop, yielding each outcome as it finishes."""
    finished: queue.SimpleQueue[ToolOutcome | None] = queue.SimpleQueue()
    journal = journaler(agent, run.conversation)

    async def on_outcome(outcome: ToolOutcome) -> None:
        await journal(outcome)
        finished.put(outcome)

    ended = threading.Event()

    async def run_calls() -> list[ToolOutcome]:
        try:
            return await runtime.run_calls(
                effect.calls,
                context_factory=_context_factory(agent, run, effect),
                approvals=effect.approvals,
                on_outcome=on_outcome,
            )
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


def _open_sync(agent: Agent[Any, Any], conversation: Conversation | str | None) -> Conversation:
    store = agent.store
    if isinstance(conversation, str):
        if store is None:
            raise ConfigurationError("a conversation id needs a store: pass store=...")
        return store.load(conversation)  # type: ignore[return-value]
    conv = conversation if conversation is not None else Conversation()
    if store is not None and conv.version == 0 and not _is_stored_sync(agent, conv):
        store.create(conv)
    return conv


def _is_stored_sync(agent: Agent[Any, Any], conv: Conversation) -> bool:
    from ..stores import ConversationNotFoundError

    try:
        agent.store.load(conv.id)  # type: ignore[union-attr]
    except ConversationNotFoundError:
        return False
    return True


def _commit_sync(agent: Agent[Any, Any], conversation: Conversation) -> None:
    if agent.store is not None:
        agent.store.commit(conversation)
    else:
        conversation.version = len(conversation)
    agent._journal.pop(conversation.id, None)


def _load_journal_sync(
    agent: Agent[Any, Any], conversation: Conversation
) -> dict[str, dict[str, Any]]:
    if agent.store is not None:
        return agent.store.journaled_tool_results(conversation.id)  # type: ignore[return-value]
    return dict(agent._journal.get(conversation.id, {}))


def journaler(
    agent: Agent[Any, Any], conversation: Conversation
) -> Callable[[ToolOutcome], Awaitable[None]]:
    """Durably record each finished result before the step commits (for resume)."""
    store = agent.store

    async def journal(outcome: ToolOutcome) -> None:
        if outcome.result is None:
            return
        if store is None:
            agent._journal.setdefault(conversation.id, {})[outcome.call.id] = outcome.result
            return
        write = partial(
            store.journal_tool_result,
            conversation.id,
            outcome.result,
            version=conversation.version,
        )
        if inspect.iscoroutinefunction(store.journal_tool_result):
            await write()  # type: ignore[misc]
        else:
            await anyio.to_thread.run_sync(write)

    return journal


async def async_events(
    agent: Agent[Any, Any],
    prompt: Prompt,
    conversation: Conversation | str | None,
    deps: Any,
    approvals: Mapping[str, Approval] | None,
    stream: bool,
) -> AsyncGenerator[AgentEvent, None]:
    from ..streaming._streams import AsyncMessageStreamManager

    client = agent._client(sync=False)
    store = _async_store(agent.store)
    conv = await _open_async(agent, store, conversation)
    run = agent._start(prompt, conv, deps, approvals, stream)
    runtime = agent._runtime()
    entered = False
    effect: Effect | None = next(run.loop)
    try:
        while True:
            value: Any = None
            if isinstance(effect, CallModel):
                spec = model_spec(agent, client, effect.body, _streams_model(agent, run))
                if spec.stream:
                    manager = AsyncMessageStreamManager(
                        partial(client._send, spec, stream=True), **decoder_kwargs(client)
                    )
                    async with manager as events:
                        tool_ids: dict[int, str] = {}
                        async for raw in events:
                            event = agent_event(raw, tool_ids)
                            if event is not None and run.stream:
                                yield event
                        value = await events.get_final_message()
                else:
                    value = await client._call(spec)
            elif isinstance(effect, RunTools):
                if not entered:
                    await runtime.__aenter__()
                    entered = True
                journal = journaler(agent, run.conversation)
                if run.stream:
                    outcomes: list[ToolOutcome] = []
                    tools = _tools_streaming(
                        runtime, effect, _context_factory(agent, run, effect), journal, outcomes
                    )
                    async with aclosing(tools):  # its task group must exit in this task
                        async for item in tools:
                            yield item
                    value = outcomes
                else:
                    value = await runtime.run_calls(
                        effect.calls,
                        context_factory=_context_factory(agent, run, effect),
                        approvals=effect.approvals,
                        on_outcome=journal,
                    )
            elif isinstance(effect, Commit):
                if store is not None:
                    await store.commit(effect.conversation)
                else:
                    effect.conversation.version = len(effect.conversation)
                agent._journal.pop(effect.conversation.id, None)
            elif isinstance(effect, LoadJournal):
                if store is not None:
                    value = await store.journaled_tool_results(run.conversation.id)
                else:
                    value = dict(agent._journal.get(run.conversation.id, {}))
            elif isinstance(effect, Emit):
                yield effect.event
            elif isinstance(effect, CallHook):
                value = await call_hooks_async(agent.hooks, effect)
            effect = run.loop.send(value)
    except StopIteration:
        return
    except GeneratorExit:
        raise  # the caller stopped iterating: not an error of the run
    except BaseException as exc:
        for hook in agent.hooks.on_error:
            await resolve_async(hook(exc, run.conversation))
        raise
    finally:
        run.loop.close()
        if entered:
            with anyio.CancelScope(shield=True):
                await runtime.__aexit__(None, None, None)


async def _open_async(
    agent: Agent[Any, Any],
    store: AsyncConversationStore | None,
    conversation: Conversation | str | None,
) -> Conversation:
    from ..stores import ConversationNotFoundError

    if isinstance(conversation, str):
        if store is None:
            raise ConfigurationError("a conversation id needs a store: pass store=...")
        return await store.load(conversation)
    conv = conversation if conversation is not None else Conversation()
    if store is not None and conv.version == 0:
        try:
            await store.load(conv.id)
        except ConversationNotFoundError:
            await store.create(conv)
    return conv


# -- helpers ------------------------------------------------------------------------------------


def agent_event(raw: Any, tool_ids: dict[int, str]) -> AgentEvent | None:
    """The agent-level event for a stream helper event (None for the ones UIs don't need)."""
    kind = type(raw)
    if kind is TextEvent:
        return TextDelta(raw.text, raw.index)
    if kind is ThinkingEvent:
        return ThinkingDelta(raw.thinking, raw.index)
    if kind is InputJsonEvent:
        call_id = tool_ids.get(raw.index)
        if call_id is not None:
            return ToolInputDelta(call_id, raw.partial_json, raw.snapshot)
        return None
    if kind is ContentBlockStartEvent and raw.content_block.get("type") == "tool_use":
        block = raw.content_block
        tool_ids[raw.index] = block["id"]
        return ToolCallStarted(block["id"], block["name"], raw.index)
    return None


def decoder_kwargs(client: Any) -> dict[str, Any]:
    factory = client._stream_decoder()
    return {} if factory is None else {"decoder_factory": factory}


def _async_store(store: Any) -> AsyncConversationStore | None:
    if store is None:
        return None
    if inspect.iscoroutinefunction(store.commit):
        return store  # type: ignore[no-any-return]
    from ..stores import to_async

    return to_async(store)


async def _tools_streaming(
    runtime: ToolRuntime,
    effect: RunTools,
    context_factory: Callable[[ToolCall], RunContext[Any]],
    journal: Callable[[ToolOutcome], Awaitable[None]],
    outcomes: list[ToolOutcome],
) -> AsyncGenerator[AgentEvent, None]:
    """Run the calls, then yield their outcomes in the order they finished; fills `outcomes` in
    model order.

    The events come after the whole step, not as each call finishes, on purpose: yielding from
    inside a task group would leave its cancel scope on the caller's task whenever the caller
    stops iterating early (a `break`), and the garbage collector would later close it from
    another task, cancelling the caller (PEP 789). An async generator cannot own a background
    task safely, so it does not try.
    """
    finished: list[ToolOutcome] = []

    async def on_outcome(outcome: ToolOutcome) -> None:
        await journal(outcome)
        finished.append(outcome)

    outcomes.extend(
        await runtime.run_calls(
            effect.calls,
            context_factory=context_factory,
            approvals=effect.approvals,
            on_outcome=on_outcome,
        )
    )
    for outcome in finished:
        yield ToolCallFinished(outcome)


def call_hooks_sync(hooks: Hooks, effect: CallHook) -> Any:
    if effect.kind == "before_model":
        params = effect.payload
        for hook in hooks.before_model:
            params = resolve_sync(hook(params, effect.conversation)) or params
        return params
    for hook in hooks.after_model:
        resolve_sync(hook(effect.payload, effect.conversation))
    return None


async def call_hooks_async(hooks: Hooks, effect: CallHook) -> Any:
    if effect.kind == "before_model":
        params = effect.payload
        for hook in hooks.before_model:
            params = await resolve_async(hook(params, effect.conversation)) or params
        return params
    for hook in hooks.after_model:
        await resolve_async(hook(effect.payload, effect.conversation))
    return None


def resolve_sync(value: Any) -> Any:
    if inspect.isawaitable(value):
        raise ConfigurationError("an async hook cannot run in a sync run; use arun()")
    return value


async def resolve_async(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
