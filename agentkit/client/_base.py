"""What the sync and async clients share: configuration, construction, request specs and
building, response decoding.

Everything here is pure or nearly so; `_async/_client.py` (and the sync copy generated from it)
adds the thin I/O shell that sends.
"""

from __future__ import annotations

import copy
import enum
import functools
import logging
import os
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import IO, Any, Final, Generic, Literal, TypeAlias

import httpx
from pydantic_core import ValidationError, from_json, to_json
from typing_extensions import Self, TypedDict, TypeVar, Unpack

from .._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    make_status_error,
    request_id_of,
)
from .._options import check_number, check_options, option_names, strict
from .._version import __version__
from ..observability._notes import note
from ..streaming._core import EventCore, EventDecoder
from ..streaming._json_body import json_body_as_sse
from ..streaming._sse import SSEDecoder
from ..types._params import RequestOptions, TimeoutTypes
from ..types._private import has_private, set_private
from ._inflight import AsyncInFlight, InFlight
from ._pacing import RateLimiter, RateLimits, estimate_input_tokens
from ._retry import RetryPolicy

__all__ = [
    "DEFAULT",
    "AsyncInFlight",
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_TIMEOUT",
    "BaseClient",
    "Body",
    "ClientOptions",
    "FileField",
    "InFlight",
    "LongRequestError",
    "Omitted",
    "RequestArgs",
    "RequestSpec",
    "decode_json",
    "json_object",
    "model_parser",
    "spec_from_params",
]

T = TypeVar("T", default=object)
M = TypeVar("M")
H = TypeVar("H", httpx.Client, httpx.AsyncClient)

logger = logging.getLogger("agentkit")

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_API_VERSION = "2023-06-01"
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
# Keep-alive slots equal to the connection cap, so a connection opened in a burst is reused, not
# closed after it: httpx's default keeps 20 of 100, and a raw async loop over 500 concurrent
# conversations then opens ~2,400 connections for 2,500 requests (a TLS handshake each against the
# real API). The cap stays at 100: httpcore's plain pool does work proportional to its size on
# every request (measured before agentkit's own pools had the lean planning step of `_pool`: 500
# concurrent conversations x 5 turns cost 7.3 ms CPU per turn over 25 connections, the raw loop
# 3.5 ms over 2,370 connections, and a 256 cap cost more), and a pool of yours may be one. With
# the lean step and `max_in_flight`, 2,000 concurrent conversations cost 1.49 ms per turn on the
# default pool and 1.18 ms on `DefaultAioHttpClient` (benchmarks/bench_runner.py, 2 runs).
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=30
)

# Redaction is by rule, not by list: these names, and any name holding one of the words below
# (`x-goog-api-key`, `x-amz-security-token`, `x-gateway-secret` ...), are credentials.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_WORDS = ("key", "token", "secret", "signature", "credential", "auth", "password")

ResponseMode = Literal["parsed", "raw", "stream"]
# How the current call hands back its response: `with_raw_response` / `with_streaming_response`
# set it around one call. A context variable keeps one signature per method for all three modes.
response_mode: ContextVar[ResponseMode] = ContextVar("agentkit_response_mode", default="parsed")

Body = Mapping[str, object] | bytes | None
"""A request body: JSON fields, pre-encoded JSON bytes, or none (the form fields of an upload)."""

FileField = tuple[str, bytes | IO[bytes], str | None]
"""One multipart file: (filename, content, media type or None to guess it from the name)."""


class Omitted(enum.Enum):
    """The type of `DEFAULT`."""

    DEFAULT = "DEFAULT"


DEFAULT: Final = Omitted.DEFAULT
"""A per-request option left out (`timeout=None` means "no timeout", so None cannot say it)."""


def decode_json(response: httpx.Response) -> Any:
    """The JSON body of a read response; raw text when it is not JSON.

    `Any` on purpose: this is what `client.request()` hands users, like httpx's `json()`.
    """
    content = response.content
    if not content:
        return None
    try:
        return from_json(content)
    except ValueError:
        return response.text


