"""The agent loop: the pure `agent_loop` generator, the drivers that perform its effects, the
`Agent`, its events, limits and hooks.
"""

from __future__ import annotations

from ._agent import Agent
from ._events import (
    AgentEvent,
    CacheMissed,
    RunFinished,
    RunResult,
    RunStatus,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from ._hooks import Hooks
from ._loop import (
    STOP_ACTIONS,
    Limits,
    next_action,
)
from ._sdk import (
    BetaAsyncToolRunner,
    BetaToolRunner,
    beta_async_tool,
    beta_tool,
)

__all__ = [
    "Agent",
    "AgentEvent",
    "BetaAsyncToolRunner",
    "BetaToolRunner",
    "CacheMissed",
    "Hooks",
    "Limits",
    "RunFinished",
    "RunResult",
    "RunStatus",
    "STOP_ACTIONS",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnFinished",
    "beta_async_tool",
    "beta_tool",
    "next_action",
]
