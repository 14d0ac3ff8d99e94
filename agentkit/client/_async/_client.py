"""`AsyncClient`: the thin I/O shell that sends what `_base` builds, with one retry loop.

This is the source of `Client` too: `scripts/unasync` writes `_sync/_client.py` from it. Every
rule lives in `_base` and `_retry`; `call`, `send` and `event_decoder` are the client's internal
surface for the resources, the runner, batches and Temporal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import nullcontext
from typing import Any, TypeVar

import httpx
from typing_extensions import Self, Unpack

from ...streaming._core import EventCore
from ...types._params import TimeoutTypes
from .._base import (
    DEFAULT,
    AsyncInFlight,
    BaseClient,
    Body,
    Omitted,
    RequestArgs,
    RequestSpec,
    response_mode,
    transport_error,
)
from .._custom import custom_spec
from .._httpx import AsyncOwnedPool
from .._retry import AsyncAttempts
from ._beta import AsyncBeta
from ._files import AsyncFiles
from ._messages import AsyncMessages
from ._models_api import AsyncModels
from ._response import AsyncAPIResponse

__all__ = ["AsyncClient"]

T = TypeVar("T")

# What bounds a client's requests in flight (`max_in_flight`), or nothing.
_Limiter = AsyncInFlight | nullcontext[None]


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """An asynchronous client for the Claude API.

    Args:
        api_key: Defaults to `ANTHROPIC_API_KEY`, read when the client is built.
        auth_token: A bearer token, used when there is no API key (`ANTHROPIC_AUTH_TOKEN`).
        base_url: Defaults to `ANTHROPIC_BASE_URL`, else `https://api.anthropic.com`.
        api_version: The `anthropic-version` header (default `2023-06-01`).
        default_headers: Headers sent with every request.
        timeout: Seconds or an `httpx.Timeout` (default 600 s, 5 s to connect); None for no
            timeout.
        max_retries: Retries of a failed request (default 2).
        retry: A full `RetryPolicy` (backoff, retry-after cap ...).
        http_client: Your own `httpx.AsyncClient` (proxies, transports: see
            `agentkit.client.DefaultHttpxClient`); the client's `close()` closes it.
        max_in_flight: At most this many requests out at once (default 48, below the default
            pool's 100 connections); the others wait their turn in the client, where waiting
            costs nothing per request (in httpx's pool, work proportional to its queue and its
            connections). A stream counts until its first event. None: no limit.
        rate_limiter: Rate-limit pacing from the API's `anthropic-ratelimit-*` headers: on by
            default (the client's own `RateLimiter`); pass one `RateLimiter` to several clients
            to pace them together, or False to turn pacing off.

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: when no API key or token is given or found, or a value is out of
            range (a timeout <= 0, a negative `max_retries`).
    """

    messages: AsyncMessages
    models: AsyncModels
    _in_flight: _Limiter

    def _new_http(self) -> httpx.AsyncClient:
        # Redirects are never followed (see `send`), whatever the pool's own setting.
        return AsyncOwnedPool()

    def _new_limiter(self, total: int | None) -> _Limiter:
        if total is None:
            return nullcontext()
        return AsyncInFlight(total)

    def _build_resources(self) -> None:
        self.messages = AsyncMessages(self)
        self.models = AsyncModels(self)

    @property
    def files(self) -> AsyncFiles:
        """`client.files`: the Files API (beta)."""
        return AsyncFiles(self)

    @property
    def beta(self) -> AsyncBeta:
        """`client.beta`: the SDK's beta namespace (`messages` with `tool_runner`, `files`,
        `models`), the same resources, each taking `betas=[...]`."""
        return AsyncBeta(self)

    # -- I/O ---------------------------------------------------------------------------------

    async def send(self, spec: RequestSpec[T], *, stream: bool = False) -> httpx.Response:
        """Send with retries; return a 2xx response (unread when `stream`), else raise.

        Internal surface: the resources and the runner open streams and downloads with it.
        """
        retry = self._config.retry
        async for attempt in AsyncAttempts(retry, spec.max_retries):
            with attempt:
                retries_taken = attempt.retries_taken
                request = self._build_request(spec, retries_taken)
                ticket, wait = self._pace(request, retries_taken)  # rate-limit pacing (`_pacing`)
                try:
                    # Pacing waits before the request takes an in-flight slot, not while it
                    # holds one: the slots bound the requests on the wire, and a sleeper holding
                    # one would idle it and keep requests that are due now, or not paced at all
                    # (other endpoints), waiting behind it; the pollers of the pacer's first
                    # response would hold them all. The reservations, taken in order before any
                    # wait, still decide whose turn comes first, and a request sent late only
                    # under-uses the budget.
                    while ticket < 0:  # the pacer awaits its first response's headers
                        await retry.apause(wait)  # unasync: retry.pause(wait)
                        ticket, wait = self._pace(request, retries_taken)
                    if wait:
                        await retry.apause(wait)  # unasync: retry.pause(wait)
                    async with self._in_flight:
                        try:
                            # follow_redirects=False even on a pool of yours that follows them:
                            # httpx keeps `x-api-key` / `api-key` on a cross-origin hop, and the
                            # API never redirects, so a 3xx becomes an error (`_status_error`)
                            # and credentials never leave the base URL's origin.
                            response = await self._http.send(
                                request,
                                stream=True,
                                auth=self._auth() or httpx.USE_CLIENT_DEFAULT,
                                follow_redirects=False,
                            )
                        except httpx.TransportError as exc:
                            raise transport_error(exc, request) from exc
                        self._paced(ticket, response)
                        if not response.is_success or not stream:
                            try:
                                await response.aread()
                            except httpx.TransportError as exc:
                                if not response.is_success:
                                    # The status and headers arrived: they decide the error.
                                    raise self._status_error(response, unreadable=exc) from exc
                                raise transport_error(exc, request) from exc
                            finally:
                                await response.aclose()
                            if not response.is_success:
                                raise self._status_error(response)
                        elif self._json_events(spec, response):
                            response = self._json_as_stream(
                                response, await self._read_whole(response)
                            )
                        elif (core := self._event_core(spec, response)) is not None:
                            await self._read_first_event(response, request, core)
                except BaseException:
                    # No response came (an error, a cancel while waiting): the pacer forgets
                    # the reservation; after a response this finds nothing to forget.
                    self._paced(ticket, None)
                    raise
        return response

    async def _read_whole(self, response: httpx.Response) -> bytes:
        """The body of a 2xx response, read inside the retry attempt, connection released."""
        try:
            return await response.aread()
        except httpx.TransportError as exc:
            raise transport_error(exc, response.request) from exc
        finally:
            await response.aclose()

    async def _read_first_event(
        self, response: httpx.Response, request: httpx.Request, core: EventCore
    ) -> None:
        """Read an event stream up to its first content event, then put the bytes back.

        Runs inside the retry attempt, so a failure before any content (after `message_start`
        and `ping`s included) is retried (see `EventCore.started`); the chunks read are replayed,
        so the stream's reader sees them all.
        """
        original = response.stream
        assert isinstance(original, httpx.AsyncByteStream)
        chunks = original.__aiter__()
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

    async def call(self, spec: RequestSpec[T]) -> T:
        """Send `spec` and return its parsed result.

        Internal surface: every resource method is one `call`. Under `with_raw_response` /
        `with_streaming_response` (the response mode) it returns the `AsyncAPIResponse` instead,
        which those wrappers declare as their return type.
        """
        mode = response_mode.get()
        if mode == "parsed":
            return spec.parse(await self.send(spec, stream=spec.stream))
        response = await self.send(spec, stream=spec.stream or mode == "stream")
        raw = AsyncAPIResponse(response, spec.parse, streaming=spec.stream)
        return raw  # type: ignore[return-value]  # the raw modes' wrappers say so

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Body = None,
        query: Mapping[str, object] | None = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | Omitted = DEFAULT,
        max_retries: int | None = None,
        cast_to: object = None,
        options: Mapping[str, object] | None = None,
    ) -> Any:
        """Call any endpoint, with the client's auth, retries and errors.

        Args:
            method: The HTTP method.
            path: A path below the base URL (`/v1/...`) or a full URL.
            body: A JSON body.
            query: Query parameters.
            headers: Extra headers.
            timeout: A timeout for this request (None: no timeout; left out: the client's).
            max_retries: Retries for this request.
            cast_to: What to return (see `cast_parser`): `httpx.Response`, a pydantic model,
                `str`, `bytes`, any type pydantic validates; left out, the decoded JSON.
            options: The SDK's per-request options (`CustomRequestOptions`: headers, params,
                timeout, max_retries, extra_json).

        Raises:
            TypeError: an unknown key in `options`, or a `cast_to` pydantic cannot validate.
        """
        spec = custom_spec(
            method,
            path,
            body=body,
            query=query,
            headers=headers,
            timeout=timeout,
            max_retries=max_retries,
            cast_to=cast_to,
            options=options,
        )
        return await self.call(spec)

    async def get(self, path: str, **kwargs: Unpack[RequestArgs]) -> Any:
        """`request("GET", path, ...)`."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Unpack[RequestArgs]) -> Any:
        """`request("POST", path, ...)`."""
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Unpack[RequestArgs]) -> Any:
        """`request("PUT", path, ...)`."""
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Unpack[RequestArgs]) -> Any:
        """`request("PATCH", path, ...)`."""
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Unpack[RequestArgs]) -> Any:
        """`request("DELETE", path, ...)`."""
        return await self.request("DELETE", path, **kwargs)

    async def close(self) -> None:
        """Close the connection pool (one shared with `with_options` copies: from the original)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _AsyncReplay(httpx.AsyncByteStream):
    """A body whose first chunks were read already: those again, then the rest."""

    def __init__(
        self, head: list[bytes], rest: AsyncIterator[bytes], original: httpx.AsyncByteStream
    ) -> None:
        self._head = head
        self._rest = rest
        self._original = original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        # Finish the suspended generator now, not at garbage collection.
        aclose = getattr(self._rest, "aclose", None)
        try:
            if aclose is not None:
                await aclose()
        finally:
            await self._original.aclose()
