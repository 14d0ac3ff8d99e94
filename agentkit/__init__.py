"""agentkit: tool-using agents and multi-turn chat apps on the Claude Messages API."""

from ._exceptions import *  # noqa: F403
from ._exceptions import __all__ as _exc_all
from ._models import *  # noqa: F403
from ._models import __all__ as _models_all
from ._version import __version__ as __version__

__all__ = sorted([*_exc_all, *_models_all, "__version__"])
