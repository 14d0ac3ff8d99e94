"""`client.messages.batches`: the Message Batches API, results decoded from JSONL as they arrive.

A batch runs many Messages requests at about half price, within 24 hours. `create` submits them,
`wait` polls until the batch has ended, and `results` streams one typed entry per request. The
request building and the polling schedule are pure (the models and the JSONL decoding live in
`_batch_models`); `Batches` and `AsyncBatches` are the two thin I/O shells over them.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic_core import to_json
from typing_extensions import Unpack

from .._exceptions import RequestValidationError, request_id_of
from ..types._batch import (
    BatchRequest,
    BatchResult,
    BatchResultsUnavailableError,
    DeletedMessageBatch,
    MessageBatch,
    ResultsDecoder,
)
from ..types._params import RequestOptions
from ._base import RequestSpec, parse_body, spec_from_params, transport_error
from ._models_api import ListParams, split_list_params
from ._pagination import AsyncPage, AsyncPager, Page, build_page
from ._retry import parse_retry_after

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = [
    "AsyncBatchResults",
    "AsyncBatches",
    "BatchResults",
    "Batches",
    "PollSchedule",
    "batch_spec",
    "check_batch_requests",
    "create_spec",
    "results_spec",
]

MAX_REQUESTS = 100_000
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_BASE_PATH = "/v1/messages/batches"

# -- pure steps ----------------------------------------------------------------------------------


def check_batch_requests(requests: list[BatchRequest]) -> list[str]:
    """The documented rules a batch's requests break, worded like the API (empty when none)."""
    problems: list[str] = []
    if not requests:
        problems.append("requests: a batch needs at least one request")
    if len(requests) > MAX_REQUESTS:
        problems.append(f"requests: a batch holds at most {MAX_REQUESTS:,} requests")
    seen: set[str] = set()
    for index, request in enumerate(requests):
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            problems.append(
                f"requests.{index}.custom_id: {custom_id!r} does not match ^[a-zA-Z0-9_-]{{1,64}}$"
            )
        elif custom_id in seen:
            problems.append(f"requests.{index}.custom_id: {custom_id!r} is not unique")
        else:
            seen.add(custom_id)
        if "params" not in request:
            problems.append(f"requests.{index}.params: Field required")
    return problems


def create_spec(requests: Iterable[BatchRequest], options: Mapping[str, Any]) -> RequestSpec:
    """The `POST /v1/messages/batches` request; the body is spliced from encoded pieces.

    Raises:
        RequestValidationError: the requests break a documented rule.
    """
    listed = list(requests)
    problems = check_batch_requests(listed)
    if problems:
        raise RequestValidationError(problems)
    spec = spec_from_params("POST", _BASE_PATH, options, parse=MessageBatch.model_validate)
    pieces = [
        b'{"custom_id":'
        + to_json(r["custom_id"])
        + b',"params":'
        + (bytes(p) if isinstance(p := r["params"], bytes | bytearray) else to_json(p))
        + b"}"
        for r in listed
    ]
    head = to_json(spec.body)  # `extra_body` fields, if any
    sep = b"" if head == b"{}" else b","
    body = head[:-1] + sep + b'"requests":[' + b",".join(pieces) + b"]}"
    return replace(spec, body=body)


def batch_spec(
    method: str, batch: str, suffix: str, options: Mapping[str, Any], parse: Callable[[Any], Any]
) -> RequestSpec:
    """A request about one batch: retrieve (GET), cancel (POST .../cancel), delete (DELETE)."""
    path = f"{_BASE_PATH}/{quote(batch, safe='')}{suffix}"
    # Cancel goes out with an empty JSON object, as recorded from a client the API accepted.
    return spec_from_params(method, path, options, parse=parse, body=method == "POST")


