"""agentkit: tool-using agents and multi-turn chat apps on the Claude Messages API.

Everything public is importable from here. Names load on first use (PEP 562), so
`import agentkit` costs almost nothing and reads no environment; optional integrations live in
their own modules (`agentkit.stores`, `agentkit.testing`, `agentkit.bedrock`, `agentkit.vertex`,
`agentkit.foundry`, `agentkit.temporal`) and load only when imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._accumulate import MessageAccumulator as MessageAccumulator
    from ._accumulate import accumulate as accumulate
    from ._agent import Agent as Agent
    from ._agent import Hooks as Hooks
    from ._aiohttp import DefaultAioHttpClient as DefaultAioHttpClient
    from ._batch_models import BatchCanceledResult as BatchCanceledResult
    from ._batch_models import BatchErroredResult as BatchErroredResult
    from ._batch_models import BatchExpiredResult as BatchExpiredResult
    from ._batch_models import BatchRequest as BatchRequest
    from ._batch_models import BatchRequestCounts as BatchRequestCounts
    from ._batch_models import BatchResult as BatchResult
    from ._batch_models import BatchResultsUnavailableError as BatchResultsUnavailableError
    from ._batch_models import BatchSucceededResult as BatchSucceededResult
    from ._batch_models import BatchUnknownResult as BatchUnknownResult
    from ._batch_models import DeletedMessageBatch as DeletedMessageBatch
    from ._batch_models import MessageBatch as MessageBatch
    from ._batch_runner import BatchJob as BatchJob
    from ._batch_runner import BatchOutcome as BatchOutcome
    from ._batch_runner import BatchProgress as BatchProgress
    from ._batch_runner import BatchRunInfo as BatchRunInfo
    from ._batch_runner import BatchRunner as BatchRunner
    from ._batch_runner import BatchRunResult as BatchRunResult
    from ._batches import AsyncBatches as AsyncBatches
    from ._batches import AsyncBatchResults as AsyncBatchResults
    from ._batches import Batches as Batches
    from ._batches import BatchResults as BatchResults
    from ._cache import CachePolicy as CachePolicy
    from ._client import AsyncClient as AsyncClient
    from ._client import Client as Client
    from ._client import ClientOptions as ClientOptions
    from ._context import RunContext as RunContext
    from ._conversation import Conversation as Conversation
    from ._conversation import Entry as Entry
    from ._conversation import missing_tool_uses as missing_tool_uses
    from ._conversation import pending_tool_uses as pending_tool_uses
    from ._conversation import tool_results_message as tool_results_message
    from ._events import AgentEvent as AgentEvent
    from ._events import RunFinished as RunFinished
    from ._events import RunResult as RunResult
    from ._events import RunStatus as RunStatus
    from ._events import TextDelta as TextDelta
    from ._events import ThinkingDelta as ThinkingDelta
    from ._events import ToolCallFinished as ToolCallFinished
    from ._events import ToolCallStarted as ToolCallStarted
    from ._events import ToolInputDelta as ToolInputDelta
    from ._events import TurnFinished as TurnFinished
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
    from ._execute import AfterToolHook as AfterToolHook
    from ._execute import Allow as Allow
    from ._execute import Approval as Approval
    from ._execute import BeforeToolHook as BeforeToolHook
    from ._execute import Decision as Decision
    from ._execute import Defer as Defer
    from ._execute import Deny as Deny
    from ._execute import OutcomeStatus as OutcomeStatus
    from ._execute import ReplaceInput as ReplaceInput
    from ._execute import ToolCall as ToolCall
    from ._execute import ToolOutcome as ToolOutcome
    from ._execute import ToolRuntime as ToolRuntime
    from ._files import FILES_BETA as FILES_BETA
    from ._files import AsyncFileContent as AsyncFileContent
    from ._files import AsyncFiles as AsyncFiles
    from ._files import DeletedFile as DeletedFile
    from ._files import FileContent as FileContent
    from ._files import FileMetadata as FileMetadata
    from ._files import Files as Files
    from ._loop import STOP_ACTIONS as STOP_ACTIONS
    from ._loop import Limits as Limits
    from ._loop import next_action as next_action
    from ._models import APIModel as APIModel
    from ._models import CompactionBlock as CompactionBlock
    from ._models import ContentBlock as ContentBlock
    from ._models import Message as Message
    from ._models import MessageTokensCount as MessageTokensCount
    from ._models import ModelInfo as ModelInfo
    from ._models import RedactedThinkingBlock as RedactedThinkingBlock
    from ._models import ServerToolUseBlock as ServerToolUseBlock
    from ._models import StopReason as StopReason
    from ._models import TextBlock as TextBlock
    from ._models import ThinkingBlock as ThinkingBlock
    from ._models import ToolUseBlock as ToolUseBlock
    from ._models import UnknownBlock as UnknownBlock
    from ._models import Usage as Usage
    from ._models import is_set as is_set
    from ._pagination import AsyncPage as AsyncPage
    from ._pagination import AsyncPager as AsyncPager
    from ._pagination import Page as Page
    from ._preflight import check_request as check_request
    from ._preflight import preflight_problems as preflight_problems
    from ._response import APIResponse as APIResponse
    from ._response import AsyncAPIResponse as AsyncAPIResponse
    from ._retry import RetryPolicy as RetryPolicy
    from ._schema import LintIssue as LintIssue
    from ._schema import function_schema as function_schema
    from ._sse import ServerSentEvent as ServerSentEvent
    from ._sse import SSEDecoder as SSEDecoder
    from ._stream_core import EventDecoder as EventDecoder
    from ._stream_events import CitationEvent as CitationEvent
    from ._stream_events import CompactionEvent as CompactionEvent
    from ._stream_events import ContentBlockDeltaEvent as ContentBlockDeltaEvent
    from ._stream_events import ContentBlockStartEvent as ContentBlockStartEvent
    from ._stream_events import ContentBlockStopEvent as ContentBlockStopEvent
    from ._stream_events import InputJsonEvent as InputJsonEvent
    from ._stream_events import MessageDeltaEvent as MessageDeltaEvent
    from ._stream_events import MessageStartEvent as MessageStartEvent
    from ._stream_events import MessageStopEvent as MessageStopEvent
    from ._stream_events import SignatureEvent as SignatureEvent
    from ._stream_events import StreamEvent as StreamEvent
    from ._stream_events import TextEvent as TextEvent
    from ._stream_events import ThinkingEvent as ThinkingEvent
    from ._stream_events import UnknownEvent as UnknownEvent
    from ._streaming import AsyncMessageStream as AsyncMessageStream
    from ._streaming import AsyncMessageStreamManager as AsyncMessageStreamManager
    from ._streaming import AsyncStream as AsyncStream
    from ._streaming import MessageStream as MessageStream
    from ._streaming import MessageStreamManager as MessageStreamManager
    from ._streaming import Stream as Stream
    from ._tools import StopRun as StopRun
    from ._tools import Tool as Tool
    from ._tools import ToolLike as ToolLike
    from ._tools import Toolset as Toolset
    from ._tools import tool as tool
    from ._tools import tool_result as tool_result
    from ._usage import DEFAULT_PRICES as DEFAULT_PRICES
    from ._usage import ModelPrice as ModelPrice
    from ._usage import RunUsage as RunUsage

_LAZY: dict[str, str] = {
    "MessageAccumulator": "_accumulate",
    "accumulate": "_accumulate",
    "Agent": "_agent",
    "Hooks": "_agent",
    "DefaultAioHttpClient": "_aiohttp",
    "BatchCanceledResult": "_batch_models",
    "BatchErroredResult": "_batch_models",
    "BatchExpiredResult": "_batch_models",
    "BatchRequest": "_batch_models",
    "BatchRequestCounts": "_batch_models",
    "BatchResult": "_batch_models",
    "BatchResultsUnavailableError": "_batch_models",
    "BatchSucceededResult": "_batch_models",
    "BatchUnknownResult": "_batch_models",
    "DeletedMessageBatch": "_batch_models",
    "MessageBatch": "_batch_models",
    "BatchJob": "_batch_runner",
    "BatchOutcome": "_batch_runner",
    "BatchProgress": "_batch_runner",
    "BatchRunInfo": "_batch_runner",
    "BatchRunResult": "_batch_runner",
    "BatchRunner": "_batch_runner",
    "AsyncBatchResults": "_batches",
    "AsyncBatches": "_batches",
    "BatchResults": "_batches",
    "Batches": "_batches",
    "CachePolicy": "_cache",
    "AsyncClient": "_client",
    "Client": "_client",
    "ClientOptions": "_client",
    "RunContext": "_context",
    "Conversation": "_conversation",
    "Entry": "_conversation",
    "missing_tool_uses": "_conversation",
    "pending_tool_uses": "_conversation",
    "tool_results_message": "_conversation",
    "AgentEvent": "_events",
    "RunFinished": "_events",
    "RunResult": "_events",
    "RunStatus": "_events",
    "TextDelta": "_events",
    "ThinkingDelta": "_events",
    "ToolCallFinished": "_events",
    "ToolCallStarted": "_events",
    "ToolInputDelta": "_events",
    "TurnFinished": "_events",
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
    "AfterToolHook": "_execute",
    "Allow": "_execute",
    "Approval": "_execute",
    "BeforeToolHook": "_execute",
    "Decision": "_execute",
    "Defer": "_execute",
    "Deny": "_execute",
    "OutcomeStatus": "_execute",
    "ReplaceInput": "_execute",
    "ToolCall": "_execute",
    "ToolOutcome": "_execute",
    "ToolRuntime": "_execute",
    "AsyncFileContent": "_files",
    "AsyncFiles": "_files",
    "DeletedFile": "_files",
    "FILES_BETA": "_files",
    "FileContent": "_files",
    "FileMetadata": "_files",
    "Files": "_files",
    "Limits": "_loop",
    "STOP_ACTIONS": "_loop",
    "next_action": "_loop",
    "APIModel": "_models",
    "CompactionBlock": "_models",
    "ContentBlock": "_models",
    "Message": "_models",
    "MessageTokensCount": "_models",
    "ModelInfo": "_models",
    "RedactedThinkingBlock": "_models",
    "ServerToolUseBlock": "_models",
    "StopReason": "_models",
    "TextBlock": "_models",
    "ThinkingBlock": "_models",
    "ToolUseBlock": "_models",
    "UnknownBlock": "_models",
    "Usage": "_models",
    "is_set": "_models",
    "AsyncPage": "_pagination",
    "AsyncPager": "_pagination",
    "Page": "_pagination",
    "check_request": "_preflight",
    "preflight_problems": "_preflight",
    "APIResponse": "_response",
    "AsyncAPIResponse": "_response",
    "RetryPolicy": "_retry",
    "LintIssue": "_schema",
    "function_schema": "_schema",
    "SSEDecoder": "_sse",
    "ServerSentEvent": "_sse",
    "EventDecoder": "_stream_core",
    "CitationEvent": "_stream_events",
    "CompactionEvent": "_stream_events",
    "ContentBlockDeltaEvent": "_stream_events",
    "ContentBlockStartEvent": "_stream_events",
    "ContentBlockStopEvent": "_stream_events",
    "InputJsonEvent": "_stream_events",
    "MessageDeltaEvent": "_stream_events",
    "MessageStartEvent": "_stream_events",
    "MessageStopEvent": "_stream_events",
    "SignatureEvent": "_stream_events",
    "StreamEvent": "_stream_events",
    "TextEvent": "_stream_events",
    "ThinkingEvent": "_stream_events",
    "UnknownEvent": "_stream_events",
    "AsyncMessageStream": "_streaming",
    "AsyncMessageStreamManager": "_streaming",
    "AsyncStream": "_streaming",
    "MessageStream": "_streaming",
    "MessageStreamManager": "_streaming",
    "Stream": "_streaming",
    "StopRun": "_tools",
    "Tool": "_tools",
    "ToolLike": "_tools",
    "Toolset": "_tools",
    "tool": "_tools",
    "tool_result": "_tools",
    "DEFAULT_PRICES": "_usage",
    "ModelPrice": "_usage",
    "RunUsage": "_usage",
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
