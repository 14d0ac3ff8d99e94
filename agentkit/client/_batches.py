"""The Message Batches API's requests and polling schedule, as pure steps.

A batch runs many Messages requests at about half price, within 24 hours. `create` submits them,
`wait` polls until the batch has ended, and `results` streams one typed entry per request. The
models and the JSONL decoding live in `types/_batch.py`; `AsyncBatches` (`_async/_batches.py`)
and the sync copy generated from it are the thin I/O shells over these steps.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

import httpx
from pydantic_core import to_json

from .._exceptions import RequestValidationError
from ..types._params import RequestOptions
from ._base import RequestSpec, json_object, model_parser, spec_from_params

if TYPE_CHECKING:
    from ..types._batch import BatchRequest, DeletedMessageBatch, MessageBatch

__all__ = [
    "PollSchedule",
    "batch_id",
    "batch_spec",
    "check_batch_requests",
    "create_spec",
    "encode_batch_body",
    "list_spec",
    "results_spec",
    "validate_batch",
    "validate_deleted_batch",
]


MAX_REQUESTS = 100_000
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_BASE_PATH = "/v1/messages/batches"

# -- pure steps ----------------------------------------------------------------------------------


def validate_batch(data: object) -> MessageBatch:
    """`MessageBatch.model_validate`, the models loaded on first use (not at import)."""
    from ..types._batch import MessageBatch

    return MessageBatch.model_validate(data)


def validate_deleted_batch(data: object) -> DeletedMessageBatch:
    """`DeletedMessageBatch.model_validate`, loaded on first use."""
    from ..types._batch import DeletedMessageBatch

    return DeletedMessageBatch.model_validate(data)


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


def create_spec(
    requests: Iterable[BatchRequest], options: RequestOptions
) -> RequestSpec[MessageBatch]:
    """The `POST /v1/messages/batches` request.

    Raises:
        RequestValidationError: the requests break a documented rule.
    """
    listed = list(requests)
    problems = check_batch_requests(listed)
    if problems:
        raise RequestValidationError(problems)
    spec = spec_from_params("POST", _BASE_PATH, options, parse=model_parser(validate_batch))
    fields = dict(spec.body) if isinstance(spec.body, Mapping) else {}  # `extra_body` fields
    return replace(spec, body=encode_batch_body(fields, listed))


def encode_batch_body(fields: Mapping[str, object], requests: list[BatchRequest]) -> bytes:
    """`{**fields, "requests": [...]}` as JSON, each request's `params` spliced in as given.

    The batch runner hands over `params` already encoded (the bytes its conversations cached),
    and a batch holds up to 100,000 of them: decoding them only to encode them again would cost
    more than the rest of the call, so encoded params go in verbatim and the rest is encoded once.
    """
    pieces = [
        b'{"custom_id":'
        + to_json(r["custom_id"])
        + b',"params":'
        + (bytes(p) if isinstance(p := r["params"], bytes | bytearray) else to_json(p))
        + b"}"
        for r in requests
    ]
    head = to_json(fields)
    sep = b"" if head == b"{}" else b","
    return head[:-1] + sep + b'"requests":[' + b",".join(pieces) + b"]}"


T = TypeVar("T")


def batch_spec(
    method: str,
    batch: str,
    suffix: str,
    options: RequestOptions,
    parse: Callable[[httpx.Response], T],
) -> RequestSpec[T]:
    """A request about one batch: retrieve (GET), cancel (POST .../cancel), delete (DELETE)."""
    path = f"{_BASE_PATH}/{quote(batch, safe='')}{suffix}"
    # Cancel goes out with an empty JSON object, as recorded from a client the API accepted.
    return spec_from_params(method, path, options, parse=parse, body=method == "POST")


def list_spec(
    params: RequestOptions, query: Mapping[str, object]
) -> RequestSpec[dict[str, object]]:
    """A `GET /v1/messages/batches` of one page."""
    return spec_from_params("GET", _BASE_PATH, params, query=query, body=False, parse=json_object)


def results_spec(
    batch: MessageBatch, base_url: str, options: RequestOptions
) -> RequestSpec[object]:
    """The streamed `GET` of an ended batch's `results_url`.

    Raises:
        BatchResultsUnavailableError: the batch has no `results_url` yet.
    """
    if not batch.results_url:
        from ..types._batch import BatchResultsUnavailableError

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
