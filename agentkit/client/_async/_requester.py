"""What a resource needs from the client that built it: `AsyncRequester`.

The resources (`messages`, `batches`, `files`, `models`) send through this narrow protocol, so
they never import the client, and the client imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import httpx

from ...streaming._core import EventDecoder
from .._base import RequestSpec

__all__ = ["AsyncRequester"]

T = TypeVar("T")


class AsyncRequester(Protocol):
    """The client's internal surface: send a spec, get its result (or its raw response)."""

    @property
    def base_url(self) -> str: ...  # where a batch's results may be fetched from

    @property
    def timeout(self) -> httpx.Timeout: ...  # the default, for the long-request guard

    async def call(self, spec: RequestSpec[T]) -> T:
        """Send `spec` with retries and return its parsed result."""
        ...

    async def send(self, spec: RequestSpec[T], *, stream: bool = False) -> httpx.Response:
        """Send `spec` with retries; return the 2xx response (unread when `stream`)."""
        ...

    def event_decoder(self) -> Callable[[], EventDecoder]:
        """The stream framing's decoder factory (SSE, or a host's own)."""
        ...
