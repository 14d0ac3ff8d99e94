"""`Agent`: configuration plus the two drivers (sync and async) that perform the loop's effects.

The decisions live in `_loop.agent_loop`; a driver only performs what the loop yields: it calls
the model (streaming or not), runs tools through the `ToolRuntime`, commits to the store and hands
events to the caller. Both drivers are event generators; `run()` / `arun()` consume them.
"""

from __future__ import annotations

import inspect
import queue
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Literal

import anyio
import anyio.from_thread
import anyio.to_thread
from typing_extensions import TypeVar

from ._cache import CachePolicy
from ._context import RunContext
from ._conversation import Conversation
from ._events import (
    AgentEvent,
    RunFinished,
    RunResult,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolInputDelta,
)
from ._exceptions import ConfigurationError
from ._execute import AfterToolHook, Approval, BeforeToolHook, ToolCall, ToolOutcome, ToolRuntime
from ._loop import (
    CallHook,
    CallModel,
    Commit,
    Effect,
    Emit,
    Limits,
    LoadJournal,
    Loop,
    OutputSpec,
    RunSpec,
    RunTools,
    agent_loop,
)
from ._messages import body_spec
from ._schema import _clean
from ._stream_events import ContentBlockStartEvent, InputJsonEvent, TextEvent, ThinkingEvent
from ._tools import ToolLike, Toolset
from ._usage import ModelPrice

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from .stores import AsyncConversationStore, ConversationStore

__all__ = ["Agent", "Hooks"]

DepsT = TypeVar("DepsT", default=None)
OutputT = TypeVar("OutputT", default=str)

Prompt = str | Iterable[Mapping[str, Any]] | None

# A non-streaming call with more max_tokens than this may outlast the ten-minute idle limit of
# a silent HTTP request (see `_base.check_long_request`), so the runner streams it instead.
_STREAM_ABOVE_MAX_TOKENS = 21_333


@dataclass(frozen=True)
class Hooks:
    """Callbacks around model and tool calls; each may be sync or async.

    Attributes:
        before_model: `(params, conversation) -> params | None`; return changed request fields.
        after_model: `(message, conversation) -> None`, after each response is committed.
        before_tool: `(call, ctx) -> Allow | Deny | Defer | ReplaceInput | None`.
        after_tool: `(call, outcome, ctx) -> ToolOutcome | None`; may replace the outcome.
        on_error: `(error, conversation) -> None`, when a run fails (the error still raises).
    """

    before_model: tuple[Callable[..., Any], ...] = ()
    after_model: tuple[Callable[..., Any], ...] = ()
    before_tool: tuple[BeforeToolHook, ...] = ()
    after_tool: tuple[AfterToolHook, ...] = ()
    on_error: tuple[Callable[..., Any], ...] = ()


@dataclass
class _Run:
    """One run's moving parts, shared by both drivers."""

    loop: Loop
    conversation: Conversation
    deps: Any
    run_id: str
    stream: bool
    metadata: dict[str, Any] = field(default_factory=dict)


