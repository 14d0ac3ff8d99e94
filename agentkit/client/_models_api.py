"""The requests of `client.models` (list, retrieve) and the cursor parameters every list takes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..types._params import RequestOptions
from ._base import RequestSpec, json_object, model_parser, spec_from_params

if TYPE_CHECKING:
    from ..types._message import ModelInfo

__all__ = ["ListParams", "cursor_query", "list_spec", "retrieve_spec", "validate_model_info"]

_CURSOR = ("limit", "after_id", "before_id")


class ListParams(RequestOptions, total=False):
    """Cursor pagination: `limit` (1-1000, default 20), `after_id`, `before_id`."""

    limit: int
    after_id: str
    before_id: str


def cursor_query(params: ListParams) -> dict[str, object]:
    """The cursor of a `list()` call's first page (`limit`, `after_id`, `before_id`)."""
    return {k: v for k, v in params.items() if k in _CURSOR}


def list_spec(
    params: RequestOptions, query: Mapping[str, object]
) -> RequestSpec[dict[str, object]]:
    """A `GET /v1/models` of one page (`query`: its cursor)."""
    return spec_from_params("GET", "/v1/models", params, query=query, body=False, parse=json_object)


def retrieve_spec(model_id: str, options: RequestOptions) -> RequestSpec[ModelInfo]:
    """A `GET /v1/models/{id}`."""
    path = f"/v1/models/{quote(model_id, safe='')}"
    parse = model_parser(validate_model_info)
    return spec_from_params("GET", path, options, body=False, parse=parse)


def validate_model_info(data: object) -> ModelInfo:
    """`ModelInfo.model_validate`, the response models loaded on first use (not at import)."""
    from ..types._message import ModelInfo

    return ModelInfo.model_validate(data)
