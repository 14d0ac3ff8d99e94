"""The in-process drivers of the agent loop: one sync, one async.

`_loop.agent_loop` decides; a driver does what it yields, matching on the effect's type: it
calls the model (streaming or not), runs tools through the `ToolRuntime` (the sync driver on a
blocking portal's event loop), commits steps to the store, journals tool results, and hands
events to the caller. The conversation's content lives in a `Transcript`; what both drivers
share is a plain function here. The third driver, whose effects are Temporal activities, is
`agentkit.temporal`'s workflow.
"""

from __future__ import annotations

import inspect
import queue
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread
from typing_extensions import assert_never

from .._exceptions import ConfigurationError, RunError
from ..client._messages import body_spec
from ..conversation._conversation import Conversation
from ..streaming._events import ContentBlockStartEvent, InputJsonEvent, TextEvent, ThinkingEvent
from ..tools._context import RunContext
from ..tools._execute import ToolCall, ToolOutcome, ToolRuntime
from ..types._message import Message
from ._events import AgentEvent, RunFinished, ToolCallFinished, ToolCallStarted
from ._hooks import (
    Hooks,
    after_model_async,
    after_model_sync,
    before_model_async,
    before_model_sync,
    on_error_async,
    on_error_sync,
)
from ._loop import (
    CallModel,
    CheckOutput,
    CommitUser,
    Emit,
    LoadJournal,
    LoopEnd,
    Open,
    RunSpec,
    RunTools,
    agent_loop,
)
from ._transcript import Transcript

if TYPE_CHECKING:
    from ..client._base import RequestSpec
    from ..client._client import AsyncClient, Client
    from ..stores import AsyncConversationStore, ConversationStore

__all__ = ["RunParts", "agent_event", "async_events", "decoder_kwargs", "model_spec", "sync_events"]

# A non-streaming call with more max_tokens than this may outlast the ten-minute idle limit of
# a silent HTTP request (see `_base.check_long_request`), so the runner streams it instead.
_STREAM_ABOVE_MAX_TOKENS = 21_333

Block = dict[str, Any]


@dataclass
class RunParts:
    """What a driver needs for one run; `Agent` builds it.

    Attributes:
        spec: The run's settings (approvals included).
        hooks: The agent's hooks.
        store: Where steps are committed (None: the conversation only counts its versions).
        runtime: Runs the tool calls (entered by the driver when a turn first needs it).
        journal: Tool results of unfinished steps by conversation id, when there is no store.
        deps: Handed to tools through `RunContext.deps`.
        stream: Whether the caller wants model deltas (else only the events of whole steps).
    """

    spec: RunSpec
    hooks: Hooks
    store: ConversationStore | AsyncConversationStore | None
    runtime: ToolRuntime
    journal: dict[str, dict[str, Block]]
    deps: object = None
    stream: bool = False
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    metadata: dict[str, Any] = field(default_factory=dict)

    def streams_model(self) -> bool:
        """Whether model calls stream (asked for, or too long for a silent request)."""
        max_tokens = self.spec.params.get("max_tokens", 0)
        long = isinstance(max_tokens, int) and max_tokens > _STREAM_ABOVE_MAX_TOKENS
        return self.stream or long

    def context_factory(
        self, conversation: Conversation, effect: RunTools
    ) -> Callable[[ToolCall], RunContext[Any]]:
        """The `RunContext` of each call of a `RunTools`."""
        base = RunContext(
            deps=self.deps,
            conversation_id=conversation.id,
            run_id=self.run_id,
            turn=effect.turn,
            usage=effect.usage,
            metadata=self.metadata,
        )
        return lambda call: base.for_call(tool_use_id=call.id, tool_name=call.name)

    def forget(self, conversation: Conversation) -> None:
        """A step was committed: its journaled results are part of the history now."""
        self.journal.pop(conversation.id, None)

    def remember(self, conversation: Conversation, outcome: ToolOutcome) -> None:
        """Journal a result in memory (no store)."""
        if outcome.result is not None:
            self.journal.setdefault(conversation.id, {})[outcome.call.id] = outcome.result


def model_spec(
    client: Client | AsyncClient, body: bytes, stream: bool, betas: Sequence[str]
) -> RequestSpec[Any]:
    """The request of a model call with a ready body."""
    headers = {"anthropic-beta": ",".join(betas)} if betas else None
    return body_spec(client, body, stream=stream, headers=headers)


def agent_event(raw: object, tool_ids: dict[int, str]) -> AgentEvent | None:
    """The event a run hands on for a stream helper event (None for the ones UIs don't need).

    Text and thinking deltas pass as they are; input deltas only for client tool calls, whose
    `ToolCallStarted` (made from the block's start) tells which call an index is.
    """
    if isinstance(raw, (TextEvent, ThinkingEvent)):
        return raw
    if isinstance(raw, InputJsonEvent):
        return raw if raw.index in tool_ids else None
    if isinstance(raw, ContentBlockStartEvent) and raw.content_block.get("type") == "tool_use":
        call_id, name = raw.content_block["id"], raw.content_block["name"]
        if isinstance(call_id, str) and isinstance(name, str):
            tool_ids[raw.index] = call_id
            return ToolCallStarted(call_id, name, raw.index)
    return None


