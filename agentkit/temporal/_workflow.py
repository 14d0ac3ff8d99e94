"""`AgentRunWorkflow`: the third driver of `agent_loop`, whose effects are Temporal activities.

The agent loop is one generator (`agentkit.runner._loop.agent_loop`): it decides and yields
typed effects. The in-process drivers perform them with the client, the tool runtime and the
store; this workflow performs the same effects durably, matching on their types:

* `Open`, `LoadJournal`: the open activity's report at the start, afterwards the workflow's
  own record of the conversation (it is the conversation's only writer while it runs);
* `CallModel`: the model activity, which streams one response and commits it;
* `RunTools`: one tool activity per call, in parallel (a sequential tool's call alone);
* `CheckOutput`: the tool activity on the output tool's call;
* `CommitUser`: queued, then committed by the next model call's activity, or by the commit
  activity when the loop ends or raises first;
* `Emit`: nothing; live events leave the activities through `TemporalAgent.on_event`.

The workflow takes none of the loop's decisions and holds no content: it knows the conversation
id, its committed version, the step counter and the loop's totals. When the loop ends awaiting
approval, the workflow waits for the `approve` updates and starts the loop again with the
decisions, as an in-process caller runs again with `approvals=`; a session starts the loop again
for each message, and a continue-as-new carries its totals over.

Temporal's workflow event loop is asyncio's (anyio cannot drive it), so this module uses
`asyncio.gather` for the parallel tool calls of a turn; their results keep the model's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Literal, NoReturn, TypedDict

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from typing_extensions import assert_never

    from .._exceptions import (
        ConfigurationError,
        LimitExceededError,
        OutputValidationError,
        RunError,
    )
    from ..runner._loop import (
        CallModel,
        CheckOutput,
        CommitUser,
        Emit,
        LoadJournal,
        Loop,
        LoopEnd,
        Open,
        Opening,
        OutputCheck,
        Reply,
        RunTools,
        ToolReport,
        Totals,
        agent_loop,
    )
    from ..tools._execute import Allow, Deny, ToolCall, call_batches
    from ..types._usage import RunUsage
    from ._types import (
        ActivityOptions,
        Approval,
        Block,
        CommitInput,
        Content,
        ModelInput,
        ModelResult,
        OpenInput,
        OpenResult,
        Progress,
        ProgressEvent,
        RunInput,
        RunOutput,
        RunPlan,
        RunState,
        RunStatus,
        ToolInput,
        ToolResult,
        ToolUse,
        Usage,
        decode_blocks,
        encode_blocks,
    )

__all__ = ["LIMIT_ERROR_TYPE", "OUTPUT_ERROR_TYPE", "WORKFLOW_NAME", "AgentRunWorkflow"]

WORKFLOW_NAME = "agentkit.AgentRun"
LIMIT_ERROR_TYPE = "LimitExceededError"
OUTPUT_ERROR_TYPE = "OutputValidationError"
_KEEP_EVENTS = 200


class _Scheduling(TypedDict):
    """The keyword arguments of `workflow.execute_activity` that `ActivityOptions` sets."""

    start_to_close_timeout: timedelta
    heartbeat_timeout: timedelta | None
    retry_policy: RetryPolicy


def _options(options: ActivityOptions) -> _Scheduling:
    return {
        "start_to_close_timeout": timedelta(seconds=options.start_to_close),
        "heartbeat_timeout": (
            timedelta(seconds=options.heartbeat) if options.heartbeat is not None else None
        ),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=options.initial_interval),
            maximum_interval=timedelta(seconds=options.max_interval),
            maximum_attempts=options.attempts,
        ),
    }


@workflow.defn(name=WORKFLOW_NAME)
class AgentRunWorkflow:
    """Runs a registered agent durably: model calls and tool calls are activities.

    Updates: `approve` (a decision on a deferred call), `send` (a user message, in session
    mode). Signal: `end` (close a session). Query: `progress`.
    """

    @workflow.init
    def __init__(self, params: RunInput) -> None:
        self._input = params
        self._plan: RunPlan | None = None
        self._conversation_id = ""
        self._version = 0
        self._step = 0
        self._totals = Totals()
        self._turns_this_run = 0
        # Where the conversation stands, the loop's `Opening`: the last response's stop reason,
        # its calls while they are unanswered, its container.
        self._stop_reason: str | None = None
        self._pending: list[ToolUse] = []
        self._container: str | None = None
        # Pending calls that have a result: journaled, or an error text for a lost activity.
        self._answered: set[str] = set()
        self._errors: dict[str, str] = {}
        # A user message waiting to be committed by the next model call's activity.
        self._commit: CommitInput | None = None
        self._last_text: str | None = None
        self._output: object = None
        self._status = "starting"
        self._queued: list[Content] = []
        self._ended = False
        self._awaiting: list[ToolUse] = []
        self._approvals: dict[str, Approval] = {}
        self._events: list[ProgressEvent] = []
        self._seq = 0

    # -- the run --------------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: RunInput) -> RunOutput:
        """Run the loop until the model stops (or, in session mode, until `end`)."""
        try:
            return await self._run(params)
        except FailureError as exc:
            # The run fails with this error; `progress` (queryable after the failure) says so.
            self._status = "failed"
            self._event("failed", error=str(exc))
            raise

    async def _run(self, params: RunInput) -> RunOutput:
        self._input = params
        prompt = params.first_message()
        state = params.state
        if state is not None:
            self._restore(state)
            in_turn = state.in_turn
        else:
            self._conversation_id = params.conversation_id or workflow.info().workflow_id
            # A local activity: one store read (or create), idempotent, and it saves a server
            # round trip per run.
            opened: OpenResult = await workflow.execute_local_activity(
                "agentkit.open.v1",
                OpenInput(params.agent, self._conversation_id),
                result_type=OpenResult,
                start_to_close_timeout=timedelta(seconds=60),
            )
            self._open(opened)
            # Without a prompt, a plain run continues the conversation (as `Agent.run(None)`
            # does); a session waits for its first message.
            in_turn = bool(prompt) or not params.session
        status: RunStatus = "complete"
        while True:
            if in_turn:
                status = await self._drive(prompt)
                if status == "stopped":
                    return self._finish(status)
            if not params.session:
                return self._finish(status)
            self._status = "awaiting_message"
            await workflow.wait_condition(lambda: bool(self._queued) or self._ended)
            if not self._queued:
                return self._finish("ended")
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new(in_turn=False)
            prompt, in_turn = decode_blocks(self._queued.pop(0)), True

    async def _drive(self, prompt: list[Block] | None) -> Literal["complete", "stopped"]:
        """Run the loop to its end, waiting for approvals on the way."""
        decisions: dict[str, Allow | Deny] = {}
        while True:
            spec = self._require_plan().spec(decisions)
            end = await self._perform(agent_loop(spec, prompt, self._totals))
            match end.status:
                case "complete" | "stopped":
                    return end.status
                case "awaiting_approval":
                    # As an in-process caller would: get the decisions, then run the loop
                    # again; it finishes the pending calls before anything else.
                    await self._wait_for_approvals(end.pending)
                    decisions = {i: a.decision() for i, a in self._approvals.items()}
                    prompt = None
                case _:
                    assert_never(end.status)

    async def _perform(self, loop: Loop) -> LoopEnd:
        """Perform the loop's effects until it returns; its errors become Temporal failures."""
        try:
            effect = next(loop)
            while True:
                value: object = None
                match effect:
                    case Open():
                        value = self._opening()
                    case LoadJournal():
                        value = frozenset(self._answered)
                    case CallModel():
                        value = await self._call_model(effect)
                    case RunTools():
                        value = await self._run_tools(effect)
                    case CheckOutput():
                        value = await self._check_output(effect)
                    case CommitUser():
                        await self._commit_user(effect)
                    case Emit():
                        pass  # live events leave the activities, through `on_event`
                    case _:
                        assert_never(effect)
                effect = loop.send(value)
        except StopIteration as stop:
            end: LoopEnd = stop.value
        except RunError as exc:
            # The loop queued what it commits before it raises: commit it, then fail the run.
            await self._flush()
            raise self._failure(exc) from None
        except ConfigurationError as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
        finally:
            loop.close()
        await self._flush()
        self._totals = end.totals
        self._output = end.output if self._require_plan().output_tool is not None else None
        return end

    # -- the effects ----------------------------------------------------------------------------

    def _opening(self) -> Opening:
        return Opening(self._stop_reason, [_call(u) for u in self._pending], self._container)

    async def _call_model(self, effect: CallModel) -> Reply:
        self._totals = effect.totals
        if self._should_continue_as_new():
            await self._continue_as_new(in_turn=True)
        self._status = "calling_model"
        before, self._commit = self._commit, None
        if before is not None:  # the activity commits it first, as step `self._step`
            self._step += 1
            self._version += 1
        params = ModelInput(
            self._agent(),
            self._conversation_id,
            self._version,
            self._step,
            before,
            effect.container,
        )
        result: ModelResult = await workflow.execute_activity(
            "agentkit.model_call.v1",
            params,
            result_type=ModelResult,
            **_options(self._require_plan().model),
        )
        if before is not None:
            self._event("message", version=self._version)
        self._step += 1
        self._turns_this_run += 1
        self._version = result.version
        self._stop_reason, self._container = result.stop_reason, result.container
        self._pending, self._answered, self._errors = result.tool_uses, set(), {}
        self._last_text = result.text
        self._event("turn", stop_reason=result.stop_reason, version=result.version)
        return Reply(
            stop_reason=result.stop_reason,
            calls=[_call(u) for u in result.tool_uses],
            usage=result.usage.run_usage(),
            container=result.container,
            text=result.text or "",
        )

    async def _run_tools(self, effect: RunTools) -> list[ToolReport]:
        self._totals = replace(self._totals, turns=effect.turn, usage=effect.usage)
        self._status = "running_tools"
        uses = self._uses(effect.calls)
        results: dict[str, ToolResult] = {}
        for batch in _batches(uses, set(self._require_plan().sequential)):
            done = await asyncio.gather(
                *(
                    self._tool(u, effect.turn, effect.usage, _approval(u.id, effect.approvals))
                    for u in batch
                )
            )
            results.update((r.tool_use_id, r) for r in done)
        return [ToolReport(u.id, results[u.id].status, results[u.id].stop) for u in uses]

    async def _check_output(self, effect: CheckOutput) -> OutputCheck:
        (use,) = self._uses([effect.call])
        result = await self._tool(use, self._totals.turns, self._totals.usage, None)
        if result.status == "ok":
            return OutputCheck(result.output)
        error = self._errors.get(use.id) or result.reason or "the output did not validate"
        return OutputCheck(error=error)

    async def _commit_user(self, effect: CommitUser) -> None:
        """Queue the message; the next model call commits it (or `_flush` does)."""
        await self._flush()  # the loop never commits twice in a row; if it did, in order
        self._commit = CommitInput(
            self._agent(),
            self._conversation_id,
            self._version,
            self._step,
            effect.answer,
            dict(self._errors) if effect.answer == "results" else {},
            blocks_json=encode_blocks(effect.blocks) if effect.blocks else None,
        )
        self._pending, self._answered, self._errors = [], set(), {}

    async def _tool(
        self, use: ToolUse, turn: int, usage: RunUsage, approval: Approval | None
    ) -> ToolResult:
        """One call as an activity; an activity that failed for good becomes an error text."""
        options = self._require_plan().tool(use.name)
        params = ToolInput(
            self._agent(),
            self._conversation_id,
            self._version,
            use,
            turn,
            Usage.of(usage),
            approval,
            self._step,
        )
        try:
            result: ToolResult = await workflow.execute_activity(
                "agentkit.tool_call.v1",
                params,
                result_type=ToolResult,
                activity_id=f"tool/{use.id}",
                **_options(options),
            )
        except ActivityError as exc:
            # A tool failure is a message to the model, not a crash; a non-idempotent call that
            # was lost may or may not have had its effect, and the model is told so.
            cause = exc.cause if exc.cause is not None else exc
            if not options.idempotent:
                self._errors[use.id] = (
                    f"The call of {use.name!r} was interrupted and not retried, because the "
                    f"tool is not idempotent; its effect is unknown ({cause})."
                )
            else:
                self._errors[use.id] = f"The call of {use.name!r} failed after its retries: {cause}"
            result = ToolResult(use.id, "error")
        if result.status != "deferred":
            self._answered.add(use.id)
        self._event("tool", id=use.id, name=use.name, status=result.status)
        return result

    async def _wait_for_approvals(self, pending: list[ToolCall]) -> None:
        self._status = "awaiting_approval"
        self._awaiting = self._uses(pending)
        for use in self._awaiting:
            self._event("approval", id=use.id, name=use.name)
        await workflow.wait_condition(lambda: all(u.id in self._approvals for u in self._awaiting))
        self._awaiting = []

    async def _flush(self) -> None:
        """Commit the queued user message now (the loop ends, raises or continues as new)."""
        params, self._commit = self._commit, None
        if params is None:
            return
        version: int = await workflow.execute_activity(
            "agentkit.commit.v1",
            params,
            result_type=int,
            start_to_close_timeout=timedelta(seconds=60),
        )
        if version != self._version:
            self._step += 1
            self._version = version
            self._event("message", version=version)

    # -- state ----------------------------------------------------------------------------------

    def _uses(self, calls: list[ToolCall]) -> list[ToolUse]:
        """The pending calls, by reference (the loop names them by id)."""
        uses = {u.id: u for u in self._pending}
        return [uses[c.id] for c in calls]

    def _open(self, opened: OpenResult) -> None:
        self._plan = opened.plan
        self._version = opened.version
        self._stop_reason = opened.stop_reason
        self._pending = opened.pending
        self._container = opened.container
        self._answered = set(opened.journaled)

    def _failure(self, exc: RunError[object]) -> ApplicationError:
        """The failure a limit or output error of the loop fails the run with."""
        end = exc.result if isinstance(exc.result, LoopEnd) else LoopEnd("complete", self._totals)
        self._totals = end.totals
        limit = exc.limit if isinstance(exc, LimitExceededError) else None
        output = self._result("complete", limit=limit)
        if limit is not None:
            kind = LIMIT_ERROR_TYPE
        elif isinstance(exc, OutputValidationError):
            kind = OUTPUT_ERROR_TYPE
        else:
            kind = type(exc).__name__
        return ApplicationError(str(exc), output, type=kind, non_retryable=True)

    def _should_continue_as_new(self) -> bool:
        every = self._input.continue_as_new_after
        if every is not None and self._turns_this_run >= every:
            return True
        return self._turns_this_run > 0 and workflow.info().is_continue_as_new_suggested()

    async def _continue_as_new(self, *, in_turn: bool) -> NoReturn:
        params = self._input
        await self._flush()
        # Updates and signals still running would be lost with this run.
        await workflow.wait_condition(workflow.all_handlers_finished)
        totals = self._totals
        state = RunState(
            plan=self._require_plan(),
            conversation_id=self._conversation_id,
            version=self._version,
            step=self._step,
            turns=totals.turns,
            usage=Usage.of(totals.usage),
            streak=totals.tool_error_streak,
            last_stop_reason=self._stop_reason,
            output_retries=totals.output_retries,
            queued_json=self._queued,
            ended=self._ended,
            in_turn=in_turn,
            container=self._container,
            pending=self._pending,
        )
        workflow.continue_as_new(
            RunInput(
                params.agent,
                None,
                self._conversation_id,
                params.session,
                params.continue_as_new_after,
                state,
            )
        )

    def _restore(self, state: RunState) -> None:
        self._plan = state.plan
        self._conversation_id = state.conversation_id
        self._version = state.version
        self._step = state.step
        self._totals = state.totals
        self._stop_reason = state.last_stop_reason
        self._container = state.container
        self._pending = list(state.pending)
        self._queued = [encode_blocks(q) for q in state.queued] + list(state.queued_json)
        self._ended = state.ended

    def _finish(self, status: RunStatus) -> RunOutput:
        self._status = "done"
        self._event("finished", status=status)
        return self._result(status)

    def _result(self, status: RunStatus, *, limit: str | None = None) -> RunOutput:
        return RunOutput(
            status=status,
            conversation_id=self._conversation_id,
            version=self._version,
            stop_reason=self._stop_reason,
            turns=self._totals.turns,
            usage=Usage.of(self._totals.usage),
            text=self._last_text,
            limit=limit,
            output=self._output,
        )

    def _event(self, kind: str, **detail: str | int | None) -> None:
        self._seq += 1
        self._events.append(ProgressEvent(self._seq, kind, self._step, detail))
        del self._events[:-_KEEP_EVENTS]

    def _agent(self) -> str:
        return self._input.agent

    def _require_plan(self) -> RunPlan:
        assert self._plan is not None
        return self._plan

    # -- handlers -------------------------------------------------------------------------------

    @workflow.query
    def progress(self) -> Progress:
        """The run's status, totals and recent events (the last 200)."""
        return Progress(
            status=self._status,
            conversation_id=self._conversation_id,
            version=self._version,
            step=self._step,
            turns=self._totals.turns,
            usage=Usage.of(self._totals.usage),
            awaiting=list(self._awaiting),
            events=list(self._events),
        )

    @workflow.update
    async def approve(self, approval: Approval) -> None:
        """Decide on a call that waits for a human."""
        self._approvals[approval.tool_use_id] = approval

    @approve.validator
    def _validate_approve(self, approval: Approval) -> None:
        if approval.tool_use_id not in {c.id for c in self._awaiting}:
            raise ValueError(f"no call {approval.tool_use_id!r} is waiting for approval")

    @workflow.update
    async def send(self, blocks: Content | list[Block]) -> int:
        """Queue a user message (session mode); returns how many messages wait before it.

        `AgentRun.send` sends the blocks as JSON text (`Content`), which keeps their key order.
        """
        self._queued.append(blocks if isinstance(blocks, str) else encode_blocks(blocks))
        return len(self._queued) - 1

    @send.validator
    def _validate_send(self, blocks: Content | list[Block]) -> None:
        if not self._input.session:
            raise ValueError("send() needs a run started with session=True")
        if self._ended:
            raise ValueError("the session has ended")
        if not (decode_blocks(blocks) if isinstance(blocks, str) else blocks):
            raise ValueError("a message needs at least one content block")

    @workflow.signal
    def end(self) -> None:
        """Close a session once queued messages are answered."""
        self._ended = True


def _call(use: ToolUse) -> ToolCall:
    """The loop's view of a call: its input only when it rides in the history."""
    block = {"type": "tool_use", "id": use.id, "name": use.name, "input": use.input or {}}
    return ToolCall.from_block(block)


def _approval(call_id: str, decisions: Mapping[str, Allow | Deny]) -> Approval | None:
    """A decision of the loop's `RunTools`, as the tool activity takes it."""
    match decisions.get(call_id):
        case None:
            return None
        case Allow():
            return Approval(call_id)
        case Deny(message=message):
            return Approval(call_id, allow=False, message=message)
        case decision:
            assert_never(decision)


def _batches(calls: list[ToolUse], sequential: set[str]) -> list[list[ToolUse]]:
    """Calls run together, batch after batch, in the executor's order (`call_batches`)."""
    order = call_batches([call.name for call in calls], sequential.__contains__)
    return [[calls[i] for i in batch] for batch in order]
