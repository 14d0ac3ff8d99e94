"""The retry policy: what is retried, how long to wait, when to stop; one policy for all.

The decisions are pure functions of the error and the attempt number (`RetryPolicy.delay_after`).
The clients step a request's attempts with `Attempts` / `AsyncAttempts`, which cost nothing
beyond a small object when the first attempt succeeds (the common case);
`RetryPolicy.retrying()` and `RetryPolicy.async_retrying()` wrap the same rules in tenacity's
`Retrying` / `AsyncRetrying` for code that wants tenacity's API.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

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

if TYPE_CHECKING:
    from tenacity import AsyncRetrying, RetryCallState, Retrying

__all__ = [
    "AsyncAttempts",
    "Attempt",
    "Attempts",
    "RetryPolicy",
    "parse_retry_after",
    "should_retry",
]

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

    def delay_after(
        self, error: BaseException, retries_taken: int, max_retries: int | None = None
    ) -> float | None:
        """Seconds to wait before another attempt after `error`, or None to give up.

        Args:
            error: What the last attempt raised.
            retries_taken: Retries before that attempt.
            max_retries: This request's retry count (default: the policy's).
        """
        limit = self.max_retries if max_retries is None else max_retries
        if retries_taken >= limit or not should_retry(error):
            return None
        delay = self.wait_for(error, retries_taken)
        _announce(error, retries_taken + 2, limit + 1, delay)
        return delay

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
            _announce(error, state.attempt_number + 1, self.max_retries + 1, wait_s)

        return {
            "retry": retry,
            "stop": stop,
            "wait": wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(self, max_retries: int | None = None) -> Retrying:
        """A tenacity `Retrying` for sync calls (`max_retries` overrides per request)."""
        from tenacity import Retrying  # only here: the clients step `Attempts`

        policy = self if max_retries is None else _replace_retries(self, max_retries)
        sleep = policy.sleep or time.sleep
        return Retrying(sleep=sleep, **policy._tenacity_kwargs())  # type: ignore[arg-type]

    def async_retrying(self, max_retries: int | None = None) -> AsyncRetrying:
        """A tenacity `AsyncRetrying` for async calls (`max_retries` overrides per request)."""
        from tenacity import AsyncRetrying

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


class Attempt:
    """One attempt of a request: run it inside `with attempt:`, which keeps an `Exception` it
    raises for `Attempts` to decide on (other `BaseException`s pass).

    Attributes:
        retries_taken: Retries before this attempt (0 for the first).
        error: What it raised, once it has run.
    """

    __slots__ = ("error", "retries_taken")

    def __init__(self, retries_taken: int) -> None:
        self.retries_taken = retries_taken
        self.error: Exception | None = None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if isinstance(error, Exception):
            self.error = error
            return True
        return False


class Attempts:
    """The attempts of one request under a policy: `for attempt in Attempts(policy): with
    attempt: ...`. It ends after an attempt that succeeded, waits between attempts, and raises
    the last error when it is not retried (or the retries are spent).

    Args:
        policy: The client's retry policy.
        max_retries: This request's retry count (None: the policy's).

    Raises:
        ConfigurationError: `max_retries` is not a whole number >= 0.
    """

    __slots__ = ("_attempt", "_delay", "_policy")

    def __init__(self, policy: RetryPolicy, max_retries: int | None = None) -> None:
        if max_retries is not None and max_retries != policy.max_retries:
            policy = _replace_retries(policy, max_retries)  # checks the count
        self._policy = policy
        self._attempt: Attempt | None = None
        self._delay = 0.0  # to wait before the attempt `_advance` returned

    def _advance(self) -> Attempt | None:
        """The next attempt (its wait in `_delay`), or None when the last one succeeded.

        Raises:
            Exception: The last attempt's error, when it is not retried.
        """
        last = self._attempt
        if last is not None:
            if last.error is None:
                return None
            delay = self._policy.delay_after(last.error, last.retries_taken)
            if delay is None:
                raise last.error
            self._delay = delay
        self._attempt = Attempt(0 if last is None else last.retries_taken + 1)
        return self._attempt

    def __iter__(self) -> Attempts:
        return self

    def __next__(self) -> Attempt:
        attempt = self._advance()
        if attempt is None:
            raise StopIteration
        if attempt.retries_taken:
            self._policy.pause(self._delay)
        return attempt


class AsyncAttempts(Attempts):
    """`Attempts` for an async client: `async for`, and its waits are awaited."""

    __slots__ = ()

    def __aiter__(self) -> AsyncAttempts:
        return self

    async def __anext__(self) -> Attempt:
        if (attempt := self._advance()) is None:
            raise StopAsyncIteration
        if attempt.retries_taken:
            await self._policy.apause(self._delay)
        return attempt


def _announce(error: BaseException | None, attempt: int, attempts: int, wait_s: float) -> None:
    """Say that a request is retried: a log line, and an `agentkit.retry` event on the current
    span (the runner's `chat` span) when one is recording."""
    logger.info(
        "retrying request (attempt %d of %d) in %.2f s after %s",
        attempt,
        attempts,
        wait_s,
        _describe(error),
    )
    note(
        "agentkit.retry",
        {
            "agentkit.retry.attempt": attempt,
            "agentkit.retry.wait_s": wait_s,
            "error.type": type(error).__qualname__ if error is not None else "",
            "http.response.status_code": getattr(error, "status_code", 0) or 0,
        },
    )


def _replace_retries(policy: RetryPolicy, max_retries: int) -> RetryPolicy:
    return replace(policy, max_retries=max_retries)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, APIStatusError):
        return f"status {error.status_code} ({error.type or 'error'})"
    return type(error).__name__ if error is not None else "nothing"