@dataclass(frozen=True, slots=True)
class RequestSpec(Generic[T]):
    """One API call, before it becomes bytes, and how its response becomes a `T`.

    Attributes:
        method: HTTP method.
        path: Path below the base URL, e.g. `/v1/messages`, or a full URL.
        body: JSON fields, pre-encoded JSON bytes, or None; the form fields when `files` is set.
        query: Query parameters.
        headers: Extra headers (a None value removes a default header).
        files: Multipart files (for uploads).
        timeout: Overrides the client timeout.
        max_retries: Overrides the client retry count.
        stream: The body is left unread for `parse`, which reads it as it arrives.
        parse: Turns the response (read, unless `stream`) into the result; by default its
            decoded JSON.
        events: The body is a Messages event stream (implies `stream`): the client reads it up
            to the first event inside the retry attempt, so a stream that fails before any
            event is retried.
    """

    method: str
    path: str
    body: Body = None
    query: Mapping[str, object] | None = None
    headers: Mapping[str, str | None] = field(default_factory=dict)
    files: Mapping[str, FileField] | None = None
    timeout: TimeoutTypes | None = None
    max_retries: int | None = None
    stream: bool = False
    # Without `parse`, the result is the decoded JSON, and `T` is `object` (its default).
    parse: Callable[[httpx.Response], T] = decode_json
    events: bool = False

    def __post_init__(self) -> None:
        if self.events and not self.stream:
            object.__setattr__(self, "stream", True)

    def __repr__(self) -> str:
        # Per-request headers may carry a credential (a gateway's key in `extra_headers`).
        return (
            f"RequestSpec({self.method} {self.path}, headers={redact_headers(self.headers)!r}, "
            f"query={self.query!r}, stream={self.stream})"
        )


def request_timeout(value: TimeoutTypes | Omitted) -> TimeoutTypes:
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
    params: RequestOptions,
    *,
    parse: Callable[[httpx.Response], T] = decode_json,
    query: Mapping[str, object] | None = None,
    stream: bool = False,
    events: bool = False,
    body: bool = True,
    default_betas: tuple[str, ...] = (),
) -> RequestSpec[T]:
    """Split request options (betas, extra_*, timeout ...) from the API fields of `params`.

    Args:
        method: HTTP method.
        path: Path below the base URL.
        params: API fields and request options, as a method's keyword arguments.
        parse: Turns the response into the result (default: its decoded JSON).
        query: Query parameters of the endpoint itself (a list's cursor).
        stream: Leave the body unread for `parse`.
        events: The body is a Messages event stream (see `RequestSpec.events`).
        body: Send the API fields as the JSON body (else as query parameters).
        default_betas: Betas this endpoint always needs, before the call's own.
    """
    fields: dict[str, object] = {k: v for k, v in params.items() if k not in _OPTION_KEYS}
    headers: dict[str, str | None] = {}
    betas = [*default_betas, *params.get("betas", ())]
    if betas:
        headers["anthropic-beta"] = ",".join(dict.fromkeys(betas))
    headers.update(params.get("extra_headers") or {})
    fields.update(params.get("extra_body") or {})
    extra_query = {**(query or {}), **(params.get("extra_query") or {})}
    timeout = request_timeout(params["timeout"] if "timeout" in params else DEFAULT)
    if not body:
        extra_query = {**fields, **extra_query}
    return RequestSpec(
        method,
        path,
        fields if body else None,
        extra_query or None,
        headers,
        None,
        timeout,
        params.get("max_retries"),
        stream,
        parse,
        events,
    )


