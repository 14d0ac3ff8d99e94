"""`AgentRunWorkflow`: the agent loop's decisions as a Temporal workflow over reference-only state.

The workflow holds no conversation: it knows the conversation id, its committed version, the step
counter and the run's totals, and it decides with the in-process loop's own code
(`next_action` / `STOP_ACTIONS`, `turn_limit`, `budget_limit`, `tool_error_streak`,
`streak_limit`). Everything with content happens in the activities of `_activities.py`.

Temporal's workflow event loop is asyncio's (anyio cannot drive it), so this module uses
`asyncio.gather` for the parallel tool calls of a turn; their results keep the model's order.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from ..runner._loop import (
        CONTINUE_PROMPT,
        LimitHit,
        budget_limit,
        next_action,
        output_exhausted,
        output_nudge,
        streak_limit,
        tool_error_streak,
        turn_limit,
    )
    from ._types import (
        ActivityOptions,
        Approval,
        CommitInput,
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
    )

__all__ = ["LIMIT_ERROR_TYPE", "OUTPUT_ERROR_TYPE", "WORKFLOW_NAME", "AgentRunWorkflow"]

WORKFLOW_NAME = "agentkit.AgentRun"
LIMIT_ERROR_TYPE = "LimitExceededError"
OUTPUT_ERROR_TYPE = "OutputValidationError"
_KEEP_EVENTS = 200


def _options(options: ActivityOptions) -> dict[str, Any]:
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
        self._input: RunInput | None = params
        self._plan: RunPlan | None = None
        self._conversation_id = ""
        self._version = 0
        self._step = 0
        self._turns = 0
        self._usage = Usage()
        self._streak = 0
        self._stop_reason: str | None = None
        self._status = "starting"
        self._queued: list[list[dict[str, Any]]] = []
        self._ended = False
        self._awaiting: list[ToolUse] = []
        self._approvals: dict[str, Approval] = {}
        self._events: list[ProgressEvent] = []
        self._seq = 0
        self._turns_this_run = 0
        self._last_text: str | None = None
        # A user message waiting to be committed by the next model call's activity.
        self._deferred: CommitInput | None = None
        self._answer: Any = None
        self._has_output = False
        self._output_retries = 0

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
            self._plan = opened.plan
            self._version = opened.version
            self._stop_reason = opened.stop_reason
            in_turn = await self._open(opened, params.prompt)
        while True:
            if in_turn:
                status = await self._turns_until_stop()
                if status is not None:
                    return await self._finish(status)
            if not params.session:
                return await self._finish("complete")
            self._status = "awaiting_message"
            await workflow.wait_condition(lambda: bool(self._queued) or self._ended)
            if not self._queued:
                return await self._finish("ended")
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new(in_turn=False)
            self._commit("none", blocks=self._queued.pop(0))
            self._answer, self._has_output = None, False  # each message wants its own answer
            in_turn = True

    async def _open(self, opened: OpenResult, prompt: list[dict[str, Any]] | None) -> bool:
        """Answer calls left pending by an earlier run, add the prompt; True to call the model."""
        if opened.pending and opened.stop_reason == "tool_use":
            # The previous run stopped after the model asked for tools: finish them first.
            stopped = await self._tool_step(opened.pending, extra=prompt or [])
            return not stopped
        if opened.pending:  # cut off by max_tokens: answer without running anything
            self._commit("cut_off", blocks=prompt or [])
            return True
        if prompt:
            self._commit("none", blocks=prompt)
        # Without a prompt, a plain run continues the conversation (as `Agent.run(None)` does);
        # a session waits for its first message.
        assert self._input is not None
        return bool(prompt) or not self._input.session

    async def _turns_until_stop(self) -> RunStatus | None:
        """Model calls and tool steps until the model stops; `"stopped"` if a tool stopped it."""
        plan = self._require_plan()
        while True:
            await self._check(turn_limit(plan.limits, self._turns))
            if self._should_continue_as_new():
                await self._continue_as_new(in_turn=True)
            self._status = "calling_model"
            before, self._deferred = self._deferred, None
            if before is not None:  # the activity commits it first, as step `self._step`
                self._step += 1
                self._version += 1
            result: ModelResult = await workflow.execute_activity(
                "agentkit.model_call.v1",
                ModelInput(self._agent(), self._conversation_id, self._version, self._step, before),
                result_type=ModelResult,
                **_options(plan.model),
            )
            if before is not None:
                self._event("message", version=self._version)
            self._step += 1
            self._turns += 1
            self._turns_this_run += 1
            self._version = result.version
            self._stop_reason = result.stop_reason
            self._usage = Usage.of(self._usage.run_usage() + result.usage.run_usage())
            self._event("turn", stop_reason=result.stop_reason, version=result.version)
            self._last_text = result.text
            await self._check(budget_limit(plan.limits, self._usage.run_usage()))
            action = next_action(result.stop_reason)
            if action == "run_tools" and result.tool_uses:
                if await self._tool_step(result.tool_uses, extra=[]):
                    return "stopped"
                if self._has_output:  # the final answer validated: done, as in-process
                    await self._flush()
                    return None
                continue
            if action == "continue":
                continue
            if plan.on_max_tokens == "continue" and result.stop_reason == "max_tokens":
                self._commit("cut_off", blocks=[{"type": "text", "text": CONTINUE_PROMPT}])
                continue
            if plan.output_tool is not None and not self._has_output:
                await self._count_output_retry("the model answered without calling the output tool")
                self._commit("none", blocks=output_nudge(plan.output_tool)["content"])
                continue
            return None

    async def _tool_step(self, calls: list[ToolUse], extra: list[dict[str, Any]]) -> bool:
        """Run a turn's calls (waiting for approvals), commit their results; True if stopped."""
        plan = self._require_plan()
        outcomes: dict[str, ToolResult] = {}
        errors: dict[str, str] = {}
        todo = list(calls)
        while todo:
            self._status = "running_tools"
            for batch in _batches(todo, set(plan.sequential)):
                results = await asyncio.gather(*(self._tool(c) for c in batch))
                for call, outcome in zip(batch, results, strict=True):
                    if isinstance(outcome, str):
                        errors[call.id] = outcome
                        outcome = ToolResult(call.id, "error")
                    outcomes[call.id] = outcome
                    self._event("tool", id=call.id, name=call.name, status=outcome.status)
            todo = [c for c in calls if outcomes[c.id].status == "deferred"]
            if todo:
                self._status = "awaiting_approval"
                self._awaiting = todo
                for call in todo:
                    self._event("approval", id=call.id, name=call.name)
                await workflow.wait_condition(
                    lambda: all(c.id in self._approvals for c in self._awaiting)
                )
                self._awaiting = []
        ran = [outcomes[c.id] for c in calls]
        # The output tool is the final answer, not a tool run: it counts toward output retries,
        # not the error streak (as in-process, where it never reaches the tool runtime).
        answers = [o for o in ran if o.is_output]
        ran = [o for o in ran if not o.is_output]
        failed = sum(1 for o in ran if o.is_error)
        self._commit("results", errors=errors, blocks=extra)
        for answer in answers:
            if answer.status == "ok":
                self._answer, self._has_output = answer.output, True
            else:
                await self._count_output_retry("the output did not validate")
        self._streak = tool_error_streak(self._streak, len(ran), failed)
        await self._check(streak_limit(plan.limits, self._streak))
        stopped = any(o.stop for o in ran)
        if stopped:
            await self._flush()
        return stopped

    async def _tool(self, call: ToolUse) -> ToolResult | str:
        """One call as an activity; an activity that failed for good becomes an error text."""
        options = self._require_plan().tool(call.name)
        params = ToolInput(
            self._agent(),
            self._conversation_id,
            self._version,
            call,
            self._turns,
            self._usage,
            self._approvals.get(call.id),
            self._step,
        )
        try:
            result: ToolResult = await workflow.execute_activity(
                "agentkit.tool_call.v1",
                params,
                result_type=ToolResult,
                activity_id=f"tool/{call.id}",
                **_options(options),
            )
        except ActivityError as exc:
            # A tool failure is a message to the model, not a crash; a non-idempotent call that
            # was lost may or may not have had its effect, and the model is told so.
            cause = exc.cause if exc.cause is not None else exc
            if not options.idempotent:
                return (
                    f"The call of {call.name!r} was interrupted and not retried, because the "
                    f"tool is not idempotent; its effect is unknown ({cause})."
                )
            return f"The call of {call.name!r} failed after its retries: {cause}"
        return result

    def _commit(
        self,
        answer: str,
        *,
        errors: dict[str, str] | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Queue a user message; the next model call commits it (or `_flush` does)."""
        assert self._deferred is None, "two user messages in a row"
        self._deferred = CommitInput(
            self._agent(),
            self._conversation_id,
            self._version,
            self._step,
            answer,  # type: ignore[arg-type]
            errors or {},
            blocks or [],
        )

    async def _flush(self) -> None:
        """Commit the queued user message now (the run ends or continues as new before a call)."""
        params, self._deferred = self._deferred, None
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

    # -- decisions and state --------------------------------------------------------------------

    async def _check(self, hit: LimitHit | None) -> None:
        if hit is not None:
            await self._flush()  # the in-process loop, too, commits before it raises
            self._fail(hit)

    async def _count_output_retry(self, why: str) -> None:
        plan = self._require_plan()
        self._output_retries += 1
        if output_exhausted(plan.output_retries, self._output_retries):
            await self._flush()
            raise ApplicationError(
                f"no valid output after {plan.output_retries} retries: {why}",
                self._output("complete"),
                type=OUTPUT_ERROR_TYPE,
                non_retryable=True,
            )

    def _fail(self, hit: LimitHit) -> NoReturn:
        output = self._output("complete", limit=hit.name)
        raise ApplicationError(hit.message, output, type=LIMIT_ERROR_TYPE, non_retryable=True)

    def _should_continue_as_new(self) -> bool:
        params = self._input
        assert params is not None
        every = params.continue_as_new_after
        if every is not None and self._turns_this_run >= every:
            return True
        return self._turns_this_run > 0 and workflow.info().is_continue_as_new_suggested()

    async def _continue_as_new(self, *, in_turn: bool) -> NoReturn:
        params = self._input
        assert params is not None
        await self._flush()
        # Updates and signals still running would be lost with this run.
        await workflow.wait_condition(workflow.all_handlers_finished)
        state = RunState(
            plan=self._require_plan(),
            conversation_id=self._conversation_id,
            version=self._version,
            step=self._step,
            turns=self._turns,
            usage=self._usage,
            streak=self._streak,
            last_stop_reason=self._stop_reason,
            output_retries=self._output_retries,
            queued=self._queued,
            ended=self._ended,
            in_turn=in_turn,
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
        self._turns = state.turns
        self._usage = state.usage
        self._streak = state.streak
        self._stop_reason = state.last_stop_reason
        self._output_retries = state.output_retries
        self._queued = list(state.queued)
        self._ended = state.ended

    async def _finish(self, status: RunStatus) -> RunOutput:
        await self._flush()
        self._status = "done"
        self._event("finished", status=status)
        return self._output(status)

    def _output(self, status: RunStatus, *, limit: str | None = None) -> RunOutput:
        return RunOutput(
            status=status,
            conversation_id=self._conversation_id,
            version=self._version,
            stop_reason=self._stop_reason,
            turns=self._turns,
            usage=self._usage,
            text=self._last_text,
            limit=limit,
            output=self._answer,
        )

    def _event(self, kind: str, **detail: Any) -> None:
        self._seq += 1
        self._events.append(ProgressEvent(self._seq, kind, self._step, detail))
        del self._events[:-_KEEP_EVENTS]

    def _agent(self) -> str:
        assert self._input is not None
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
            turns=self._turns,
            usage=self._usage,
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
    async def send(self, blocks: list[dict[str, Any]]) -> int:
        """Queue a user message (session mode); returns how many messages wait before it."""
        self._queued.append(blocks)
        return len(self._queued) - 1

    @send.validator
    def _validate_send(self, blocks: list[dict[str, Any]]) -> None:
        assert self._input is not None
        if not self._input.session:
            raise ValueError("send() needs a run started with session=True")
        if self._ended:
            raise ValueError("the session has ended")
        if not blocks:
            raise ValueError("a message needs at least one content block")

    @workflow.signal
    def end(self) -> None:
        """Close a session once queued messages are answered."""
        self._ended = True


def _batches(calls: list[ToolUse], sequential: set[str]) -> list[list[ToolUse]]:
    """Calls run together, batch after batch; a sequential tool's call is a batch of its own."""
    batches: list[list[ToolUse]] = []
    current: list[ToolUse] = []
    for call in calls:
        if call.name in sequential:
            if current:
                batches.append(current)
                current = []
            batches.append([call])
        else:
            current.append(call)
    if current:
        batches.append(current)
    return batches
