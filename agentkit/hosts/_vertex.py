"""`VertexClient` and `AsyncVertexClient`: the Claude clients, speaking to Google Vertex AI.

Each is a `Client` / `AsyncClient` with Vertex's hooks, so the runner, tools, stores and stream
helpers work unchanged. What differs from the first-party API: the URL names the project, region
and model (`.../publishers/anthropic/models/{model}:rawPredict`, `:streamRawPredict` when
streaming); the body loses `model` and gains `anthropic_version: vertex-2023-10-16`; auth is an
OAuth bearer token. The stream is ordinary SSE.

Tokens come from an explicit `access_token`, your `token_provider`, or google-auth credentials
(the `vertex` extra, imported only then: given ones, or Application Default Credentials). A
google-auth token is refreshed before it expires, under a lock, and the async client refreshes in
a worker thread, because google-auth's refresh is blocking HTTP.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import ModuleType
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import anyio.to_thread
import httpx
from typing_extensions import Unpack

from .._exceptions import APIConnectionError, ConfigurationError
from ..client import AsyncClient, AsyncMessages, Client, ClientOptions, Messages
from ..client._base import H, RequestSpec
from ._cloud import (
    BearerAuth,
    HostResources,
    NoBatches,
    NoFiles,
    ProviderToken,
    StaticToken,
    TokenProvider,
    TokenSource,
    body_dict,
)

__all__ = [
    "VERTEX_ANTHROPIC_VERSION",
    "AsyncVertexClient",
    "GoogleToken",
    "VertexClient",
    "vertex_base_url",
    "vertex_request",
]

T = TypeVar("T")

VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_HOST = "Google Vertex AI"


# -- pure decisions ---------------------------------------------------------------------------


def vertex_base_url(region: str) -> str:
    """The API root for a region: `global`, the `us` / `eu` multi-regions, or a regional host."""
    if region == "global":
        return "https://aiplatform.googleapis.com/v1"
    if region in ("us", "eu"):
        return f"https://aiplatform.{region}.rep.googleapis.com/v1"
    return f"https://{region}-aiplatform.googleapis.com/v1"


def vertex_request(spec: RequestSpec[T], *, project: str, region: str) -> RequestSpec[T]:
    """Reshape a first-party Messages request for Vertex AI (pure).

    `POST /v1/messages` goes to the model's `:rawPredict` (or `:streamRawPredict`) without
    `model` in the body; `POST /v1/messages/count_tokens` goes to the `count-tokens` model and
    keeps `model`. Both bodies get `anthropic_version`; `anthropic-beta` stays a header.
    """
    if spec.method.upper() != "POST" or spec.path not in (
        "/v1/messages",
        "/v1/messages/count_tokens",
    ):
        return spec
    body = body_dict(spec.body)
    body.setdefault("anthropic_version", VERTEX_ANTHROPIC_VERSION)
    base = f"/projects/{quote(project, safe='')}/locations/{quote(region, safe='')}"
    base += "/publishers/anthropic/models"
    if spec.path == "/v1/messages/count_tokens":
        return replace(spec, path=f"{base}/count-tokens:rawPredict", body=body)
    model = body.pop("model", None)
    if not isinstance(model, str) or not model:
        raise ConfigurationError(
            "a Vertex AI request needs `model`, e.g. claude-sonnet-4-5@20250929"
        )
    stream = spec.stream or bool(body.get("stream"))
    if spec.stream:
        body["stream"] = True
    action = "streamRawPredict" if stream else "rawPredict"
    return replace(spec, path=f"{base}/{quote(model, safe='@')}:{action}", body=body)


# -- google-auth tokens -----------------------------------------------------------------------


class GoogleCredentials(Protocol):
    """What is used of google-auth credentials: a token, whether it is still good, a refresh."""

    @property
    def valid(self) -> bool:
        """The token is there and not about to expire."""
        ...

    @property
    def token(self) -> str | None:
        """The current access token."""
        ...

    # `Any`: google-auth types this as its own `Request`, which `_HttpxTransport` duck-types.
    def refresh(self, request: Any) -> None:
        """Get a new token through google-auth's transport callable."""
        ...


