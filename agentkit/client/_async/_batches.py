"""`client.messages.batches`: submit, inspect, wait for and read Message Batches."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from typing_extensions import Unpack

from ...types._params import RequestOptions
from .._base import model_parser
from .._batches import (
    PollSchedule,
    batch_id,
    batch_spec,
    create_spec,
    list_spec,
    results_spec,
    validate_batch,
    validate_deleted_batch,
)
from .._models_api import ListParams, cursor_query
from .._retry import parse_retry_after
from ._pagination import AsyncPager, list_pages
from ._requester import AsyncRequester
from ._response import AsyncBody

if TYPE_CHECKING:
    from ...types._batch import BatchRequest, BatchResult, DeletedMessageBatch, MessageBatch

__all__ = ["AsyncBatchResults", "AsyncBatches"]

_batch = model_parser(validate_batch)
_deleted = model_parser(validate_deleted_batch)


class AsyncBatchResults(AsyncBody):
    """A batch's results as they download, one `BatchResult` per request, in no set order.

    Iterate it once; the connection closes at the end, on `close()` or when leaving `with`.
    """

    async def __aiter__(self) -> AsyncIterator[BatchResult]:
        from ...types._batch import ResultsDecoder

        core = ResultsDecoder(self.http_response)
        try:
            async for chunk in self._chunks():
                for entry in core.decoder.feed(chunk):
                    yield entry
            for entry in core.decoder.flush():
                yield entry
        finally:
            await self.close()


class AsyncBatches:
    """`client.messages.batches`: submit, inspect, wait for and read Message Batches."""

    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    async def create(
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
        return await self._client.call(create_spec(requests, options))

    async def retrieve(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """The batch's current state."""
        return await self._client.call(batch_spec("GET", batch_id(batch), "", options, _batch))

    def list(self, **params: Unpack[ListParams]) -> AsyncPager[MessageBatch]:
        """The batches, newest first: the first page, iterable over every batch across pages."""
        query = cursor_query(params)
        return list_pages(self._client, lambda q: list_spec(params, q), query, _batch_item)

    async def cancel(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> MessageBatch:
        """Ask the API to stop the batch; it is `canceling` until it ends."""
        spec = batch_spec("POST", batch_id(batch), "/cancel", options, _batch)
        return await self._client.call(spec)

    async def delete(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> DeletedMessageBatch:
        """Delete an ended batch (cancel a running one first)."""
        return await self._client.call(batch_spec("DELETE", batch_id(batch), "", options, _deleted))

    async def results(
        self, batch: str | MessageBatch, **options: Unpack[RequestOptions]
    ) -> AsyncBatchResults:
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
            batch = await self.retrieve(batch)
        spec = results_spec(batch, self._client.base_url, options)
        return AsyncBatchResults(await self._client.send(spec, stream=True))

    async def wait(
        self,
        batch: str | MessageBatch,
        *,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        timeout: float | None = None,
        on_progress: Callable[[MessageBatch], object] | None = None,
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
            sleep: Replaces the sleep between polls (tests); in async code its result, and
                `on_progress`'s, is awaited when awaitable.
            clock: Replaces `time.monotonic` (tests).

        Returns:
            The ended batch, with its `results_url`.

        Raises:
            TimeoutError: `timeout` passed first.
        """
        import anyio  # unasync: remove

        schedule = PollSchedule(poll_interval, max_interval, timeout, clock)
        pause = sleep or anyio.sleep
        spec = batch_spec("GET", batch_id(batch), "", {}, _batch)
        while True:
            response = await self._client.send(spec)
            current = spec.parse(response)
            if on_progress is not None:
                await _maybe_await(on_progress(current))  # unasync: on_progress(current)
            delay = schedule.after_poll(current, parse_retry_after(response.headers))
            if delay is None:
                return current
            await _maybe_await(pause(delay))  # unasync: pause(delay)


def _batch_item(item: object) -> MessageBatch:
    return validate_batch(item)


# unasync: async-only
async def _maybe_await(value: object) -> None:
    # In async code, a callback (or `sleep`) may be sync or async.
    if isinstance(value, Awaitable):
        await value


# unasync: end
