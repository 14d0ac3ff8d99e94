"""`FakeClaude`: the fake Messages API (`FakeAPI`) with the ways to plug it into a client.

The adapters take any `FakeHandler` and know nothing of the fake; this module ties the two
together, so imports run one way: `_claude` -> `_transport`, `_server` -> `_http`.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._fake import DEFAULT_BASE_URL, FakeAPI
from ._server import FakeServer
from ._transport import FakeTransport

__all__ = ["FakeClaude"]


class FakeClaude(FakeAPI):
    """A fake Claude API that speaks and checks the real wire format.

    Plug it in without a socket (`http_client()`, `async_http_client()`, `transport()`) or over
    loopback HTTP (`serve()`). The arguments are `FakeAPI`'s.
    """

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) served by this fake."""
        return FakeTransport(self)

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An `httpx.Client` wired to this fake, `base_url` set to the API's.

        Use it as `agentkit.Client(api_key="test", http_client=fake.http_client())`.
        """
        kwargs.setdefault("base_url", DEFAULT_BASE_URL)
        return httpx.Client(transport=self.transport(), **kwargs)

    def async_http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` wired to this fake, `base_url` set to the API's."""
        kwargs.setdefault("base_url", DEFAULT_BASE_URL)
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """A loopback HTTP server for this fake; use it as a context manager (`.url`)."""
        return FakeServer(self, host=host, port=port)