class Agent(Generic[DepsT, OutputT]):
    """A model, its instructions and tools, and the loop that runs them.

    Args:
        model: The model id, e.g. `"claude-sonnet-4-5"`.
        system: The system prompt (text or text blocks).
        tools: `@tool` functions, plain functions, `Tool`s and raw tool dicts (server tools).
        client: A `Client` or `AsyncClient` (or a cloud-host client); built from the
            environment when omitted.
        max_tokens: The response budget per model call.
        params: Other request fields (thinking, tool_choice, temperature, output_config,
            context_management, ...), sent with every call.
        betas: Beta names for the `anthropic-beta` header.
        cache: Prompt caching: `"auto"` (top-level `cache_control`, the default), `"explicit"`,
            `"off"`, or a `CachePolicy`.
        limits: Turn, token, cost and tool-error budgets per run.
        prices: Price overrides by model prefix (USD per million tokens).
        output_type: Makes the run return a validated instance of this type.
        store: Persists every step (a sync store for `run`, sync or async for `arun`).
        hooks: Callbacks around model and tool calls.
        tool_timeout: Seconds a tool call may take unless its tool says otherwise.
        max_concurrency: Tool calls of one turn run at most this many at once.
        preflight: Check each request against the API's documented rules before sending.
        on_max_tokens: `"stop"` (default) or `"continue"` to ask the model to go on.
    """

    def __init__(
        self,
        model: str,
        *,
        system: str | Iterable[Mapping[str, Any]] | None = None,
        tools: Toolset | Iterable[ToolLike] = (),
        client: Client | AsyncClient | None = None,
        max_tokens: int = 4096,
        params: Mapping[str, Any] | None = None,
        betas: Iterable[str] = (),
        cache: CachePolicy | Literal["auto", "explicit", "off"] = "auto",
        limits: Limits | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        output_type: type[OutputT] | None = None,
        store: ConversationStore | AsyncConversationStore | None = None,
        hooks: Hooks | None = None,
        tool_timeout: float | None = None,
        max_concurrency: int = 16,
        preflight: bool = True,
        on_max_tokens: Literal["stop", "continue"] = "stop",
    ) -> None:
        self.model = model
        self.toolset = Toolset.of(tools)
        self.client = client
        self.store = store
        self.hooks = hooks or Hooks()
        self.tool_timeout = tool_timeout
        self.max_concurrency = max_concurrency
        self.output = OutputSpec(output_type) if output_type is not None else None
        request: dict[str, Any] = {"model": model, "max_tokens": max_tokens, **(params or {})}
        if system is not None:
            request["system"] = system if isinstance(system, str) else list(system)
        tool_params = self.toolset.to_params()
        if self.output is not None:
            tool_params.append(_output_tool(self.output))
        if tool_params:
            request["tools"] = tool_params
        self.betas = tuple(betas)
        self._spec = RunSpec(
            params=request,
            cache=cache if isinstance(cache, CachePolicy) else CachePolicy(mode=cache),
            betas=self.betas,
            preflight=preflight,
            limits=limits or Limits(),
            prices=prices,
            output=self.output,
            on_max_tokens=on_max_tokens,
            hooks=bool(self.hooks.before_model or self.hooks.after_model),
        )
        self._journal: dict[str, dict[str, dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, tools={self.toolset.names!r})"

    @property
    def request_params(self) -> dict[str, Any]:
        """The request fields every model call carries (besides `messages`)."""
        return dict(self._spec.params)

    # -- public entry points --------------------------------------------------------------------

    def run(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model stops (sync).

        Args:
            prompt: The user message: text or content blocks; None to continue the conversation
                (after approvals, or to resume a run that stopped).
            conversation: A `Conversation`, a stored conversation's id, or None for a new one.
            deps: Your dependencies, handed to tools through `RunContext.deps`.
            approvals: Decisions on calls waiting for a human, by tool_use id.

        Returns:
            The run's result.

        Raises:
            LimitExceededError: A budget ran out (`.result` has everything that happened).
            OutputValidationError: The structured output never validated.
            APIError: The API failed after retries.
        """
        client = self._client(sync=True)
        if client is None:
            return anyio.run(
                partial(
                    self.arun, prompt, conversation=conversation, deps=deps, approvals=approvals
                )
            )
        result: RunResult[OutputT] = _last_result(
            self._sync_events(prompt, conversation, deps, approvals, False)
        )
        return result

    async def arun(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> RunResult[OutputT]:
        """Run the tool loop until the model stops (async); see `run`."""
        if self._client(sync=False) is None:
            return await anyio.to_thread.run_sync(
                partial(self.run, prompt, conversation=conversation, deps=deps, approvals=approvals)
            )
        result: RunResult[OutputT] | None = None
        async for event in self._async_events(prompt, conversation, deps, approvals, False):
            if isinstance(event, RunFinished):
                result = event.result
        assert result is not None
        return result

    def stream(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> Iterator[AgentEvent]:
        """Run the loop streaming: yields text and thinking deltas, tool calls as they start
        and finish, each finished turn, and last `RunFinished` with the result."""
        if self._client(sync=True) is None:
            raise ConfigurationError("this agent has an async client: use `astream`")
        yield from self._sync_events(prompt, conversation, deps, approvals, True)

    async def astream(
        self,
        prompt: Prompt = None,
        *,
        conversation: Conversation | str | None = None,
        deps: DepsT | None = None,
        approvals: Mapping[str, Approval] | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """The async twin of `stream`."""
        if self._client(sync=False) is None:
            raise ConfigurationError("this agent has a sync client: use `stream`")
        async for event in self._async_events(prompt, conversation, deps, approvals, True):
            yield event

    # -- shared setup ---------------------------------------------------------------------------

    def _client(self, *, sync: bool) -> Any:
        """The client for a sync or async run; None when only the other kind is configured."""
        if self.client is None:
            from ._client import AsyncClient, Client

            self.client = Client() if sync else AsyncClient()
        is_async = inspect.iscoroutinefunction(self.client._send)
        return self.client if is_async != sync else None

    def _start(
        self,
        prompt: Prompt,
        conversation: Conversation,
        deps: Any,
        approvals: Mapping[str, Approval] | None,
        stream: bool,
    ) -> _Run:
        from dataclasses import replace

        spec = self._spec if not approvals else replace(self._spec, approvals=dict(approvals))
        loop = agent_loop(spec, conversation, _prompt_blocks(prompt))
        return _Run(loop, conversation, deps, uuid.uuid4().hex, stream)

    def _runtime(self) -> ToolRuntime:
        return ToolRuntime(
            self.toolset,
            default_timeout=self.tool_timeout,
            max_concurrency=self.max_concurrency,
            before_tool=self.hooks.before_tool,
            after_tool=self.hooks.after_tool,
        )

    def _context_factory(
        self, run: _Run, effect: RunTools
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

    def _model_spec(self, client: Any, body: bytes, stream: bool) -> Any:
        headers = {"anthropic-beta": ",".join(self.betas)} if self.betas else None
        if stream:  # the loop builds one body for both modes; streaming adds one field up front
            body = b'{"stream":true,' + body[1:]
        return body_spec(client, body, stream=stream, headers=headers)

    def _streams_model(self, run: _Run) -> bool:
        return run.stream or int(self._spec.params.get("max_tokens", 0)) > _STREAM_ABOVE_MAX_TOKENS

    # -- the sync driver ------------------------------------------------------------------------

    def _sync_events(
        self,
        prompt: Prompt,
        conversation: Conversation | str | None,
        deps: Any,
        approvals: Mapping[str, Approval] | None,
        stream: bool,
    ) -> Iterator[AgentEvent]:
        from ._streaming import MessageStreamManager

        client = self._client(sync=True)
        store = self.store
        if store is not None and inspect.iscoroutinefunction(store.commit):
            raise ConfigurationError("a sync run needs a sync store (or use arun)")
        conv = self._open_sync(conversation)
        run = self._start(prompt, conv, deps, approvals, stream)
        runtime = self._runtime()
        with ExitStack() as stack:
            portal: anyio.from_thread.BlockingPortal | None = None
            effect: Effect | None = next(run.loop)
            try:
                while True:
                    value: Any = None
                    if isinstance(effect, CallModel):
                        spec = self._model_spec(client, effect.body, self._streams_model(run))
                        if spec.stream:
                            manager = MessageStreamManager(
                                partial(client._send, spec, stream=True), **_decoder_kwargs(client)
                            )
                            with manager as events:
                                tool_ids: dict[int, str] = {}
                                for raw in events:
                                    event = _agent_event(raw, tool_ids)
                                    if event is not None and run.stream:
                                        yield event
                                value = events.get_final_message()
                        else:
                            value = client._call(spec)
                    elif isinstance(effect, RunTools):
                        if portal is None:
                            portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
                            stack.enter_context(portal.wrap_async_context_manager(runtime))
                        value = yield from self._sync_tools(portal, runtime, run, effect)
                    elif isinstance(effect, Commit):
                        self._commit_sync(effect.conversation)
                    elif isinstance(effect, LoadJournal):
                        value = self._load_journal_sync(run.conversation)
                    elif isinstance(effect, Emit):
                        yield effect.event
                    elif isinstance(effect, CallHook):
                        value = _call_hooks_sync(self.hooks, effect)
                    effect = run.loop.send(value)
            except StopIteration:
                return
            except BaseException as exc:
                for hook in self.hooks.on_error:
                    _resolve_sync(hook(exc, run.conversation))
                raise
            finally:
                run.loop.close()

    def _sync_tools(
        self,
        portal: anyio.from_thread.BlockingPortal,
        runtime: ToolRuntime,
        run: _Run,
        effect: RunTools,
    ) -> Generator[AgentEvent, None, list[ToolOutcome]]:
        """Run the calls on the portal's event loop, yielding each outcome as it finishes."""
        finished: queue.SimpleQueue[ToolOutcome | None] = queue.SimpleQueue()
        journal = self._journaler(run.conversation)

        async def on_outcome(outcome: ToolOutcome) -> None:
            await journal(outcome)
            finished.put(outcome)

        future = portal.start_task_soon(
            partial(
                runtime.run_calls,
                effect.calls,
                context_factory=self._context_factory(run, effect),
                approvals=effect.approvals,
                on_outcome=on_outcome,
            )
        )
        future.add_done_callback(lambda _: finished.put(None))
        while (outcome := finished.get()) is not None:
            yield ToolCallFinished(outcome)
        return future.result()

    def _open_sync(self, conversation: Conversation | str | None) -> Conversation:
        store = self.store
        if isinstance(conversation, str):
            if store is None:
                raise ConfigurationError("a conversation id needs a store: pass store=...")
            return store.load(conversation)  # type: ignore[return-value]
        conv = conversation if conversation is not None else Conversation()
        if store is not None and conv.version == 0 and not self._is_stored_sync(conv):
            store.create(conv)
        return conv

    def _is_stored_sync(self, conv: Conversation) -> bool:
        from .stores import ConversationNotFoundError

        try:
            self.store.load(conv.id)  # type: ignore[union-attr]
        except ConversationNotFoundError:
            return False
        return True

    def _commit_sync(self, conversation: Conversation) -> None:
        if self.store is not None:
            self.store.commit(conversation)
        else:
            conversation.version = len(conversation)
        self._journal.pop(conversation.id, None)

    def _load_journal_sync(self, conversation: Conversation) -> dict[str, dict[str, Any]]:
        if self.store is not None:
            return self.store.journaled_tool_results(conversation.id)  # type: ignore[return-value]
        return dict(self._journal.get(conversation.id, {}))

    def _journaler(self, conversation: Conversation) -> Callable[[ToolOutcome], Awaitable[None]]:
        """Durably record each finished result before the step commits (for resume)."""
        store = self.store

        async def journal(outcome: ToolOutcome) -> None:
            if outcome.result is None:
                return
            if store is None:
                self._journal.setdefault(conversation.id, {})[outcome.call.id] = outcome.result
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

    # -- the async driver -----------------------------------------------------------------------

    async def _async_events(
        self,
        prompt: Prompt,
        conversation: Conversation | str | None,
        deps: Any,
        approvals: Mapping[str, Approval] | None,
        stream: bool,
    ) -> AsyncIterator[AgentEvent]:
        from ._streaming import AsyncMessageStreamManager

        client = self._client(sync=False)
        store = _async_store(self.store)
        conv = await self._open_async(store, conversation)
        run = self._start(prompt, conv, deps, approvals, stream)
        runtime = self._runtime()
        entered = False
        effect: Effect | None = next(run.loop)
        try:
            while True:
                value: Any = None
                if isinstance(effect, CallModel):
                    spec = self._model_spec(client, effect.body, self._streams_model(run))
                    if spec.stream:
                        manager = AsyncMessageStreamManager(
                            partial(client._send, spec, stream=True), **_decoder_kwargs(client)
                        )
                        async with manager as events:
                            tool_ids: dict[int, str] = {}
                            async for raw in events:
                                event = _agent_event(raw, tool_ids)
                                if event is not None and run.stream:
                                    yield event
                            value = await events.get_final_message()
                    else:
                        value = await client._call(spec)
                elif isinstance(effect, RunTools):
                    if not entered:
                        await runtime.__aenter__()
                        entered = True
                    journal = self._journaler(run.conversation)
                    if run.stream:
                        outcomes: list[ToolOutcome] = []
                        async for item in _tools_streaming(
                            runtime, effect, self._context_factory(run, effect), journal, outcomes
                        ):
                            yield item
                        value = outcomes
                    else:
                        value = await runtime.run_calls(
                            effect.calls,
                            context_factory=self._context_factory(run, effect),
                            approvals=effect.approvals,
                            on_outcome=journal,
                        )
                elif isinstance(effect, Commit):
                    if store is not None:
                        await store.commit(effect.conversation)
                    else:
                        effect.conversation.version = len(effect.conversation)
                    self._journal.pop(effect.conversation.id, None)
                elif isinstance(effect, LoadJournal):
                    if store is not None:
                        value = await store.journaled_tool_results(run.conversation.id)
                    else:
                        value = dict(self._journal.get(run.conversation.id, {}))
                elif isinstance(effect, Emit):
                    yield effect.event
                elif isinstance(effect, CallHook):
                    value = await _call_hooks_async(self.hooks, effect)
                effect = run.loop.send(value)
        except StopIteration:
            return
        except BaseException as exc:
            for hook in self.hooks.on_error:
                await _resolve_async(hook(exc, run.conversation))
            raise
        finally:
            run.loop.close()
            if entered:
                with anyio.CancelScope(shield=True):
                    await runtime.__aexit__(None, None, None)

    async def _open_async(
        self, store: AsyncConversationStore | None, conversation: Conversation | str | None
    ) -> Conversation:
        from .stores import ConversationNotFoundError

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


# -- helpers of both drivers (pure, or one call deep) -------------------------------------------


def _prompt_blocks(prompt: Prompt) -> list[dict[str, Any]] | None:
    if prompt is None:
        return None
    if isinstance(prompt, str):
        return [{"type": "text", "text": prompt}]
    return [dict(block) for block in prompt]


def _output_tool(output: OutputSpec) -> dict[str, Any]:
    schema = output.adapter.json_schema()
    _clean(schema)
    return {
        "name": output.tool_name,
        "description": "Give your final answer by calling this tool with it.",
        "input_schema": schema,
    }


def _agent_event(raw: Any, tool_ids: dict[int, str]) -> AgentEvent | None:
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


def _decoder_kwargs(client: Any) -> dict[str, Any]:
    factory = client._stream_decoder()
    return {} if factory is None else {"decoder_factory": factory}


def _last_result(events: Iterator[AgentEvent]) -> Any:
    result = None
    for event in events:
        if isinstance(event, RunFinished):
            result = event.result
    assert result is not None, "the run ended without a result"
    return result


def _async_store(store: Any) -> AsyncConversationStore | None:
    if store is None:
        return None
    if inspect.iscoroutinefunction(store.commit):
        return store  # type: ignore[no-any-return]
    from .stores import to_async

    return to_async(store)


async def _tools_streaming(
    runtime: ToolRuntime,
    effect: RunTools,
    context_factory: Callable[[ToolCall], RunContext[Any]],
    journal: Callable[[ToolOutcome], Awaitable[None]],
    outcomes: list[ToolOutcome],
) -> AsyncIterator[AgentEvent]:
    """Run the calls and yield each outcome as it finishes; fills `outcomes` in model order."""
    send, receive = anyio.create_memory_object_stream[ToolOutcome](len(effect.calls))

    async def on_outcome(outcome: ToolOutcome) -> None:
        await journal(outcome)
        await send.send(outcome)

    async def run_all() -> None:
        async with send:
            outcomes.extend(
                await runtime.run_calls(
                    effect.calls,
                    context_factory=context_factory,
                    approvals=effect.approvals,
                    on_outcome=on_outcome,
                )
            )

    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(run_all)
        async for outcome in receive:
            yield ToolCallFinished(outcome)


def _call_hooks_sync(hooks: Hooks, effect: CallHook) -> Any:
    if effect.kind == "before_model":
        params = effect.payload
        for hook in hooks.before_model:
            params = _resolve_sync(hook(params, effect.conversation)) or params
        return params
    for hook in hooks.after_model:
        _resolve_sync(hook(effect.payload, effect.conversation))
    return None


async def _call_hooks_async(hooks: Hooks, effect: CallHook) -> Any:
    if effect.kind == "before_model":
        params = effect.payload
        for hook in hooks.before_model:
            params = await _resolve_async(hook(params, effect.conversation)) or params
        return params
    for hook in hooks.after_model:
        await _resolve_async(hook(effect.payload, effect.conversation))
    return None


def _resolve_sync(value: Any) -> Any:
    if inspect.isawaitable(value):
        raise ConfigurationError("an async hook cannot run in a sync run; use arun()")
    return value


async def _resolve_async(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
