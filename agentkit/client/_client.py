"""`Client` and `AsyncClient`: the two thin I/O shells that send what `_base` builds.

Each has one retry loop (`_send`), one dispatch on the response mode (`_call`), and the resources
(`messages`, `models`, `files` ...) built over them. Every rule lives in `_base` and `_retry`.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
from typing_extensions import Self, TypedDict, Unpack

from ..streaming._core import EventCore
from ..types._params import TimeoutTypes
from ._base import (
    DEFAULT,
    DEFAULT_LIMITS,
    BaseClient,
    ClientConfig,
    RequestSpec,
    parse_body,
    request_timeout,
    resolve_config,
    response_mode,
    to_timeout,
    transport_error,
)
from ._retry import RetryPolicy

if TYPE_CHECKING:
    from ._files import AsyncFiles, Files
    from ._messages import AsyncMessages, Messages
    from ._models_api import AsyncModels, Models

__all__ = ["AsyncClient", "Client", "ClientOptions"]

T = TypeVar("T")

_UNSET: Any = object()


H = TypeVar("H", httpx.Client, httpx.AsyncClient)


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


class _ClientMixin(BaseClient, Generic[H]):
    """Construction and `with_options`, the same for both shells and every host.

    `H` is the connection pool's type: `httpx.Client` for the sync shell, `httpx.AsyncClient`
    for the async one, so each host writes its constructor once for both.
    """

    _http: H

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        api_version: str | None = None,
        **options: Unpack[ClientOptions[H]],
    ) -> None:
        self._setup(
            options,
            api_key=api_key,
            auth_token=auth_token,
            api_version=api_version,
            base_url=options.get("base_url"),
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
        self._init_base(
            resolve_config(
                api_key=api_key,
                auth_token=auth_token,
                base_url=base_url,
                api_version=api_version,
                default_headers=options.get("default_headers"),
                timeout=options.get("timeout"),
                max_retries=options.get("max_retries"),
                retry=options.get("retry"),
                require_auth=require_auth,
            )
        )
        http_client = options.get("http_client")
        self._http = self._new_http() if http_client is None else http_client
        self._owns_http = http_client is None
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

    def with_options(
        self,
        *,
        timeout: TimeoutTypes = _UNSET,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> Self:
        """A copy with other settings that shares this client's connection pool.

        Args:
            timeout: The new default timeout.
            max_retries: The new default retry count.
            retry: A new retry policy.
            default_headers: Headers merged over the current defaults.
            base_url: Another base URL.

        Returns:
            The new client; closing it does not close the shared pool.
        """
        config = self._config
        policy = retry or config.retry
        if max_retries is not None:
            from dataclasses import replace

            policy = replace(policy, max_retries=max_retries)
        new_config = ClientConfig(
            api_key=config.api_key,
            auth_token=config.auth_token,
            base_url=(base_url or config.base_url).rstrip("/"),
            api_version=config.api_version,
            default_headers={**config.default_headers, **(default_headers or {})},
            timeout=config.timeout if timeout is _UNSET else to_timeout(timeout),
            retry=policy,
        )
        clone = copy.copy(self)
        clone._config = new_config
        clone._owns_http = False
        clone._build_resources()
        return clone

    def _build_resources(self) -> None:
        raise NotImplementedError


class Client(_ClientMixin[httpx.Client]):
    """A synchronous client for the Claude API.

    Args:
        api_key: Defaults to `ANTHROPIC_API_KEY`, read when the client is built.
        auth_token: A bearer token, used when there is no API key (`ANTHROPIC_AUTH_TOKEN`).
        base_url: Defaults to `ANTHROPIC_BASE_URL`, else `https://api.anthropic.com`.
        api_version: The `anthropic-version` header (default `2023-06-01`).
        default_headers: Headers sent with every request.
        timeout: Seconds or an `httpx.Timeout` (default 600 s, 5 s to connect).
        max_retries: Retries of a failed request (default 2).
        retry: A full `RetryPolicy` (backoff, retry-after cap ...).
        http_client: Your own `httpx.Client` (proxies, transports); you close it.

    Raises:
        ConfigurationError: when no API key or token is given or found.
    """

    messages: Messages
    models: Models

    def _new_http(self) -> httpx.Client:
        return httpx.Client(limits=DEFAULT_LIMITS, follow_redirects=True)

    def _build_resources(self) -> None:
        from ._messages import Messages
        from ._models_api import Models

        self.messages = Messages(self)
        self.models = Models(self)

    @property
    def files(self) -> Files:
        """`client.files`: the Files API (beta)."""
        from ._files import Files

        return Files(self)

    # -- I/O ---------------------------------------------------------------------------------

    def _send(self, spec: RequestSpec, *, stream: bool = False) -> httpx.Response:
        """Send with retries; return a 2xx response (unread when `stream`), else raise."""
        for attempt in self._config.retry.retrying(self._retry_count(spec)):
            with attempt:
                retries_taken = attempt.retry_state.attempt_number - 1
                request = self._build_request(spec, retries_taken)
                try:
                    response = self._http.send(
                        request, stream=True, auth=self._auth() or httpx.USE_CLIENT_DEFAULT
                    )
                except httpx.TransportError as exc:
                    raise transport_error(exc, request) from exc
                if response.is_error or not stream:
                    try:
                        response.read()
                    except httpx.TransportError as exc:
                        if response.is_error:
                            # The status and headers arrived: they decide (class, x-should-retry).
                            raise self._status_error(response, unreadable=exc) from exc
                        raise transport_error(exc, request) from exc
                    finally:
                        response.close()
                    if response.is_error:
                        raise self._status_error(response)
                elif (core := self._event_core(spec, response)) is not None:
                    self._read_first_event(response, request, core)
        return response

    def _read_first_event(
        self, response: httpx.Response, request: httpx.Request, core: EventCore
    ) -> None:
        """Read an event stream up to its first event, then put the bytes back to be read again.

        Runs inside the retry attempt, so a failure before any event is retried (see
        `EventCore.started`); the chunks read are replayed, so the stream's reader sees them all.
        """
        original = response.stream
        chunks = iter(original)  # type: ignore[arg-type]
        head: list[bytes] = []
        try:
            for chunk in chunks:
                head.append(chunk)
                if core.started(core.feed(chunk)):
                    break
            else:
                core.started(core.finish())
        except httpx.TransportError as exc:
            response.close()
            raise transport_error(exc, request) from exc
        except BaseException:
            response.close()
            raise
        response.stream = _Replay(head, chunks, original)

    def _call(self, spec: RequestSpec) -> Any:
        """Send `spec` and return what the response mode asks for."""
        mode = response_mode.get()
        if mode == "parsed":
            response = self._send(spec, stream=spec.stream)
            return (
                spec.parse(response)
                if spec.stream and spec.parse
                else parse_body(response, spec.parse)
            )
        from ._response import APIResponse

        response = self._send(spec, stream=spec.stream or mode == "stream")
        if spec.stream:
            assert spec.parse is not None
            return APIResponse(response, spec.parse)
        return APIResponse(response, lambda r: parse_body(_read(r), spec.parse))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        query: Mapping[str, object] | None = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes = DEFAULT,
        max_retries: int | None = None,
    ) -> Any:
        """Call any endpoint, with the client's auth, retries and errors; returns the JSON body.

        Args:
            method: The HTTP method.
            path: A path below the base URL (`/v1/...`) or a full URL.
            body: A JSON body.
            query: Query parameters.
            headers: Extra headers.
            timeout: A timeout for this request (None: no timeout; left out: the client's).
            max_retries: Retries for this request.
        """
        return self._call(
            RequestSpec(
                method,
                path,
                body,
                query,
                headers or {},
                None,
                request_timeout(timeout),
                max_retries,
            )
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        """`request("GET", path, ...)`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        """`request("POST", path, ...)`."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        """`request("PUT", path, ...)`."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        """`request("PATCH", path, ...)`."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """`request("DELETE", path, ...)`."""
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_ClientMixin[httpx.AsyncClient]):
    """An asynchronous client for the Claude API; the same interface as `Client`, awaited.

    Args:
        api_key: Defaults to `ANTHROPIC_API_KEY`, read when the client is built.
        auth_token: A bearer token, used when there is no API key (`ANTHROPIC_AUTH_TOKEN`).
        base_url: Defaults to `ANTHROPIC_BASE_URL`, else `https://api.anthropic.com`.
        api_version: The `anthropic-version` header (default `2023-06-01`).
        default_headers: Headers sent with every request.
        timeout: Seconds or an `httpx.Timeout` (default 600 s, 5 s to connect).
        max_retries: Retries of a failed request (default 2).
        retry: A full `RetryPolicy`.
        http_client: Your own `httpx.AsyncClient` (e.g. `DefaultAioHttpClient()`); you close it.

    Raises:
        ConfigurationError: when no API key or token is given or found.
    """

    messages: AsyncMessages
    models: AsyncModels

    def _new_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(limits=DEFAULT_LIMITS, follow_redirects=True)

    def _build_resources(self) -> None:
        from ._messages import AsyncMessages
        from ._models_api import AsyncModels

        self.messages = AsyncMessages(self)
        self.models = AsyncModels(self)

    @property
    def files(self) -> AsyncFiles:
        """`client.files`: the Files API (beta)."""
        from ._files import AsyncFiles

        return AsyncFiles(self)

    async def _send(self, spec: RequestSpec, *, stream: bool = False) -> httpx.Response:
        """Send with retries; return a 2xx response (unread when `stream`), else raise."""
        async for attempt in self._config.retry.async_retrying(self._retry_count(spec)):
            with attempt:
                retries_taken = attempt.retry_state.attempt_number - 1
                request = self._build_request(spec, retries_taken)
                try:
                    response = await self._http.send(
                        request, stream=True, auth=self._auth() or httpx.USE_CLIENT_DEFAULT
                    )
                except httpx.TransportError as exc:
                    raise transport_error(exc, request) from exc
                if response.is_error or not stream:
                    try:
                        await response.aread()
                    except httpx.TransportError as exc:
                        if response.is_error:  # status and headers decide (see `Client`)
                            raise self._status_error(response, unreadable=exc) from exc
                        raise transport_error(exc, request) from exc
                    finally:
                        await response.aclose()
                    if response.is_error:
                        raise self._status_error(response)
                elif (core := self._event_core(spec, response)) is not None:
                    await self._read_first_event(response, request, core)
        return response

    async def _read_first_event(
        self, response: httpx.Response, request: httpx.Request, core: EventCore
    ) -> None:
        """`Client._read_first_event`, awaited."""
        original = response.stream
        chunks = original.__aiter__()  # type: ignore[union-attr]
        head: list[bytes] = []
        try:
            async for chunk in chunks:
                head.append(chunk)
                if core.started(core.feed(chunk)):
                    break
            else:
                core.started(core.finish())
        except httpx.TransportError as exc:
            await response.aclose()
            raise transport_error(exc, request) from exc
        except BaseException:
            await response.aclose()
            raise
        response.stream = _AsyncReplay(head, chunks, original)

    async def _call(self, spec: RequestSpec) -> Any:
        """Send `spec` and return what the response mode asks for."""
        mode = response_mode.get()
        if mode == "parsed":
            response = await self._send(spec, stream=spec.stream)
            return (
                spec.parse(response)
                if spec.stream and spec.parse
                else parse_body(response, spec.parse)
            )
        from ._response import AsyncAPIResponse

        response = await self._send(spec, stream=spec.stream or mode == "stream")
        if spec.stream:
            assert spec.parse is not None
            return AsyncAPIResponse(response, spec.parse)
        return AsyncAPIResponse(response, lambda r: parse_body(r, spec.parse))

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        query: Mapping[str, object] | None = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes = DEFAULT,
        max_retries: int | None = None,
    ) -> Any:
        """Call any endpoint, with the client's auth, retries and errors; returns the JSON body.

        Args:
            method: The HTTP method.
            path: A path below the base URL (`/v1/...`) or a full URL.
            body: A JSON body.
            query: Query parameters.
            headers: Extra headers.
            timeout: A timeout for this request (None: no timeout; left out: the client's).
            max_retries: Retries for this request.
        """
        return await self._call(
            RequestSpec(
                method,
                path,
                body,
                query,
                headers or {},
                None,
                request_timeout(timeout),
                max_retries,
            )
        )

    async def get(self, path: str, **kwargs: Any) -> Any:
        """`request("GET", path, ...)`."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        """`request("POST", path, ...)`."""
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        """`request("PUT", path, ...)`."""
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        """`request("PATCH", path, ...)`."""
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        """`request("DELETE", path, ...)`."""
        return await self.request("DELETE", path, **kwargs)

    async def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _Replay(httpx.SyncByteStream):
    """A body whose first chunks were read already: those again, then the rest."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes], original: Any) -> None:
        self._head = head
        self._rest = rest
        self._original = original

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        yield from self._rest

    def close(self) -> None:
        close = getattr(self._rest, "close", None)  # finish the suspended generator now, not at GC
        try:
            if close is not None:
                close()
        finally:
            self._original.close()


class _AsyncReplay(httpx.AsyncByteStream):
    """`_Replay` for an async body."""

    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], original: Any) -> None:
        self._head = head
        self._rest = rest
        self._original = original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._rest, "aclose", None)  # as `_Replay.close`
        try:
            if aclose is not None:
                await aclose()
        finally:
            await self._original.aclose()


def _read(response: httpx.Response) -> httpx.Response:
    response.read()
    return response
