"""agentkit: tool-using agents and multi-turn chat apps on the Claude Messages API."""

from ._client import AsyncClient as AsyncClient
from ._client import Client as Client
from ._exceptions import *  # noqa: F403
from ._exceptions import __all__ as _exceptions_all
from ._models import *  # noqa: F403
from ._models import __all__ as _models_all
from ._pagination import AsyncPage as AsyncPage
from ._pagination import AsyncPager as AsyncPager
from ._pagination import Page as Page
from ._response import APIResponse as APIResponse
from ._response import AsyncAPIResponse as AsyncAPIResponse
from ._retry import RetryPolicy as RetryPolicy
from ._usage import DEFAULT_PRICES as DEFAULT_PRICES
from ._usage import ModelPrice as ModelPrice
from ._usage import RunUsage as RunUsage
from ._version import __version__ as __version__

__all__ = sorted(
    [
        *_exceptions_all,
        *_models_all,
        "APIResponse",
        "AsyncAPIResponse",
        "AsyncClient",
        "AsyncPage",
        "AsyncPager",
        "Client",
        "DEFAULT_PRICES",
        "ModelPrice",
        "Page",
        "RetryPolicy",
        "RunUsage",
        "__version__",
    ]
)
