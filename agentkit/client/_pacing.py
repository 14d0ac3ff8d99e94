"""Rate-limit pacing: hold a request back until the organisation's limit has room for it.

Every Messages API response says how much of the rate limit is left
(`anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset}`); the
API refills each budget continuously, to full by its `reset` time. `RateLimiter` keeps a local
token bucket per budget from those headers: each request reserves one request and its estimated
input tokens, and waits first when the bucket has not refilled enough. A response re-syncs the
bucket to what the server counted, minus the requests sent since (so estimates never drift),
and a 429's `retry-after` pauses every request of the limiter, not only the one that failed.
The decisions are pure (a clock is passed in); the client's send path only sleeps.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from .._options import strict_init
from ._retry import parse_retry_after

__all__ = [
    "MAX_PAUSE",
    "Budget",
    "PacingWait",
    "RateLimiter",
    "RateLimits",
    "estimate_input_tokens",
]

logger = logging.getLogger("agentkit")

# `tokens` is the combined budget (input and output together): reported in `rate_limits`, not
# paced on (a request's output is not known before it is sent; its input paces the input budget).
_KINDS = ("requests", "input-tokens", "output-tokens", "tokens")
_COST_KINDS = ("requests", "input-tokens")  # what a request reserves (`reserve`)
_PACED = [_KINDS.index(kind) for kind in _COST_KINDS]
# Where each header the limiter reads goes: (index of its kind in `_KINDS`, index of its field
# in (limit, remaining, reset)).
_FIELDS = {
    f"anthropic-ratelimit-{kind}-{field}".encode(): (k, f)
    for k, kind in enumerate(_KINDS)
    for f, field in enumerate(("limit", "remaining", "reset"))
}
_DEFAULT_PERIOD = 60.0  # the API's limits are per minute
LEARNING_POLL = 0.02
"""Seconds between a waiting request's checks while the first response is awaited."""
MAX_SCALE = 4.0
MAX_PAUSE = 300.0
"""The longest pause a 429's `retry-after` imposes on every request (as `RetryPolicy`'s cap)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """One rate-limit budget as the limiter sees it now.

    Attributes:
        limit: The most the budget holds (the `-limit` header).
        remaining: What is left now: the server's last count, refilled since, minus what this
            limiter has sent since (may be negative while requests wait).
        reset: When the budget would be full again (Unix seconds), by the server's last word.
    """

    limit: int
    remaining: float
    reset: float | None


@dataclass(frozen=True, slots=True)
class RateLimits:
    """`client.rate_limits`: the budgets last reported by the API (None: not reported yet).

    Attributes:
        requests: Requests per minute.
        input_tokens: Input tokens per minute.
        output_tokens: Output tokens per minute.
        tokens: Input and output tokens together per minute (`anthropic-ratelimit-tokens-*`);
            reported as the API last counted it and refilled since, not paced on.
        paused_until: Unix time until which a 429's `retry-after` holds every request back.
    """

    requests: Budget | None
    input_tokens: Budget | None
    output_tokens: Budget | None
    tokens: Budget | None
    paused_until: float | None


@dataclass(frozen=True, slots=True)
class PacingWait:
    """What `RateLimiter(on_wait=...)` receives when a request is held back.

    Attributes:
        seconds: How long the request waits before it is sent.
        reason: Which budget is short (`requests`, `input-tokens`) or `retry-after`.
        input_tokens: The request's estimated input tokens.
    """

    seconds: float
    reason: str
    input_tokens: int


def estimate_input_tokens(body_size: int) -> int:
    """A request's input tokens before the API counts them: about four bytes of JSON a token."""
    return max(1, math.ceil(body_size / 4))


class _Bucket:
    __slots__ = ("level", "limit", "rate", "reset", "stamp")

    def __init__(self, limit: int, level: float, rate: float, stamp: float) -> None:
        self.limit = limit
        self.level = level
        self.rate = rate
        self.stamp = stamp
        self.reset: float | None = None

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(float(self.limit), self.level + (now - self.stamp) * self.rate)
            self.stamp = now


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