def model_parser(
    validate: Callable[[object], M], *, keep_body: bool = False
) -> Callable[[httpx.Response], M]:
    """A `parse` function: the response's JSON through `validate` (a model's `model_validate`).

    A shape error becomes `APIResponseValidationError`; a model with a `request_id` gets the
    response's `request-id` header; with `keep_body`, the decoded body too (`_received`, see
    `Message.as_received`).
    """

    def parse(response: httpx.Response) -> M:
        body = decode_json(response)
        try:
            result = validate(body)
        except ValidationError as exc:
            raise APIResponseValidationError(
                f"the response to {response.request.method} {response.request.url.path} does "
                f"not have the documented shape: {exc.errors(include_url=False)[:3]}",
                response=response,
                body=body,
            ) from exc
        request_id = request_id_of(response.headers)
        if request_id is not None and has_private(result, "_request_id"):
            set_private(result, "_request_id", request_id)
        if keep_body:
            set_private(result, "_received", body)
        return result

    return parse


def json_object(response: httpx.Response) -> dict[str, object]:
    """A `parse` function for bodies that must be a JSON object (a list's page)."""
    return model_parser(_as_object)(response)


def _as_object(body: object) -> dict[str, object]:
    if not isinstance(body, dict):
        raise ValidationError.from_exception_data(
            "object", [{"type": "dict_type", "loc": (), "input": body}]
        )
    return body


class LongRequestError(ConfigurationError, ValueError):
    """A non-streaming request likely to outlast ten minutes; a `ValueError` too, which is what
    the official SDK raises (and its documentation catches) here."""


def check_long_request(max_tokens: int, model: str, timeout_given: bool) -> None:
    """Refuse a non-streaming call likely to outlast the 10-minute HTTP idle limit.

    The API (and the networks in between) drop a non-streaming request that stays silent for
    about ten minutes; at ~128k output tokens an hour, more than 21,333 max_tokens risks that,
    and slower models (the model table's `nonstreaming_max`) risk it sooner.

    Raises:
        LongRequestError: when streaming is required and the caller set no timeout.
    """
    from ..types import find_model  # the model table (floor 1)

    if timeout_given:
        return
    spec = find_model(model)
    limit = spec.nonstreaming_max if spec is not None else None
    if 3600 * max_tokens / 128_000 > 600 or (limit is not None and max_tokens > limit):
        raise LongRequestError(
            f"max_tokens={max_tokens} for {model} may take longer than 10 minutes without "
            "streaming; use client.messages.stream(...) (or create(..., stream=True)), or pass "
            "an explicit timeout= to accept the risk"
        )


def is_secret_header(name: str) -> bool:
    """Whether a header's name looks like a credential: `authorization`, `proxy-authorization`,
    `cookie`, or a name containing key, token, secret, signature, credential, auth or password.
    """
    name = name.lower()
    return name in _SECRET_HEADERS or any(word in name for word in _SECRET_WORDS)


def redact_headers(headers: Mapping[str, str | None]) -> dict[str, str | None]:
    """Headers with every credential-like value replaced, for logs, reprs and errors."""
    return {k: ("<redacted>" if is_secret_header(k) else v) for k, v in headers.items()}


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
def _httpx_default_headers() -> frozenset[tuple[str, str]]:
    """The headers every httpx client starts with (accept, accept-encoding, user-agent ...)."""
    unused = httpx.MockTransport(lambda request: httpx.Response(200))
    with httpx.Client(transport=unused, trust_env=False) as bare:
        return frozenset(bare.headers.items())


def pool_headers(http: object) -> dict[str, str]:
    """The headers set on an httpx client the caller passed in, httpx's own defaults left out.

    Requests are built without the pool's `build_request`, so these are merged explicitly (as
    the official SDK sends them): a header given as `DefaultHttpxClient(headers=...)` is sent,
    under agentkit's own and the request's. httpx's defaults stay out (`accept-encoding` would
    turn on compressed streams).
    """
    headers = getattr(http, "headers", None)
    if not isinstance(headers, httpx.Headers):
        return {}  # an aiohttp pool carries no default headers here
    defaults = _httpx_default_headers()
    return {k: v for k, v in headers.items() if (k, v) not in defaults}


@functools.cache
def user_agent(client_name: str) -> str:
    """`agentkit/<version> (<ClientClass>; Python <version>)`."""
    import platform  # once per client class (cached): not loaded at import (issue 18)

    return f"agentkit/{__version__} ({client_name}; Python {platform.python_version()})"


