"""`DefaultAioHttpClient`: an `httpx.AsyncClient` running on aiohttp, for heavy concurrency.

httpx's own async transport is pure Python; under thousands of concurrent streams aiohttp's C
parser costs less CPU per response. Install with `pip install 'agentkit[aiohttp]'` (it uses
the maintained `httpx-aiohttp` transport) and pass it as `AsyncClient(http_client=...)`.
"""

from __future__ import annotations

from typing import Any

import httpx

from .._exceptions import ConfigurationError
from ._base import DEFAULT_LIMITS

__all__ = ["DefaultAioHttpClient"]


def DefaultAioHttpClient(**kwargs: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` whose transport is aiohttp, with agentkit's pool limits.

    Args:
        **kwargs: Passed to `httpx.AsyncClient` (timeout, proxy, headers, limits ...).

    Raises:
        ConfigurationError: when the `aiohttp` extra is not installed.
    """
    try:
        from httpx_aiohttp import HttpxAiohttpClient
    except ImportError as exc:
        raise ConfigurationError(
            "DefaultAioHttpClient needs the aiohttp extra: pip install 'agentkit[aiohttp]'"
        ) from exc
    kwargs.setdefault("limits", DEFAULT_LIMITS)
    kwargs.setdefault("follow_redirects", True)
    client: httpx.AsyncClient = HttpxAiohttpClient(**kwargs)
    return client
