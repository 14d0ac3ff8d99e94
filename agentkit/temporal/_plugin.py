"""Wire agentkit into Temporal: the worker plugin, a worker factory, and the client-side run handle.

`AgentkitPlugin` sets the payload converter and lets agentkit and its dependencies through the
workflow sandbox; given agents, it also registers the workflow and the activities and holds the
agents' tool resources open while the worker runs. `start_run` starts a durable run and returns
an `AgentRun` to follow its progress, answer approvals, send session messages and get the result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import anyio
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.plugin import SimplePlugin
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from .._exceptions import LimitExceededError, OutputValidationError
from ..observability import Telemetry
from ..observability._telemetry import DEFAULT_TELEMETRY
from ._activities import AgentActivities
from ._registry import TemporalAgent
from ._types import (
    Approval,
    Content,
    Progress,
    ProgressEvent,
    RunInput,
    RunOutput,
    encode_blocks,
)
from ._workflow import LIMIT_ERROR_TYPE, OUTPUT_ERROR_TYPE, AgentRunWorkflow

__all__ = ["PASSTHROUGH_MODULES", "AgentRun", "AgentkitPlugin", "create_worker", "start_run"]

# Modules the workflow sandbox imports once, outside, instead of re-importing per workflow run:
# the workflow imports agentkit's pure loop code, and re-importing pydantic_core and friends in
# every sandbox is slow enough to trip the 2 s deadlock detector on a busy CI box.
PASSTHROUGH_MODULES = (
    "agentkit",
    "annotated_types",
    "anyio",
    "certifi",
    "docstring_parser",
    "h11",
    "httpcore",
    "httpx",
    "idna",
    "opentelemetry",
    "pydantic",
    "pydantic_core",
    "sniffio",
    "tenacity",
    "typing_extensions",
    "typing_inspection",
)


def _runner(existing: WorkflowRunner | None) -> WorkflowRunner:
    if existing is None or isinstance(existing, SandboxedWorkflowRunner):
        base = existing or SandboxedWorkflowRunner()
        restrictions = base.restrictions.with_passthrough_modules(*PASSTHROUGH_MODULES)
        return SandboxedWorkflowRunner(restrictions=restrictions)
    return existing


class AgentkitPlugin(SimplePlugin):
    """The Temporal worker plugin for agentkit: registration, sandbox, tool resources.

    It registers the workflow and the activities of `agents`, lets agentkit and its
    dependencies through the workflow sandbox, and holds the agents' tool resources open while
    the worker runs. It leaves the data converter alone: every payload is a plain dataclass of
    JSON values that Temporal's default converter carries (and that your codec, if any,
    encrypts), so clients that start runs need no plugin.

    Args:
        agents: The agents this worker runs.
    """

    def __init__(self, agents: Iterable[TemporalAgent] = ()) -> None:
        self.host = AgentActivities(list(agents))
        super().__init__(
            "agentkit.AgentkitPlugin",
            activities=self.host.activities(),
            workflows=[AgentRunWorkflow],
            workflow_runner=_runner,
            run_context=self.host.running,
        )


def create_worker(
    client: Client,
    task_queue: str,
    agents: Iterable[TemporalAgent],
    *,
    max_concurrent_activities: int = 1000,
    sticky_queue_timeout: float = 10.0,
    **worker_options: Any,
) -> Worker:
    """A worker that runs these agents' durable runs.

    Args:
        client: A connected Temporal client.
        task_queue: The task queue runs are started on.
        agents: The agents to run.
        max_concurrent_activities: Model calls mostly wait on the network, so a worker can hold
            many (Temporal's default is 100).
        sticky_queue_timeout: Seconds a workflow task waits for this worker before another one
            takes the run over; lower it for faster recovery from a crashed worker.
        worker_options: Passed on to `temporalio.worker.Worker`.

    Returns:
        The worker; run it with `async with worker:` or `await worker.run()`.
    """
    return Worker(
        client,
        task_queue=task_queue,
        plugins=[AgentkitPlugin(agents)],
        max_concurrent_activities=max_concurrent_activities,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_queue_timeout),
        **worker_options,
    )


class AgentRun:
    """A handle on a durable run: progress, approvals, session messages and the result.

    Args:
        handle: The workflow handle.
    """

    def __init__(self, handle: WorkflowHandle[AgentRunWorkflow, RunOutput]) -> None:
        self.handle = handle

    @property
    def id(self) -> str:
        """The workflow id (also the conversation id unless another was given)."""
        return self.handle.id

    async def progress(self) -> Progress:
        """The run's status, totals and recent events."""
        return await self.handle.query(AgentRunWorkflow.progress)

    async def events(self, *, poll_interval: float = 0.25) -> AsyncIterator[ProgressEvent]:
        """Yield the run's events as they happen, until it finishes (or fails).

        Progress comes from the `progress` query, polled: queries add nothing to the history,
        unlike a signal or update per event.

        Args:
            poll_interval: Seconds between queries.
        """
        seen = 0
        while True:
            progress = await self.progress()
            for event in progress.events:
                if event.seq > seen:
                    seen = event.seq
                    yield event
            if progress.status in ("done", "failed"):
                return
            await anyio.sleep(poll_interval)

    async def approve(
        self, tool_use_id: str, *, allow: bool = True, message: str | None = None
    ) -> None:
        """Decide on a call that waits for a human.

        Args:
            tool_use_id: The waiting call.
            allow: Run it (True) or refuse it (the model is told `message`).
            message: What the model is told when refused.
        """
        await self.handle.execute_update(
            AgentRunWorkflow.approve, Approval(tool_use_id, allow, message)
        )

    async def send(self, prompt: str | Sequence[Mapping[str, object]]) -> None:
        """Send the next user message of a session run."""
        blocks = [{"type": "text", "text": prompt}] if isinstance(prompt, str) else prompt
        # As JSON text: Temporal's converter would sort the blocks' keys.
        await self.handle.execute_update(AgentRunWorkflow.send, encode_blocks(blocks))

    async def end(self) -> None:
        """End a session run after its queued messages are answered."""
        await self.handle.signal(AgentRunWorkflow.end)

    async def result(self) -> RunOutput:
        """Wait for the run to finish (following continue-as-new) and return its output.

        Raises:
            LimitExceededError: A budget ran out; `.result` is the `RunOutput` at that point.
            OutputValidationError: Structured output never validated (`.result` likewise).
            WorkflowFailureError: The run failed otherwise (e.g. a non-retryable API error).
        """
        try:
            output: RunOutput = await self.handle.result()
        except WorkflowFailureError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == LIMIT_ERROR_TYPE:
                partial = _output(cause.details[0] if cause.details else None)
                limit = partial.limit if partial is not None and partial.limit else "limit"
                raise LimitExceededError(limit, cause.message, result=partial) from exc
            if isinstance(cause, ApplicationError) and cause.type == OUTPUT_ERROR_TYPE:
                partial = _output(cause.details[0] if cause.details else None)
                raise OutputValidationError(cause.message, result=partial) from exc
            raise
        return output


def _output(raw: object) -> RunOutput | None:
    if isinstance(raw, RunOutput):
        return raw
    if isinstance(raw, Mapping):
        from pydantic import TypeAdapter

        return TypeAdapter(RunOutput).validate_python(raw)
    return None


async def start_run(
    client: Client,
    agent: str,
    prompt: str | Sequence[Mapping[str, object]] | None,
    *,
    id: str,
    task_queue: str,
    conversation_id: str | None = None,
    session: bool = False,
    continue_as_new_after: int | None = None,
    execution_timeout: float | None = None,
    task_timeout: float | None = None,
    telemetry: Telemetry | None = None,
) -> AgentRun:
    """Start a durable run of a registered agent.

    Args:
        client: A connected Temporal client.
        agent: The registered agent's name.
        prompt: The user message (text or content blocks); None to continue the conversation.
        id: The workflow id; it keys every idempotent write (and is the default conversation id).
        task_queue: The task queue the workers poll.
        conversation_id: The stored conversation to append to.
        session: Keep the run open for more messages (`AgentRun.send`) until `AgentRun.end`.
        continue_as_new_after: Also continue-as-new after this many model calls per run.
        execution_timeout: Seconds the whole run may take (over continue-as-new); None for none.
        task_timeout: Seconds a workflow task may take (Temporal's default: 10). A worker that
            dies during a workflow task delays the run by this much, so a few seconds suit
            agent runs, whose workflow tasks take milliseconds.
        telemetry: Where the run's `invoke_agent` span goes (default: the global provider).
            The span marks the start; with Temporal's `TracingInterceptor` on the client and
            the worker, the workflow's and activities' spans (and agentkit's `chat` and
            `execute_tool` spans inside them) continue its trace (docs/observability.md).

    Returns:
        A handle on the run.
    """
    text: Content | None = None
    if isinstance(prompt, str):
        text = encode_blocks([{"type": "text", "text": prompt}])
    elif prompt is not None:
        text = encode_blocks(prompt)  # as JSON text: Temporal's converter would sort its keys
    trace = (telemetry or DEFAULT_TELEMETRY).start_run(
        model=None,
        provider="anthropic",
        server=None,
        conversation_id=conversation_id or id,
        agent_name=agent,
    )
    with trace.current() if trace is not None else nullcontext():
        try:
            handle = await client.start_workflow(
                AgentRunWorkflow.run,
                RunInput(
                    agent,
                    None,
                    conversation_id,
                    session,
                    continue_as_new_after,
                    prompt_json=text,
                ),
                id=id,
                task_queue=task_queue,
                execution_timeout=(
                    timedelta(seconds=execution_timeout) if execution_timeout is not None else None
                ),
                task_timeout=timedelta(seconds=task_timeout) if task_timeout is not None else None,
            )
        except BaseException as exc:
            if trace is not None:
                trace.fail(exc)
            raise
    if trace is not None:
        trace.end()
    return AgentRun(handle)
