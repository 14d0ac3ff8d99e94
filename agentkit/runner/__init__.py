"""The agent loop: the pure `agent_loop` generator, the drivers that perform its effects, the
`Agent`, its events, limits and hooks.

Names load on first use (PEP 562): `from agentkit import Agent` loads the `Agent` class, and the
loop, its drivers and events load when an agent is made (issue 18: import time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types._lazy import lazy_getattr

if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "Agent": "_agent",
    "AgentEvent": "_events",
    "BetaAsyncToolRunner": "_sdk",
    "BetaToolRunner": "_sdk",
    "CacheMissed": "_events",
    "Hooks": "_hooks",
    "Limits": "_loop",
    "RunFinished": "_events",
    "RunResult": "_events",
    "RunStatus": "_events",
    "STOP_ACTIONS": "_loop",
    "ToolCallFinished": "_events",
    "ToolCallStarted": "_events",
    "TurnFinished": "_events",
    "beta_async_tool": "_sdk",
    "beta_tool": "_sdk",
    "next_action": "_loop",
}

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

__getattr__ = lazy_getattr(__name__, _LAZY)
