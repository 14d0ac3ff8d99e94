"""What the sync and async clients share: configuration, request building, response decoding.

Everything here is pure or nearly so; `_client.py` adds the two thin I/O shells that send.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json, to_json

from .._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    make_status_error,
    request_id_of,
)
from .._version import __version__
from ..types._params import TimeoutTypes
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ..streaming._core import EventCore

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "BaseClient",
    "RequestSpec",
]

T = TypeVar("T")

logger = logging.getLogger("agentkit")

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_VERSION = "2023-06-01"
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
# Keep-alive slots equal to the connection cap, so a connection opened in a burst is reused, not
# closed after it: httpx's default keeps 20 of 100, and a raw async loop over 500 concurrent
# conversations then opens ~2,400 connections for 2,500 requests (a TLS handshake each against the
# real API). The cap stays at 100 because httpcore's pool does work proportional to its size on
# every request: measured in benchmarks/bench_runner.py, 500 concurrent conversations x 5 turns
# cost 7.3 ms CPU per turn over 25 connections (the raw loop: 3.5 ms, but 2,370 connections), and
# a 256 cap cost more. For thousands of concurrent conversations use `DefaultAioHttpClient`
# (aiohttp's pool: 1.9 ms per turn at 500, 2.3 ms at 2,000).
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=30
)

_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "api-key", "x-amz-security-token"})

ResponseMode = Literal["parsed", "raw", "stream"]
# How the current call hands back its response: `with_raw_response` / `with_streaming_response`
# set it around one call. A context variable keeps one signature per method for all three modes.
response_mode: ContextVar[ResponseMode] = ContextVar("agentkit_response_mode", default="parsed")


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One API call, before it becomes bytes.

    Attributes:
        method: HTTP method.
        path: Path below the base URL, e.g. `/v1/messages`.
        body: A JSON-able body, pre-encoded JSON bytes, or None.
        query: Query parameters.
        headers: Extra headers (a None value removes a default header).
        files: Multipart files (for uploads); `body` then holds the form fields.
        timeout: Overrides the client timeout.
        max_retries: Overrides the client retry count.
        stream: Whether the body is read as a stream.
        parse: Turns the decoded JSON body into the result.
    """

    method: str
    path: str
    body: Any = None
    query: Mapping[str, object] | None = None
    headers: Mapping[str, str | None] = field(default_factory=dict)
    files: Any = None
    timeout: TimeoutTypes | None = None
    max_retries: int | None = None
    stream: bool = False
    parse: Callable[[Any], Any] | None = None

    def __repr__(self) -> str:
        # Per-request headers may carry a credential (a gateway's key in `extra_headers`).
        return (
            f"RequestSpec({self.method} {self.path}, headers={redact_headers(self.headers)!r}, "
            f"query={self.query!r}, stream={self.stream})"
        )


DEFAULT: Any = object()
"""A per-request option left out (`timeout=None` means "no timeout", so None cannot say it)."""


def request_timeout(value: Any) -> TimeoutTypes:
    """A per-request timeout for `RequestSpec`: None when left out (the client's default).

    An explicit `None` means no timeout, as in httpx (and as the long-request guard takes it).
    """
    if value is DEFAULT:
        return None
    return httpx.Timeout(None) if value is None else value


_OPTION_KEYS = ("betas", "extra_headers", "extra_query", "extra_body", "timeout", "max_retries")


def spec_from_params(
    method: str,
    path: str,
    params: Mapping[str, Any],
    *,
    parse: Callable[[Any], Any] | None = None,
    stream: bool = False,
    body: bool = True,
    default_betas: tuple[str, ...] = (),
) -> RequestSpec:
    """Split request options (betas, extra_*, timeout ...) from the API fields of `params`."""
    fields = {k: v for k, v in params.items() if k not in _OPTION_KEYS}
    headers: dict[str, str | None] = {}
    betas = [*default_betas, *params.get("betas", ())]
    if betas:
        headers["anthropic-beta"] = ",".join(dict.fromkeys(betas))
    headers.update(params.get("extra_headers") or {})
    extra_body = params.get("extra_body")
    if extra_body:
        fields.update(extra_body)
    query = dict(params.get("extra_query") or {})
    timeout = request_timeout(params.get("timeout", DEFAULT))
    if not body:
        query = {**fields, **query}
    return RequestSpec(
        method=method,
        path=path,
        body=fields if body else None,
        query=query or None,
        headers=headers,
        timeout=timeout,
        max_retries=params.get("max_retries"),
        stream=stream,
        parse=parse,
    )


def model_parser(model: type[BaseModel]) -> Callable[[Any], Any]:
    """A `parse` function validating JSON into `model`."""
    return model.model_validate


