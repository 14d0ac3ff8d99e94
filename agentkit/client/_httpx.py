"""`DefaultHttpxClient` / `DefaultAsyncHttpxClient`: httpx clients with agentkit's defaults.

Pass one as `http_client=` (to a client or `with_options`) to add a proxy, a transport option
or event hooks without losing what agentkit's own pool has: its timeout, its pool limits and
TCP keep-alive on every socket, so a quiet long request is not dropped by a network that
closes idle connections (the official SDK's `DefaultHttpxClient` does the same), and httpcore's
pool with a lean planning step (`_pool`: a connection per request, expiry checked when a
connection is handed out), so thousands of concurrent requests do not cost CPU per connection.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from typing import Any

import httpx
from httpx._utils import get_environment_proxies  # httpx's own reading of the proxy variables

from .._exceptions import raw_names
from ._base import DEFAULT_LIMITS, DEFAULT_TIMEOUT

__all__ = [
    "AsyncOwnedPool",
    "DefaultAsyncHttpxClient",
    "DefaultHttpxClient",
    "OwnedPool",
    "keepalive_socket_options",
]

SocketOption = tuple[int, int, int]


def keepalive_socket_options() -> list[SocketOption]:
    """TCP keep-alive: probe an idle connection after 60 s, every 60 s, give up after 5."""
    options: list[SocketOption] = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    interval = getattr(socket, "TCP_KEEPINTVL", None)
    if interval is not None:
        options.append((socket.IPPROTO_TCP, interval, 60))
    elif sys.platform == "darwin":  # macOS names the idle time TCP_KEEPALIVE (0x10)
        options.append((socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPALIVE", 0x10), 60))
    count = getattr(socket, "TCP_KEEPCNT", None)
    if count is not None:
        options.append((socket.IPPROTO_TCP, count, 5))
    idle = getattr(socket, "TCP_KEEPIDLE", None)
    if idle is not None:
        options.append((socket.IPPROTO_TCP, idle, 60))
    return options


_TRANSPORT_ARGS = ("verify", "cert", "trust_env", "http1", "http2", "limits")


def _with_defaults(
    kwargs: dict[str, Any], transport: type[httpx.HTTPTransport] | type[httpx.AsyncHTTPTransport]
) -> dict[str, Any]:
    """httpx client arguments with agentkit's defaults under the ones given.

    A transport of the caller's is kept as it is. Otherwise the default transport (and one per
    proxy from the environment, as httpx would mount) gets the keep-alive socket options.
    """
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    kwargs.setdefault("limits", DEFAULT_LIMITS)
    if "transport" in kwargs:
        return kwargs
    options = {k: kwargs[k] for k in _TRANSPORT_ARGS if k in kwargs}
    options["socket_options"] = keepalive_socket_options()
    # httpx reads the proxy variables only when it builds the transport itself.
    if kwargs.get("trust_env", True) and kwargs.get("proxy") is None:
        proxies = {
            key: None if url is None else transport(proxy=httpx.Proxy(url), **options)
            for key, url in get_environment_proxies().items()
        }
        kwargs["mounts"] = {**proxies, **(kwargs.get("mounts") or {})}
    kwargs["transport"] = own = transport(**options)
    # httpcore's pool, planning in time independent of its size; `_pool` imports httpcore,
    # which httpx itself loads only with its first transport (16 ms at import).
    from ._pool import make_lean

    make_lean(own)
    return kwargs


class Cookies(httpx.Cookies):
    """httpx's cookie jar, which reads a response's cookies only when it sets some.

    httpx hands every response to the standard library's `CookieJar.extract_cookies`, which
    copies the request and every header into `urllib` and `email` objects to look for
    `Set-Cookie`: about a fifth of a tool loop's client CPU per turn, for the API's responses
    that set none. The jar keeps what it would have kept: responses with `Set-Cookie` or
    `Set-Cookie2` are read as before.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        # The names lower-cased in one string, searched at C speed (`name in headers` raises and
        # catches a KeyError inside httpx for each name it lacks); a name that merely contains
        # "set-cookie" sends the response to the jar, which finds nothing to keep.
        _, names = raw_names(response.headers)
        if b"set-cookie" in b"\n".join(names).lower():
            super().extract_cookies(response)


class _CookieJar:
    """The `cookies` property of agentkit's pools: httpx's, holding a `Cookies` jar."""

    _cookies: httpx.Cookies

    @property
    def cookies(self) -> httpx.Cookies:
        if type(self._cookies) is not Cookies:  # httpx's own, as its __init__ made it
            self._cookies = Cookies(self._cookies)
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: httpx._types.CookieTypes) -> None:
        self._cookies = Cookies(cookies)


class DefaultHttpxClient(_CookieJar, httpx.Client):
    """An `httpx.Client` with agentkit's timeout, pool limits, TCP keep-alive and a cookie
    jar that skips responses setting no cookie (`Cookies`).

    Args:
        **kwargs: `httpx.Client`'s arguments (proxy, transport, verify, event_hooks ...); a
            `transport` of yours replaces the default one and its socket options.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_with_defaults(kwargs, httpx.HTTPTransport))


class DefaultAsyncHttpxClient(_CookieJar, httpx.AsyncClient):
    """An `httpx.AsyncClient` with agentkit's timeout, pool limits, TCP keep-alive and
    cookie jar; see `DefaultHttpxClient`.

    Args:
        **kwargs: `httpx.AsyncClient`'s arguments; see `DefaultHttpxClient`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_with_defaults(kwargs, httpx.AsyncHTTPTransport))


class OwnedPool(DefaultHttpxClient):
    """The pool a client makes for itself: closed when garbage collected, as the official
    SDK's own pool is, so a client that is never closed leaves no socket open."""

    def __del__(self) -> None:
        if not self.is_closed:
            with contextlib.suppress(Exception):
                self.close()


class AsyncOwnedPool(DefaultAsyncHttpxClient):
    """The async `OwnedPool`: closed when garbage collected while an asyncio loop runs (an
    async close needs one; without, the sockets go with the garbage collector)."""

    def __del__(self) -> None:
        if self.is_closed:
            return
        # asyncio is not imported here (12 ms at import): if nothing imported it, no loop runs.
        asyncio = sys.modules.get("asyncio")
        with contextlib.suppress(Exception):
            if asyncio is not None:
                asyncio.get_running_loop().create_task(self.aclose())
