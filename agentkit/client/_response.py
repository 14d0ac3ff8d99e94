"""Raw responses (`APIResponse`, `AsyncAPIResponse`) and the wrappers that make a method return
one instead of its parsed value (`with_raw_response`, `with_streaming_response`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Generic, ParamSpec, TypeVar

from ._async._response import AsyncAPIResponse
from ._base import ResponseMode, response_mode
from ._sync._response import APIResponse

__all__ = [
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncResponseContext",
    "async_wrap_mode",
    "wrap_mode",
]

T = TypeVar("T")
P = ParamSpec("P")


@contextmanager
def _mode(mode: ResponseMode) -> Iterator[None]:
    token = response_mode.set(mode)
    try:
        yield
    finally:
        response_mode.reset(token)


def wrap_mode(fn: Callable[P, T], mode: ResponseMode) -> Callable[P, APIResponse[T]]:
    """`fn`, returning its raw response instead of the parsed value.

    The client's `call` returns the raw response while the mode is set (see `Client.call`).
    """

    def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        with _mode(mode):
            response = fn(*args, **kwargs)
        assert isinstance(response, APIResponse)  # what `call` returns in this mode
        return response

    return call


class AsyncResponseContext(Generic[T]):
    """What an async `with_raw_response` / `with_streaming_response` call returns.

    `await` it for the response, or use it as `async with ... as response:`, which closes the
    response (releasing the connection) when the block ends.
    """

    def __init__(self, start: Callable[[], Awaitable[AsyncAPIResponse[T]]]) -> None:
        self._start = start
        self._response: AsyncAPIResponse[T] | None = None

    def __await__(self) -> Generator[object, None, AsyncAPIResponse[T]]:
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
            with _mode(mode):
                raw = await fn(*args, **kwargs)
            assert isinstance(raw, AsyncAPIResponse)
            return raw

        return AsyncResponseContext(start)

    return call
