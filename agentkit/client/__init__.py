"""The Messages API client: configuration, request building, retries, responses, pagination, and
the resources (messages, batches, files, models).
"""

from __future__ import annotations

from .._exceptions import (
    make_status_error,
    status_error_class,
)
from ._aiohttp import (
    DefaultAioHttpClient,
)
from ._base import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
)
from ._batches import (
    AsyncBatches,
    AsyncBatchResults,
    Batches,
    BatchResults,
    PollSchedule,
)
from ._client import (
    AsyncClient,
    Client,
    ClientOptions,
)
from ._files import (
    FILES_BETA,
    AsyncFileContent,
    AsyncFiles,
    DeletedFile,
    FileContent,
    FileInput,
    FileMetadata,
    Files,
)
from ._messages import (
    AsyncMessages,
    Messages,
)
from ._models_api import (
    AsyncModels,
    Models,
)
from ._pagination import (
    AsyncPage,
    AsyncPager,
    Page,
)
from ._response import (
    APIResponse,
    AsyncAPIResponse,
)
from ._retry import (
    RetryPolicy,
)

__all__ = [
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncBatchResults",
    "AsyncBatches",
    "AsyncClient",
    "AsyncFileContent",
    "AsyncFiles",
    "AsyncMessages",
    "AsyncModels",
    "AsyncPage",
    "AsyncPager",
    "BatchResults",
    "Batches",
    "Client",
    "ClientOptions",
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "DefaultAioHttpClient",
    "DeletedFile",
    "FILES_BETA",
    "FileContent",
    "FileInput",
    "FileMetadata",
    "Files",
    "Messages",
    "Models",
    "Page",
    "PollSchedule",
    "RetryPolicy",
    "make_status_error",
    "status_error_class",
]