def decoder_kwargs(client: Client | AsyncClient) -> dict[str, Any]:
    """The stream manager's decoder (a cloud host frames its streams its own way)."""
    return {"decoder_factory": client.event_decoder()}


def _with_result(exc: BaseException, transcript: Transcript) -> None:
    """A limit or output error out of the loop carries the run's result, not the loop's end."""
    if isinstance(exc, RunError) and isinstance(exc.result, LoopEnd):
        exc.result = transcript.result(exc.result)


# -- sync -----------------------------------------------------------------------------------------


def sync_events(
    client: Client,
    parts: RunParts,
    prompt: list[Block] | None,
    conversation: Conversation | str | None,
) -> Iterator[AgentEvent]:
    """Run the loop in this thread; yield its events (deltas too when `parts.stream`)."""
    store = parts.store
    if store is not None and inspect.iscoroutinefunction(store.commit):
        raise ConfigurationError("a sync run needs a sync store (or use arun)")
    sync_store: ConversationStore | None = store  # type: ignore[assignment]
    conv = _open_sync(sync_store, conversation)
    transcript = Transcript(parts.spec, conv)
    loop = agent_loop(parts.spec, prompt)
    with ExitStack() as stack:
        portal: anyio.from_thread.BlockingPortal | None = None
        try:
            effect = next(loop)
            while True:
                value: object = None
                match effect:
                    case Open():
                        value = transcript.opening()
                    case LoadJournal():
                        journal = (
                            sync_store.journaled_tool_results(conv.id)
                            if sync_store is not None
                            else dict(parts.journal.get(conv.id, {}))
                        )
                        value = transcript.journaled(journal)
                    case CallModel():
                        params = before_model_sync(parts.hooks, transcript.params(effect), conv)
                        message = yield from _call_sync(client, parts, transcript, params)
                        value = transcript.append_reply(message)
                        _commit_sync(sync_store, parts, conv)
                        after_model_sync(parts.hooks, message, conv)
                    case RunTools():
                        if portal is None:
                            portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                            stack.enter_context(portal.wrap_async_context_manager(parts.runtime))
                        outcomes = yield from _sync_tools(portal, sync_store, parts, conv, effect)
                        value = transcript.record(outcomes)
                    case CheckOutput():
                        value = transcript.check_output(effect.call, effect.output)
                    case CommitUser():
                        transcript.append_user(effect.answer, effect.blocks)
                        _commit_sync(sync_store, parts, conv)
                    case Emit():
                        yield effect.event
                    case _:
                        assert_never(effect)
                effect = loop.send(value)
        except StopIteration as stop:
            end: LoopEnd = stop.value
        except GeneratorExit:
            raise  # the caller stopped iterating: not an error of the run
        except BaseException as exc:
            _with_result(exc, transcript)
            on_error_sync(parts.hooks, exc, conv)
            raise
        finally:
            loop.close()
        yield RunFinished(transcript.result(end))


