"""`client.models`: list (paginated) and retrieve, sync and async over one set of specs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from typing_extensions import Unpack

from ..types._message import ModelInfo
from ..types._params import RequestOptions
from ._base import RequestSpec, spec_from_params
from ._pagination import AsyncPage, AsyncPager, Page, build_page

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncModels", "ListParams", "Models", "list_spec"]


class ListParams(RequestOptions, total=False):
    """Cursor pagination: `limit` (1-1000, default 20), `after_id`, `before_id`."""

    limit: int
    after_id: str
    before_id: str


def list_spec(path: str, query: dict[str, object], options: dict[str, Any]) -> RequestSpec:
    """A GET of one page of a list endpoint (pure)."""
    return spec_from_params("GET", path, {**query, **options}, body=False)


def split_list_params(params: dict[str, Any]) -> tuple[dict[str, object], dict[str, Any]]:
    """(cursor query, request options) from `list()` keyword arguments."""
    query: dict[str, object] = {
        k: params[k] for k in ("limit", "after_id", "before_id") if k in params
    }
    options = {k: v for k, v in params.items() if k not in query}
    return query, options


class Models:
    """`client.models`: the models your key can use."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, **params: Unpack[ListParams]) -> Page[ModelInfo]:
        """The first page of models; iterate it for every model across pages."""
        query, options = split_list_params(dict(params))
        return self._page(query, options)

    def _page(self, query: dict[str, object], options: dict[str, Any]) -> Page[ModelInfo]:
        body = self._client._call(list_spec("/v1/models", query, options))
        page: Page[ModelInfo] = build_page(Page, body, query, ModelInfo.model_validate)
        page._fetch = lambda q: self._page(q, options)
        return page

    def retrieve(self, model_id: str, **options: Unpack[RequestOptions]) -> ModelInfo:
        """One model by id or alias."""
        spec = spec_from_params(
            "GET",
            f"/v1/models/{quote(model_id, safe='')}",
            dict(options),
            body=False,
            parse=ModelInfo.model_validate,
        )
        result: ModelInfo = self._client._call(spec)
        return result


class AsyncModels:
    """`client.models` (async)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def list(self, **params: Unpack[ListParams]) -> AsyncPager[ModelInfo]:
        """`await` for the first page, or `async for` over every model across pages."""
        query, options = split_list_params(dict(params))
        return AsyncPager(lambda: self._page(query, options))

    async def _page(
        self, query: dict[str, object], options: dict[str, Any]
    ) -> AsyncPage[ModelInfo]:
        body = await self._client._call(list_spec("/v1/models", query, options))
        page: AsyncPage[ModelInfo] = build_page(AsyncPage, body, query, ModelInfo.model_validate)
        page._fetch = lambda q: self._page(q, options)
        return page

    async def retrieve(self, model_id: str, **options: Unpack[RequestOptions]) -> ModelInfo:
        """One model by id or alias."""
        spec = spec_from_params(
            "GET",
            f"/v1/models/{quote(model_id, safe='')}",
            dict(options),
            body=False,
            parse=ModelInfo.model_validate,
        )
        result: ModelInfo = await self._client._call(spec)
        return result
