"""agentkit: tool-using agents and multi-turn chat apps on the Claude Messages API.

Everything public is importable from here. Names load on first use (PEP 562), so
`import agentkit` costs almost nothing and reads no environment; optional integrations live in
their own modules (`agentkit.stores`, `agentkit.testing`, `agentkit.bedrock`,
`agentkit.vertex`, `agentkit.foundry`, `agentkit.temporal`) and load only when imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._exceptions import AgentkitError as AgentkitError
    from ._exceptions import APIConnectionError as APIConnectionError
    from ._exceptions import APIError as APIError
    from ._exceptions import APIResponseValidationError as APIResponseValidationError
    from ._exceptions import APIStatusError as APIStatusError
    from ._exceptions import APITimeoutError as APITimeoutError
    from ._exceptions import AuthenticationError as AuthenticationError
    from ._exceptions import BadRequestError as BadRequestError
    from ._exceptions import ConfigurationError as ConfigurationError
    from ._exceptions import ConflictError as ConflictError
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
    from ._exceptions import make_status_error as make_status_error
    from ._exceptions import status_error_class as status_error_class
    from .batches._runner import BatchJob as BatchJob
    from .batches._runner import BatchOutcome as BatchOutcome
    from .batches._runner import BatchProgress as BatchProgress
    from .batches._runner import BatchRunInfo as BatchRunInfo
    from .batches._runner import BatchRunner as BatchRunner
    from .batches._runner import BatchRunResult as BatchRunResult
    from .client._aiohttp import DefaultAioHttpClient as DefaultAioHttpClient
    from .client._batches import AsyncBatches as AsyncBatches
    from .client._batches import AsyncBatchResults as AsyncBatchResults
    from .client._batches import Batches as Batches
    from .client._batches import BatchResults as BatchResults
    from .client._client import AsyncClient as AsyncClient
    from .client._client import Client as Client
    from .client._client import ClientOptions as ClientOptions
    from .client._files import FILES_BETA as FILES_BETA
    from .client._files import AsyncFileContent as AsyncFileContent
    from .client._files import AsyncFiles as AsyncFiles
    from .client._files import DeletedFile as DeletedFile
    from .client._files import FileContent as FileContent
    from .client._files import FileMetadata as FileMetadata
    from .client._files import Files as Files
    from .client._pagination import AsyncPage as AsyncPage
    from .client._pagination import AsyncPager as AsyncPager
    from .client._pagination import Page as Page
    from .client._response import APIResponse as APIResponse
    from .client._response import AsyncAPIResponse as AsyncAPIResponse
    from .client._retry import RetryPolicy as RetryPolicy
    from .conversation._cache import CachePolicy as CachePolicy
    from .conversation._conversation import Conversation as Conversation
    from .conversation._conversation import Entry as Entry
    from .conversation._conversation import missing_tool_uses as missing_tool_uses
    from .conversation._conversation import pending_tool_uses as pending_tool_uses
    from .conversation._conversation import tool_results_message as tool_results_message
    from .conversation._preflight import check_request as check_request
    from .conversation._preflight import preflight_problems as preflight_problems
    from .runner._agent import Agent as Agent
    from .runner._agent import Hooks as Hooks
    from .runner._events import AgentEvent as AgentEvent
    from .runner._events import RunFinished as RunFinished
    from .runner._events import RunResult as RunResult
    from .runner._events import RunStatus as RunStatus
    from .runner._events import TextDelta as TextDelta
    from .runner._events import ThinkingDelta as ThinkingDelta
    from .runner._events import ToolCallFinished as ToolCallFinished
    from .runner._events import ToolCallStarted as ToolCallStarted
    from .runner._events import ToolInputDelta as ToolInputDelta
    from .runner._events import TurnFinished as TurnFinished
    from .runner._loop import STOP_ACTIONS as STOP_ACTIONS
    from .runner._loop import Limits as Limits
    from .runner._loop import next_action as next_action
    from .streaming._accumulate import MessageAccumulator as MessageAccumulator
    from .streaming._accumulate import accumulate as accumulate
    from .streaming._core import EventDecoder as EventDecoder
    from .streaming._events import CitationEvent as CitationEvent
    from .streaming._events import CompactionEvent as CompactionEvent
    from .streaming._events import ContentBlockDeltaEvent as ContentBlockDeltaEvent
    from .streaming._events import ContentBlockStartEvent as ContentBlockStartEvent
    from .streaming._events import ContentBlockStopEvent as ContentBlockStopEvent
    from .streaming._events import InputJsonEvent as InputJsonEvent
    from .streaming._events import MessageDeltaEvent as MessageDeltaEvent
    from .streaming._events import MessageStartEvent as MessageStartEvent
    from .streaming._events import MessageStopEvent as MessageStopEvent
    from .streaming._events import SignatureEvent as SignatureEvent
    from .streaming._events import StreamEvent as StreamEvent
    from .streaming._events import TextEvent as TextEvent
    from .streaming._events import ThinkingEvent as ThinkingEvent
    from .streaming._events import UnknownEvent as UnknownEvent
    from .streaming._sse import ServerSentEvent as ServerSentEvent
    from .streaming._sse import SSEDecoder as SSEDecoder
    from .streaming._streams import AsyncMessageStream as AsyncMessageStream
    from .streaming._streams import AsyncMessageStreamManager as AsyncMessageStreamManager
    from .streaming._streams import AsyncStream as AsyncStream
    from .streaming._streams import MessageStream as MessageStream
    from .streaming._streams import MessageStreamManager as MessageStreamManager
    from .streaming._streams import Stream as Stream
    from .tools._context import RunContext as RunContext
    from .tools._execute import AfterToolHook as AfterToolHook
    from .tools._execute import Allow as Allow
    from .tools._execute import Approval as Approval
    from .tools._execute import BeforeToolHook as BeforeToolHook
    from .tools._execute import Decision as Decision
    from .tools._execute import Defer as Defer
    from .tools._execute import Deny as Deny
    from .tools._execute import OutcomeStatus as OutcomeStatus
    from .tools._execute import ReplaceInput as ReplaceInput
    from .tools._execute import ToolCall as ToolCall
    from .tools._execute import ToolOutcome as ToolOutcome
    from .tools._execute import ToolRuntime as ToolRuntime
    from .tools._schema import LintIssue as LintIssue
    from .tools._schema import function_schema as function_schema
    from .tools._tool import StopRun as StopRun
    from .tools._tool import Tool as Tool
    from .tools._tool import ToolLike as ToolLike
    from .tools._tool import Toolset as Toolset
    from .tools._tool import tool as tool
    from .tools._tool import tool_result as tool_result
    from .types._batch import BatchCanceledResult as BatchCanceledResult
    from .types._batch import BatchErroredResult as BatchErroredResult
    from .types._batch import BatchExpiredResult as BatchExpiredResult
    from .types._batch import BatchRequest as BatchRequest
    from .types._batch import BatchRequestCounts as BatchRequestCounts
    from .types._batch import BatchResult as BatchResult
    from .types._batch import BatchResultsUnavailableError as BatchResultsUnavailableError
    from .types._batch import BatchSucceededResult as BatchSucceededResult
    from .types._batch import BatchUnknownResult as BatchUnknownResult
    from .types._batch import DeletedMessageBatch as DeletedMessageBatch
    from .types._batch import MessageBatch as MessageBatch
    from .types._message import APIModel as APIModel
    from .types._message import CompactionBlock as CompactionBlock
    from .types._message import ContentBlock as ContentBlock
    from .types._message import Message as Message
    from .types._message import MessageTokensCount as MessageTokensCount
    from .types._message import ModelInfo as ModelInfo
    from .types._message import RedactedThinkingBlock as RedactedThinkingBlock
    from .types._message import ServerToolUseBlock as ServerToolUseBlock
    from .types._message import StopReason as StopReason
    from .types._message import TextBlock as TextBlock
    from .types._message import ThinkingBlock as ThinkingBlock
    from .types._message import ToolUseBlock as ToolUseBlock
    from .types._message import UnknownBlock as UnknownBlock
    from .types._message import Usage as Usage
    from .types._message import is_set as is_set
    from .types._usage import DEFAULT_PRICES as DEFAULT_PRICES
    from .types._usage import ModelPrice as ModelPrice
    from .types._usage import RunUsage as RunUsage

_LAZY: dict[str, str] = {
    "MessageAccumulator": "streaming._accumulate",
    "accumulate": "streaming._accumulate",
    "Agent": "runner._agent",
    "Hooks": "runner._agent",
    "DefaultAioHttpClient": "client._aiohttp",
    "BatchCanceledResult": "types._batch",
    "BatchErroredResult": "types._batch",
    "BatchExpiredResult": "types._batch",
    "BatchRequest": "types._batch",
    "BatchRequestCounts": "types._batch",
    "BatchResult": "types._batch",
    "BatchResultsUnavailableError": "types._batch",
    "BatchSucceededResult": "types._batch",
    "BatchUnknownResult": "types._batch",
    "DeletedMessageBatch": "types._batch",
    "MessageBatch": "types._batch",
    "BatchJob": "batches._runner",
    "BatchOutcome": "batches._runner",
    "BatchProgress": "batches._runner",
    "BatchRunInfo": "batches._runner",
    "BatchRunResult": "batches._runner",
    "BatchRunner": "batches._runner",
    "AsyncBatchResults": "client._batches",
    "AsyncBatches": "client._batches",
    "BatchResults": "client._batches",
    "Batches": "client._batches",
    "CachePolicy": "conversation._cache",
    "AsyncClient": "client._client",
    "Client": "client._client",
    "ClientOptions": "client._client",
    "RunContext": "tools._context",
    "Conversation": "conversation._conversation",
    "Entry": "conversation._conversation",
    "missing_tool_uses": "conversation._conversation",
    "pending_tool_uses": "conversation._conversation",
    "tool_results_message": "conversation._conversation",
    "AgentEvent": "runner._events",
    "RunFinished": "runner._events",
    "RunResult": "runner._events",
    "RunStatus": "runner._events",
    "TextDelta": "runner._events",
    "ThinkingDelta": "runner._events",
    "ToolCallFinished": "runner._events",
    "ToolCallStarted": "runner._events",
    "ToolInputDelta": "runner._events",
    "TurnFinished": "runner._events",
    "APIConnectionError": "_exceptions",
    "APIError": "_exceptions",
    "APIResponseValidationError": "_exceptions",
    "APIStatusError": "_exceptions",
    "APITimeoutError": "_exceptions",
    "AgentkitError": "_exceptions",
    "AuthenticationError": "_exceptions",
    "BadRequestError": "_exceptions",
    "ConfigurationError": "_exceptions",
    "ConflictError": "_exceptions",
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
    "make_status_error": "_exceptions",
    "status_error_class": "_exceptions",
    "AfterToolHook": "tools._execute",
    "Allow": "tools._execute",
    "Approval": "tools._execute",
    "BeforeToolHook": "tools._execute",
    "Decision": "tools._execute",
    "Defer": "tools._execute",
    "Deny": "tools._execute",
    "OutcomeStatus": "tools._execute",
    "ReplaceInput": "tools._execute",
    "ToolCall": "tools._execute",
    "ToolOutcome": "tools._execute",
    "ToolRuntime": "tools._execute",
    "AsyncFileContent": "client._files",
    "AsyncFiles": "client._files",
    "DeletedFile": "client._files",
    "FILES_BETA": "client._files",
    "FileContent": "client._files",
    "FileMetadata": "client._files",
    "Files": "client._files",
    "Limits": "runner._loop",
    "STOP_ACTIONS": "runner._loop",
    "next_action": "runner._loop",
    "APIModel": "types._message",
    "CompactionBlock": "types._message",
    "ContentBlock": "types._message",
    "Message": "types._message",
    "MessageTokensCount": "types._message",
    "ModelInfo": "types._message",
    "RedactedThinkingBlock": "types._message",
    "ServerToolUseBlock": "types._message",
    "StopReason": "types._message",
    "TextBlock": "types._message",
    "ThinkingBlock": "types._message",
    "ToolUseBlock": "types._message",
    "UnknownBlock": "types._message",
    "Usage": "types._message",
    "is_set": "types._message",
    "AsyncPage": "client._pagination",
    "AsyncPager": "client._pagination",
    "Page": "client._pagination",
    "check_request": "conversation._preflight",
    "preflight_problems": "conversation._preflight",
    "APIResponse": "client._response",
    "AsyncAPIResponse": "client._response",
    "RetryPolicy": "client._retry",
    "LintIssue": "tools._schema",
    "function_schema": "tools._schema",
    "SSEDecoder": "streaming._sse",
    "ServerSentEvent": "streaming._sse",
    "EventDecoder": "streaming._core",
    "CitationEvent": "streaming._events",
    "CompactionEvent": "streaming._events",
    "ContentBlockDeltaEvent": "streaming._events",
    "ContentBlockStartEvent": "streaming._events",
    "ContentBlockStopEvent": "streaming._events",
    "InputJsonEvent": "streaming._events",
    "MessageDeltaEvent": "streaming._events",
    "MessageStartEvent": "streaming._events",
    "MessageStopEvent": "streaming._events",
    "SignatureEvent": "streaming._events",
    "StreamEvent": "streaming._events",
    "TextEvent": "streaming._events",
    "ThinkingEvent": "streaming._events",
    "UnknownEvent": "streaming._events",
    "AsyncMessageStream": "streaming._streams",
    "AsyncMessageStreamManager": "streaming._streams",
    "AsyncStream": "streaming._streams",
    "MessageStream": "streaming._streams",
    "MessageStreamManager": "streaming._streams",
    "Stream": "streaming._streams",
    "StopRun": "tools._tool",
    "Tool": "tools._tool",
    "ToolLike": "tools._tool",
    "Toolset": "tools._tool",
    "tool": "tools._tool",
    "tool_result": "tools._tool",
    "DEFAULT_PRICES": "types._usage",
    "ModelPrice": "types._usage",
    "RunUsage": "types._usage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentkit.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


__all__ = sorted([*_LAZY, "__version__"])