def check_long_request(max_tokens: int, model: str, timeout_given: bool) -> None:
    """Refuse a non-streaming call likely to outlast the 10-minute HTTP idle limit.

    The API (and the networks in between) drop a non-streaming request that stays silent for
    about ten minutes; at ~128k output tokens an hour, more than 21,333 max_tokens risks that.

    Raises:
        ConfigurationError: when streaming is required and the caller set no timeout.
    """
    if timeout_given:
        return
    if 3600 * max_tokens / 128_000 > 600:
        raise ConfigurationError(
            f"max_tokens={max_tokens} for {model} may take longer than 10 minutes without "
            "streaming; use client.messages.stream(...) (or create(..., stream=True)), or pass "
            "an explicit timeout= to accept the risk"
        )


def redact_headers(headers: Mapping[str, str | None]) -> dict[str, str | None]:
    """Headers with secrets replaced, for logs and reprs."""
    return {k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def configure_logging() -> None:
    """Turn on agentkit's logger when `AGENTKIT_LOG` (or `ANTHROPIC_LOG`) is `debug` or `info`."""
    level = (os.environ.get("AGENTKIT_LOG") or os.environ.get("ANTHROPIC_LOG") or "").lower()
    if level not in ("debug", "info") or logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)


@functools.cache
def user_agent(client_name: str) -> str:
    """`agentkit/<version> (<ClientClass>; Python <version>)`."""
    return f"agentkit/{__version__} ({client_name}; Python {platform.python_version()})"


def to_timeout(value: TimeoutTypes) -> httpx.Timeout:
    """A float or `httpx.Timeout` as `httpx.Timeout` (a float keeps the 5 s connect default)."""
    if isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value, connect=min(5.0, value) if value is not None else None)


@dataclass(frozen=True)
class ClientConfig:
    """A client's settings; immutable, so `with_options` copies it.

    Attributes:
        api_key: Sent as `x-api-key` (never logged or shown in a repr).
        auth_token: Sent as `Authorization: Bearer ...` when there is no API key.
        base_url: The API's base URL.
        api_version: The `anthropic-version` header.
        default_headers: Headers sent on every request.
        timeout: Default timeout.
        retry: Default retry policy.
    """

    api_key: str | None = field(repr=False)
    auth_token: str | None = field(repr=False)
    base_url: str
    api_version: str
    default_headers: Mapping[str, str]
    timeout: httpx.Timeout
    retry: RetryPolicy

    def __repr__(self) -> str:
        # Default headers may carry a credential (a gateway's key), like the key fields.
        return (
            f"ClientConfig(base_url={self.base_url!r}, api_version={self.api_version!r}, "
            f"default_headers={redact_headers(self.default_headers)!r}, "
            f"timeout={self.timeout!r}, retry={self.retry!r})"
        )