@functools.lru_cache(maxsize=16)  # a budget's reset time repeats response after response
def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@strict_init
class RateLimiter:
    """Paces requests from the API's rate-limit headers; share one between clients.

    Every client has its own by default; pass the same one to several clients
    (`Client(rate_limiter=limiter)`) to pace them together, or `rate_limiter=False` for none.

    Args:
        on_wait: Called (from the sending thread or task) with a `PacingWait` each time a
            request is held back; a log line at INFO goes to the `agentkit` logger too.
        clock: Wall clock in Unix seconds (for tests).

    Raises:
        TypeError: an unknown keyword (naming the closest valid one), or `on_wait` not callable.
    """

    def __init__(
        self,
        *,
        on_wait: Callable[[PacingWait], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if on_wait is not None and not callable(on_wait):
            raise TypeError(f"RateLimiter(): on_wait must be callable, not {on_wait!r}")
        if not callable(clock):
            raise TypeError(f"RateLimiter(): clock must be callable, not {clock!r}")
        self.on_wait = on_wait
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        # The reserved requests without a response yet, oldest first (tickets only grow), and
        # what they reserve in all: a response subtracts the ones reserved after it as the
        # total minus the older ones, which are the few out before it, not every waiting one.
        self._pending: OrderedDict[int, dict[str, float]] = OrderedDict()
        self._pending_total = dict.fromkeys(_COST_KINDS, 0.0)
        self._tickets = itertools.count(1)
        self._paused_until = 0.0
        self._learned = False  # a response (with or without budgets) has come back
        self._scale = 1.0  # server-counted input tokens per estimated one

    def __repr__(self) -> str:
        return f"RateLimiter(budgets={sorted(self._buckets)}, waiting={len(self._pending)})"

    # -- the decisions ---------------------------------------------------------------------------

    def reserve(self, input_tokens: int, *, retry: bool = False) -> tuple[int, float]:
        """Reserve room for one request; returns its ticket and the seconds to wait first.

        The request's share is taken now (from a bucket that may go below zero), so requests
        reserved later queue behind it. Until a first response has said what the budgets are,
        one request goes out at a time: the ticket is then -1, and the caller asks again after
        the wait.

        Args:
            input_tokens: The request's estimated input tokens.
            retry: A retried attempt: it waited its own `retry-after` already, so the pause a
                429 set does not hold it back again (the budgets still do).
        """
        with self._lock:
            now = self._clock()
            if not self._learned and self._pending:
                # Nothing known yet and the first request is out: wait for its headers rather
                # than send a burst the budget may not hold.
                return -1, LEARNING_POLL
            costs = {"requests": 1.0, "input-tokens": input_tokens * self._scale}
            wait, reason = 0.0, ""
            for kind, cost in costs.items():
                bucket = self._buckets.get(kind)
                if bucket is None:
                    continue
                bucket.refill(now)
                short = cost - bucket.level
                if short > 0 and bucket.rate > 0:
                    need = short / bucket.rate
                    if need > wait:
                        wait, reason = need, kind
                bucket.level -= cost
            if not retry and self._paused_until - now > wait:
                wait, reason = self._paused_until - now, "retry-after"
            ticket = next(self._tickets)
            self._pending[ticket] = costs
            total = self._pending_total
            for kind, cost in costs.items():
                total[kind] += cost
        if wait > 0:
            logger.info("rate limit: waiting %.2f s before sending (%s budget short)", wait, reason)
            if self.on_wait is not None:
                self.on_wait(PacingWait(wait, reason, input_tokens))
        return ticket, wait

    def update(self, ticket: int, headers: Mapping[str, str], status: int) -> None:
        """Re-sync from a response's headers (and pause on a 429's `retry-after`).

        Headers that are missing or malformed are skipped: they never fail a request.
        """
        found = _rate_headers(headers)
        with self._lock:
            now = self._clock()
            own = self._forget(ticket)
            later = self._reserved_after(ticket)
            if not self._learned:
                self._learned = True
                tokens = found[1]  # input tokens: (limit, remaining, reset)
                self._calibrate(own, _number(tokens[0]), _number(tokens[1]))
            for kind, (limit_text, remaining_text, reset_text) in zip(_KINDS, found, strict=True):
                limit = _number(limit_text)
                remaining = _number(remaining_text)
                if limit is None or remaining is None or limit < 1:
                    continue
                reset = _timestamp(reset_text)
                bucket = self._buckets.get(kind)
                rate = bucket.rate if bucket is not None else limit / _DEFAULT_PERIOD
                if reset is not None and reset > now and remaining < limit:
                    rate = (limit - remaining) / (reset - now)
                if bucket is None:
                    bucket = self._buckets[kind] = _Bucket(int(limit), remaining, rate, now)
                bucket.limit, bucket.rate, bucket.stamp, bucket.reset = int(limit), rate, now, reset
                # The server counted this request and every one sent before it; the requests
                # sent after it are still ours to subtract.
                bucket.level = min(remaining, limit) - later.get(kind, 0.0)
            if status == 429:
                pause = _retry_after(headers, now)
                if pause is not None:
                    self._paused_until = max(self._paused_until, now + pause)

    def _calibrate(
        self, costs: dict[str, float] | None, limit: float | None, remaining: float | None
    ) -> None:
        """Scale the input-token estimate by what the server charged the first request (the
        budget was full before it, unless another process shares it: then it errs high)."""
        estimate = costs.get("input-tokens") if costs else None
        if limit is None or remaining is None or not estimate or remaining > limit:
            return
        charged = limit - remaining
        if charged > 0:
            self._scale = min(max(charged / estimate, 1.0), MAX_SCALE)

    def release(self, ticket: int) -> None:
        """Forget a request that got no response (a connection error): the server may or may
        not have counted it, so its reservation stays in the bucket until the next response."""
        with self._lock:
            self._forget(ticket)

    def _forget(self, ticket: int) -> dict[str, float] | None:
        """Drop a pending reservation; its costs, or None if it was not pending."""
        costs = self._pending.pop(ticket, None)
        if not self._pending:  # start again from exact zeros (no rounding carried over)
            self._pending_total = dict.fromkeys(_COST_KINDS, 0.0)
        elif costs is not None:
            total = self._pending_total
            for kind, cost in costs.items():
                total[kind] -= cost
        return costs

    def _reserved_after(self, ticket: int) -> dict[str, float]:
        """What the pending requests reserved after `ticket` reserve in all, per budget.

        The total minus the pending ones reserved before it: those are walked from the oldest,
        and are the requests sent before this one and still out (a handful), so a response costs
        the same with 2,000 requests waiting as with none.
        """
        before = dict.fromkeys(_COST_KINDS, 0.0)
        for t, costs in self._pending.items():
            if t > ticket:
                break
            for kind, cost in costs.items():
                before[kind] += cost
        return {kind: total - before[kind] for kind, total in self._pending_total.items()}

    @property
    def limits(self) -> RateLimits:
        """The budgets now (see `RateLimits`)."""
        with self._lock:
            now = self._clock()
            found: dict[str, Budget] = {}
            for kind, bucket in self._buckets.items():
                bucket.refill(now)
                found[kind] = Budget(bucket.limit, bucket.level, bucket.reset)
            paused = self._paused_until if self._paused_until > now else None
        return RateLimits(
            requests=found.get("requests"),
            input_tokens=found.get("input-tokens"),
            output_tokens=found.get("output-tokens"),
            tokens=found.get("tokens"),
            paused_until=paused,
        )


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The 429's `retry-after` in seconds (capped: a broken header must not stall the client)."""
    seconds = parse_retry_after(_as_headers(headers), now)
    return None if seconds is None else min(seconds, MAX_PAUSE)


def _rate_headers(headers: Mapping[str, str]) -> list[list[str | None]]:
    """The `limit`, `remaining` and `reset` headers of each kind in `_KINDS`, in one pass.

    Only those are decoded (not every header, as `Headers.items()` would), and looked up by
    the lower-case names the API sends; a response missing the limit of a paced budget is
    looked up again with its names lowered. A header sent twice reads as "" (unreadable), as
    its values joined with ", " would.
    """
    raw = _as_headers(headers).raw
    found = _fill(raw, lower=False)
    if all(found[kind][0] is not None for kind in _PACED):
        return found
    return _fill(raw, lower=True)


def _fill(raw: list[tuple[bytes, bytes]], *, lower: bool) -> list[list[str | None]]:
    found: list[list[str | None]] = [[None, None, None] for _ in _KINDS]
    for name, value in raw:
        slot = _FIELDS.get(name.lower() if lower else name)
        if slot is not None:
            kind, field = slot
            # Latin-1 never fails; a value that is not a number or a time is skipped later.
            found[kind][field] = value.decode("latin-1") if found[kind][field] is None else ""
    return found


def _as_headers(headers: Mapping[str, str]) -> httpx.Headers:
    return headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers)