def results_spec(batch: MessageBatch, base_url: str, options: Mapping[str, Any]) -> RequestSpec:
    """The streamed `GET` of an ended batch's `results_url`.

    Raises:
        BatchResultsUnavailableError: the batch has no `results_url` yet.
    """
    if not batch.results_url:
        raise BatchResultsUnavailableError(batch)
    url = httpx.URL(batch.results_url)
    base = httpx.URL(base_url)
    # The API names its own host in results_url. Behind a proxy or a gateway base URL, going
    # there directly would bypass the proxy and hand the API key to a host the user never
    # configured, so another origin gets the documented results path below the base URL.
    if (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port):
        path = str(url)
    else:
        path = f"{_BASE_PATH}/{quote(batch.id, safe='')}/results"
    spec = spec_from_params("GET", path, options, body=False, stream=True)
    return replace(spec, headers={**spec.headers, "accept": "application/binary"})


def batch_id(batch: str | MessageBatch) -> str:
    """The id of a batch given by id or as a `MessageBatch`."""
    return batch if isinstance(batch, str) else batch.id


class PollSchedule:
    """When `wait` polls next: intervals growing by half up to a cap, a server hint, a deadline.

    Args:
        poll_interval: The first wait between polls, in seconds.
        max_interval: The longest wait between polls.
        timeout: Give up after this many seconds (None: wait as long as it takes).
        clock: A monotonic clock in seconds.
    """

    growth = 1.5

    def __init__(
        self,
        poll_interval: float,
        max_interval: float,
        timeout: float | None,
        clock: Callable[[], float],
    ) -> None:
        if poll_interval <= 0 or max_interval < poll_interval:
            raise ValueError("need 0 < poll_interval <= max_interval")
        self._interval = poll_interval
        self._max = max_interval
        self._clock = clock
        self._deadline = None if timeout is None else clock() + timeout

    def after_poll(self, batch: MessageBatch, hint: float | None) -> float | None:
        """Seconds to sleep before the next poll, or None when the batch has ended.

        A `retry-after` hint on the poll's response lengthens the wait (up to the cap).

        Raises:
            TimeoutError: the deadline has passed and the batch is still processing.
        """
        if batch.ended:
            return None
        delay = max(self._interval, min(hint or 0.0, self._max))
        self._interval = min(self._interval * self.growth, self._max)
        if self._deadline is not None:
            remaining = self._deadline - self._clock()
            if remaining <= 0:
                raise TimeoutError(
                    f"message batch {batch.id} is still {batch.processing_status} "
                    f"({batch.request_counts.done}/{batch.request_counts.total} done)"
                )
            delay = min(delay, remaining)  # poll once more at the deadline itself
        return delay


# -- I/O shells ----------------------------------------------------------------------------------