def check_timeout(where: str, value: object) -> None:
    """Refuse a timeout that is not None, a number > 0, or an `httpx.Timeout` of such numbers.

    Raises:
        ConfigurationError: saying what is allowed.
    """
    if isinstance(value, httpx.Timeout):
        for part, seconds in value.as_dict().items():
            check_number(where, f"timeout's {part}", seconds)
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        if value is not None:
            raise ConfigurationError(
                f"{where}: timeout must be a number of seconds > 0, an httpx.Timeout or None "
                f"(no timeout), not {value!r}"
            )


def check_max_retries(where: str, value: object) -> None:
    """Refuse a retry count that is not a whole number >= 0 (None: the default).

    Raises:
        ConfigurationError: saying what is allowed.
    """
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ConfigurationError(f"{where}: max_retries must be a whole number >= 0, not {value!r}")


def check_max_in_flight(where: str, value: object) -> None:
    """Refuse a `max_in_flight` that is not a whole number >= 1 or None (no limit).

    Raises:
        ConfigurationError: saying what is allowed.
    """
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigurationError(
            f"{where}: max_in_flight must be a whole number >= 1 or None (no limit), not {value!r}"
        )


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
    timeout: TimeoutTypes | Omitted,
    max_retries: int | None,
    retry: RetryPolicy | None,
    require_auth: bool = True,
    where: str = "Client()",
) -> ClientConfig:
    """Build a client's config from arguments, then the environment, then defaults.

    Raises:
        ConfigurationError: when no credential can be found, or a value is out of range.
    """
    if timeout is not DEFAULT:
        check_timeout(where, timeout)
    check_max_retries(where, max_retries)
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
        # Left out: the default; None: no timeout (as in httpx and the official SDK).
        timeout=DEFAULT_TIMEOUT if timeout is DEFAULT else to_timeout(timeout),
        retry=policy,
    )


class RequestArgs(TypedDict, total=False):
    """The keyword arguments of `client.request` (and `get`, `post` ...); see `request`."""

    body: Body
    query: Mapping[str, object] | None
    headers: Mapping[str, str | None] | None
    timeout: TimeoutTypes | Omitted
    max_retries: int | None
    cast_to: object
    options: Mapping[str, object] | None


DEFAULT_MAX_IN_FLIGHT = 48
"""Requests a client lets out at once by default, below the default pool's 100 connections.

A request waits for its turn in agentkit's limiter (constant work) rather than in the connection
pool, whose planning step runs over the requests it holds on every request and response (even
agentkit's own lean pool, `_pool.assign_requests`; httpcore's plain one also over every
connection). In one run per value of benchmarks/bench_runner.py's concurrency row (2,000
conversations on the default pool, a loaded 2-CPU machine), a turn cost 1.87 ms of client CPU
with 48 in flight (48 connections), 1.74 with 96 and 2.25 with no limit (100 connections).
For long requests to the real API, where throughput matters more than client CPU, raise it (up
to the pool's size) with `max_in_flight=`."""


# The default headers as given, parsed, and parsed after each host's `Host` (`_header_base`).
_HeaderCache: TypeAlias = "tuple[dict[str, str], httpx.Headers, dict[bytes, httpx.Headers]]"


class ClientOptions(TypedDict, Generic[H], total=False):
    """The constructor options every client takes, first-party or cloud host.

    A host's constructor names only what is its own and takes these as
    `**options: Unpack[ClientOptions[...]]`, so type checkers still see each keyword.
    Each public client's docstring documents them.
    """

    base_url: str | None
    default_headers: Mapping[str, str] | None
    timeout: TimeoutTypes
    max_retries: int | None
    retry: RetryPolicy | None
    http_client: H | None
    max_in_flight: int | None
    rate_limiter: RateLimiter | bool | None


_CLIENT_OPTIONS = option_names(ClientOptions)