def _import_google_auth() -> ModuleType:
    try:
        import google.auth
        import google.auth.exceptions
    except ImportError as exc:
        raise ConfigurationError(
            "Vertex AI credentials need google-auth: pip install 'agentkit[vertex]' "
            "(or pass access_token=... or token_provider=...)"
        ) from exc
    return google.auth


def default_credentials() -> tuple[GoogleCredentials, str | None]:
    """Application Default Credentials and their project (blocking: may query the metadata
    server).

    Raises:
        ConfigurationError: google-auth is missing or finds no credentials.
    """
    google_auth = _import_google_auth()
    try:
        credentials, project = google_auth.default(scopes=list(SCOPES))
    except google_auth.exceptions.DefaultCredentialsError as exc:
        raise ConfigurationError(
            f"no Google credentials: {exc} (run `gcloud auth application-default login`, set "
            "GOOGLE_APPLICATION_CREDENTIALS, or pass access_token= / token_provider=)"
        ) from exc
    return credentials, project


class _Response:
    """google-auth's transport response, over an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.data = response.content


class _HttpxTransport:
    """google-auth's transport `Request` over httpx, so refreshing needs no `requests` package.

    Token refreshes are rare (about hourly), so each uses a short-lived connection.
    """

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: object,
    ) -> _Response:
        from google.auth import exceptions

        # google-auth declares no types for its exceptions' constructors.
        transport_error: Callable[[str], Exception] = exceptions.TransportError
        try:
            with httpx.Client(timeout=timeout or 30.0) as http:
                return _Response(http.request(method, url, content=body, headers=headers))
        except httpx.HTTPError as exc:
            raise transport_error(f"{type(exc).__name__}: {exc}") from exc


class GoogleToken(TokenSource):
    """Tokens from google-auth credentials, refreshed before expiry (google-auth's `valid`
    turns false a few minutes early), one refresh at a time.

    Args:
        credentials: google-auth credentials; None loads Application Default Credentials on
            first use.
    """

    def __init__(self, credentials: GoogleCredentials | None = None) -> None:
        self.credentials = credentials
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GoogleToken({type(self.credentials).__name__})"

    def _fresh(self) -> str | None:
        credentials = self.credentials
        if credentials is not None and credentials.valid:
            return credentials.token
        return None

    def token(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            # Another thread may have refreshed while this one waited.
            token = self._fresh()
            if token is None:
                token = self._refresh().token
        if not token:
            raise ConfigurationError("the Google credentials refreshed without a token")
        return str(token)

    async def atoken(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        return await anyio.to_thread.run_sync(self.token)

    def _refresh(self) -> GoogleCredentials:
        google_auth = _import_google_auth()
        if self.credentials is None:
            self.credentials, _ = default_credentials()
        try:
            self.credentials.refresh(_HttpxTransport())
        except google_auth.exceptions.TransportError as exc:
            raise APIConnectionError(f"could not refresh the Google access token: {exc}") from exc
        except google_auth.exceptions.GoogleAuthError as exc:
            if getattr(exc, "retryable", False):
                raise APIConnectionError(
                    f"could not refresh the Google access token: {exc}"
                ) from exc
            raise ConfigurationError(f"the Google credentials were refused: {exc}") from exc
        return self.credentials


# -- the shells ---------------------------------------------------------------------------------


class _VertexMixin(NoFiles, HostResources[H]):
    """Vertex's hooks and construction, shared by the sync and async clients."""

    _host = _HOST
    _models_hint = "Vertex AI lists Claude models in its Model Garden, not through this API"

    region: str
    project_id: str
    _bearer: BearerAuth

    def __init__(
        self,
        *,
        region: str | None = None,
        project_id: str | None = None,
        access_token: str | None = None,
        token_provider: TokenProvider | None = None,
        credentials: GoogleCredentials | None = None,
        **options: Unpack[ClientOptions[H]],
    ) -> None:
        self._check_options(
            options, "region", "project_id", "access_token", "token_provider", "credentials"
        )
        given = [
            n
            for n, v in (
                ("access_token", access_token),
                ("token_provider", token_provider),
                ("credentials", credentials),
            )
            if v is not None
        ]
        if len(given) > 1:
            raise ConfigurationError(
                "pass one of access_token, token_provider or credentials, not "
                + " and ".join(given)
            )
        region = region or os.environ.get("CLOUD_ML_REGION")
        if not region:
            raise ConfigurationError(
                "Vertex AI needs a region: pass region=... (e.g. 'global', 'us-east5', "
                "'europe-west1') or set CLOUD_ML_REGION"
            )
        project_id = project_id or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID")
        source: TokenSource
        if access_token is not None:
            source = StaticToken(access_token)
        elif token_provider is not None:
            source = ProviderToken(token_provider, what="Vertex AI token_provider")
        else:
            if credentials is None and project_id is None:
                # The project then comes from ADC, so load them now rather than on first use.
                credentials, project_id = default_credentials()
            if project_id is None:
                project_id = getattr(credentials, "project_id", None) or getattr(
                    credentials, "quota_project_id", None
                )
            source = GoogleToken(credentials)
        if not project_id:
            raise ConfigurationError(
                "Vertex AI needs a project: pass project_id=... or set ANTHROPIC_VERTEX_PROJECT_ID"
            )
        self.region = region
        self.project_id = project_id
        self._bearer = BearerAuth(source)
        self._setup_host(
            options,
            base_url=options.get("base_url")
            or os.environ.get("ANTHROPIC_VERTEX_BASE_URL")
            or vertex_base_url(region),
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(region={self.region!r}, project_id={self.project_id!r}, "
            f"auth={self._bearer.source!r})"
        )

    def _auth_headers(self) -> dict[str, str]:
        return {}

    def _auth(self) -> httpx.Auth | None:
        return self._bearer

    def _default_headers(self) -> dict[str, str]:
        # The version travels in the body.
        headers = super()._default_headers()
        headers.pop("anthropic-version", None)
        return headers

    def _adapt(self, spec: RequestSpec[T]) -> RequestSpec[T]:
        return vertex_request(spec, project=self.project_id, region=self.region)


class VertexMessages(NoBatches, Messages):
    """`client.messages` on Vertex AI: create, stream, count_tokens."""

    _host = _HOST
    _batches_hint = "use Vertex AI batch prediction"


class AsyncVertexMessages(NoBatches, AsyncMessages):
    """`client.messages` on Vertex AI (async)."""

    _host = _HOST
    _batches_hint = "use Vertex AI batch prediction"


class VertexClient(_VertexMixin[httpx.Client], Client):
    """A synchronous Claude client for Google Vertex AI; the same interface as `Client`.

    Args:
        region: `global`, `us`, `eu` or a region such as `us-east5`; default `CLOUD_ML_REGION`.
        project_id: The Google Cloud project; default `ANTHROPIC_VERTEX_PROJECT_ID`, else the
            project of the credentials.
        access_token: A fixed OAuth access token (not refreshed).
        token_provider: A callable returning a token, asked on every attempt.
        credentials: google-auth credentials (refreshed before expiry). With none of the three,
            Application Default Credentials are used (needs `agentkit[vertex]`).
        base_url: Default `ANTHROPIC_VERTEX_BASE_URL`, else the region's endpoint.
        **options: `default_headers`, `timeout`, `max_retries`, `retry` and `http_client`, as
            for `Client`.

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: no region, no project, or more than one token source.
    """

    messages: VertexMessages

    _messages_type = VertexMessages


class AsyncVertexClient(_VertexMixin[httpx.AsyncClient], AsyncClient):
    """An asynchronous Claude client for Google Vertex AI; the same interface as `AsyncClient`.

    Takes the arguments of `VertexClient`, with an `httpx.AsyncClient` as `http_client`;
    `token_provider` may also be async. google-auth refreshes run in a worker thread.
    """

    messages: AsyncVertexMessages

    _messages_type = AsyncVertexMessages
