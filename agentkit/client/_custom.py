"""Requests to endpoints agentkit has no method for (`client.get/post/put/patch/delete`), in the
official SDK's terms: `cast_to` says what to return, `options` holds per-request settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import httpx

from .._options import check_options, option_names
from ..types._params import TimeoutTypes
from ._base import DEFAULT, Body, Omitted, RequestSpec, decode_json, model_parser, request_timeout

__all__ = ["CustomRequestOptions", "cast_parser", "custom_spec"]


class CustomRequestOptions(TypedDict, total=False):
    """The SDK's `options=` of `client.post(...)`: per-request settings.

    Attributes:
        headers: Extra headers (None removes a default one).
        params: Query parameters.
        timeout: A timeout for this request.
        max_retries: Retries for this request.
        extra_json: JSON fields merged into the body.
    """

    headers: Mapping[str, str | None]
    params: Mapping[str, object]
    timeout: TimeoutTypes
    max_retries: int
    extra_json: Mapping[str, object]


_OPTIONS = option_names(CustomRequestOptions)


def cast_parser(cast_to: object) -> Callable[[httpx.Response], Any]:
    """How a response becomes what `cast_to` names (pure).

    `httpx.Response`: the response itself (read); a pydantic model: the body validated (with
    `_request_id`); `str` / `bytes`: the body's text / bytes; `object` or None: the decoded
    JSON; any other type pydantic can validate (`list[Model]`, a TypedDict ...): the JSON
    validated as that type.
    """
    if cast_to is httpx.Response:
        return _itself
    if cast_to is None or cast_to is object:
        return decode_json
    if cast_to is str:
        return _text
    if cast_to is bytes:
        return _content
    from pydantic import BaseModel, TypeAdapter  # loaded on first use, not at import

    if isinstance(cast_to, type) and issubclass(cast_to, BaseModel):
        return model_parser(cast_to.model_validate)
    try:
        adapter: TypeAdapter[object] = TypeAdapter(cast_to)  # type: ignore[arg-type]  # any type
    except Exception as exc:  # pydantic's errors for a type it cannot build a validator for
        raise TypeError(f"cast_to={cast_to!r} is not a type pydantic can validate") from exc
    return model_parser(adapter.validate_python)


def _itself(response: httpx.Response) -> httpx.Response:
    return response


def _text(response: httpx.Response) -> str:
    return response.text


def _content(response: httpx.Response) -> bytes:
    return response.content


def custom_spec(
    method: str,
    path: str,
    *,
    body: Body,
    query: Mapping[str, object] | None,
    headers: Mapping[str, str | None] | None,
    timeout: TimeoutTypes | Omitted,
    max_retries: int | None,
    cast_to: object,
    options: Mapping[str, object] | None,
) -> RequestSpec[Any]:
    """The request of `client.request(...)` (pure); `options` as `CustomRequestOptions`.

    Raises:
        TypeError: an unknown key or a wrong type in `options`, or a `cast_to` pydantic cannot
            validate.
    """
    opts = options or {}
    check_options(opts, _OPTIONS, where=f"client.{method.lower()}(options=...)")
    extra_json = _mapping(opts, "extra_json")
    if extra_json:
        if body is not None and not isinstance(body, Mapping):
            raise TypeError("options['extra_json'] needs a JSON object body (or none)")
        body = {**(body or {}), **extra_json}
    if "timeout" in opts and timeout is DEFAULT:
        given = opts["timeout"]
        if given is not None and not isinstance(given, int | float | httpx.Timeout):
            raise TypeError(f"options['timeout'] must be seconds or an httpx.Timeout: {given!r}")
        timeout = given
    retries = opts.get("max_retries")
    if retries is not None and type(retries) is not int:
        raise TypeError(f"options['max_retries'] must be an int, not {retries!r}")
    extra_headers = {
        str(k): None if v is None else str(v) for k, v in _mapping(opts, "headers").items()
    }
    return RequestSpec(
        method,
        path,
        body,
        {**(query or {}), **_mapping(opts, "params")} or None,
        {**(headers or {}), **extra_headers},
        None,
        request_timeout(timeout),
        max_retries if max_retries is not None else retries,
        parse=cast_parser(cast_to),
    )


def _mapping(options: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = options.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"options[{key!r}] must be a mapping, not {value!r}")
    return value
