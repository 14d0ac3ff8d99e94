"""The run context a tool receives: the run's dependencies and where the call sits in the run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Generic

from typing_extensions import TypeVar

from ..types._usage import RunUsage

__all__ = ["RunContext"]

# Covariant: a context is read-only, so a `RunContext[Deps]` is a `RunContext[object]`.
DepsT = TypeVar("DepsT", covariant=True, default=None)


@dataclass(frozen=True)
class RunContext(Generic[DepsT]):
    """What a tool knows about the run that called it.

    A tool parameter annotated `RunContext` or `RunContext[Deps]` (in any position) is left
    out of the tool's input schema and receives this value. The runner makes one context per
    tool call, so `tool_use_id` and `tool_name` always name the call being executed.

    Attributes:
        deps: The user's dependencies for the run (a database handle, settings, ...).
        conversation_id: The conversation the run appends to, if it is stored.
        run_id: Identifies this run.
        tool_use_id: The `id` of the `tool_use` block being executed.
        tool_name: The name of the tool being executed.
        turn: The number of model calls made so far in this run.
        usage: Token and cost totals of the run so far.
        idempotency_key: A key stable across retries of this call, so a tool can make its side
            effect happen once: `"<conversation_id>/<tool_use_id>"` in process and in batch
            runs, `"<workflow_id>/<tool_use_id>"` on Temporal; `None` outside a runner.
        metadata: Free-form values the application attaches to the run.
    """

    deps: DepsT
    conversation_id: str | None = None
    run_id: str | None = None
    tool_use_id: str | None = None
    tool_name: str | None = None
    turn: int = 0
    usage: RunUsage = field(default_factory=RunUsage)
    idempotency_key: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)

    def for_call(self, *, tool_use_id: str, tool_name: str) -> RunContext[DepsT]:
        """Return a copy of this context that names one tool call.

        Args:
            tool_use_id: The `id` of the `tool_use` block.
            tool_name: The tool's name.

        Returns:
            A new context; this one is unchanged.
        """
        return dataclasses.replace(self, tool_use_id=tool_use_id, tool_name=tool_name)
