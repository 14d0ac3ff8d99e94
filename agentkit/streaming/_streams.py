"""The stream shells, sync and async: `Stream`, `MessageStream` and their managers.

Written once: `_async/_streams.py` is the source, and `scripts/unasync` generates the sync shells
in `_sync/_streams.py` from it.
"""

from __future__ import annotations

from ._async._streams import AsyncMessageStream, AsyncMessageStreamManager, AsyncStream
from ._sync._streams import MessageStream, MessageStreamManager, Stream

__all__ = [
    "AsyncMessageStream",
    "AsyncMessageStreamManager",
    "AsyncStream",
    "MessageStream",
    "MessageStreamManager",
    "Stream",
]
