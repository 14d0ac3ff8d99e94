"""`FoundryClient` and `AsyncFoundryClient`: the Claude clients, speaking to Microsoft Foundry.

Foundry serves the first-party wire format (paths, bodies, SSE) under
`https://{resource}.services.ai.azure.com/anthropic`, so only construction and auth differ: an
API key (sent as both `api-key`, Azure's header, and `x-api-key`, Anthropic's) or a Microsoft
Entra ID (Azure AD) token provider, asked on every attempt and sent as a bearer token.
"""

from __future__ import annotations

import os

import httpx
from typing_extensions import Unpack

from .._exceptions import ConfigurationError
from ..client import AsyncClient, AsyncMessages, Client, ClientOptions, Messages
from ..client._base import H
from ._cloud import BearerAuth, HostResources, NoBatches, ProviderToken, TokenProvider

__all__ = ["AZURE_AI_SCOPE", "AsyncFoundryClient", "FoundryClient", "foundry_base_url"]

AZURE_AI_SCOPE = "https://ai.azure.com/.default"
"""The scope to ask Entra ID tokens for, e.g. `get_bearer_token_provider(cred, AZURE_AI_SCOPE)`."""

_HOST = "Microsoft Foundry"


def foundry_base_url(resource: str | None, base_url: str | None) -> str:
    """The base URL from a resource name or an explicit URL (arguments, then
    `ANTHROPIC_FOUNDRY_RESOURCE` / `ANTHROPIC_FOUNDRY_BASE_URL`).

    Raises:
        ConfigurationError: neither is set, or both are.
    """
    if resource is None and base_url is None:
        resource = os.environ.get("ANTHROPIC_FOUNDRY_RESOURCE") or None
        base_url = os.environ.get("ANTHROPIC_FOUNDRY_BASE_URL") or None
    if resource is not None and base_url is not None:
        raise ConfigurationError("pass a Foundry resource name or a base_url, not both")
    if base_url is not None:
        return base_url.rstrip("/")
    if resource is None:
        raise ConfigurationError(
            "Foundry needs a resource: pass resource=... (the name in "
            "https://<resource>.services.ai.azure.com) or base_url=..., or set "
            "ANTHROPIC_FOUNDRY_RESOURCE"
        )
    return f"https://{resource}.services.ai.azure.com/anthropic"


class _FoundryMixin(HostResources[H]):
    """Foundry's auth and construction, shared by the sync and async clients."""

    _host = _HOST
    _models_hint = "Foundry lists its models in the Azure portal and its management API"

    _api_key: str | None
    _bearer: BearerAuth | None

    def __init__(
        self,
        *,
        resource: str | None = None,
        api_key: str | None = None,
        azure_ad_token_provider: TokenProvider | None = None,
        **options: Unpack[ClientOptions[H]],
    ) -> None:
        self._check_options(options, "resource", "api_key", "azure_ad_token_provider")
        if api_key is not None and azure_ad_token_provider is not None:
            raise ConfigurationError("pass api_key or azure_ad_token_provider, not both")
        if api_key is None and azure_ad_token_provider is None:
            api_key = os.environ.get("ANTHROPIC_FOUNDRY_API_KEY") or None
            if api_key is None:
                raise ConfigurationError(
                    "Foundry needs credentials: pass api_key=... (or set "
                    "ANTHROPIC_FOUNDRY_API_KEY) or azure_ad_token_provider=..."
                )
        self._api_key = api_key
        self._bearer = (
            None
            if azure_ad_token_provider is None
            else BearerAuth(ProviderToken(azure_ad_token_provider, what="azure_ad_token_provider"))
        )
        self._setup_host(options, base_url=foundry_base_url(resource, options.get("base_url")))

    def __repr__(self) -> str:
        auth = "api_key" if self._api_key else "azure_ad_token_provider"
        return f"{type(self).__name__}(base_url={self.base_url!r}, auth={auth})"

    def _auth_headers(self) -> dict[str, str]:
        if self._api_key:
            return {"api-key": self._api_key, "x-api-key": self._api_key}
        return {}

    def _auth(self) -> httpx.Auth | None:
        return self._bearer


class FoundryMessages(NoBatches, Messages):
    """`client.messages` on Foundry: create, stream, count_tokens."""

    _host = _HOST


class AsyncFoundryMessages(NoBatches, AsyncMessages):
    """`client.messages` on Foundry (async)."""

    _host = _HOST


class FoundryClient(_FoundryMixin[httpx.Client], Client):
    """A synchronous Claude client for Microsoft Foundry; the same interface as `Client`.

    Args:
        resource: The Foundry resource name; default `ANTHROPIC_FOUNDRY_RESOURCE`.
        api_key: Default `ANTHROPIC_FOUNDRY_API_KEY` (never `ANTHROPIC_API_KEY`).
        azure_ad_token_provider: Instead of a key: a callable returning an Entra ID token for
            `AZURE_AI_SCOPE`, asked on every attempt (it should cache, as azure-identity's
            `get_bearer_token_provider` does).
        base_url: Instead of `resource`: the full base URL (`ANTHROPIC_FOUNDRY_BASE_URL`).
        **options: `default_headers`, `timeout`, `max_retries`, `retry` and `http_client`, as
            for `Client`.

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: no credentials, or no resource / base URL, or both of a pair.
    """

    messages: FoundryMessages

    _messages_type = FoundryMessages


class AsyncFoundryClient(_FoundryMixin[httpx.AsyncClient], AsyncClient):
    """An asynchronous Claude client for Microsoft Foundry; the same interface as
    `AsyncClient`. Takes the arguments of `FoundryClient`, with an `httpx.AsyncClient` as
    `http_client`; `azure_ad_token_provider` may be async.
    """

    messages: AsyncFoundryMessages

    _messages_type = AsyncFoundryMessages
