"""Cursor pages (`{data, has_more, first_id, last_id}`) and iterators over all their items."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["AsyncPage", "AsyncPager", "Page", "next_page_query"]

T = TypeVar("T")


def next_page_query(
    query: Mapping[str, object], body: Mapping[str, Any]
) -> dict[str, object] | None:
    """The query of the page after `body`, or None when it was the last.

    Paging backwards (the first request used `before_id`) continues with `before_id=first_id`;
    otherwise with `after_id=last_id`.
    """
    if not body.get("data") or body.get("has_more") is False:
        return None
    if query.get("before_id") is not None:
        cursor = body.get("first_id")
        return None if cursor is None else {**query, "before_id": cursor}
    cursor = body.get("last_id")
    if cursor is None:
        return None
    return {**{k: v for k, v in query.items() if k != "before_id"}, "after_id": cursor}


@dataclass
class _PageData(Generic[T]):
    data: list[T]
    has_more: bool
    first_id: str | None
    last_id: str | None
    raw: dict[str, Any]
    query: dict[str, object]


class Page(_PageData[T]):
    """One page of a list, iterable over every item of every page from here on."""

    _fetch: Callable[[dict[str, object]], Page[T]]

    def has_next_page(self) -> bool:
        """Whether another page follows."""
        return next_page_query(self.query, self.raw) is not None

    def get_next_page(self) -> Page[T]:
        """Fetch the next page.

        Raises:
            StopIteration: when this is the last page.
        """
        query = next_page_query(self.query, self.raw)
        if query is None:
            raise StopIteration("no next page")
        return self._fetch(query)

    def iter_pages(self) -> Iterator[Page[T]]:
        """This page and every page after it."""
        page: Page[T] | None = self
        while page is not None:
            yield page
            page = page.get_next_page() if page.has_next_page() else None

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageData[T]):
    """One page of a list (async)."""

    _fetch: Callable[[dict[str, object]], Awaitable[AsyncPage[T]]]

    def has_next_page(self) -> bool:
        """Whether another page follows."""
        return next_page_query(self.query, self.raw) is not None

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


class AsyncPager(Generic[T]):
    """What an async `list()` returns: `await` it for the first page, or `async for` every item."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Any:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item


def build_page(
    cls: type[Any], body: Mapping[str, Any], query: dict[str, object], item: Callable[[Any], T]
) -> Any:
    """A `Page` / `AsyncPage` from a list response body."""
    return cls(
        data=[item(x) for x in body.get("data") or []],
        has_more=bool(body.get("has_more")),
        first_id=body.get("first_id"),
        last_id=body.get("last_id"),
        raw=dict(body),
        query=query,
    )