def _call_sync(
    client: Client, parts: RunParts, transcript: Transcript, params: dict[str, Any]
) -> Generator[AgentEvent, None, Message]:
    from ..streaming._streams import MessageStreamManager

    stream = parts.streams_model()
    spec = model_spec(client, transcript.body(params, stream=stream), stream, parts.spec.betas)
    if not stream:
        message: Message = client.call(spec)
        return message
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
    portal: anyio.from_thread.BlockingPortal,
    store: ConversationStore | None,
    parts: RunParts,
    conversation: Conversation,
    effect: RunTools,
) -> Generator[AgentEvent, None, list[ToolOutcome]]:
    """Run the calls on the portal's event loop, yielding each outcome as it finishes."""
    finished: queue.SimpleQueue[ToolOutcome | None] = queue.SimpleQueue()

    async def on_outcome(outcome: ToolOutcome) -> None:
        if store is None:
            parts.remember(conversation, outcome)
        elif outcome.result is not None:
            write = partial(
                store.journal_tool_result,
                conversation.id,
                outcome.result,
                version=conversation.version,
            )
            await anyio.to_thread.run_sync(write)
        finished.put(outcome)

    ended = threading.Event()

    async def run_calls() -> list[ToolOutcome]:
        try:
            return await parts.runtime.run_calls(
                effect.calls,
                context_factory=parts.context_factory(conversation, effect),
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


def _open_sync(
    store: ConversationStore | None, conversation: Conversation | str | None
) -> Conversation:
    from ..stores import ConversationNotFoundError

    if isinstance(conversation, str):
        if store is None:
            raise ConfigurationError("a conversation id needs a store: pass store=...")
        return store.load(conversation)
    conv = conversation if conversation is not None else Conversation()
    if store is not None and conv.version == 0:
        try:
            store.load(conv.id)
        except ConversationNotFoundError:
            store.create(conv)
    return conv


def _commit_sync(
    store: ConversationStore | None, parts: RunParts, conversation: Conversation
) -> None:
    if store is not None:
        store.commit(conversation)
    else:
        conversation.version = len(conversation)
    parts.forget(conversation)


# -- async ----------------------------------------------------------------------------------------


async def async_events(
    client: AsyncClient,
    parts: RunParts,
    prompt: list[Block] | None,
    conversation: Conversation | str | None,
) -> AsyncGenerator[AgentEvent, None]:
    """Run the loop in this task; yield its events (deltas too when `parts.stream`)."""
    store = _async_store(parts.store)
    conv = await _open_async(store, conversation)
    transcript = Transcript(parts.spec, conv)
    loop = agent_loop(parts.spec, prompt)
    runtime = parts.runtime
    entered = False
    try:
        effect = next(loop)
        while True:
            value: object = None
            match effect:
                case Open():
                    value = transcript.opening()
                case LoadJournal():
                    if store is not None:
                        value = transcript.journaled(await store.journaled_tool_results(conv.id))
                    else:
                        value = transcript.journaled(dict(parts.journal.get(conv.id, {})))
                case CallModel():
                    params = await before_model_async(parts.hooks, transcript.params(effect), conv)
                    message: Message | None = None
                    async for item in _call_async(client, parts, transcript, params):
                        if isinstance(item, Message):
                            message = item
                        else:
                            yield item
                    assert message is not None
                    value = transcript.append_reply(message)
                    await _commit_async(store, parts, conv)
                    await after_model_async(parts.hooks, message, conv)
                case RunTools():
                    if not entered:
                        await runtime.__aenter__()
                        entered = True
                    finished: list[ToolOutcome] = []
                    outcomes = await _run_calls(store, parts, conv, effect, finished)
                    if parts.stream:
                        # After the whole step, not as each call finishes: see `Agent.astream`.
                        for outcome in finished:
                            yield ToolCallFinished(outcome)
                    value = transcript.record(outcomes)
                case CheckOutput():
                    value = transcript.check_output(effect.call, effect.output)
                case CommitUser():
                    transcript.append_user(effect.answer, effect.blocks)
                    await _commit_async(store, parts, conv)
                case Emit():
                    yield effect.event
                case _:
                    assert_never(effect)
            effect = loop.send(value)
    except StopIteration as stop:
        end: LoopEnd = stop.value
    except GeneratorExit:
        raise  # the caller stopped iterating: not an error of the run
    except BaseException as exc:
        _with_result(exc, transcript)
        await on_error_async(parts.hooks, exc, conv)
        raise
    finally:
        loop.close()
        if entered:
            with anyio.CancelScope(shield=True):
                await runtime.__aexit__(None, None, None)
    yield RunFinished(transcript.result(end))


async def _call_async(
    client: AsyncClient, parts: RunParts, transcript: Transcript, params: dict[str, Any]
) -> AsyncGenerator[AgentEvent | Message, None]:
    """The model call's events, then its message."""
    from ..streaming._streams import AsyncMessageStreamManager

    stream = parts.streams_model()
    spec = model_spec(client, transcript.body(params, stream=stream), stream, parts.spec.betas)
    if not stream:
        yield await client.call(spec)
        return
    manager = AsyncMessageStreamManager(
        partial(client.send, spec, stream=True), **decoder_kwargs(client)
    )
    async with manager as events:
        tool_ids: dict[int, str] = {}
        async for raw in events:
            event = agent_event(raw, tool_ids)
            if event is not None and parts.stream:
                yield event
        yield await events.get_final_message()


async def _run_calls(
    store: AsyncConversationStore | None,
    parts: RunParts,
    conversation: Conversation,
    effect: RunTools,
    finished: list[ToolOutcome],
) -> list[ToolOutcome]:
    """Run the calls, journaling each result; `finished` gets them in the order they finished.

    The caller yields their events once the step is over, on purpose: yielding from inside a
    task group would leave its cancel scope on the caller's task whenever the caller stops
    iterating early (a `break`), and the garbage collector would later close it from another
    task, cancelling the caller (PEP 789). An async generator cannot own a background task
    safely, so it does not try.
    """

    async def on_outcome(outcome: ToolOutcome) -> None:
        if store is None:
            parts.remember(conversation, outcome)
        elif outcome.result is not None:
            await store.journal_tool_result(
                conversation.id, outcome.result, version=conversation.version
            )
        finished.append(outcome)

    return await parts.runtime.run_calls(
        effect.calls,
        context_factory=parts.context_factory(conversation, effect),
        approvals=effect.approvals,
        on_outcome=on_outcome,
    )


def _async_store(
    store: ConversationStore | AsyncConversationStore | None,
) -> AsyncConversationStore | None:
    if store is None:
        return None
    if inspect.iscoroutinefunction(store.commit):
        return store  # type: ignore[return-value]
    from ..stores import to_async

    return to_async(store)  # type: ignore[arg-type]


async def _open_async(
    store: AsyncConversationStore | None, conversation: Conversation | str | None
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


async def _commit_async(
    store: AsyncConversationStore | None, parts: RunParts, conversation: Conversation
) -> None:
    if store is not None:
        await store.commit(conversation)
    else:
        conversation.version = len(conversation)
    parts.forget(conversation)
