"""The `anthropic-ratelimit-*` headers the fake sends, from token buckets like the API's.

Each budget holds `limit` and refills continuously at `limit` per `per` seconds (a minute, as
the API's limits are; scale `per` down to test pacing quickly). A request takes one request
and its input tokens (by the fake's estimate, as the API counts them before the model has
answered); `remaining` is what is left after it (never below 0), `reset` when the budget is
full again. With limits given (`FakeClaude(rate_limits=...)`), a request the budget has no room
for gets the API's 429 `rate_limit_error` with `retry-after`; the default limits are only
reported (each response shows the full budget less that one request).
The default limits are the ones a recorded response carried
(`text-stream-basic-ratelimit-headers`): 20,000 requests, 2,000,000 input tokens, 400,000
output tokens and 2,400,000 tokens a minute.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .._exceptions import ConfigurationError
from .._options import strict_init

__all__ = ["FakeRateLimits", "RateMeter"]


@strict_init
@dataclass(frozen=True)
class FakeRateLimits:
    """The fake's rate limits (`FakeClaude(rate_limits=FakeRateLimits(requests=50, ...))`).

    Attributes:
        requests: Requests per `per` seconds.
        input_tokens: Input tokens per `per` seconds.
        output_tokens: Output tokens per `per` seconds (reported; not enforced).
        tokens: Input and output tokens together per `per` seconds (reported; not enforced).
        per: The period the limits refill over, in seconds (60, as the API's).

    Raises:
        TypeError: an unknown keyword (naming the closest valid one).
        ConfigurationError: a limit that is not a whole number >= 1, or `per` <= 0.
    """

    requests: int = 20_000
    input_tokens: int = 2_000_000
    output_tokens: int = 400_000
    tokens: int = 2_400_000
    per: float = 60.0

    def __post_init__(self) -> None:
        for name in ("requests", "input_tokens", "output_tokens", "tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(
                    f"FakeRateLimits(): {name} must be a whole number >= 1, not {value!r}"
                )
        if not isinstance(self.per, int | float) or isinstance(self.per, bool) or self.per <= 0:
            raise ConfigurationError(f"FakeRateLimits(): per must be seconds > 0, not {self.per!r}")


class RateMeter:
    """One fake's budgets: admits or refuses each request and renders the headers."""

    def __init__(self, clock: Callable[[], float], limits: FakeRateLimits | None = None) -> None:
        self._clock = clock
        self.limits = limits or FakeRateLimits()
        # Only limits the test asked for refuse: by default each response reports the budget
        # less that request alone, so a load test through one fake is never throttled (neither
        # refused nor paced) by a limit it never chose.
        self.enforce = limits is not None
        self._lock = threading.Lock()
        self._levels: dict[str, float] = {}
        self._stamp: float | None = None
        self.refused = 0
        """How many requests got a 429."""

    def _capacity(self) -> dict[str, int]:
        limits = self.limits
        return {
            "requests": limits.requests,
            "input-tokens": limits.input_tokens,
            "output-tokens": limits.output_tokens,
            "tokens": limits.tokens,
        }

    def charge(self, input_tokens: int) -> tuple[list[tuple[str, str]], float | None]:
        """Take one request with `input_tokens`: its headers, and the seconds to retry after
        when it is refused (None when admitted)."""
        now = self._clock()
        capacity = self._capacity()
        per = self.limits.per
        with self._lock:
            if self._stamp is None:
                self._levels = {k: float(v) for k, v in capacity.items()}
            else:
                elapsed = max(0.0, now - self._stamp)
                for kind, limit in capacity.items():
                    self._levels[kind] = min(limit, self._levels[kind] + elapsed * limit / per)
            self._stamp = now
            cost = {"requests": 1.0, "input-tokens": float(input_tokens)}
            charged = {**cost, "tokens": float(input_tokens)}
            short = max(
                ((c - self._levels[k]) * per / capacity[k] for k, c in cost.items()), default=0.0
            )
            retry_after: float | None = None
            if short > 0 and self.enforce:
                retry_after = short
                self.refused += 1
            else:
                for kind, c in charged.items():
                    self._levels[kind] -= c
            levels = dict(self._levels)
            if not self.enforce:
                # Reported, not enforced: the budget never runs out (it refills at once), so a
                # client that paces itself by these headers is never held back by them.
                self._levels = {k: float(v) for k, v in capacity.items()}
        headers: list[tuple[str, str]] = []
        for kind, limit in capacity.items():
            level = levels[kind]
            full_in = (limit - level) * per / limit
            reset = datetime.fromtimestamp(now + full_in, timezone.utc)
            prefix = f"anthropic-ratelimit-{kind}"
            headers += [
                (f"{prefix}-limit", str(limit)),
                (f"{prefix}-remaining", str(max(0, math.floor(level)))),
                (
                    f"{prefix}-reset",
                    reset.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                ),
            ]
        if retry_after is not None:
            # Whole seconds, as the API sends it; at least 1.
            headers.append(("retry-after", str(max(1, math.ceil(retry_after)))))
        return headers, retry_after
