"""The `anthropic-ratelimit-*` headers the fake sends, counted per minute like the API's.

The limits are the ones a recorded response carried (`text-stream-basic-ratelimit-headers`):
20,000 requests, 2,000,000 input tokens, 400,000 output tokens and 2,400,000 tokens a minute.
Remaining counts go down with each request in the current minute (input tokens by the fake's
estimate, as the API counts them before the model has answered); `reset` is the minute's end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone

__all__ = ["RateMeter"]

_LIMITS = {
    "input-tokens": 2_000_000,
    "output-tokens": 400_000,
    "requests": 20_000,
    "tokens": 2_400_000,
}


class RateMeter:
    """Counts one fake's requests and input tokens per minute and renders the headers."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._used = dict.fromkeys(_LIMITS, 0)

    def charge(self, input_tokens: int) -> list[tuple[str, str]]:
        """Count one request with `input_tokens`; the headers its response carries."""
        now = self._clock()
        window = int(now // 60)
        with self._lock:
            if window != self._window:
                self._window, self._used = window, dict.fromkeys(_LIMITS, 0)
            self._used["requests"] += 1
            remaining = {k: max(0, limit - self._used[k]) for k, limit in _LIMITS.items()}
            self._used["input-tokens"] += input_tokens
            self._used["tokens"] += input_tokens
        reset = datetime.fromtimestamp((window + 1) * 60, timezone.utc)
        stamp = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
        headers: list[tuple[str, str]] = []
        for kind, limit in _LIMITS.items():
            prefix = f"anthropic-ratelimit-{kind}"
            headers += [
                (f"{prefix}-limit", str(limit)),
                (f"{prefix}-remaining", str(remaining[kind])),
                (f"{prefix}-reset", stamp),
            ]
        return headers