# The official SDK's constructor options that agentkit does not take, and what to do instead
# (a "did you mean" guess would mislead: `default_query` is not `default_headers`).
_SDK_OPTIONS_NOT_TAKEN = {
    "default_query": "pass extra_query={...} on each call",
    "middleware": "wrap the http_client's transport (an httpx.BaseTransport) instead",
    "webhook_key": "agentkit does not verify webhooks",
    "_strict_response_validation": "responses are always validated against their models",
    "skip_auth": "agentkit always authenticates (an API key, a token or a SigV4 signature)",
}


class BaseClient(Generic[H]):
    """State, construction and pure steps shared by `Client` and `AsyncClient` and every host.

    `H` is the connection pool's type: `httpx.Client` for the sync shell, `httpx.AsyncClient`
    for the async one, so each host writes its constructor once for both. Hosts override the
    hooks below: `_auth_headers` and `_auth` (credentials), `_default_headers` (headers a host
    takes elsewhere), `_adapt` (URL and body shape), `_error_body` (error shape) and
    `event_decoder` (the stream's framing).
    """

    _config: ClientConfig
    _owns_http: bool
    _http: H
    _pool_headers: dict[str, str]
    _in_flight: object  # each shell names the type of its own `_new_limiter`
    # Parsed once, reused by every request (see `_header_base` and `_url`); `with_options`
    # copies share them, which is safe: each entry is checked against what it was made from.
    _headers_cache: _HeaderCache | None = None
    _url_cache: dict[str, httpx.URL]
    _rate_limiter: RateLimiter | None

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        api_version: str | None = None,
        **options: Unpack[ClientOptions[H]],
    ) -> None:
        self._check_options(options, "api_key", "auth_token", "api_version")
        self._setup(
            options,
            api_key=api_key,
            auth_token=auth_token,
            api_version=api_version,
            base_url=options.get("base_url"),
        )

    def _check_options(self, options: Mapping[str, object], *own: str) -> None:
        """Refuse a keyword that is neither a `ClientOptions` key nor one of the host's `own`.

        Raises:
            TypeError: naming the unknown keyword and the closest valid one.
        """
        valid = _CLIENT_OPTIONS | frozenset(own)
        check_options(
            options, valid, where=f"{type(self).__name__}()", not_taken=_SDK_OPTIONS_NOT_TAKEN
        )

    def _setup(
        self,
        options: ClientOptions[H],
        *,
        api_key: str | None,
        auth_token: str | None,
        api_version: str | None,
        base_url: str | None,
        require_auth: bool = True,
    ) -> None:
        """Resolve the config, attach the connection pool, then build the resources."""
        configure_logging()
        self._url_cache = {}
        self._config = resolve_config(
            api_key=api_key,
            auth_token=auth_token,
            base_url=base_url,
            api_version=api_version,
            default_headers=options.get("default_headers"),
            timeout=options["timeout"] if "timeout" in options else DEFAULT,
            max_retries=options.get("max_retries"),
            retry=options.get("retry"),
            require_auth=require_auth,
            where=f"{type(self).__name__}()",
        )
        in_flight = options.get("max_in_flight", DEFAULT_MAX_IN_FLIGHT)
        check_max_in_flight(f"{type(self).__name__}()", in_flight)
        self._in_flight = self._new_limiter(in_flight)
        http_client = options.get("http_client")
        self._http = self._new_http() if http_client is None else http_client
        self._pool_headers = {} if http_client is None else pool_headers(http_client)
        self._rate_limiter = rate_limiter_of(options.get("rate_limiter"), type(self).__name__)
        # Like the official SDK, the client closes the pool it was given too (`close()`, `with`).
        self._owns_http = True
        self._build_resources()

    def _setup_host(self, options: ClientOptions[H], *, base_url: str) -> None:
        """`_setup` for a cloud host: its own base URL and auth, no `anthropic-version`."""
        self._setup(
            options,
            # "" keeps the first-party ANTHROPIC_API_KEY out: it must never reach a cloud host.
            api_key="",
            auth_token=None,
            api_version=None,
            base_url=base_url,
            require_auth=False,
        )

    def _new_http(self) -> H:
        """The connection pool this client creates (and closes) when given none."""
        raise NotImplementedError

    def _build_resources(self) -> None:
        """Attach the resources (`messages`, `models` ...); each shell builds its own."""
        raise NotImplementedError

    def _new_limiter(self, total: int | None) -> object:
        """What bounds the requests in flight (`max_in_flight`); each shell makes its own."""
        raise NotImplementedError

    @strict
    def with_options(
        self,
        *,
        timeout: TimeoutTypes | Omitted = DEFAULT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
        http_client: H | None = None,
    ) -> Self:
        """A copy with other settings that shares this client's connection pool.

        Args:
            timeout: The new default timeout.
            max_retries: The new default retry count.
            retry: A new retry policy.
            default_headers: Headers merged over the current defaults.
            base_url: Another base URL.
            http_client: Another connection pool for the copy (e.g. `DefaultHttpxClient(...)`);
                the copy closes it.

        Returns:
            The new client; closing it does not close a pool it shares with this one.
        """
        where = f"{type(self).__name__}.with_options()"
        if timeout is not DEFAULT:
            check_timeout(where, timeout)
        check_max_retries(where, max_retries)
        config = self._config
        policy = retry or config.retry
        if max_retries is not None:
            policy = replace(policy, max_retries=max_retries)
        clone = copy.copy(self)
        clone._config = replace(
            config,
            base_url=(base_url or config.base_url).rstrip("/"),
            default_headers={**config.default_headers, **(default_headers or {})},
            timeout=config.timeout if timeout is DEFAULT else to_timeout(timeout),
            retry=policy,
        )
        clone._owns_http = http_client is not None
        if http_client is not None:
            clone._http = http_client
            clone._pool_headers = pool_headers(http_client)
        clone._build_resources()
        return clone

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

    @property
    def rate_limits(self) -> RateLimits | None:
        """The rate-limit budgets the API last reported, as the pacer sees them now (None when
        pacing is off: `rate_limiter=False`)."""
        return self._rate_limiter.limits if self._rate_limiter is not None else None

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The `RateLimiter` pacing this client (shared with its `with_options` copies)."""
        return self._rate_limiter

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    def event_decoder(self) -> Callable[[], EventDecoder]:
        """The factory of the decoder for this host's stream framing (SSE for the Claude API).

        Part of the client's internal surface (with `call` and `send`), for the layers that
        open streams themselves: the runner, batches, Temporal activities.
        """
        return SSEDecoder

    # -- the steps a host may override -------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        if self._config.api_key:
            return {"x-api-key": self._config.api_key}
        if self._config.auth_token:
            return {"authorization": f"Bearer {self._config.auth_token}"}
        return {}

    def _adapt(self, spec: RequestSpec[T]) -> RequestSpec[T]:
        """Reshape a first-party request for this host (identity for the Claude API)."""
        return spec

    def _auth(self) -> httpx.Auth | None:
        """Per-attempt request signing or token refresh (SigV4, OAuth); None for header auth.

        An `httpx.Auth` runs on every attempt, so a retried request is signed again, and its
        `async_auth_flow` can refresh a token without blocking the event loop.
        """
        return None

    def _error_body(self, response: httpx.Response, body: object) -> object:
        """An error response's body in the API's error shape (hosts with their own shape)."""
        return body

    def _default_headers(self) -> dict[str, str]:
        return {
            **self._pool_headers,
            "accept": "application/json",
            "anthropic-version": self._config.api_version,
            "user-agent": user_agent(type(self).__name__),
            **self._auth_headers(),
            **self._config.default_headers,
        }

    # -- pure steps of sending -----------------------------------------------------------------

    def _status_error(
        self, response: httpx.Response, *, unreadable: Exception | None = None
    ) -> APIStatusError:
        """The typed error for an error response (`unreadable`: why its body could not be read),
        or for a redirect, which is never followed (see `redirect_error`)."""
        if response.is_redirect or 300 <= response.status_code < 400:
            return redirect_error(response)
        if unreadable is not None:
            return make_status_error(response, f"the error body could not be read: {unreadable!r}")
        return make_status_error(response, self._error_body(response, decode_json(response)))

    def _build_request(self, spec: RequestSpec[T], retries_taken: int) -> httpx.Request:
        spec = self._adapt(spec)
        url = self._url(spec.path)
        content: bytes | None = None
        if spec.files is None and isinstance(spec.body, bytes):
            content = spec.body
        elif spec.files is None and spec.body is not None:
            content = to_json(spec.body)
        # A JSON body's request gets the headers httpx adds for `content=` from here: `Host`
        # first (in the base) and `Content-Length` last. httpx's way parses every header again
        # and raises a KeyError inside a `setdefault`: half a request's construction (issue 18).
        headers = self._header_base(url if content is not None else None).copy()
        headers["x-agentkit-retry-count"] = str(retries_taken)
        for name, value in spec.headers.items():
            if value is None:
                headers.pop(name, None)  # any case: `httpx.Headers` compares names so
            else:
                headers[name] = value
        timeout = self._config.timeout if spec.timeout is None else to_timeout(spec.timeout)
        extensions = {"timeout": timeout.as_dict()}
        params = _query(spec.query)
        stream: httpx.ByteStream | None = None
        data: Mapping[str, object] | None = None
        if content is not None:
            headers["content-type"] = "application/json"
            headers["Content-Length"] = str(len(content))
            stream = httpx.ByteStream(content)
        elif isinstance(spec.body, Mapping):  # a multipart body's fields: httpx adds the headers
            data = spec.body
        request = httpx.Request(
            spec.method,
            url,
            params=params,
            headers=headers,
            data=data,
            files=spec.files,
            stream=stream,
            extensions=extensions,
        )
        if stream is not None:
            request.read()  # `request.content` is there, as with `content=` (SigV4 signs it)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request %s %s headers=%s", spec.method, url, redact_headers(dict(request.headers))
            )
        return request

    def _header_base(self, url: httpx.URL | None) -> httpx.Headers:
        """The default headers as `httpx.Headers`, after the `Host` of `url` (first, where
        httpx puts it) when there is one, parsed once while they stay the same.

        `_default_headers()` is asked every time (a host's may change with its attributes);
        only its parsing, the costly part, is reused.
        """
        defaults = self._default_headers()
        cached: _HeaderCache | None = self._headers_cache
        if cached is None or cached[0] != defaults:
            cached = (defaults, httpx.Headers(defaults), {})
            self._headers_cache = cached
        if url is None or not url.host:
            return cached[1]
        hosted = cached[2]
        host: bytes = url.netloc
        headers = hosted.get(host)
        if headers is None:
            if len(hosted) >= 16:  # full URLs to other hosts (downloads) would grow it
                hosted.clear()
            raw: list[tuple[bytes, bytes]] = cached[1].raw
            headers = hosted[host] = httpx.Headers([(b"Host", host), *raw])
        return headers

    def _url(self, path: str) -> httpx.URL:
        """The URL of a path below the base URL (or a full URL), parsed once per path."""
        full = path if "://" in path else self._config.base_url + path
        urls = self._url_cache
        url = urls.get(full)
        if url is None:
            if len(urls) >= 256:  # paths with ids (files, batches) would grow it without end
                urls.clear()
            url = urls[full] = httpx.URL(full)
        return url

    def _event_core(self, spec: RequestSpec[T], response: httpx.Response) -> EventCore | None:
        """A core to read the first event of a Messages stream with; None for other bodies.

        A compressed body is left alone: its raw bytes cannot be decoded here.
        """
        if not spec.events:
            return None
        if response.headers.get("content-encoding", "identity") != "identity":
            return None
        return EventCore(response, self.event_decoder()(), None)

    def _json_events(self, spec: RequestSpec[T], response: httpx.Response) -> bool:
        """Whether a stream request was answered with a JSON body (a proxy that ignores
        `"stream": true`): the client reads it once, whole, instead of an event stream."""
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return spec.events and kind == "application/json" and self.event_decoder() is SSEDecoder

    def _json_as_stream(self, response: httpx.Response, body: bytes) -> httpx.Response:
        """The response of a JSON body read by `_json_events`, as the event stream of its message
        (or of its `error`), for every stream reader; never retried.

        Raises:
            APIResponseValidationError: the body is neither a message nor an error object.
        """
        try:
            events = json_body_as_sse(body)
        except ValueError as exc:
            raise APIResponseValidationError(
                f"a stream request was answered with application/json, and {exc}",
                response=response,
                body=body.decode("utf-8", "replace"),
            ) from None
        drop = {"content-length", "content-encoding", "transfer-encoding"}
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in drop]
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=httpx.ByteStream(events),
            request=response.request,
            extensions=response.extensions,
        )

    def _pace(self, request: httpx.Request, retries_taken: int) -> tuple[int, float]:
        """Reserve a Messages request's share of the rate limit: (ticket, seconds to wait)."""
        limiter = self._rate_limiter
        if limiter is None or request.method != "POST" or not request.url.path.endswith(_PACED):
            return 0, 0.0
        tokens = estimate_input_tokens(len(request.content))
        ticket, wait = limiter.reserve(tokens, retry=retries_taken > 0)
        if wait and ticket > 0:
            note("agentkit.rate_limit.wait", {"agentkit.rate_limit.wait_s": wait})
        return ticket, wait

    def _paced(self, ticket: int, response: httpx.Response | None) -> None:
        """Re-sync the pacer from a response's headers (None: no response came)."""
        limiter = self._rate_limiter
        if limiter is None or not ticket:
            return
        if response is None:
            limiter.release(ticket)
        else:
            limiter.update(ticket, response.headers, response.status_code)

    def _retry_count(self, spec: RequestSpec[T]) -> int:
        return self._config.retry.max_retries if spec.max_retries is None else spec.max_retries


_PACED = "/v1/messages"  # other endpoints have limits of their own


def rate_limiter_of(value: object, where: str) -> RateLimiter | None:
    """The client's pacer: its own by default, a shared one, or none (`False`).

    Raises:
        ConfigurationError: a value that is none of those.
    """
    if value is None or value is True:
        return RateLimiter()
    if value is False:
        return None
    if isinstance(value, RateLimiter):
        return value
    raise ConfigurationError(
        f"{where}(): rate_limiter must be a RateLimiter (to share one), True or None (the "
        f"client's own) or False (no pacing), not {value!r}"
    )


def _query(query: Mapping[str, object] | None) -> dict[str, str | list[str]] | None:
    if not query:
        return None
    out: dict[str, str | list[str]] = {}
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[f"{key}[]"] = [str(v) for v in value]  # the API's "brackets" array format
        else:
            out[key] = value if isinstance(value, str) else str(value)
    return out


def redirect_error(response: httpx.Response) -> APIStatusError:
    """The error for a 3xx answer: agentkit follows no redirect, so no credential (`x-api-key`,
    `api-key`, `authorization`, an AWS signature) is ever sent to another origin.

    The message names the target's origin and path, never its query (a signed URL's secret).
    """
    source = response.request.url
    location = response.headers.get("location")
    if location is None:
        where = "without a Location"
    else:
        target = source.join(location)
        same = (target.scheme, target.host, target.port) == (
            source.scheme,
            source.host,
            source.port,
        )
        origin = f"{target.scheme}://{target.netloc.decode('ascii', 'replace')}"
        where = f"to {'the same origin' if same else 'another origin'}, {origin}{target.path}"
    message = (
        f"{response.status_code} redirect {where}: agentkit does not follow redirects (the Claude "
        f"API never sends one), so credentials stay with {source.scheme}://{source.host}; if the "
        "service moved, set base_url to its new address"
    )
    return APIStatusError(message, response=response, body=decode_json(response))


def transport_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    """The one boundary where httpx's transport errors become agentkit errors."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {type(exc).__name__}: {exc}", request=request)