class BatchResults:
    """A batch's results as they download, one `BatchResult` per request, in no set order.

    Iterate it once; the connection closes at the end, on `close()` or when leaving `with`.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def request_id(self) -> str | None:
        """The `request-id` header of the results download."""
        value: str | None = request_id_of(self.http_response.headers)
        return value

    def __iter__(self) -> Iterator[BatchResult]:
        core = ResultsDecoder(self.http_response)
        try:
            for chunk in self._chunks():
                yield from core.decoder.feed(chunk)
            yield from core.decoder.flush()
        finally:
            self.close()

    def _chunks(self) -> Iterator[bytes]:
        try:
            yield from self.http_response.iter_bytes()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.http_response.request) from exc

    def close(self) -> None:
        """Release the connection."""
        self.http_response.close()

    def __enter__(self) -> BatchResults:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncBatchResults:
    """`BatchResults` for `async for`; close with `await close()` or `async with`."""

    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def request_id(self) -> str | None:
        """The `request-id` header of the results download."""
        value: str | None = request_id_of(self.http_response.headers)
        return value

    async def __aiter__(self) -> AsyncIterator[BatchResult]:
        core = ResultsDecoder(self.http_response)
        try:
            async for chunk in self._chunks():
                for entry in core.decoder.feed(chunk):
                    yield entry
            for entry in core.decoder.flush():
                yield entry
        finally:
            await self.close()

    async def _chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.http_response.aiter_bytes():
                yield chunk
        except httpx.TransportError as exc:
            raise transport_error(exc, self.http_response.request) from exc

    async def close(self) -> None:
        """Release the connection."""
        await self.http_response.aclose()

    async def __aenter__(self) -> AsyncBatchResults:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


ProgressCallback = Callable[[MessageBatch], object]


class Batches:
    """`client.messages.batches`: submit, inspect, wait for and read Message Batches."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self, *, requests: Iterable[BatchRequest], **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """Submit a batch.

        Args:
            requests: Up to 100,000 `{"custom_id": ..., "params": {...}}`; custom ids are unique
                and match `^[a-zA-Z0-9_-]{1,64}$`.
            **options: Request options (betas, extra_headers, timeout ...).

        Returns:
            The new batch, `in_progress`.

        Raises:
            RequestValidationError: a request breaks a documented rule (nothing was sent).
            APIStatusError: the API refused the batch.
        """
        result: MessageBatch = self._client._call(create_spec(requests, options))
        return result

    def retrieve(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """The batch's current state."""
        spec = batch_spec("GET", batch_id(batch), "", options, MessageBatch.model_validate)
        result: MessageBatch = self._client._call(spec)
        return result

    def list(self, **params: Unpack[ListParams]) -> Page[MessageBatch]:
        """The first page of batches, newest first; iterate it for every batch across pages."""
        query, options = split_list_params(dict(params))
        return self._page(query, options)

    def _page(self, query: dict[str, object], options: dict[str, Any]) -> Page[MessageBatch]:
        spec = spec_from_params("GET", _BASE_PATH, {**query, **options}, body=False)
        body = self._client._call(spec)
        page: Page[MessageBatch] = build_page(Page, body, query, MessageBatch.model_validate)
        page._fetch = lambda q: self._page(q, options)
        return page

    def cancel(self, batch: str | MessageBatch, **options: Unpack[RequestOptions]) -> MessageBatch:
        """Ask the API to stop the batch; it is `canceling` until it ends."""
        spec = batch_spec("POST", batch_id(batch), "/cancel", options, MessageBatch.model_validate)
        result: MessageBatch = self._client._call(spec)
        return result

    def delete(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> DeletedMessageBatch:
        """Delete an ended batch (cancel a running one first)."""
        parse = DeletedMessageBatch.model_validate
        result: DeletedMessageBatch = self._client._call(
            batch_spec("DELETE", batch_id(batch), "", options, parse)
        )
        return result

    def results(self, batch: str | MessageBatch, **options: Unpack[RequestOptions]) -> BatchResults:
        """Open the results download of an ended batch.

        Args:
            batch: An id (the batch is retrieved first for its `results_url`), or an ended
                `MessageBatch` (e.g. from `wait`), which saves that request.
            **options: Request options for the download.

        Returns:
            An iterator of `BatchResult`, decoded line by line as the body arrives.

        Raises:
            BatchResultsUnavailableError: the batch has not ended.
            NotFoundError: the API has no results for the batch (yet).
        """
        if isinstance(batch, str) or not batch.results_url:
            batch = self.retrieve(batch)
        spec = results_spec(batch, self._client.base_url, options)
        return BatchResults(self._client._send(spec, stream=True))

    def wait(
        self,
        batch: str | MessageBatch,
        *,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> MessageBatch:
        """Poll until the batch has ended, waiting longer between polls as time goes on.

        Args:
            batch: The batch id or a `MessageBatch`.
            poll_interval: The first wait between polls (seconds); each wait is 1.5 times the
                previous one, and at least the `retry-after` the API sends with the batch.
            max_interval: The cap on the wait between polls.
            timeout: Raise `TimeoutError` when the batch has not ended after this many seconds.
            on_progress: Called with the batch after every poll (the last one has ended).
            sleep: Replaces `time.sleep` (tests).
            clock: Replaces `time.monotonic` (tests).

        Returns:
            The ended batch, with its `results_url`.

        Raises:
            TimeoutError: `timeout` passed first.
        """
        schedule = PollSchedule(poll_interval, max_interval, timeout, clock)
        pause = sleep or time.sleep
        spec = batch_spec("GET", batch_id(batch), "", {}, MessageBatch.model_validate)
        while True:
            response = self._client._send(spec)
            current: MessageBatch = parse_body(response, spec.parse)
            if on_progress is not None:
                on_progress(current)
            delay = schedule.after_poll(current, parse_retry_after(response.headers))
            if delay is None:
                return current
            pause(delay)


class AsyncBatches:
    """`client.messages.batches` on an `AsyncClient`; see `Batches`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, requests: Iterable[BatchRequest], **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """Submit a batch; see `Batches.create`."""
        result: MessageBatch = await self._client._call(create_spec(requests, options))
        return result

    async def retrieve(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """The batch's current state."""
        spec = batch_spec("GET", batch_id(batch), "", options, MessageBatch.model_validate)
        result: MessageBatch = await self._client._call(spec)
        return result

    def list(self, **params: Unpack[ListParams]) -> AsyncPager[MessageBatch]:
        """`await` for the first page, or `async for` over every batch across pages."""
        query, options = split_list_params(dict(params))
        return AsyncPager(lambda: self._page(query, options))

    async def _page(
        self, query: dict[str, object], options: dict[str, Any]
    ) -> AsyncPage[MessageBatch]:
        spec = spec_from_params("GET", _BASE_PATH, {**query, **options}, body=False)
        body = await self._client._call(spec)
        page: AsyncPage[MessageBatch] = build_page(
            AsyncPage, body, query, MessageBatch.model_validate
        )
        page._fetch = lambda q: self._page(q, options)
        return page

    async def cancel(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """Ask the API to stop the batch; it is `canceling` until it ends."""
        spec = batch_spec("POST", batch_id(batch), "/cancel", options, MessageBatch.model_validate)
        result: MessageBatch = await self._client._call(spec)
        return result

    async def delete(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> DeletedMessageBatch:
        """Delete an ended batch (cancel a running one first)."""
        parse = DeletedMessageBatch.model_validate
        result: DeletedMessageBatch = await self._client._call(
            batch_spec("DELETE", batch_id(batch), "", options, parse)
        )
        return result

    async def results(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> AsyncBatchResults:
        """Open the results download of an ended batch; see `Batches.results`.

        Use as `async for entry in await client.messages.batches.results(batch_id)`.
        """
        if isinstance(batch, str) or not batch.results_url:
            batch = await self.retrieve(batch)
        spec = results_spec(batch, self._client.base_url, options)
        return AsyncBatchResults(await self._client._send(spec, stream=True))

    async def wait(
        self,
        batch: str | MessageBatch,
        *,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> MessageBatch:
        """Poll until the batch has ended; see `Batches.wait`.

        `sleep` defaults to `anyio.sleep`; a replacement's result is awaited when awaitable,
        and so is `on_progress`'s.
        """
        import anyio

        schedule = PollSchedule(poll_interval, max_interval, timeout, clock)
        spec = batch_spec("GET", batch_id(batch), "", {}, MessageBatch.model_validate)
        while True:
            response = await self._client._send(spec)
            current: MessageBatch = parse_body(response, spec.parse)
            if on_progress is not None:
                await _maybe_await(on_progress(current))
            delay = schedule.after_poll(current, parse_retry_after(response.headers))
            if delay is None:
                return current
            if sleep is None:
                await anyio.sleep(delay)
            else:
                await _maybe_await(sleep(delay))


async def _maybe_await(value: object) -> None:
    if isinstance(value, Awaitable):
        await value
