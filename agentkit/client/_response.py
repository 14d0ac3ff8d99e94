"""Raw responses: status, headers and the body on demand, for `with_raw_response` and friends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, ParamSpec, TypeVar

import httpx

from .._exceptions import request_id_of
from ._base import ResponseMode, parse_body, response_mode

__all__ = [
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncResponseContext",
    "async_wrap_mode",
    "wrap_mode",
]

T = TypeVar("T")
P = ParamSpec("P")


class _ResponseView:
    def __init__(self, response: httpx.Response, parse: Callable[[httpx.Response], Any]) -> None:
        self.http_response = response
        self._parse = parse

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The `request-id` header."""
        return request_id_of(self.http_response.headers)

    @property
    def url(self) -> httpx.URL:
        """The URL requested."""
        return self.http_response.request.url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}] {self.url.path}>"


class APIResponse(_ResponseView, Generic[T]):
    """A response whose body is read and parsed only when asked (`parse()`)."""

    def parse(self) -> T:
        """The value the plain method would have returned (a model, a page, a stream ...)."""
        result: T = self._parse(self.http_response)
        return result

    def read(self) -> bytes:
        """The whole body."""
        return self.http_response.read()

    def text(self) -> str:
        """The whole body as text."""
        self.http_response.read()
        return self.http_response.text

    def json(self) -> Any:
        """The whole body as JSON."""
        self.http_response.read()
        return parse_body(self.http_response, None)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in chunks, as it arrives."""
        return self.http_response.iter_bytes(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        """The body line by line, as it arrives."""
        return self.http_response.iter_lines()

    def close(self) -> None:
        """Release the connection."""
        self.http_response.close()

    def __enter__(self) -> APIResponse[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncAPIResponse(_ResponseView, Generic[T]):
    """The async twin of `APIResponse`: `await parse()`, `await read()` ..."""

    async def parse(self) -> T:
        """The value the plain method would have returned."""
        if not self.http_response.is_stream_consumed and not _is_streaming_parse(self._parse):
            await self.http_response.aread()
        result: T = self._parse(self.http_response)
        return result

    async def read(self) -> bytes:
        """The whole body."""
        return await self.http_response.aread()

    async def text(self) -> str:
        """The whole body as text."""
        await self.http_response.aread()
        return self.http_response.text

    async def json(self) -> Any:
        """The whole body as JSON."""
        await self.http_response.aread()
        return parse_body(self.http_response, None)

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks, as it arrives."""
        return self.http_response.aiter_bytes(chunk_size)

    def iter_lines(self) -> AsyncIterator[str]:
        """The body line by line, as it arrives."""
        return self.http_response.aiter_lines()

    async def close(self) -> None:
        """Release the connection."""
        await self.http_response.aclose()

    async def __aenter__(self) -> AsyncAPIResponse[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _is_streaming_parse(parse: Callable[..., Any]) -> bool:
    return bool(getattr(parse, "streaming", False))


def wrap_mode(fn: Callable[P, T], mode: ResponseMode) -> Callable[P, APIResponse[T]]:
    """`fn`, returning its raw response instead of the parsed value."""

    def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        token = response_mode.set(mode)
        try:
            return fn(*args, **kwargs)  # type: ignore[return-value]
        finally:
            response_mode.reset(token)

    return call


class AsyncResponseContext(Generic[T]):
    """What an async `with_raw_response` / `with_streaming_response` call returns.

    `await` it for the response, or use it as `async with ... as response:`, which closes the
    response (releasing the connection) when the block ends.
    """

    def __init__(self, start: Callable[[], Awaitable[AsyncAPIResponse[T]]]) -> None:
        self._start = start
        self._response: AsyncAPIResponse[T] | None = None

    def __await__(self) -> Generator[Any, None, AsyncAPIResponse[T]]:
        return self._start().__await__()

    async def __aenter__(self) -> AsyncAPIResponse[T]:
        self._response = await self._start()
        return self._response

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            await self._response.close()


def async_wrap_mode(
    fn: Callable[P, Awaitable[T]], mode: ResponseMode
) -> Callable[P, AsyncResponseContext[T]]:
    """`fn` (async), returning its raw response instead of the parsed value."""

    def call(*args: P.args, **kwargs: P.kwargs) -> AsyncResponseContext[T]:
        async def start() -> AsyncAPIResponse[T]:
            token = response_mode.set(mode)
            try:
                return await fn(*args, **kwargs)  # type: ignore[return-value]
            finally:
                response_mode.reset(token)

        return AsyncResponseContext(start)

    return call
