"""Durable agent runs on Temporal: model calls and tool calls as activities, content in the store.

Install the extra (`pip install 'agentkit[temporal]'`); this package imports `temporalio` (an
ImportError saying so when it is missing), and `import agentkit` never imports this package.
See docs/temporal.md.

Worker::

    worker = create_worker(client, "agents", [TemporalAgent(agent, name="support")])
    async with worker: ...

Client::

    client = await Client.connect("localhost:7233", plugins=[AgentkitPlugin()])
    run = await start_run(client, "support", "Hello", id="ticket-42", task_queue="agents")
    output = await run.result()
"""

try:
    import temporalio  # noqa: F401 - only to say which extra is missing
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "agentkit.temporal needs temporalio: pip install 'agentkit[temporal]'", name=_exc.name
    ) from _exc

from ._activities import AgentActivities
from ._errors import error_for
from ._plugin import PASSTHROUGH_MODULES, AgentkitPlugin, AgentRun, create_worker, start_run
from ._registry import StreamEvent, TemporalAgent
from ._types import (
    ActivityOptions,
    Approval,
    Progress,
    ProgressEvent,
    RunInput,
    RunOutput,
    ToolUse,
    Usage,
)
from ._workflow import WORKFLOW_NAME, AgentRunWorkflow

__all__ = [
    "PASSTHROUGH_MODULES",
    "WORKFLOW_NAME",
    "ActivityOptions",
    "AgentActivities",
    "AgentRun",
    "AgentRunWorkflow",
    "AgentkitPlugin",
    "Approval",
    "Progress",
    "ProgressEvent",
    "RunInput",
    "RunOutput",
    "StreamEvent",
    "TemporalAgent",
    "ToolUse",
    "Usage",
    "create_worker",
    "error_for",
    "start_run",
]
