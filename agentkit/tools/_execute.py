"""Run the `tool_use` blocks of one assistant turn and turn each into a `tool_result` block.

A tool failure is a message to the model, not a crash: invalid input, an exception in the tool,
an unknown tool name and a timeout each become a `tool_result` with `is_error: true`. Only
`BaseException`s that are not `Exception`s escape (cancellation, `KeyboardInterrupt`,
`SystemExit`), plus errors of the caller's own code: hooks, the context factory and the
`on_outcome` callback.

The runner uses one `ToolRuntime` per run:

    async with ToolRuntime(tools) as runtime:          # opens tool resources
        outcomes = await runtime.run_calls(calls, context_factory=make_context)

Everything here is plain anyio, so a sync runner can drive it through a blocking portal; a
sync runner whose calls need no event loop (sync tools and hooks, no resources) runs them with
`run_calls_sync` instead, in its own thread and a reused pool. Both run each call through the
same flow (`ToolRuntime._call_flow`): only the shells that await and call differ.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, AsyncExitStack
from contextvars import Context, copy_context
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
import pydantic_core
from typing_extensions import Self

from .._exceptions import ToolError
from ._context import RunContext
from ._results import (
    CONTENT_BLOCK_TYPES,
    block_problem,
    json_text,
    truncate_content,
    valid_text,
)
from ._threads import in_worker
from ._tool import (
    ResourceFactory,
    StopRun,
    Tool,
    ToolLike,
    Toolset,
    exception_content,
    result_content,
    tool_result,
    unknown_tool_content,
    validation_error_content,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

if sys.version_info < (3, 11):  # pragma: no cover - anyio installs the backport there
    from exceptiongroup import BaseExceptionGroup

__all__ = [
    "AfterToolHook",
    "Allow",
    "Approval",
    "BeforeToolHook",
    "ContextFactory",
    "Decision",
    "Defer",
    "Deny",
    "OnOutcome",
    "OutcomeStatus",
    "ReplaceInput",
    "ToolCall",
    "ToolOutcome",
    "ToolRuntime",
    "ToolScope",
    "call_batches",
    "sendable",
]


@dataclass(frozen=True)
class ToolCall:
    """One `tool_use` block to execute.

    Attributes:
        id: The block's `id`; the result's `tool_use_id`.
        name: The tool name the model called.
        input: The arguments the model sent.
        block: The raw `tool_use` block as received.
    """

    id: str
    name: str
    input: object
    block: Mapping[str, object] = field(repr=False)

    @classmethod
    def from_block(cls, block: Mapping[str, object]) -> ToolCall:
        """Make a call from a `tool_use` block dict.

        Args:
            block: A `{"type": "tool_use", "id", "name", "input"}` dict.

        Returns:
            The call.

        Raises:
            KeyError: The block has no `id` or `name`.
            TypeError: Its `id` or `name` is not a string.
        """
        call_id, name = block["id"], block["name"]
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise TypeError(f"a tool_use block's id and name are strings: {dict(block)!r}")
        return cls(id=call_id, name=name, input=block.get("input", {}), block=block)


OutcomeStatus: TypeAlias = Literal["ok", "error", "denied", "deferred"]


@dataclass(frozen=True)
class ToolOutcome:
    """What became of one call.

    Attributes:
        call: The call (with its input replaced, if a hook replaced it).
        status: `"ok"`, `"error"` (failed; the model is told), `"denied"` (a hook or approval
            refused it; the model is told) or `"deferred"` (waiting for a human; no result yet).
        result: The `tool_result` block, or None when deferred.
        exception: The exception the tool raised, if any.
        duration: Seconds from start to finish of this call, hooks included.
        stop: The tool raised `StopRun`: the runner ends the run after this turn.
        reason: Why a call was deferred, when a hook said.
    """

    call: ToolCall
    status: OutcomeStatus
    result: dict[str, object] | None
    exception: BaseException | None = None
    duration: float = 0.0
    stop: bool = False
    reason: str | None = None

    @property
    def is_error(self) -> bool:
        """Whether the result tells the model the call failed or was refused."""
        return self.status in ("error", "denied")


@dataclass(frozen=True)
class Allow:
    """Run the call. From a `before_tool` hook, this also approves a `requires_approval` tool."""


@dataclass(frozen=True)
class Deny:
    """Do not run the call; the model gets `message` as an error result.

    Attributes:
        message: What the model is told.
    """

    message: str = "The tool call was denied."


@dataclass(frozen=True)
class Defer:
    """Do not run the call now: a human decides. The outcome is `"deferred"`, with no result.

    Attributes:
        reason: Shown to whoever decides.
    """

    reason: str | None = None


@dataclass(frozen=True)
class ReplaceInput:
    """Run the call with different input (validated like the model's).

    Attributes:
        input: The input to use.
    """

    input: Mapping[str, object]


Decision: TypeAlias = "Allow | Deny | Defer | ReplaceInput"
Approval: TypeAlias = "Allow | Deny"
ContextFactory: TypeAlias = Callable[[ToolCall], RunContext[object]]
BeforeToolHook: TypeAlias = Callable[
    [ToolCall, RunContext[Any]], "Decision | Awaitable[Decision | None] | None"
]
AfterToolHook: TypeAlias = Callable[
    [ToolCall, ToolOutcome, RunContext[Any]], "ToolOutcome | Awaitable[ToolOutcome | None] | None"
]
OnOutcome: TypeAlias = Callable[[ToolOutcome], "Awaitable[None] | None"]


def call_batches(names: Sequence[str], is_sequential: Callable[[str], bool]) -> list[list[int]]:
    """Group a turn's calls (by tool name) into batches run one after another.

    Calls in a batch run together. A sequential tool's call is a batch of its own, so it overlaps
    with nothing: the calls the model listed before it finish first, and the ones after it start
    when it is done. Every driver orders a turn's calls this way (the Temporal workflow too).

    Returns:
        Lists of indexes into `names`, in order.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for i, name in enumerate(names):
        if is_sequential(name):
            if current:
                batches.append(current)
                current = []
            batches.append([i])
        else:
            current.append(i)
    if current:
        batches.append(current)
    return batches


def _segments(calls: Sequence[ToolCall], toolset: Toolset) -> list[list[int]]:
    def is_sequential(name: str) -> bool:
        tool = toolset.get(name)
        return tool is not None and tool.sequential

    return call_batches([call.name for call in calls], is_sequential)


T = TypeVar("T")


ToolScope: TypeAlias = Callable[[ToolCall], AbstractContextManager[Callable[[ToolOutcome], None]]]
"""Wraps each call where it runs (the runner's tracing span): entered before the call's hooks,
given the final outcome, exited after it (see `ToolRuntime.run_calls(scope=)`)."""


async def _maybe_await(value: Awaitable[T] | T) -> T:
    return await value if inspect.isawaitable(value) else value


class ToolRuntime:
    """Executes tool calls for one run, and owns the resources the run's tools hold.

    Use it as an async context manager: entering opens every resource declared by the tools
    (`@tool(resources={"db": open_db})`), exiting closes them in reverse order, also when the
    run fails. Sync context managers are entered and exited in the event loop's thread, so keep
    their setup short. A runtime whose tools declare no resources can be used without entering
    it. A sync runner enters it through its portal (`portal.wrap_async_context_manager`).

    Args:
        tools: The run's tools (a `Toolset`, or tools, functions and raw tool dicts).
        default_timeout: Seconds a call may take when its tool sets no `timeout`; None for none.
        max_concurrency: At most this many calls run at once.
        max_threads: At most this many sync tools run at once (each in a worker thread).
        before_tool: Hooks asked before each call, in order. Each returns None (no opinion) or a
            `Decision`; the first `Deny` or `Defer` wins, `ReplaceInput` changes the input for
            later hooks and the call, and `Allow` also approves a `requires_approval` tool.
        after_tool: Hooks called with each outcome, in order; one may return a replacement.
            They see the whole result; what is sent is checked after them (`sendable`).
        max_result_chars: Text past this many characters in a result is cut, with a note to
            the model saying how much was cut; None sends everything.
        executor: Where `run_calls_sync` runs sync tools that do not run in the caller's
            thread; by default a pool of `min(max_threads, max_concurrency)` threads, made on
            first use and kept by the runtime (an `Agent` hands each run its own pool).
    """

    def __init__(
        self,
        tools: Toolset | Iterable[ToolLike],
        *,
        default_timeout: float | None = None,
        max_concurrency: int = 16,
        max_threads: int = 8,
        before_tool: Sequence[BeforeToolHook] = (),
        after_tool: Sequence[AfterToolHook] = (),
        max_result_chars: int | None = 100_000,
        executor: Executor | None = None,
    ) -> None:
        self.toolset = Toolset.of(tools)
        self.max_result_chars = max_result_chars
        self.default_timeout = default_timeout
        self.max_concurrency = max_concurrency
        self.max_threads = max_threads
        self.before_tool = tuple(before_tool)
        self.after_tool = tuple(after_tool)
        self.executor = executor
        self._stack: AsyncExitStack | None = None
        self._resources: dict[ResourceFactory, object] = {}

    async def __aenter__(self) -> Self:
        for source in self.toolset.sources:  # MCP servers: started, their tools listed
            await anyio.to_thread.run_sync(source.refresh_tools, abandon_on_cancel=True)
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            for t in self.toolset:
                for factory in t.resources.values():
                    if factory in self._resources:
                        continue  # shared by several tools, opened once
                    manager = factory()
                    if isinstance(manager, AbstractAsyncContextManager):
                        self._resources[factory] = await stack.enter_async_context(manager)
                    else:
                        self._resources[factory] = stack.enter_context(manager)
        except BaseException:
            await stack.aclose()
            self._resources.clear()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        self._resources.clear()
        if stack is not None:
            await stack.__aexit__(exc_type, exc, traceback)

    async def run_calls(
        self,
        calls: Iterable[ToolCall | Mapping[str, object]],
        *,
        context_factory: ContextFactory | None = None,
        approvals: Mapping[str, Approval] | None = None,
        on_outcome: OnOutcome | None = None,
        scope: ToolScope | None = None,
    ) -> list[ToolOutcome]:
        """Run one turn's calls concurrently and return their outcomes in the model's order.

        Args:
            calls: `ToolCall`s or raw `tool_use` block dicts, in the model's order.
            context_factory: Makes the `RunContext` for a call (the runner fills deps, usage,
                ids ...); by default a context with `deps=None` naming the call.
            approvals: A human's decisions on deferred calls, by `tool_use` id. `Deny` refuses
                the call; `Allow` lets it run even though its tool requires approval or a hook
                defers it (a hook's `Deny` still wins). A `requires_approval` call with no
                decision is deferred, unless a `before_tool` hook returns `Allow`.
            on_outcome: Called (sync or async) as each call finishes, before the others do.
            scope: Makes a context manager each call runs inside, in the task that runs it,
                and that receives the call's outcome (the runner's `execute_tool` span).

        Returns:
            One outcome per call, in the order of `calls`.
        """
        call_list, outcomes, batches = self._plan(calls)
        approvals = approvals or {}
        make_context = context_factory or _default_context
        limits: _Limits | None = None

        async def run(i: int, limits: _Limits | None = None) -> None:
            threads = None if limits is None else limits[1]
            one = partial(self._run_one, call_list[i], make_context, approvals, threads, scope)
            if limits is not None:
                async with limits[0]:
                    outcome = await one()
            else:
                outcome = await one()
            outcomes[i] = outcome
            if on_outcome is not None:
                await _maybe_await(on_outcome(outcome))

        for batch in batches:
            if len(batch) == 1:  # nothing to run beside it, so no limit to respect
                await run(batch[0])
                continue
            if limits is None:
                # Made per turn, inside the event loop that runs it: anyio primitives belong
                # to one loop.
                limits = (
                    anyio.CapacityLimiter(self.max_concurrency),
                    anyio.CapacityLimiter(self.max_threads),
                )
            # A failing hook or callback is the caller's error: the first one cancels the
            # batch and is raised as itself, not wrapped in an exception group.
            failures: list[Exception] = []
            limited = partial(run, limits=limits)

            try:
                async with anyio.create_task_group() as tg:
                    for i in batch:
                        tg.start_soon(_guarded, limited, i, failures, tg.cancel_scope)
            except BaseExceptionGroup as group:
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise
            if failures:
                raise failures[0]
        return [o for o in outcomes if o is not None]

    def _plan(
        self, calls: Iterable[ToolCall | Mapping[str, object]]
    ) -> tuple[list[ToolCall], list[ToolOutcome | None], list[list[int]]]:
        """The calls, their outcomes so far (a repeated id's error), and the batches to run."""
        call_list = [c if isinstance(c, ToolCall) else ToolCall.from_block(c) for c in calls]
        outcomes: list[ToolOutcome | None] = [None] * len(call_list)
        # A repeated tool_use id is a malformed reply: its calls are answered with an error and
        # never run, so no call runs twice (the first with that id runs as usual).
        seen: set[str] = set()
        for i, call in enumerate(call_list):
            if call.id in seen:
                message = f"This call repeats the tool_use id {call.id!r}; it was not run."
                outcomes[i] = ToolOutcome(
                    call, "error", tool_result(call.id, message, is_error=True)
                )
            seen.add(call.id)
        runnable = [i for i, o in enumerate(outcomes) if o is None]
        batches = _segments([call_list[i] for i in runnable], self.toolset)
        return call_list, outcomes, [[runnable[p] for p in batch] for batch in batches]

    def runs_without_loop(self, calls: Iterable[ToolCall | Mapping[str, object]]) -> bool:
        """Whether `run_calls_sync` can run these calls: each tool they name is a sync function
        holding no resource, and no hook is an async function (those need an event loop)."""
        hooks = (*self.before_tool, *self.after_tool)
        if hooks and any(_is_async_callable(h) for h in hooks):
            return False
        for call in calls:
            t = self.toolset.get(call.name if isinstance(call, ToolCall) else str(call["name"]))
            if t is not None and (t.is_async or t.resources):
                return False
        return True

    def run_calls_sync(
        self,
        calls: Iterable[ToolCall | Mapping[str, object]],
        *,
        approvals: Mapping[str, Approval] | None = None,
        context_factory: ContextFactory | None = None,
        scope: ToolScope | None = None,
    ) -> Generator[ToolOutcome, None, list[ToolOutcome]]:
        """`run_calls` without an event loop, for a sync caller (see `runs_without_loop`).

        Hooks run in this thread. A batch of one call with no timeout runs its tool here too;
        the tools of a larger batch, and a tool with a timeout, run in `executor`'s worker
        threads (a timed-out one is abandoned, as in `run_calls`), each in a copy of the
        caller's context (its contextvars), as `run_calls` runs them.
        With a `scope` (see `run_calls`), each call steps in a context of its own, in which
        its scope is entered: the calls of a batch interleave in this thread, and each one's
        span must be current for its own hooks and tool only.

        Yields:
            Each outcome as its call finishes (the repeated-id errors are not yielded).

        Returns:
            Every call's outcome, in the model's order (`run_calls`'s list).
        """
        call_list, outcomes, batches = self._plan(calls)
        make_context = context_factory or _default_context
        approvals = approvals or {}
        for batch in batches:
            if len(batch) == 1 and scope is None:
                lone = self._lone_call(call_list[batch[0]], make_context, approvals)
                if lone is not None:
                    outcomes[batch[0]] = lone
                    yield lone
                    continue
            flows = {i: self._call_flow(call_list[i], make_context, approvals) for i in batch}
            contexts: dict[int, Context] | None = None
            if scope is not None:
                flows = {i: _scoped(flow, scope, call_list[i]) for i, flow in flows.items()}
                contexts = {i: copy_context() for i in batch}
            for i, outcome in _drive_sync(flows, self._pool, len(batch) == 1, contexts):
                outcomes[i] = outcome
                yield outcome
        return [o for o in outcomes if o is not None]

    def _pool(self) -> Executor:
        from concurrent.futures import ThreadPoolExecutor  # 14 ms to import: only when used

        if self.executor is None:
            workers = min(self.max_threads, self.max_concurrency)
            self.executor = ThreadPoolExecutor(workers, thread_name_prefix="agentkit-tool")
        return self.executor

    def _call_flow(
        self, call: ToolCall, context: ContextFactory, approvals: Mapping[str, Approval]
    ) -> _CallFlow:
        """One call from its hooks to its sendable outcome, short of its I/O.

        It yields an `_Await` for a hook's awaitable and an `_Invoke` for the tool function;
        the shell (`_run_one` async, `_drive_sync` sync) answers with the value, or throws the
        error the function raised (a hook's error passes through, as the caller's error).
        """
        started = time.perf_counter()
        ctx = context(call)
        outcome = yield from self._decide_and_execute(call, ctx, approvals)
        for hook in self.after_tool:
            replacement = yield from _value(hook(outcome.call, outcome, ctx))
            if replacement is not None:
                outcome = replacement
        return self._finished(outcome, started)

    def _finished(self, outcome: ToolOutcome, started: float) -> ToolOutcome:
        """A call's outcome as sent: a sendable result, and the call's duration."""
        outcome = sendable(outcome, self.max_result_chars)
        return _with_duration(outcome, time.perf_counter() - started)

    def _decide_and_execute(
        self, call: ToolCall, ctx: RunContext[object], approvals: Mapping[str, Approval]
    ) -> _CallFlow:
        t = self.toolset.get(call.name)
        if t is None:
            content = unknown_tool_content(call.name, self.toolset.names)
            return ToolOutcome(call, "error", tool_result(call.id, content, is_error=True))
        # A human's decision (given when the run resumes) settles a deferral, whether the tool
        # requires approval or a hook deferred the call; a hook's Deny still wins over it.
        approval = approvals.get(call.id)
        if isinstance(approval, Deny):
            return _denied(call, approval.message)
        approved = isinstance(approval, Allow)
        for hook in self.before_tool:
            decision = yield from _value(hook(call, ctx))
            if isinstance(decision, Deny):
                return _denied(call, decision.message)
            if isinstance(decision, Defer) and not approved:
                return ToolOutcome(call, "deferred", None, reason=decision.reason)
            if isinstance(decision, ReplaceInput):
                call = ToolCall(call.id, call.name, dict(decision.input), call.block)
            elif isinstance(decision, Allow):
                approved = True
        if t.requires_approval and not approved:
            return ToolOutcome(call, "deferred", None, reason="requires approval")
        return (yield from self._execute(t, call, ctx))

    def _execute(self, t: Tool[..., object], call: ToolCall, ctx: RunContext[object]) -> _CallFlow:
        op = self._invocation(t, call, ctx)
        if isinstance(op, ToolOutcome):
            return op
        try:
            value, error = (yield op), None
        except Exception as exc:
            value, error = None, exc
        return _ended(call, op, value, error)

    def _invocation(
        self, t: Tool[..., object], call: ToolCall, ctx: RunContext[object] | None
    ) -> _Invoke | ToolOutcome:
        """The function call a tool call makes, or the error outcome of its invalid input
        (`ctx` may be None for a tool that takes no context)."""
        try:
            arguments = t.schema.validate(call.input)
        except pydantic_core.ValidationError as exc:
            message = validation_error_content(t.name, exc)
            return ToolOutcome(call, "error", tool_result(call.id, message, is_error=True), exc)
        injected: dict[str, object] = {}
        context_name = t.schema.context_parameter
        if context_name is not None:
            injected[context_name] = ctx
        for param, factory in t.resources.items():
            if factory not in self._resources:
                raise RuntimeError(
                    f"tool {t.name!r} holds a resource: enter the ToolRuntime "
                    "(`async with runtime:`) before running calls"
                )
            injected[param] = self._resources[factory]
        args, kwargs = t.schema.bind(arguments, injected)
        timeout = t.timeout if t.timeout is not None else self.default_timeout
        return _Invoke(t, args, kwargs, timeout)

    def _straight(
        self,
        call: ToolCall,
        context: ContextFactory,
        approvals: Mapping[str, Approval],
        *,
        sync_only: bool,
    ) -> _Invoke | ToolOutcome | None:
        """`_call_flow`'s first step for a lone call with nothing to step between (no hooks,
        no decision, no timeout): the function call to make, or its invalid input's outcome;
        None for any other call (the flow runs it).

        Its `RunContext` is made only for a tool that takes one (no hook reads it here).
        `sync_only`: an async tool's call goes to the flow too (the caller runs no event loop).
        """
        t = self.toolset.get(call.name)
        if (
            t is None
            or self.before_tool
            or self.after_tool
            or call.id in approvals
            or t.requires_approval
            or (sync_only and t.is_async)
            or t.timeout is not None
            or self.default_timeout is not None
        ):
            return None
        takes_context = t.schema.context_parameter is not None
        return self._invocation(t, call, context(call) if takes_context else None)

    def _lone_call(
        self, call: ToolCall, context: ContextFactory, approvals: Mapping[str, Approval]
    ) -> ToolOutcome | None:
        """A lone call run straight through in this thread (see `_straight`), the tool in a
        copy of the caller's context as `_drive_sync` runs one; None: the flow runs it."""
        started = time.perf_counter()
        op = self._straight(call, context, approvals, sync_only=True)
        if op is None:
            return None
        if isinstance(op, _Invoke):
            op = _ended(call, op, *_result_of(partial(copy_context().run, op)))
        return self._finished(op, started)

    async def _run_lone(
        self, call: ToolCall, context: ContextFactory, approvals: Mapping[str, Approval]
    ) -> ToolOutcome | None:
        """`_lone_call` in the event loop: an async tool runs in this task, a sync one in a
        worker thread (as `_call` runs them); None: the flow runs it."""
        started = time.perf_counter()
        first = self._straight(call, context, approvals, sync_only=False)
        if not isinstance(first, _Invoke):
            return None if first is None else self._finished(first, started)
        try:
            value = await _call(first, None)
        except Exception as exc:
            return self._finished(_ended(call, first, None, exc), started)
        return self._finished(_ended(call, first, value, None), started)

    async def _run_one(
        self,
        call: ToolCall,
        make_context: ContextFactory,
        approvals: Mapping[str, Approval],
        threads: anyio.CapacityLimiter | None,
        scope: ToolScope | None = None,
    ) -> ToolOutcome:
        """The async shell of `_call_flow`: awaits hooks, runs sync tools in worker threads
        (at most `threads`' tokens at once; None: a lone call, with nothing beside it).

        With a `scope`, the call runs inside it (its span current in this task, and so in the
        worker thread `in_worker` copies the task's context to), hooks included.
        """
        if scope is not None:
            with scope(call) as record:
                outcome = await self._run_one(call, make_context, approvals, threads)
                record(outcome)
            return outcome
        if threads is None:  # a lone call: straight through when nothing steps between
            lone = await self._run_lone(call, make_context, approvals)
            if lone is not None:
                return lone
        flow = self._call_flow(call, make_context, approvals)
        try:
            op = _advance(flow, None, None)
            while not isinstance(op, ToolOutcome):
                answer: object = None
                error: Exception | None = None
                try:
                    answer = await (op.value if isinstance(op, _Await) else _invoke(op, threads))
                except Exception as exc:  # handed to the flow, which decides
                    error = exc
                op = _advance(flow, answer, error)
            return op
        finally:
            flow.close()


class _TimedOut(Exception):
    """Thrown into a call's flow when its tool ran past its timeout."""


@dataclass(frozen=True, slots=True)
class _Await:
    """A hook returned an awaitable: the shell answers with its result."""

    value: Awaitable[object]


@dataclass(frozen=True, slots=True)
class _Invoke:
    """Call the tool function: the shell answers with its value or throws its error."""

    tool: Tool[..., object]
    args: list[object]
    kwargs: dict[str, object]
    timeout: float | None

    def __call__(self) -> object:
        return self.tool.function(*self.args, **self.kwargs)


_CallFlow: TypeAlias = Generator["_Await | _Invoke", object, ToolOutcome]
# A turn's limits when calls run side by side: calls at once, sync tools at once.
_Limits: TypeAlias = "tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]"


def _advance(
    flow: _CallFlow, answer: object, error: Exception | None
) -> _Await | _Invoke | ToolOutcome:
    """Answer a flow's last op (or throw its error in); its next op, or its outcome."""
    try:
        return flow.send(answer) if error is None else flow.throw(error)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _value(value: T | Awaitable[T]) -> Generator[_Await, object, T]:
    """A hook's return value; an awaitable one is handed to the shell to await."""
    if inspect.isawaitable(value):
        return (yield _Await(value))  # type: ignore[return-value]
    return value


async def _invoke(op: _Invoke, threads: anyio.CapacityLimiter | None) -> object:
    """Run the tool function in the event loop (async) or a worker thread (sync), timed.

    Raises:
        _TimedOut: It ran past its timeout.
    """
    if op.timeout is None:
        return await _call(op, threads)
    with anyio.move_on_after(op.timeout):
        return await _call(op, threads)
    raise _TimedOut


async def _call(op: _Invoke, threads: anyio.CapacityLimiter | None) -> object:
    if op.tool.is_async:
        return await _maybe_await(op())
    # A timed-out (or cancelled) call's thread cannot be killed: it finishes unobserved while
    # the turn moves on, and gives its token back now. A cancel that came first stops the call
    # before it starts; a call of a batch also lets the others start first (a checkpoint, as
    # `anyio.to_thread.run_sync` takes), a lone call has no others to wait for.
    if threads is None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        return await in_worker(op)
    await anyio.lowlevel.checkpoint()
    async with threads:
        return await in_worker(op)


def _drive_sync(
    flows: dict[int, _CallFlow],
    pool: Callable[[], Executor],
    inline: bool,
    contexts: Mapping[int, Context] | None = None,
) -> Iterator[tuple[int, ToolOutcome]]:
    """Step a batch's flows in this thread: each (index, outcome) as its call finishes.

    With `inline` (a batch of one), a tool with no timeout runs in this thread; otherwise tool
    functions run in the pool, each in a copy of its call's context, and one past its deadline
    is abandoned (its thread cannot be killed) and answered with `_TimedOut`. With `contexts`
    (traced calls), each flow steps, awaits and runs inline in its own context.
    """
    ready: deque[tuple[int, object, Exception | None]] = deque((i, None, None) for i in flows)
    running: dict[Future[object], tuple[int, float]] = {}
    try:
        while ready or running:
            if not ready:
                ready.extend(_finished(running))
                continue
            i, answer, error = ready.popleft()
            here = None if contexts is None else contexts[i]
            op = _in(here, _advance, flows[i], answer, error)
            if isinstance(op, ToolOutcome):
                yield i, op
            elif isinstance(op, _Await):
                ready.appendleft((i, *_result_of(partial(_in, here, _resolve, op.value))))
            elif inline and op.timeout is None:
                # In the call's own context (its tracing span current), else a copy of the
                # caller's, as a worker thread would see it: a tool that sets a context
                # variable does not change the caller's.
                context = copy_context() if here is None else here
                ready.appendleft((i, *_result_of(partial(context.run, op))))
            else:
                deadline = math.inf if op.timeout is None else time.monotonic() + op.timeout
                # The caller's contextvars go with the call, as `run_calls` takes them.
                context = copy_context() if here is None else here.copy()
                running[pool().submit(context.run, op)] = (i, deadline)
    finally:
        for future in running:
            future.cancel()
        for i, flow in flows.items():
            _in(None if contexts is None else contexts[i], flow.close)


def _in(context: Context | None, function: Callable[..., T], *args: object) -> T:
    """`function(*args)`, in `context` when there is one."""
    return function(*args) if context is None else context.run(function, *args)


def _scoped(flow: _CallFlow, scope: ToolScope, call: ToolCall) -> _CallFlow:
    """`flow` inside `scope(call)` (the call's `execute_tool` span), hooks included; the sync
    shell steps it in the call's own context, so the span is current for this call only."""
    with scope(call) as record:
        outcome = yield from flow
        record(outcome)
    return outcome


def _finished(
    running: dict[Future[object], tuple[int, float]],
) -> list[tuple[int, object, Exception | None]]:
    """Wait for the first of the running tool functions to end or time out; their answers."""
    from concurrent.futures import FIRST_COMPLETED, wait

    nearest = min(deadline for _, deadline in running.values())
    timeout = None if nearest == math.inf else max(0.0, nearest - time.monotonic())
    done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
    now = time.monotonic()
    answers: list[tuple[int, object, Exception | None]] = []
    for future, (i, deadline) in list(running.items()):
        if future in done:
            answers.append((i, *_result_of(future.result)))
        elif deadline <= now:
            answers.append((i, None, _TimedOut()))  # abandoned: it finishes unobserved
        else:
            continue
        del running[future]
    return answers


def _result_of(function: Callable[[], object]) -> tuple[object, Exception | None]:
    try:
        return function(), None
    except Exception as exc:  # handed to the flow, which decides
        return None, exc


def _resolve(value: Awaitable[object]) -> object:
    """A sync hook's awaitable result, awaited in an event loop of its own (a sync run)."""

    async def result() -> object:
        return await value

    return anyio.run(result)


def _is_async_callable(function: object) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 (a callable object's method)
    )


async def _guarded(
    run: Callable[[int], Awaitable[None]],
    i: int,
    failures: list[Exception],
    scope: anyio.CancelScope,
) -> None:
    try:
        await run(i)
    except Exception as exc:
        failures.append(exc)
        scope.cancel()


def sendable(outcome: ToolOutcome, max_chars: int | None) -> ToolOutcome:
    """The outcome with a result the next request can carry, checked before it is committed.

    Its `tool_use_id` names the call; content blocks the API would refuse become JSON text;
    text past `max_chars` is cut with a note. A result already fit to send is kept as it is.
    """
    result = outcome.result
    if result is None:
        return outcome
    block: dict[str, object] = {**result, "type": "tool_result", "tool_use_id": outcome.call.id}
    if not isinstance(block.get("is_error", False), bool):
        block["is_error"] = bool(block["is_error"])
    content = block.get("content")
    if isinstance(content, list) and not all(
        isinstance(b, Mapping) and b.get("type") in CONTENT_BLOCK_TYPES and not block_problem(b)
        for b in content
    ):
        content = json_text(content)
    elif content is not None and not isinstance(content, (str, list)):
        content = json_text(content)
    if isinstance(content, str):
        content = valid_text(content)
    if isinstance(content, (str, list)) and max_chars is not None:
        content = truncate_content(content, max_chars) or content
    if content is not None:
        block["content"] = content
    if block == result:
        return outcome
    return dataclasses.replace(outcome, result=block)


def _default_context(call: ToolCall) -> RunContext[object]:
    return RunContext(deps=None, tool_use_id=call.id, tool_name=call.name)


def _denied(call: ToolCall, message: str) -> ToolOutcome:
    return ToolOutcome(call, "denied", tool_result(call.id, message, is_error=True))


def _with_duration(outcome: ToolOutcome, duration: float) -> ToolOutcome:
    return ToolOutcome(
        outcome.call,
        outcome.status,
        outcome.result,
        outcome.exception,
        duration,
        outcome.stop,
        outcome.reason,
    )


def _ended(call: ToolCall, op: _Invoke, value: object, error: Exception | None) -> ToolOutcome:
    """The outcome of a tool function that returned `value` or raised `error`."""
    if error is None:
        try:
            return ToolOutcome(call, "ok", tool_result(call.id, result_content(value)))
        except Exception as exc:  # the value cannot be a result
            error = exc
    return _failed(call, op, error)


def _failed(call: ToolCall, op: _Invoke, exc: Exception) -> ToolOutcome:
    """The outcome of a tool function that raised `exc` (a `StopRun` ends the run)."""
    if isinstance(exc, _TimedOut):
        message = f"Tool {op.tool.name!r} timed out after {op.timeout:g} seconds."
        return ToolOutcome(call, "error", tool_result(call.id, message, is_error=True))
    if isinstance(exc, StopRun):
        result = tool_result(call.id, result_content(exc.content))
        return ToolOutcome(call, "ok", result, exc, stop=True)
    if isinstance(exc, ToolError):
        result = tool_result(call.id, result_content(exc.content), is_error=True)
        return ToolOutcome(call, "error", result, exc)
    message = exception_content(exc)
    return ToolOutcome(call, "error", tool_result(call.id, message, is_error=True), exc)
