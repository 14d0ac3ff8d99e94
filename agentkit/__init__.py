"""agentkit: tool-using agents and multi-turn chat apps on the Claude Messages API.

The top level holds what most programs need: the clients, the agent essentials and the error
tree. Everything else is public in the one subpackage where it belongs:

    agentkit.types         messages, content blocks, request parameter types, usage and cost
    agentkit.streaming     SSE decoding, stream events, `Stream` / `MessageStream`
    agentkit.tools         `@tool`, schemas, the executor, approvals
    agentkit.conversation  `Conversation`, cache policy, preflight checks
    agentkit.client        `Client` and its resources, pagination, raw responses, retries
    agentkit.stores        `MemoryStore`, `SQLiteStore`, `PostgresStore`
    agentkit.runner        `Agent`, its events, limits and hooks
    agentkit.batches       `BatchRunner`: many conversations through the Message Batches API
    agentkit.testing       the fake Claude
    agentkit.bedrock, agentkit.vertex, agentkit.foundry, agentkit.temporal

Names load on first use (PEP 562), so `import agentkit` costs almost nothing and reads no
environment. `_EXPORTS` below is the one table of the top-level names; a test checks that the
type-checking imports say the same.

The table is capped at 50 names (with `__version__`). `AnthropicError`, the official SDK's name
for `AgentkitError`, took the place of `Defer`, the rarest hook decision, which lives with
`ReplaceInput` in `agentkit.tools` only (`Allow` and `Deny`, also approval answers, stay here).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._exceptions import AgentkitError as AgentkitError
    from ._exceptions import AnthropicError as AnthropicError
    from ._exceptions import APIConnectionError as APIConnectionError
    from ._exceptions import APIError as APIError
    from ._exceptions import APIResponseValidationError as APIResponseValidationError
    from ._exceptions import APIStatusError as APIStatusError
    from ._exceptions import APITimeoutError as APITimeoutError
    from ._exceptions import AuthenticationError as AuthenticationError
    from ._exceptions import BadRequestError as BadRequestError
    from ._exceptions import ConfigurationError as ConfigurationError
    from ._exceptions import ConflictError as ConflictError
    from ._exceptions import ConversationBusyError as ConversationBusyError
    from ._exceptions import IncompleteStreamError as IncompleteStreamError
    from ._exceptions import InternalServerError as InternalServerError
    from ._exceptions import LimitExceededError as LimitExceededError
    from ._exceptions import NotFoundError as NotFoundError
    from ._exceptions import OutputValidationError as OutputValidationError
    from ._exceptions import OverloadedError as OverloadedError
    from ._exceptions import PermissionDeniedError as PermissionDeniedError
    from ._exceptions import RateLimitError as RateLimitError
    from ._exceptions import RequestTooLargeError as RequestTooLargeError
    from ._exceptions import RequestValidationError as RequestValidationError
    from ._exceptions import RunError as RunError
    from ._exceptions import StoreConflictError as StoreConflictError
    from ._exceptions import StoreError as StoreError
    from ._exceptions import StreamError as StreamError
    from ._exceptions import ToolDefinitionError as ToolDefinitionError
    from ._exceptions import ToolError as ToolError
    from ._exceptions import UnexpectedStopError as UnexpectedStopError
    from ._exceptions import UnprocessableEntityError as UnprocessableEntityError
    from .client import AsyncClient as AsyncClient
    from .client import Client as Client
    from .client import DefaultAioHttpClient as DefaultAioHttpClient
    from .client import DefaultAsyncHttpxClient as DefaultAsyncHttpxClient
    from .client import DefaultHttpxClient as DefaultHttpxClient
    from .conversation import CachePolicy as CachePolicy
    from .conversation import Conversation as Conversation
    from .runner import Agent as Agent
    from .runner import Hooks as Hooks
    from .runner import Limits as Limits
    from .runner import RunResult as RunResult
    from .tools import Allow as Allow
    from .tools import Deny as Deny
    from .tools import RunContext as RunContext
    from .tools import StopRun as StopRun
    from .tools import Tool as Tool
    from .tools import Toolset as Toolset
    from .tools import tool as tool
    from .types import Message as Message

# name -> the module it is imported from (relative to agentkit)
_EXPORTS: dict[str, str] = {
    "AsyncClient": "client",
    "Client": "client",
    "DefaultAioHttpClient": "client",
    "DefaultAsyncHttpxClient": "client",
    "DefaultHttpxClient": "client",
    "CachePolicy": "conversation",
    "Conversation": "conversation",
    "Agent": "runner",
    "Hooks": "runner",
    "Limits": "runner",
    "RunResult": "runner",
    "Allow": "tools",
    "Deny": "tools",
    "RunContext": "tools",
    "StopRun": "tools",
    "Tool": "tools",
    "Toolset": "tools",
    "tool": "tools",
    "Message": "types",
    "APIConnectionError": "_exceptions",
    "APIError": "_exceptions",
    "APIResponseValidationError": "_exceptions",
    "APIStatusError": "_exceptions",
    "APITimeoutError": "_exceptions",
    "AgentkitError": "_exceptions",
    "AnthropicError": "_exceptions",
    "AuthenticationError": "_exceptions",
    "BadRequestError": "_exceptions",
    "ConfigurationError": "_exceptions",
    "ConflictError": "_exceptions",
    "ConversationBusyError": "_exceptions",
    "IncompleteStreamError": "_exceptions",
    "InternalServerError": "_exceptions",
    "LimitExceededError": "_exceptions",
    "NotFoundError": "_exceptions",
    "OutputValidationError": "_exceptions",
    "OverloadedError": "_exceptions",
    "PermissionDeniedError": "_exceptions",
    "RateLimitError": "_exceptions",
    "RequestTooLargeError": "_exceptions",
    "RequestValidationError": "_exceptions",
    "RunError": "_exceptions",
    "StoreConflictError": "_exceptions",
    "StoreError": "_exceptions",
    "StreamError": "_exceptions",
    "ToolDefinitionError": "_exceptions",
    "ToolError": "_exceptions",
    "UnexpectedStopError": "_exceptions",
    "UnprocessableEntityError": "_exceptions",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

# `import agentkit` then `agentkit.testing.FakeClaude()` works too: subpackages load on first use.
_SUBPACKAGES = frozenset(
    {
        "batches",
        "bedrock",
        "client",
        "conversation",
        "foundry",
        "runner",
        "stores",
        "streaming",
        "temporal",
        "testing",
        "tools",
        "types",
        "vertex",
    }
)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"agentkit.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentkit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
