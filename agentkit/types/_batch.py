"""The wire shapes of Message Batches, and the decoding of results JSONL into them.

Like every response model, these keep unknown fields and dump back (`to_dict()`) exactly what was
parsed; a result type added later parses as `BatchUnknownResult` instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Generic, Literal, TypedDict, TypeVar

import httpx
from pydantic import Discriminator, Field, Tag, ValidationError
from pydantic_core import from_json

from .._exceptions import APIError, APIResponseValidationError
from ._message import APIModel, Message
from ._private import PrivateValue

__all__ = [
    "BatchCanceledResult",
    "BatchErroredResult",
    "BatchExpiredResult",
    "BatchRequest",
    "BatchRequestCounts",
    "BatchResult",
    "BatchResultsUnavailableError",
    "BatchSucceededResult",
    "BatchUnknownResult",
    "DeletedMessageBatch",
    "JSONLDecoder",
    "MessageBatch",
    "ResultsDecoder",
]

T = TypeVar("T")


class BatchRequestCounts(APIModel):
    """How many of a batch's requests are in each state."""

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        """Every request of the batch."""
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired

    @property
    def done(self) -> int:
        """The requests no longer processing."""
        return self.total - self.processing


class MessageBatch(APIModel):
    """A batch as the API describes it.

    `processing_status` is `in_progress`, `canceling` or `ended` (a plain `str`, so a status added
    later still parses). Timestamps are kept as the RFC 3339 text the API sent.
    """

    id: str
    type: str = "message_batch"
    processing_status: str
    request_counts: BatchRequestCounts = Field(default_factory=BatchRequestCounts)
    created_at: str | None = None
    expires_at: str | None = None
    ended_at: str | None = None
    archived_at: str | None = None
    cancel_initiated_at: str | None = None
    results_url: str | None = None

    _request_id = PrivateValue[str]()

    @property
    def request_id(self) -> str | None:
        """The `request-id` header of the response this batch came in."""
        return self._request_id

    @property
    def ended(self) -> bool:
        """Processing is over: every request succeeded, errored, was canceled or expired."""
        return self.processing_status == "ended"


class DeletedMessageBatch(APIModel):
    """The answer of `batches.delete`."""

    id: str
    type: str = "message_batch_deleted"

    # The `request-id` header of the response (the official SDK's public `_request_id`).
    _request_id = PrivateValue[str]()


class BatchSucceededResult(APIModel):
    """The request ran; `message` is the reply, exactly as `messages.create` would return it."""

    type: Literal["succeeded"] = "succeeded"
    message: Message


class BatchErroredResult(APIModel):
    """The request failed; `error` is the API's error object as sent.

    An `invalid_request_error` needs a fixed request; other types (`api_error` ...) can be retried.
    """

    type: Literal["errored"] = "errored"
    error: dict[str, object]

    @property
    def _detail(self) -> dict[str, object]:
        # The API wraps the error in an error response ({type: "error", error: {...}}); older
        # batches carried the bare {type, message}. Read whichever came.
        inner = self.error.get("error")
        return inner if isinstance(inner, dict) else self.error

    @property
    def error_type(self) -> str | None:
        """The error type, e.g. `"invalid_request_error"`."""
        value = self._detail.get("type")
        return value if isinstance(value, str) else None

    @property
    def error_message(self) -> str | None:
        """The API's description of the error."""
        value = self._detail.get("message")
        return value if isinstance(value, str) else None


class BatchCanceledResult(APIModel):
    """The batch was canceled before this request ran."""

    type: Literal["canceled"] = "canceled"


class BatchExpiredResult(APIModel):
    """The batch reached its 24-hour expiry before this request ran."""

    type: Literal["expired"] = "expired"


class BatchUnknownResult(APIModel):
    """A result type this code does not know yet, kept as received."""

    type: str


_RESULT_TAGS = frozenset({"succeeded", "errored", "canceled", "expired"})


def _result_tag(value: object) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _RESULT_TAGS else "unknown"


BatchResultBody = Annotated[
    Annotated[BatchSucceededResult, Tag("succeeded")]
    | Annotated[BatchErroredResult, Tag("errored")]
    | Annotated[BatchCanceledResult, Tag("canceled")]
    | Annotated[BatchExpiredResult, Tag("expired")]
    | Annotated[BatchUnknownResult, Tag("unknown")],
    Discriminator(_result_tag),
]


class BatchResult(APIModel):
    """One line of a batch's results: which request (`custom_id`) and how it ended."""

    custom_id: str
    result: BatchResultBody

    @property
    def message(self) -> Message | None:
        """The reply when the request succeeded, else None."""
        return self.result.message if isinstance(self.result, BatchSucceededResult) else None


class BatchRequest(TypedDict):
    """One request of a batch.

    `params` is a `messages.create` body (without `stream`), or that body already encoded as
    JSON bytes, which is spliced into the batch body as is.
    """

    custom_id: str
    params: Mapping[str, object] | bytes


class BatchResultsUnavailableError(APIError):
    """The batch has no results to download yet (it has not ended, or its results expired).

    Attributes:
        batch: The batch as last retrieved.
    """

    def __init__(self, batch: MessageBatch) -> None:
        super().__init__(
            f"message batch {batch.id} has no results_url (processing_status="
            f"{batch.processing_status!r}); results exist once it has ended, for 29 days",
            body=batch.to_dict(),
        )
        self.batch = batch


class JSONLDecoder(Generic[T]):
    """Bytes in, one parsed value per line out, whatever the chunk boundaries (sans-IO).

    Lines end at `\\n`, `\\r` or `\\r\\n`; blank lines are skipped, so a `\\r\\n` split across
    two chunks yields nothing extra. The bytes after the last line ending wait in a buffer until
    more arrive or `flush()` is called at the end of the body.
    """

    def __init__(self, parse: Callable[[bytes], T]) -> None:
        self._parse = parse
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[T]:
        """Take the next chunk; return the values of the lines it completed.

        The lines are parsed as the result is iterated, so the values before a malformed line
        are delivered before its error is raised.
        """
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if cut < 0:
            self._buffer += chunk
            return iter(())
        self._buffer += chunk[:cut]
        complete = bytes(self._buffer)
        self._buffer = bytearray(chunk[cut + 1 :])
        return (self._parse(line) for line in complete.splitlines() if line.strip())

    def flush(self) -> list[T]:
        """The value of the last line when the body did not end with a line ending."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return [self._parse(rest)] if rest.strip() else []


class ResultsDecoder:
    """A results body's bytes in, `BatchResult` entries out (shared by both iterators)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.decoder = JSONLDecoder(self._parse)

    def _parse(self, line: bytes) -> BatchResult:
        # Parsed to Python first: the block and result discriminators are Python callables, so
        # `model_validate_json` would build those Python objects anyway (measured ~6% slower).
        try:
            return BatchResult.model_validate(from_json(line))
        except ValidationError as exc:
            problem = str(exc.errors(include_url=False, include_input=False)[:3])
            error: Exception = exc
        except ValueError as exc:  # not JSON at all
            problem, error = str(exc), exc
        raise APIResponseValidationError(
            f"a line of the batch results is not a result entry: {problem}",
            response=self.response,
            body=line.decode("utf-8", "replace"),
        ) from error
