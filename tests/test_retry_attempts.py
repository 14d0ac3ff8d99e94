"""A unit test of the retry controller the clients step (`agentkit.client._retry`, private, pure
but for its sleep): the end-to-end retry behaviour is tested through the clients."""

from __future__ import annotations

import anyio
import httpx
import pytest

from agentkit import APIConnectionError
from agentkit.client import RetryPolicy
from agentkit.client._retry import AsyncAttempts, Attempts


def failing(times: int) -> list[str]:
    """Run attempts that fail `times` times with a retried error; what happened."""
    log: list[str] = []
    policy = RetryPolicy(
        max_retries=2, initial_delay=1, jitter=0, sleep=lambda s: log.append(f"{s}")
    )
    request = httpx.Request("POST", "https://example.test")
    for attempt in Attempts(policy):
        with attempt:
            log.append(f"try {attempt.retries_taken}")
            if attempt.retries_taken < times:
                raise APIConnectionError("down", request=request)
    return log


def test_attempts_retry_wait_and_stop() -> None:
    assert failing(0) == ["try 0"]
    assert failing(2) == ["try 0", "1.0", "try 1", "2.0", "try 2"]
    with pytest.raises(APIConnectionError, match="down"):
        failing(3)  # the retries are spent: the last error raises


def test_attempts_raise_an_error_not_retried_at_once_and_check_the_count() -> None:
    tries = []
    with pytest.raises(ValueError, match="no"):
        for attempt in Attempts(RetryPolicy(sleep=lambda s: None), max_retries=5):
            with attempt:
                tries.append(attempt.retries_taken)
                raise ValueError("no")
    assert tries == [0]
    with pytest.raises(KeyboardInterrupt):  # not an Exception: passes the attempt untouched
        for attempt in Attempts(RetryPolicy()):
            with attempt:
                raise KeyboardInterrupt
    with pytest.raises(Exception, match="max_retries must be a whole number"):
        Attempts(RetryPolicy(), max_retries=-1)


def test_async_attempts_await_their_waits() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> list[int]:
        policy = RetryPolicy(max_retries=1, initial_delay=0.5, jitter=0, sleep=sleep)
        request = httpx.Request("GET", "https://example.test")
        tries = []
        async for attempt in AsyncAttempts(policy):
            with attempt:
                tries.append(attempt.retries_taken)
                if not tries[1:]:
                    raise APIConnectionError("down", request=request)
        return tries

    assert anyio.run(main) == [0, 1]
    assert waits == [0.5]
