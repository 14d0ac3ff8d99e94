"""Cursor pages (`{data, has_more, first_id, last_id}`): the pure steps both page types share.

`AsyncPage` / `AsyncPager` live in `_async/_pagination.py`, `Page` in the sync copy generated
from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["PageData", "PageInfo", "next_page_query", "page_data"]

T = TypeVar("T")


def next_page_query(
    query: Mapping[str, object], body: Mapping[str, object]
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


@dataclass(frozen=True)
class PageInfo:
    """What `next_page_info()` returns: the query parameters of the next page."""

    params: dict[str, object]


@dataclass
class PageData(Generic[T]):
    """The fields of one page, its raw body, the query that fetched it and the response's
    `request-id` (`_request_id`, as on the SDK's pages)."""

    data: list[T]
    has_more: bool
    first_id: str | None
    last_id: str | None
    raw: dict[str, object]
    query: dict[str, object]
    _request_id: str | None = None


def page_data(
    body: Mapping[str, object],
    query: dict[str, object],
    item: Callable[[object], T],
    request_id: str | None = None,
) -> PageData[T]:
    """The fields of a list response body, each item through `item` (a model's validator)."""
    data = body.get("data")
    first_id, last_id = body.get("first_id"), body.get("last_id")
    return PageData(
        data=[item(x) for x in data] if isinstance(data, list) else [],
        has_more=bool(body.get("has_more")),
        first_id=first_id if isinstance(first_id, str) else None,
        last_id=last_id if isinstance(last_id, str) else None,
        raw=dict(body),
        query=query,
        _request_id=request_id,
    )
