"""The retry policy: what is retried, how long to wait, when to stop; one tenacity policy for all.

The decisions are pure functions of the error and the attempt number; `RetryPolicy.retrying()` and
`RetryPolicy.async_retrying()` wrap them in tenacity's `Retrying` / `AsyncRetrying` so the sync and
async clients share every rule.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    IncompleteStreamError,
    InternalServerError,
    RateLimitError,
)
from .._options import check_number, strict_init
from ..observability._notes import note

__all__ = ["RetryPolicy", "parse_retry_after", "should_retry"]

logger = logging.getLogger("agentkit")

# 408 request timeout, 409 lock timeout, 429 rate limit: the API documents these as transient.
_RETRY_STATUSES = frozenset({408, 409, 429})


def should_retry(error: BaseException) -> bool:
    """Whether an error is worth another attempt.

    `x-should-retry: true|false` from the server decides first; then connection errors and
    timeouts, 408, 409, 429 and every status >= 500 (529 included) are retried. The client asks
    about a stream's failures only before its first content event (the first
    `content_block_start`): an `error` event in a 200 stream is retried when its type is one a
    status would be (`overloaded_error`, `rate_limit_error`, `api_error`), and a stream cut before
    any content is retried like a connection error.
    """
    if isinstance(error, APIStatusError):
        override = error.response.headers.get("x-should-retry")
        if override == "true":
            return True
        if override == "false":
            return False
        if error.status_code < 400:  # an `error` event in a 200 stream: its type decides
            return isinstance(error, RateLimitError | InternalServerError)
        return error.status_code in _RETRY_STATUSES or error.status_code >= 500
    if isinstance(error, IncompleteStreamError):
        return not error.content_delivered
    return isinstance(error, APIConnectionError)


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms`, else `retry-after` (seconds or date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            pass
        else:
            if not math.isnan(ms):  # NaN would reach sleep() and crash it; +-inf is clamped
                return max(ms / 1000.0, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


@strict_init
@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Attributes:
        max_retries: Retries after the first attempt (2 means up to 3 attempts).
        initial_delay: The first backoff delay in seconds; it doubles per retry.
        max_delay: The cap on a backoff delay.
        max_retry_after: The longest server-requested wait (`retry-after`) honoured; a longer
            request is capped at this value, never silently ignored.
        jitter: Fraction of each backoff delay that is randomized (full jitter would be 1.0).
        sleep: Replaces the sleep between attempts (for tests); `time.sleep` / `anyio.sleep` when
            None. An async client awaits its result if it is awaitable.

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: `max_retries` not a whole number >= 0, a delay not a number >= 0,
            `jitter` outside 0..1, or a `sleep` that is not callable.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 300.0
    jitter: float = 0.25
    sleep: Callable[[float], object] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = "RetryPolicy()"
        count = self.max_retries
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ConfigurationError(
                f"{where}: max_retries must be a whole number >= 0, not {count!r}"
            )
        for name in ("initial_delay", "max_delay", "max_retry_after", "jitter"):
            check_number(where, name, getattr(self, name), inclusive=True, optional=False)
        if self.jitter > 1:
            raise ConfigurationError(
                f"{where}: jitter must be a number from 0 to 1, not {self.jitter!r}"
            )
        if self.sleep is not None and not callable(self.sleep):
            raise ConfigurationError(
                f"{where}: sleep must be a callable or None, not {self.sleep!r}"
            )

    def wait_for(self, error: BaseException | None, retries_taken: int) -> float:
        """The delay before the next attempt, after `retries_taken` retries so far."""
        if isinstance(error, APIStatusError):
            server = parse_retry_after(error.response.headers)
            if server is not None:
                return min(server, self.max_retry_after)
        base: float = min(self.initial_delay * 2.0**retries_taken, self.max_delay)
        return base * (1 - self.jitter * random.random())

    def _tenacity_kwargs(self) -> dict[str, object]:
        def retry(state: RetryCallState) -> bool:
            outcome = state.outcome
            error = outcome.exception() if outcome is not None and outcome.failed else None
            return error is not None and should_retry(error)

        def stop(state: RetryCallState) -> bool:
            return state.attempt_number > self.max_retries

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            return self.wait_for(error, state.attempt_number - 1)

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            wait_s = state.next_action.sleep if state.next_action is not None else 0.0
            logger.info(
                "retrying request (attempt %d of %d) in %.2f s after %s",
                state.attempt_number + 1,
                self.max_retries + 1,
                wait_s,
                _describe(error),
            )
            # An event on the current span (the runner's `chat` span), when one is recording.
            note(
                "agentkit.retry",
                {
                    "agentkit.retry.attempt": state.attempt_number + 1,
                    "agentkit.retry.wait_s": wait_s,
                    "error.type": type(error).__qualname__ if error is not None else "",
                    "http.response.status_code": getattr(error, "status_code", 0) or 0,
                },
            )

        return {
            "retry": retry,
            "stop": stop,
            "wait": wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(self, max_retries: int | None = None) -> Retrying:
        """A tenacity `Retrying` for sync calls (`max_retries` overrides per request)."""
        policy = self if max_retries is None else _replace_retries(self, max_retries)
        sleep = policy.sleep or time.sleep
        return Retrying(sleep=sleep, **policy._tenacity_kwargs())  # type: ignore[arg-type]

    def async_retrying(self, max_retries: int | None = None) -> AsyncRetrying:
        """A tenacity `AsyncRetrying` for async calls (`max_retries` overrides per request)."""
        policy = self if max_retries is None else _replace_retries(self, max_retries)
        return AsyncRetrying(sleep=policy.apause, **policy._tenacity_kwargs())  # type: ignore[arg-type]

    def pause(self, seconds: float) -> None:
        """Wait in a sync client: `sleep`, else `time.sleep` (also rate-limit pacing's waits)."""
        (self.sleep or time.sleep)(seconds)

    async def apause(self, seconds: float) -> None:
        """Wait in an async client: `sleep` (awaited if it returns an awaitable), else
        `anyio.sleep`."""
        import anyio
        import anyio.lowlevel

        if self.sleep is None:
            await anyio.sleep(seconds)
            return
        result = self.sleep(seconds)
        if isinstance(result, Awaitable):
            await result
        else:
            await anyio.lowlevel.checkpoint()  # a sync stand-in still lets other tasks run


def _replace_retries(policy: RetryPolicy, max_retries: int) -> RetryPolicy:
    return replace(policy, max_retries=max_retries)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, APIStatusError):
        return f"status {error.status_code} ({error.type or 'error'})"
    return type(error).__name__ if error is not None else "nothing"
