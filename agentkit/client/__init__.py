"""The Messages API client: configuration, request building, retries, responses, pagination, and
the resources (messages, batches, files, models).

The I/O shells are written once, async, in `_async/`; `scripts/unasync` generates the sync ones
in `_sync/` from them. The pure steps both share sit beside them (`_base`, `_messages` ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._exceptions import make_status_error, status_error_class
from ..types._lazy import lazy_getattr
from ._aiohttp import DefaultAioHttpClient
from ._async._batches import AsyncBatches, AsyncBatchResults
from ._async._beta import AsyncBeta, AsyncBetaMessages
from ._async._client import AsyncClient
from ._async._files import AsyncFileContent, AsyncFiles
from ._async._messages import AsyncMessages
from ._async._models_api import AsyncModels
from ._async._pagination import AsyncPage, AsyncPager
from ._base import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    ClientOptions,
    LongRequestError,
)
from ._batches import PollSchedule
from ._beta import AsyncToolRunner, ToolRunner, register_tool_runner
from ._custom import CustomRequestOptions
from ._files import FILES_BETA, FileInput
from ._httpx import DefaultAsyncHttpxClient, DefaultHttpxClient
from ._pacing import Budget, PacingWait, RateLimiter, RateLimits
from ._pagination import PageInfo
from ._response import APIResponse, AsyncAPIResponse
from ._retry import RetryPolicy
from ._sync._batches import Batches, BatchResults
from ._sync._beta import Beta, BetaMessages
from ._sync._client import Client
from ._sync._files import FileContent, Files
from ._sync._messages import Messages
from ._sync._models_api import Models
from ._sync._pagination import Page

if TYPE_CHECKING:
    from ._file_models import DeletedFile, FileMetadata
    from ._parse import OutputFormat, ParsedMessage

__all__ = [
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncBatchResults",
    "AsyncBatches",
    "AsyncBeta",
    "AsyncBetaMessages",
    "AsyncClient",
    "AsyncFileContent",
    "AsyncFiles",
    "AsyncMessages",
    "AsyncModels",
    "AsyncPage",
    "AsyncPager",
    "AsyncToolRunner",
    "BatchResults",
    "Batches",
    "Beta",
    "BetaMessages",
    "Budget",
    "Client",
    "ClientOptions",
    "CustomRequestOptions",
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "DefaultAioHttpClient",
    "DefaultAsyncHttpxClient",
    "DefaultHttpxClient",
    "DeletedFile",
    "FILES_BETA",
    "FileContent",
    "FileInput",
    "FileMetadata",
    "Files",
    "LongRequestError",
    "Messages",
    "Models",
    "OutputFormat",
    "PacingWait",
    "Page",
    "PageInfo",
    "ParsedMessage",
    "PollSchedule",
    "RateLimiter",
    "RateLimits",
    "RetryPolicy",
    "ToolRunner",
    "make_status_error",
    "register_tool_runner",
    "status_error_class",
]

# Response models (pydantic) load on first use, not at import (issue 18).
_LAZY: dict[str, str] = {
    "DeletedFile": "_file_models",
    "FileMetadata": "_file_models",
    "OutputFormat": "_parse",
    "ParsedMessage": "_parse",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__
