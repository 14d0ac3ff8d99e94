"""`TemporalAgent`: an `Agent` registered on a worker, and the plan its runs decide with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..runner._events import AgentEvent
from ._types import ActivityOptions, RunPlan

if TYPE_CHECKING:
    from ..runner._agent import Agent

__all__ = ["StreamEvent", "TemporalAgent"]


@dataclass(frozen=True)
class StreamEvent:
    """A live event of a durable run, handed to `TemporalAgent.on_event` on the worker.

    Events come from inside activities, so a retried attempt sends its events again: tell
    attempts apart by `(step, attempt)` and drop the deltas of an attempt that did not finish
    (the committed message is in the store, and in `RunOutput` / `progress`).

    Attributes:
        workflow_id: The run.
        step: The run's step the activity works on (a model call, or a turn's tool calls).
        attempt: The activity's attempt, from 1.
        event: `TextEvent`, `ThinkingEvent`, `ToolCallStarted`, `InputJsonEvent` and
            `CacheMissed` (model calls; the miss after the reply has streamed) or
            `ToolCallFinished` (tool calls).
    """

    workflow_id: str
    step: int
    attempt: int
    event: AgentEvent


@dataclass
class TemporalAgent:
    """An `Agent` registered on a Temporal worker under a stable name.

    Args:
        agent: The agent (its `store` holds the conversations; its `client`, if set, must be an
            `AsyncClient`, and is used with HTTP retries off).
        name: The name runs refer to. Never change it while runs are in flight.
        deps: The `RunContext.deps` tools receive on this worker (deps never travel through
            Temporal: each worker supplies its own).
        model: Options of the model-call activity.
        default_tool: Options of tool-call activities.
        tools: Options by tool name, e.g. `{"send_email": ActivityOptions(idempotent=False)}`.
        on_event: Called (sync or async) with each live `StreamEvent` (text and thinking
            deltas, tool calls, cache misses) as activities produce them, to forward to a UI (a
            Redis stream, a websocket hub ...). It runs in the activity, which keeps
            heartbeating meanwhile; a `ToolCallFinished` comes after the call's result is
            journaled, so a slow hook, or a worker dying in one, never runs the tool again.
            Never let it fail.
    """

    agent: Agent[Any, Any]
    name: str
    deps: object = None
    # Activities heartbeat in the background while they run, so a 30 s heartbeat timeout only
    # ever fires for a worker that died: its call is retried after 30 s, not at start_to_close.
    model: ActivityOptions = field(
        default_factory=lambda: ActivityOptions(
            start_to_close=600.0, heartbeat=30.0, max_attempts=8
        )
    )
    default_tool: ActivityOptions = field(
        default_factory=lambda: ActivityOptions(start_to_close=300.0, heartbeat=30.0)
    )
    tools: Mapping[str, ActivityOptions] = field(default_factory=dict)
    on_event: Callable[[StreamEvent], Awaitable[None] | None] | None = None

    def plan(self) -> RunPlan:
        """The settings the workflow decides with."""
        spec = self.agent.spec
        return RunPlan(
            limits=spec.limits,
            on_max_tokens=spec.on_max_tokens,
            model=self.model,
            default_tool=self.default_tool,
            tools=dict(self.tools),
            sequential=[t.name for t in self.agent.toolset if t.sequential],
            output_tool=spec.output.tool_name if spec.output is not None else None,
            output_retries=spec.output.retries if spec.output is not None else 0,
            output_native=spec.output.native if spec.output is not None else False,
        )