def resolve_config(
    *,
    api_key: str | None,
    auth_token: str | None,
    base_url: str | None,
    api_version: str | None,
    default_headers: Mapping[str, str] | None,
    timeout: TimeoutTypes,
    max_retries: int | None,
    retry: RetryPolicy | None,
    require_auth: bool = True,
) -> ClientConfig:
    """Build a client's config from arguments, then the environment, then defaults.

    Raises:
        ConfigurationError: when no credential can be found.
    """
    api_key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY")
    if api_key is None and auth_token is None:
        auth_token = os.environ.get("ANTHROPIC_AUTH_TOKEN")
    if require_auth and not api_key and not auth_token:
        raise ConfigurationError(
            "no API key: pass api_key=... or set ANTHROPIC_API_KEY (or pass auth_token=... / "
            "set ANTHROPIC_AUTH_TOKEN for a bearer token)"
        )
    policy = retry or RetryPolicy()
    if max_retries is not None:
        policy = replace(policy, max_retries=max_retries)
    return ClientConfig(
        api_key=api_key or None,
        auth_token=auth_token or None,
        base_url=(base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
        api_version=api_version or DEFAULT_API_VERSION,
        default_headers=dict(default_headers or {}),
        timeout=DEFAULT_TIMEOUT if timeout is None else to_timeout(timeout),
        retry=policy,
    )


class BaseClient:
    """State and pure steps shared by `Client` and `AsyncClient` (and the cloud-host clients).

    Subclasses for other hosts override `_auth_headers` (credentials), `_adapt` (URL and body
    shape) and `_stream_decoder` (the stream's framing).
    """

    _config: ClientConfig
    _owns_http: bool

    def _init_base(self, config: ClientConfig) -> None:
        configure_logging()
        self._config = config

    @property
    def base_url(self) -> str:
        """The base URL requests go to."""
        return self._config.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout."""
        return self._config.timeout

    @property
    def max_retries(self) -> int:
        """The default number of retries."""
        return self._config.retry.max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    # -- the steps a host may override -------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if self._config.api_key:
            return {"x-api-key": self._config.api_key}
        if self._config.auth_token:
            return {"authorization": f"Bearer {self._config.auth_token}"}
        return {}

    def _adapt(self, spec: RequestSpec) -> RequestSpec:
        """Reshape a first-party request for this host (identity for the Claude API)."""
        return spec

    def _auth(self) -> httpx.Auth | None:
        """Per-attempt request signing or token refresh (SigV4, OAuth); None for header auth.

        An `httpx.Auth` runs on every attempt, so a retried request is signed again, and its
        `async_auth_flow` can refresh a token without blocking the event loop.
        """
        return None

    def _error_body(self, response: httpx.Response, body: Any) -> Any:
        """An error response's body in the API's error shape (hosts with their own shape)."""
        return body

    def _status_error(
        self, response: httpx.Response, *, unreadable: Exception | None = None
    ) -> APIStatusError:
        """The typed error for an error response (`unreadable`: why its body could not be read)."""
        if unreadable is not None:
            return make_status_error(response, f"the error body could not be read: {unreadable!r}")
        return make_status_error(response, self._error_body(response, decode_json(response)))

    def _stream_decoder(self) -> Callable[[], Any] | None:
        """The factory of the stream framing decoder; None means SSE."""
        return None

    # -- pure request building -----------------------------------------------------------------

    def _default_headers(self) -> dict[str, str]:
        return {
            "accept": "application/json",
            "anthropic-version": self._config.api_version,
            "user-agent": user_agent(type(self).__name__),
            **self._auth_headers(),
            **self._config.default_headers,
        }

    def _build_request(self, spec: RequestSpec, retries_taken: int) -> httpx.Request:
        spec = self._adapt(spec)
        headers = self._default_headers()
        headers["x-agentkit-retry-count"] = str(retries_taken)
        for name, value in spec.headers.items():
            if value is None:
                headers.pop(name, None)
                headers.pop(name.lower(), None)
            else:
                headers[name] = value
        timeout = self._config.timeout if spec.timeout is None else to_timeout(spec.timeout)
        url = spec.path if "://" in spec.path else self._config.base_url + spec.path
        content: bytes | None = None
        data = None
        if spec.files is not None:
            data = spec.body
        elif isinstance(spec.body, bytes | bytearray):
            content = bytes(spec.body)
            headers["content-type"] = "application/json"
        elif spec.body is not None:
            content = to_json(spec.body)
            headers["content-type"] = "application/json"
        request = httpx.Request(
            spec.method,
            url,
            params=_query(spec.query),
            headers=headers,
            content=content,
            data=data,
            files=spec.files,
            extensions={"timeout": timeout.as_dict()},
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request %s %s headers=%s", spec.method, url, redact_headers(dict(request.headers))
            )
        return request

    def _event_core(self, spec: RequestSpec, response: httpx.Response) -> EventCore | None:
        """A core to read the first event of a Messages stream with; None for other bodies.

        A compressed body is left alone: its raw bytes cannot be decoded here.
        """
        if not getattr(spec.parse, "streaming", False):
            return None
        if response.headers.get("content-encoding", "identity") != "identity":
            return None
        from ..streaming._core import EventCore
        from ..streaming._sse import SSEDecoder

        return EventCore(response, (self._stream_decoder() or SSEDecoder)(), None)

    def _retry_count(self, spec: RequestSpec) -> int:
        return self._config.retry.max_retries if spec.max_retries is None else spec.max_retries


def _query(query: Mapping[str, object] | None) -> dict[str, Any] | None:
    if not query:
        return None
    out: dict[str, Any] = {}
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[f"{key}[]"] = [str(v) for v in value]  # the API's "brackets" array format
        else:
            out[key] = value
    return out


def transport_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    """The one boundary where httpx's transport errors become agentkit errors."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)


def decode_json(response: httpx.Response) -> Any:
    """The JSON body of a read response; raw text when it is not JSON."""
    content = response.content
    if not content:
        return None
    try:
        return from_json(content)
    except ValueError:
        return response.text


def parse_body(response: httpx.Response, parse: Callable[[Any], T] | None) -> T | Any:
    """Decode a successful response, wrapping shape errors in `APIResponseValidationError`."""
    body = decode_json(response)
    if parse is None:
        return body
    try:
        result = parse(body)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"the response to {response.request.method} {response.request.url.path} does not "
            f"have the documented shape: {exc.errors(include_url=False)[:3]}",
            response=response,
            body=body,
        ) from exc
    request_id = request_id_of(response.headers)
    if request_id is not None and hasattr(result, "_request_id"):
        result._request_id = request_id
    return result
