"""`Client` and `AsyncClient`, and the options every client takes.

`AsyncClient` is written in `_async/_client.py`; `Client` is generated from it into
`_sync/_client.py` by `scripts/unasync`. This module names both for the layers above.
"""

from __future__ import annotations

from ._async._client import AsyncClient
from ._base import ClientOptions
from ._sync._client import Client

__all__ = ["AsyncClient", "Client", "ClientOptions"]
