"""From typed Python functions to tools and back: `@tool`, JSON schemas, strict mode, lint, the
run context, and the executor that turns tool calls into tool results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..types._lazy import lazy_getattr
from ._context import (
    RunContext,
)
from ._schema import (
    FunctionSchema,
    LintIssue,
    clean_schema,
    function_schema,
)
from ._strict import (
    make_strict,
    strict_schema_problems,
)
from ._tool import (
    ResourceFactory,
    StopRun,
    Tool,
    ToolLike,
    ToolOptions,
    Toolset,
    ToolSource,
    result_content,
    tool,
    tool_result,
)

if TYPE_CHECKING:
    from ._execute import (
        AfterToolHook,
        Allow,
        Approval,
        BeforeToolHook,
        Decision,
        Defer,
        Deny,
        OutcomeStatus,
        ReplaceInput,
        ToolCall,
        ToolOutcome,
        ToolRuntime,
    )

__all__ = [
    "AfterToolHook",
    "Allow",
    "Approval",
    "BeforeToolHook",
    "Decision",
    "Defer",
    "Deny",
    "FunctionSchema",
    "LintIssue",
    "OutcomeStatus",
    "ReplaceInput",
    "ResourceFactory",
    "RunContext",
    "StopRun",
    "Tool",
    "ToolCall",
    "ToolLike",
    "ToolOptions",
    "ToolOutcome",
    "ToolRuntime",
    "ToolSource",
    "Toolset",
    "clean_schema",
    "function_schema",
    "make_strict",
    "result_content",
    "strict_schema_problems",
    "tool",
    "tool_result",
]

# The executor (and its approval decisions) loads with the first run, not with `@tool`: a
# program that defines tools pays for `_execute` when an agent first runs them (issue 18).
_LAZY: dict[str, str] = dict.fromkeys(
    (
        "AfterToolHook",
        "Allow",
        "Approval",
        "BeforeToolHook",
        "Decision",
        "Defer",
        "Deny",
        "OutcomeStatus",
        "ReplaceInput",
        "ToolCall",
        "ToolOutcome",
        "ToolRuntime",
    ),
    "_execute",
)

__getattr__ = lazy_getattr(__name__, _LAZY)
