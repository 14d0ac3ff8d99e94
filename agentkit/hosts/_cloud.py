"""What the cloud-host clients (Bedrock, Vertex AI, Foundry) share: per-attempt bearer tokens,
resources a host does not offer, and the one place a request body is opened for reshaping.

Every host client is a `Client` / `AsyncClient` subclass that overrides the `BaseClient` hooks;
nothing here sends a request.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import ClassVar, NoReturn

import httpx
from pydantic_core import from_json

from .._exceptions import ConfigurationError
from ..client._base import BaseClient, H

__all__ = [
    "BearerAuth",
    "HostResources",
    "NoBatches",
    "NoFiles",
    "ProviderToken",
    "StaticToken",
    "TokenSource",
    "TokenProvider",
    "Unsupported",
    "beta_list",
    "body_dict",
    "unsupported",
]

TokenProvider = Callable[[], "str | Awaitable[str]"]
"""A callable returning a bearer token (or, for async clients, an awaitable of one)."""


class TokenSource:
    """Where a bearer token comes from; `token()` for sync clients, `atoken()` for async ones."""

    def token(self) -> str:
        """The token to send now (may block to refresh)."""
        raise NotImplementedError

    async def atoken(self) -> str:
        """The token to send now, without blocking the event loop."""
        raise NotImplementedError


class StaticToken(TokenSource):
    """A fixed token (it expires when it expires: the API then answers 401)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def token(self) -> str:
        return self._value

    async def atoken(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


class ProviderToken(TokenSource):
    """A user's callable, asked on every attempt (it caches and refreshes on its own, as the
    Azure identity library's `get_bearer_token_provider` does).

    A sync client needs a callable returning `str`; an async client also accepts one returning
    an awaitable. A sync callable is called directly on the event loop, so it must not block:
    pass an async provider when getting a token does I/O.
    """

    def __init__(self, provider: TokenProvider, *, what: str = "token provider") -> None:
        self._provider = provider
        self._what = what

    def token(self) -> str:
        value = self._provider()
        if inspect.isawaitable(value):
            _close_awaitable(value)
            raise ConfigurationError(
                f"the {self._what} returned an awaitable; a sync client needs a provider that "
                "returns the token string (use the async client for an async provider)"
            )
        return self._check(value)

    async def atoken(self) -> str:
        value = self._provider()
        if inspect.isawaitable(value):
            value = await value
        return self._check(value)

    def _check(self, value: object) -> str:
        if not isinstance(value, str) or not value:
            # Never echo the value: a wrong type may still hold a secret.
            raise ConfigurationError(
                f"the {self._what} must return a non-empty token string, not {type(value).__name__}"
            )
        return value

    def __repr__(self) -> str:
        return f"ProviderToken({self._what})"


def _close_awaitable(value: object) -> None:
    # Close a coroutine we will not await, so Python does not warn that it never ran.
    close = getattr(value, "close", None)
    if callable(close):
        close()


class BearerAuth(httpx.Auth):
    """Sets `Authorization: Bearer <token>` on every attempt, from a `TokenSource`.

    Running as an `httpx.Auth` means a retried request asks again (a refreshed token is used),
    and the async flow awaits the source instead of blocking the loop.
    """

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["authorization"] = f"Bearer {self.source.token()}"
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["authorization"] = f"Bearer {await self.source.atoken()}"
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth({self.source!r})"


class Unsupported:
    """Stands in for a resource a host does not offer (`client.models` on Bedrock ...).

    Any use raises `ConfigurationError` naming the host and what to use instead, rather than
    sending a request the host answers with a bare 404.
    """

    def __init__(self, host: str, resource: str, hint: str) -> None:
        self._host = host
        self._resource = resource
        self._hint = hint

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)  # keep copy, pickle and hasattr working
        raise ConfigurationError(
            f"{self._host} does not offer the {self._resource} API through this client "
            f"(tried {self._resource}.{name}); {self._hint}"
        )

    def __repr__(self) -> str:
        return f"Unsupported({self._host}: {self._resource})"


def unsupported(host: str, resource: str, hint: str) -> ConfigurationError:
    """The error for using an API a host does not offer."""
    return ConfigurationError(
        f"{host} does not offer the {resource} API through this client; {hint} "
        "(or use agentkit.Client with the Claude API)"
    )


class NoBatches:
    """Mixed into a host's `messages` resource: `messages.batches` raises a clear error."""

    _host: ClassVar[str]
    _batches_hint: ClassVar[str] = "send the requests one by one"

    @property
    def batches(self) -> NoReturn:
        """Not offered on this host."""
        raise unsupported(self._host, "message batches", self._batches_hint)


class NoFiles:
    """Mixed into a host's client: `client.files` raises a clear error."""

    _host: ClassVar[str]

    @property
    def files(self) -> NoReturn:
        """Not offered on this host: send documents and images inline."""
        raise unsupported(self._host, "files", "send documents and images inline in the message")


class HostResources(BaseClient[H]):
    """Mixed into a host's client: the host's own `messages` resource, and a `models` that
    raises a clear error (no host lists models through the Claude API's endpoint).
    """

    _host: ClassVar[str]
    _models_hint: ClassVar[str]
    _messages_type: ClassVar[Callable[..., object]]  # set on each sync and async client

    def _build_resources(self) -> None:
        super()._build_resources()
        # setattr: each client declares `messages` with its own resource type.
        setattr(self, "messages", self._messages_type(self))  # noqa: B010
        setattr(self, "models", Unsupported(self._host, "models", self._models_hint))  # noqa: B010


def body_dict(body: object) -> dict[str, object]:
    """A request body as a fresh dict, whether it came as a dict or as pre-encoded JSON bytes.

    Hosts move fields between the URL, the headers and the body, so they need the fields; the
    copy leaves the caller's dict (or the runner's cached bytes) untouched.

    Raises:
        ConfigurationError: when the body is not a JSON object.
    """
    if isinstance(body, bytes | bytearray | memoryview):
        body = from_json(bytes(body))
    if not isinstance(body, dict):
        raise ConfigurationError(
            f"a Messages request body must be a JSON object, not {type(body).__name__}"
        )
    return dict(body)


def beta_list(*values: str | None) -> list[str]:
    """Comma-joined `anthropic-beta` values as one de-duplicated list, in order."""
    out: dict[str, None] = {}
    for value in values:
        for part in (value or "").split(","):
            if part.strip():
                out[part.strip()] = None
    return list(out)
