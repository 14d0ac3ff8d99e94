"""Pages of a list, iterable over every item of every page, and what `list()` returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from functools import partial
from typing import Generic, TypeVar

from ..._exceptions import request_id_of
from .._base import RequestSpec
from .._pagination import PageData, PageInfo, next_page_query, page_data
from ._requester import AsyncRequester

__all__ = [
    "AsyncPage",
    "AsyncPager",  # unasync: remove
    "fetch_page",
    "list_pages",
]
T = TypeVar("T")


class AsyncPage(PageData[T]):
    """One page of a list, iterable over every item of every page from here on.

    Args:
        page: The page's fields.
        fetch: Fetches the page for a query (the next page's).
    """

    def __init__(
        self, page: PageData[T], fetch: Callable[[dict[str, object]], Awaitable[AsyncPage[T]]]
    ) -> None:
        super().__init__(
            page.data,
            page.has_more,
            page.first_id,
            page.last_id,
            page.raw,
            page.query,
            page._request_id,
        )
        self._fetch = fetch

    def has_next_page(self) -> bool:
        """Whether another page follows."""
        return next_page_query(self.query, self.raw) is not None

    def next_page_info(self) -> PageInfo | None:
        """The query of the next page (`.params`), or None when this is the last."""
        query = next_page_query(self.query, self.raw)
        return None if query is None else PageInfo(query)

    async def get_next_page(self) -> AsyncPage[T]:
        """Fetch the next page.

        Raises:
            StopAsyncIteration: when this is the last page.
        """
        query = next_page_query(self.query, self.raw)
        if query is None:
            raise StopAsyncIteration("no next page")
        return await self._fetch(query)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page and every page after it."""
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.get_next_page() if page.has_next_page() else None

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


# unasync: async-only
class AsyncPager(Generic[T]):
    """What an async `list()` returns: `await` it for the first page, or `async for` every item."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Generator[object, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item


# unasync: end


async def fetch_page(
    client: AsyncRequester,
    spec: Callable[[dict[str, object]], RequestSpec[dict[str, object]]],
    query: dict[str, object],
    item: Callable[[object], T],
) -> AsyncPage[T]:
    """The page a list endpoint returns for `query` (the spec of each page from `spec`)."""
    page_spec = spec(query)
    response = await client.send(page_spec)
    body = page_spec.parse(response)
    page = page_data(body, query, item, request_id_of(response.headers))
    return AsyncPage(page, lambda q: fetch_page(client, spec, q, item))


def list_pages(
    client: AsyncRequester,
    spec: Callable[[dict[str, object]], RequestSpec[dict[str, object]]],
    query: dict[str, object],
    item: Callable[[object], T],
) -> AsyncPager[T]:
    """What `list()` returns: the pages from `query` on."""
    first = partial(fetch_page, client, spec, query, item)
    return AsyncPager(first)  # unasync: return first()
