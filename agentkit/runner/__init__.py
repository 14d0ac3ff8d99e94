"""The agent loop: the pure `agent_loop` generator, the drivers that perform its effects, the
`Agent`, its events, limits and hooks.
"""

from __future__ import annotations

from ._agent import (
    Agent,
    Hooks,
)
from ._events import (
    AgentEvent,
    RunFinished,
    RunResult,
    RunStatus,
    TextDelta,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolInputDelta,
    TurnFinished,
)
from ._loop import (
    STOP_ACTIONS,
    Limits,
    next_action,
)

__all__ = [
    "Agent",
    "AgentEvent",
    "Hooks",
    "Limits",
    "RunFinished",
    "RunResult",
    "RunStatus",
    "STOP_ACTIONS",
    "TextDelta",
    "ThinkingDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolInputDelta",
    "TurnFinished",
    "next_action",
]
