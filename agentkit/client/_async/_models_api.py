"""`client.models`: list (paginated) and retrieve."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import Unpack

from ...types._params import RequestOptions
from .._models_api import ListParams, cursor_query, list_spec, retrieve_spec, validate_model_info
from ._pagination import AsyncPager, list_pages
from ._requester import AsyncRequester

if TYPE_CHECKING:
    from ...types._message import ModelInfo

__all__ = ["AsyncModels"]


class AsyncModels:
    """`client.models`: the models your key can use."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    def list(self, **params: Unpack[ListParams]) -> AsyncPager[ModelInfo]:
        """The models, newest first: the first page, iterable over every model across pages."""
        query = cursor_query(params)
        return list_pages(self._client, lambda q: list_spec(params, q), query, validate_model_info)

    async def retrieve(self, model_id: str, **options: Unpack[RequestOptions]) -> ModelInfo:
        """One model by id or alias."""
        return await self._client.call(retrieve_spec(model_id, options))
