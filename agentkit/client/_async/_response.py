"""Response bodies read on demand: `AsyncBody` (what every such object shares) and
`AsyncAPIResponse` (status, headers and the parsed value, for `with_raw_response`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

import httpx
from typing_extensions import Self

from ..._exceptions import request_id_of
from .._base import decode_json, transport_error

__all__ = ["AsyncAPIResponse", "AsyncBody"]

T = TypeVar("T")


class AsyncBody:
    """A 2xx response whose body is read on demand; `close()` or leaving `with` releases it.

    Args:
        response: The response, its body read or not.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The `request-id` header."""
        return request_id_of(self.http_response.headers)

    async def _chunks(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body as it arrives, httpx's transport errors translated (the one boundary)."""
        try:
            async for chunk in self.http_response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise transport_error(exc, self.http_response.request) from exc

    async def close(self) -> None:
        """Release the connection."""
        await self.http_response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncAPIResponse(AsyncBody, Generic[T]):
    """A response whose body is read and parsed only when asked (`parse()`).

    Args:
        response: The 2xx response, its body read or not.
        parse: What the plain method does with the response.
        streaming: `parse` reads the body itself, as it arrives (a stream).
    """

    def __init__(
        self,
        response: httpx.Response,
        parse: Callable[[httpx.Response], T],
        *,
        streaming: bool = False,
    ) -> None:
        super().__init__(response)
        self._parse = parse
        self._streaming = streaming

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.http_response.status_code

    @property
    def url(self) -> httpx.URL:
        """The URL requested."""
        return self.http_response.request.url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {self.url.path}>"

    async def parse(self) -> T:
        """The value the plain method would have returned (a model, a page, a stream ...)."""
        if not self.http_response.is_stream_consumed and not self._streaming:
            await self.http_response.aread()
        return self._parse(self.http_response)

    async def read(self) -> bytes:
        """The whole body."""
        return await self.http_response.aread()

    async def text(self) -> str:
        """The whole body as text."""
        await self.http_response.aread()
        return self.http_response.text

    async def json(self) -> Any:
        """The whole body as JSON (`Any`, as httpx's `json()`)."""
        await self.http_response.aread()
        return decode_json(self.http_response)

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks, as it arrives."""
        return self.http_response.aiter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        """The body as text, decoded as it arrives."""
        return self.http_response.aiter_text(chunk_size)

    def iter_lines(self) -> AsyncIterator[str]:
        """The body line by line, as it arrives."""
        return self.http_response.aiter_lines()
