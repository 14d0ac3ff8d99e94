"""How an error of a model call becomes a Temporal failure: retryable or not, and how soon."""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    RequestValidationError,
    StreamError,
)
from ..client._retry import parse_retry_after, should_retry

__all__ = ["error_for"]


def error_for(exc: BaseException) -> BaseException:
    """The Temporal failure an error of a model call becomes.

    429, 408, 409, 5xx and 529 (and `x-should-retry: true`) are retryable, waiting at least the
    server's `retry-after`; other 4xx, `x-should-retry: false` and requests preflight rejected
    are not. A connection error or a broken stream is retried; an error event inside a stream is
    retried unless it says the request was invalid.

    Args:
        exc: What the call raised.

    Returns:
        An `ApplicationError` for API errors, else `exc` itself.
    """
    name = type(exc).__name__
    if isinstance(exc, APIStatusError):
        delay = parse_retry_after(exc.response.headers) if exc.response is not None else None
        if exc.status_code == 200:  # an `error` event inside a 200 stream
            retryable = getattr(exc, "type", None) != "invalid_request_error"
        else:
            retryable = should_retry(exc)
        return ApplicationError(
            str(exc),
            {"status": exc.status_code, "request_id": getattr(exc, "request_id", None)},
            type=name,
            non_retryable=not retryable,
            next_retry_delay=timedelta(seconds=delay) if retryable and delay else None,
        )
    if isinstance(exc, (APIConnectionError, StreamError)):
        return ApplicationError(str(exc), type=name)
    if isinstance(exc, (RequestValidationError, ConfigurationError)):
        return ApplicationError(str(exc), type=name, non_retryable=True)
    return exc
