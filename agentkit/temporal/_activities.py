"""The activities of a durable run: open the conversation, call the model, run a tool, commit.

Each activity reads the conversation from the agent's store and writes its step back, so the
workflow only passes references (conversation id, version, step). Every write is idempotent per
(workflow id, step): the committed message carries its step key in `meta`, and a retried
attempt that finds its key already committed returns what was committed instead of calling the
model again. Tool results are journaled in the store as they finish, before `on_event` hears
of them; a retried tool call whose result is journaled returns it without running the tool a
second time. Every activity heartbeats in the background for its whole life (store calls, hooks
and `on_event` included), so `heartbeat_timeout` detects a dead worker, never a slow hook.

Retries belong to Temporal here: the model client runs with `max_retries=0`, and API errors
become `ApplicationError`s, retryable (with `retry-after` as the next delay) or not.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import anyio
from pydantic_core import to_json
from temporalio import activity
from temporalio.exceptions import ApplicationError

from .._exceptions import ConfigurationError, StoreConflictError
from ..conversation._conversation import Conversation
from ..observability._telemetry import DEFAULT_TELEMETRY
from ..runner._events import AgentEvent, ToolCallFinished
from ..runner._hooks import after_model_async, before_model_async
from ..runner._loop import OutputSpec, journal_entries, next_action, stop_marker
from ..runner._telemetry import provider_name, tool_scope, traced_call
from ..runner._transcript import check_output, opening_of, reply_of, user_content
from ..tools._context import RunContext
from ..tools._execute import Allow, Deny, ToolCall, ToolRuntime
from ..tools._tool import tool_result
from ..types._message import Message
from ._errors import error_for
from ._registry import StreamEvent, TemporalAgent
from ._types import (
    Block,
    CommitInput,
    ModelInput,
    ModelResult,
    OpenInput,
    OpenResult,
    ToolInput,
    ToolResult,
    ToolUse,
    Usage,
)

if TYPE_CHECKING:
    from ..client._client import AsyncClient
    from ..observability._spans import RunTrace
    from ..stores import AsyncConversationStore

if sys.version_info < (3, 11):  # pragma: no cover - anyio installs the backport there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["AgentActivities"]

T = TypeVar("T")

# Tool inputs up to this size ride in the workflow's history; larger ones are read from the store.
INLINE_INPUT_BYTES = 2048
STEP_KEY = "agentkit_step"


class AgentActivities:
    """The activities for a set of registered agents; `activities()` lists them for a worker.

    Use `async with` around the worker's life (the plugin does): it opens each agent's tool
    resources once and closes them, and the model clients, at the end.
    """

    def __init__(self, agents: Sequence[TemporalAgent]) -> None:
        self.agents = {a.name: a for a in agents}
        if not agents:
            raise ConfigurationError("register at least one TemporalAgent")
        if len(self.agents) != len(agents):
            raise ConfigurationError("two registered agents share a name")
        for entry in agents:
            if entry.agent.store is None:
                raise ConfigurationError(f"agent {entry.name!r}: a durable run needs a store")
        self._stores: dict[str, AsyncConversationStore] = {}
        self._clients: dict[str, AsyncClient] = {}
        self._runtimes: dict[str, ToolRuntime] = {}
        self._stack: AsyncExitStack | None = None

    def activities(self) -> list[Callable[..., object]]:
        """The activity callables to register on a worker."""
        return [self.open_run, self.model_call, self.tool_call, self.commit]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Hold tool resources and clients open while a worker runs."""
        async with AsyncExitStack() as stack:
            self._stack = stack
            try:
                yield
            finally:
                self._stack = None
                for client in self._clients.values():
                    await client.close()
                self._clients.clear()
                self._runtimes.clear()

    # -- per-agent resources --------------------------------------------------------------------

    def _entry(self, name: str) -> TemporalAgent:
        entry = self.agents.get(name)
        if entry is None:
            raise ApplicationError(
                f"no agent {name!r} is registered on this worker", type="UnknownAgent"
            )
        return entry

    def _store(self, name: str) -> AsyncConversationStore:
        store = self._stores.get(name)
        if store is None:
            from ..stores import AsyncConversationStore, to_async

            raw = self._entry(name).agent.store
            assert raw is not None  # checked when registered
            store = raw if isinstance(raw, AsyncConversationStore) else to_async(raw)
            self._stores[name] = store
        return store

    def _client(self, name: str) -> AsyncClient:
        client = self._clients.get(name)
        if client is None:
            from ..client._client import AsyncClient

            configured = self._entry(name).agent.client
            if configured is None:
                client = AsyncClient(max_retries=0)
            elif isinstance(configured, AsyncClient):
                # Temporal retries the activity; retrying inside it too would multiply attempts
                # and hide the server's retry-after from the retry policy.
                client = configured.with_options(max_retries=0)
            else:
                raise ConfigurationError(
                    f"agent {name!r}: Temporal activities need an AsyncClient (or none)"
                )
            self._clients[name] = client
        return client

    def _trace(self, name: str, conversation_id: str) -> RunTrace | None:
        """The spans of one activity: children of the activity's own span, which Temporal's
        `TracingInterceptor` makes a descendant of the run's trace."""
        agent = self._entry(name).agent
        client = self._client(name)
        return (agent.telemetry or DEFAULT_TELEMETRY).start_run(
            model=agent.model,
            provider=provider_name(client),
            server=client.base_url,
            conversation_id=conversation_id,
            invoke=False,
        )

    async def _runtime(self, name: str) -> ToolRuntime:
        runtime = self._runtimes.get(name)
        if runtime is None:
            runtime = self._entry(name).agent.tool_runtime()
            if self._stack is not None:  # outside `running()`, tools with resources fail
                await self._stack.enter_async_context(runtime)
            self._runtimes[name] = runtime
        return runtime

    # -- activities -----------------------------------------------------------------------------

    @activity.defn(name="agentkit.open.v1")
    async def open_run(self, params: OpenInput) -> OpenResult:
        """Load or create the conversation; report its version and any calls still pending."""
        entry = self._entry(params.agent)
        store = self._store(params.agent)
        from ..stores import ConversationNotFoundError

        try:
            conversation = await store.load(params.conversation_id)
        except ConversationNotFoundError:
            conversation = Conversation(id=params.conversation_id)
            try:
                await store.create(conversation)
            except StoreConflictError:  # an earlier attempt created it
                conversation = await store.load(params.conversation_id)
        opening = opening_of(conversation)
        journaled: list[str] = []
        if opening.pending:
            journaled = sorted(await store.journaled_tool_results(params.conversation_id))
        return OpenResult(
            plan=entry.plan(),
            version=conversation.version,
            stop_reason=opening.stop_reason,
            pending=[_tool_use(c.block) for c in opening.pending],
            container=opening.container,
            journaled=journaled,
        )

    @activity.defn(name="agentkit.model_call.v1")
    async def model_call(self, params: ModelInput) -> ModelResult:
        """Stream one response for the stored conversation and commit it as step `step`."""
        return await _heartbeating(partial(self._model_call, params))

    async def _model_call(self, params: ModelInput) -> ModelResult:
        entry = self._entry(params.agent)
        agent = entry.agent
        store = self._store(params.agent)
        key = _step_key(params.step)
        if params.before is not None:
            # The conversation the commit loaded (and appended to) is the one to call on.
            conversation = _checked(await _commit_user(store, params.before), params.version, key)
        else:
            conversation = _checked(await store.load(params.conversation_id), params.version, key)
        if len(conversation) == params.version:
            spec = agent.spec
            request = dict(spec.params)
            if params.container is not None and "container" not in request:
                request["container"] = params.container
            request = await before_model_async(agent.hooks, request, conversation)
            try:
                body = conversation.request_body(
                    {"stream": True, **request},
                    cache=spec.cache,
                    check=spec.preflight,
                    betas=spec.betas,
                )
                run = self._trace(params.agent, params.conversation_id)
                stream = partial(self._stream, params.agent, body, params.step)
                message, miss = await traced_call(run, request, conversation, spec.cache, stream)
            except Exception as exc:
                mapped = error_for(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
            if miss is not None and entry.on_event is not None:
                await _emit(entry.on_event, params.step, miss)
            conversation.append(message, meta={STEP_KEY: key})
            try:
                await store.commit(conversation)
            except StoreConflictError as exc:
                # Another attempt of this step committed first; the retry returns its message.
                raise ApplicationError(str(exc), type="StoreConflictError") from exc
            await after_model_async(agent.hooks, message, conversation)
        reply = reply_of(conversation.entries[params.version], agent.spec)
        return ModelResult(
            version=params.version + 1,
            stop_reason=reply.stop_reason,
            tool_uses=[_tool_use(c.block) for c in reply.calls],
            usage=Usage.of(reply.usage),
            # Only a final answer's text rides in the history: the rest stays in the store.
            text=reply.text if next_action(reply.stop_reason) == "stop" else None,
            container=reply.container,
        )

    async def _stream(self, name: str, body: bytes, step: int) -> Message:
        from ..runner._core import agent_event, decoder_kwargs, model_spec
        from ..streaming._streams import AsyncMessageStreamManager

        client = self._client(name)
        entry = self._entry(name)
        spec = model_spec(client, body, True, entry.agent.spec.betas)
        manager = AsyncMessageStreamManager(
            partial(client.send, spec, stream=True), **decoder_kwargs(client)
        )
        sink = entry.on_event

        tool_ids: dict[int, str] = {}
        async with manager as events:
            async for raw in events:
                if sink is not None:
                    event = agent_event(raw, tool_ids)
                    if event is not None:
                        await _emit(sink, step, event)
            return await events.get_final_message()

    @activity.defn(name="agentkit.tool_call.v1")
    async def tool_call(self, params: ToolInput) -> ToolResult:
        """Run one tool call (unless its result is journaled already) and journal the result."""
        return await _heartbeating(partial(self._tool_call, params))

    async def _tool_call(self, params: ToolInput) -> ToolResult:
        entry = self._entry(params.agent)
        store = self._store(params.agent)
        call_id = params.call.id
        output = entry.agent.output
        if output is not None and params.call.name == output.tool_name:
            # Validating again is pure, so a retried attempt returns the answer as well.
            return await self._output_call(params, output, await self._call(params))
        journaled = await store.journaled_tool_results(params.conversation_id)
        if call_id in journaled:  # an earlier attempt finished but could not report
            block = journaled[call_id]
            stop = stop_marker(call_id) in journaled
            return ToolResult(call_id, "error" if block.get("is_error") else "ok", stop=stop)
        call = await self._call(params)
        info = activity.info()
        context = RunContext(
            deps=entry.deps,
            conversation_id=params.conversation_id,
            run_id=info.workflow_id,
            turn=params.turn,
            usage=params.usage.run_usage(),
            idempotency_key=f"{info.workflow_id}/{call_id}",
        )
        approvals: dict[str, Allow | Deny] = {}
        if params.approval is not None:
            approvals[call_id] = params.approval.decision()
        runtime = await self._runtime(params.agent)
        (outcome,) = await runtime.run_calls(
            [call],
            context_factory=lambda c: context.for_call(tool_use_id=c.id, tool_name=c.name),
            approvals=approvals,
            scope=tool_scope(self._trace(params.agent, params.conversation_id)),
        )
        if outcome.result is not None:
            # Journal first: from here on a retried attempt (a slow hook, a worker dying in
            # it) finds the result and returns it instead of running the tool again. A tool
            # that stopped the run leaves a marker before its result, so that attempt stops the
            # run too (a marker without a result only means the tool runs again, and stops).
            try:
                for block in journal_entries(outcome):
                    await store.journal_tool_result(
                        params.conversation_id, block, version=params.version
                    )
            except StoreConflictError as exc:
                raise ApplicationError(
                    str(exc), type="StoreConflictError", non_retryable=True
                ) from exc
        if entry.on_event is not None:
            await _emit(entry.on_event, params.step, ToolCallFinished(outcome))
        if outcome.status == "deferred":
            return ToolResult(call_id, "deferred", reason=outcome.reason)
        return ToolResult(call_id, outcome.status, stop=outcome.stop)

    async def _call(self, params: ToolInput) -> ToolCall:
        """The call, its input read from the stored assistant message when it was too large."""
        block_input = params.call.input
        if not params.call.inline:
            conversation = await self._store(params.agent).load(params.conversation_id)
            block_input = next(
                b.get("input", {})
                for b in conversation[params.version - 1].blocks
                if b.get("type") == "tool_use" and b.get("id") == params.call.id
            )
        return ToolCall.from_block(
            {
                "type": "tool_use",
                "id": params.call.id,
                "name": params.call.name,
                "input": block_input,
            }
        )

    async def _output_call(
        self, params: ToolInput, output: OutputSpec, call: ToolCall
    ) -> ToolResult:
        """Perform the loop's `CheckOutput`: validate the final answer and journal its result."""
        check, result = check_output(output, call)
        await self._store(params.agent).journal_tool_result(
            params.conversation_id, result, version=params.version
        )
        if check.error is not None:
            return ToolResult(params.call.id, "error", reason=check.error, is_output=True)
        answer = output.adapter.dump_python(check.value, mode="json")
        return ToolResult(params.call.id, "ok", output=answer, is_output=True)

    @activity.defn(name="agentkit.commit.v1")
    async def commit(self, params: CommitInput) -> int:
        """Commit one user message (tool results, cut-off answers, new blocks) as step `step`."""
        conversation = await _commit_user(self._store(params.agent), params)
        return min(len(conversation), params.version + 1)


async def _commit_user(store: AsyncConversationStore, params: CommitInput) -> Conversation:
    """Commit the user message `params` describes, once per step key.

    Returns:
        The conversation as loaded, with the message appended (unless it was committed before,
        or had no content).
    """
    key = _step_key(params.step)
    conversation = _checked(await store.load(params.conversation_id), params.version, key)
    if len(conversation) > params.version:
        return conversation
    results: dict[str, Block] = {}
    if params.answer == "results":
        results = {i: tool_result(i, text, is_error=True) for i, text in params.errors.items()}
        results.update(await store.journaled_tool_results(params.conversation_id))
    content = user_content(conversation, params.answer, results, params.content())
    if not content:
        return conversation
    conversation.append({"role": "user", "content": content}, meta={STEP_KEY: key})
    try:
        await store.commit(conversation)
    except StoreConflictError as exc:
        raise ApplicationError(str(exc), type="StoreConflictError") from exc
    return conversation


async def _heartbeating(body: Callable[[], Awaitable[T]]) -> T:
    """Run `body`, heartbeating meanwhile, so `heartbeat_timeout` detects a dead worker rather
    than a slow model, tool, store or hook (a tool or hook never has to heartbeat itself)."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        return await body()
    interval = timeout.total_seconds() / 3

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await anyio.sleep(interval)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(beat)
            result = await body()
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Only the body can fail (the beat loop just sleeps): raise its error as itself.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    return result


async def _emit(
    sink: Callable[[StreamEvent], Awaitable[None] | None], step: int, event: AgentEvent
) -> None:
    info = activity.info()
    result = sink(StreamEvent(info.workflow_id or "", step, info.attempt, event))
    if inspect.isawaitable(result):
        await result


def _step_key(step: int) -> str:
    return f"{activity.info().workflow_id}/{step}"


def _checked(conversation: Conversation, version: int, key: str) -> Conversation:
    """The conversation, checked to be at `version` or to hold this step's commit right after.

    The workflow is the conversation's only writer while it runs, so anything else means
    another writer appended: that cannot be repaired by retrying.
    """
    conversation_id = conversation.id
    if len(conversation) == version:
        return conversation
    if len(conversation) > version and conversation[version].meta.get(STEP_KEY) == key:
        return conversation
    raise ApplicationError(
        f"conversation {conversation_id!r} is at version {len(conversation)}, expected "
        f"{version}: another writer appended to it",
        type="StoreConflictError",
        non_retryable=True,
    )


def _tool_use(block: Mapping[str, object]) -> ToolUse:
    raw = block.get("input")
    raw = raw if isinstance(raw, dict) else {}
    inline = len(to_json(raw)) <= INLINE_INPUT_BYTES
    return ToolUse(str(block["id"]), str(block["name"]), raw if inline else None, inline)
