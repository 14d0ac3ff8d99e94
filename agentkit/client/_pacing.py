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

import itertools
import logging
import math
import operator
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from .._exceptions import raw_names
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
# The headers the limiter reads, three a kind in the order of `_KINDS`: limit, remaining, reset.
_NAMES = tuple(
    f"anthropic-ratelimit-{kind}-{field}".encode()
    for kind in _KINDS
    for field in ("limit", "remaining", "reset")
)
_FIELDS = {name: i for i, name in enumerate(_NAMES)}
_ALL_NAMES = operator.itemgetter(*_NAMES)
# Where each kind's headers start in `_NAMES` (its limit; remaining and reset follow).
_STARTS = tuple(3 * k for k in range(len(_KINDS)))
_REQUESTS, _INPUT_TOKENS, _OUTPUT_TOKENS, _TOKENS = _STARTS
# A request reserves requests and input tokens (`reserve`); the other two are only reported,
# their headers parsed when `limits` is read.
_UNPACED = (_OUTPUT_TOKENS, _TOKENS)
_INFINITY = math.inf
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
    return -(-body_size // 4) or 1  # (integer division rounded up)


class _Bucket:
    __slots__ = ("level", "limit", "rate", "reset", "stamp")

    def __init__(
        self, limit: int, level: float, rate: float, stamp: float, reset: float | None
    ) -> None:
        self.limit = limit
        self.level = level
        self.rate = rate
        self.stamp = stamp
        self.reset = reset

    def take(self, cost: float, now: float) -> float:
        """Refill to `now`, then take `cost` (the level may go below zero): the seconds until
        the level would have held it (0 when it did)."""
        level = self.level
        if now > self.stamp:
            level += (now - self.stamp) * self.rate
            if level > self.limit:
                level = float(self.limit)
            self.stamp = now
        self.level = level - cost
        if cost > level and self.rate > 0:
            return (cost - level) / self.rate
        return 0.0


# A response's rate-limit headers (`_NAMES`' order; None: not sent, b"": sent twice).
_Found = Sequence[bytes | None]


def _resynced(
    bucket: _Bucket | None, found: _Found, at: int, now: float, later: float
) -> _Bucket | None:
    """`bucket` re-synced from the kind's headers at `found[at:at + 3]` (a new bucket if it had
    none; the same one, untouched, when the limit or remaining count is missing or malformed),
    less `later`: what the requests reserved after this response's request take from it."""
    limit_text, remaining_text = found[at], found[at + 1]
    try:
        limit, remaining = float(limit_text), float(remaining_text)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # missing (None), or no number as bytes
        text_limit, text_remaining = _number(limit_text), _number(remaining_text)
        if text_limit is None or text_remaining is None:
            return bucket
        limit, remaining = text_limit, text_remaining
    if not (1.0 <= limit < _INFINITY and 0.0 <= remaining < _INFINITY):  # NaN fails too
        return bucket
    reset = _reset_time(found[at + 2])
    level = remaining if remaining < limit else limit
    if reset is not None and reset > now and level < limit:
        rate = (limit - level) / (reset - now)  # full again by its reset
    elif bucket is not None:
        rate = bucket.rate
    else:
        rate = limit / _DEFAULT_PERIOD
    # The server counted this request and every one sent before it; the requests sent after it
    # are still ours to subtract.
    if bucket is None:
        return _Bucket(int(limit), level - later, rate, now, reset)
    bucket.limit, bucket.level, bucket.rate, bucket.stamp = int(limit), level - later, rate, now
    bucket.reset = reset
    return bucket


def _number(value: bytes | None) -> float | None:
    """`value` as a float (None: missing or not a number), read as text if not as bytes (float()
    strips text of more kinds of white space)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return float(value.decode("latin-1"))
    except ValueError:
        return None


# Recent reset times' whole seconds ("2026-12-05T01:00:00") as Unix time, and the API's endings
# of them ("Z", ".123Z") in milliseconds: the API's resets repeat or change only their
# milliseconds from one response to the next.
_SECONDS: dict[bytes, int] = {}
_SECONDS_KEPT = 32
_MILLISECONDS: dict[bytes, int] = {}
_WHOLE_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_ENDING = re.compile(r"(?:\.([0-9]{3}))?Z")


def _reset_time(value: bytes | None) -> float | None:
    """A reset time in Unix seconds (None: missing or malformed).

    The API's forms, `2026-12-05T01:00:00Z` and `2026-12-05T01:00:00.123Z`, are read from
    `_SECONDS` and `_MILLISECONDS`; the result is the same float as `_parse_time`'s (each divides
    an exact count, of milliseconds here and of microseconds there, once).
    """
    if not value:
        return None
    second = _SECONDS.get(value[:19])
    milliseconds = _MILLISECONDS.get(value[19:])
    if second is None or milliseconds is None:
        return _parse_time(value)
    return (second * 1000 + milliseconds) / 1000


def _parse_time(value: bytes) -> float | None:
    """Any ISO 8601 time `datetime.fromisoformat` reads ("Z" for UTC); one in the API's form
    is noted in `_SECONDS` and `_MILLISECONDS` for `_reset_time`."""
    text = value.decode("latin-1")  # never fails; a value that is no time is skipped
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    ending = _ENDING.fullmatch(text, 19)
    if _WHOLE_SECOND.fullmatch(text, 0, 19) and ending:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        whole = datetime.fromisoformat(text[:19] + "+00:00").timestamp()
        _SECONDS[value[:19]] = int(whole)
        _MILLISECONDS[value[19:]] = int(ending[1] or 0)  # at most 1,001 endings
    return stamp


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
        # The paced budgets, and the reported ones by their offset in `_NAMES` (`_UNPACED`).
        self._requests: _Bucket | None = None
        self._input_tokens: _Bucket | None = None
        self._reported: dict[int, _Bucket | None] = dict.fromkeys(_UNPACED)
        # The reported budgets' headers of the last response that sent them, and when it came:
        # parsed only when `limits` is read (nothing decides on them).
        self._unread: dict[int, tuple[_Found, float]] = {}
        # The reserved requests without a response yet, oldest first (tickets only grow), with
        # their input tokens, and those tokens in all: a response subtracts the ones reserved
        # after it as the total minus the older ones, which are the few out before it, not
        # every waiting one.
        self._pending: dict[int, float] = {}
        self._pending_tokens = 0.0
        self._tickets = itertools.count(1)
        self._paused_until = 0.0
        self._learned = False  # a response (with or without budgets) has come back
        self._scale = 1.0  # server-counted input tokens per estimated one

    def __repr__(self) -> str:
        known = self._budgets()
        budgets = [
            kind
            for kind, at in zip(_KINDS, _STARTS, strict=True)
            if known[at] is not None or at in self._unread
        ]
        return f"RateLimiter(budgets={sorted(budgets)}, waiting={len(self._pending)})"

    def _budgets(self) -> dict[int, _Bucket | None]:
        return {_REQUESTS: self._requests, _INPUT_TOKENS: self._input_tokens, **self._reported}

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
        self._lock.acquire()  # (cheaper than `with` on the path of every request)
        try:
            now = self._clock()
            if not self._learned and self._pending:
                # Nothing known yet and the first request is out: wait for its headers rather
                # than send a burst the budget may not hold.
                return -1, LEARNING_POLL
            tokens = input_tokens * self._scale
            wait, reason = 0.0, ""
            if self._requests is not None:
                wait = self._requests.take(1.0, now)
                reason = "requests"
            if self._input_tokens is not None:
                need = self._input_tokens.take(tokens, now)
                if need > wait:
                    wait, reason = need, "input-tokens"
            if not retry and self._paused_until - now > wait:
                wait, reason = self._paused_until - now, "retry-after"
            ticket = next(self._tickets)
            self._pending[ticket] = tokens
            self._pending_tokens += tokens
        finally:
            self._lock.release()
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
        self._lock.acquire()
        try:
            now = self._clock()
            own = self._forget(ticket)
            later_requests, later_tokens = (
                self._reserved_after(ticket) if self._pending else (0, 0.0)
            )
            if not self._learned:
                self._learned = True
                limit, remaining = found[_INPUT_TOKENS], found[_INPUT_TOKENS + 1]
                self._calibrate(own, _number(limit), _number(remaining))
            self._requests = _resynced(self._requests, found, _REQUESTS, now, later_requests)
            self._input_tokens = _resynced(
                self._input_tokens, found, _INPUT_TOKENS, now, later_tokens
            )
            for at in _UNPACED:
                if found[at] is not None:
                    self._unread[at] = found, now
            if status == 429:
                pause = _retry_after(headers, now)
                if pause is not None:
                    self._paused_until = max(self._paused_until, now + pause)
        finally:
            self._lock.release()

    def _calibrate(
        self, estimate: float | None, limit: float | None, remaining: float | None
    ) -> None:
        """Scale the input-token estimate by what the server charged the first request (the
        budget was full before it, unless another process shares it: then it errs high)."""
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

    def _forget(self, ticket: int) -> float | None:
        """Drop a pending reservation; its input tokens, or None if it was not pending."""
        tokens = self._pending.pop(ticket, None)
        if not self._pending:  # start again from an exact zero (no rounding carried over)
            self._pending_tokens = 0.0
        elif tokens is not None:
            self._pending_tokens -= tokens
        return tokens

    def _reserved_after(self, ticket: int) -> tuple[int, float]:
        """The pending requests reserved after `ticket`: how many, and their input tokens.

        The totals minus the pending ones reserved before it: those are walked from the oldest,
        and are the requests sent before this one and still out (a handful), so a response costs
        the same with 2,000 requests waiting as with none.
        """
        count, tokens = 0, 0.0
        for t, cost in self._pending.items():
            if t > ticket:
                break
            count += 1
            tokens += cost
        return len(self._pending) - count, self._pending_tokens - tokens

    @property
    def limits(self) -> RateLimits:
        """The budgets now (see `RateLimits`)."""
        with self._lock:
            now = self._clock()
            for at, (found, stamp) in self._unread.items():
                self._reported[at] = _resynced(self._reported[at], found, at, stamp, 0.0)
            self._unread.clear()
            budgets: dict[int, Budget] = {}
            for at, bucket in self._budgets().items():
                if bucket is not None:
                    bucket.take(0.0, now)  # refilled
                    budgets[at] = Budget(bucket.limit, bucket.level, bucket.reset)
            paused = self._paused_until if self._paused_until > now else None
        return RateLimits(
            requests=budgets.get(_REQUESTS),
            input_tokens=budgets.get(_INPUT_TOKENS),
            output_tokens=budgets.get(_OUTPUT_TOKENS),
            tokens=budgets.get(_TOKENS),
            paused_until=paused,
        )


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """The 429's `retry-after` in seconds (capped: a broken header must not stall the client)."""
    seconds = parse_retry_after(_as_headers(headers), now)
    return None if seconds is None else min(seconds, MAX_PAUSE)


def _rate_headers(headers: Mapping[str, str]) -> _Found:
    """The `limit`, `remaining` and `reset` headers of each kind in `_KINDS` (`_NAMES`' order).

    Only those are looked up, undecoded, by the lower-case names the API sends; a response
    missing the limit of a paced budget is looked up again with its names lowered. A header sent
    twice reads as b"" (unreadable), as its values joined with ", " would.
    """
    raw, table = raw_names(_as_headers(headers))
    if len(table) == len(raw):  # no name sent twice
        try:
            return _ALL_NAMES(table)  # type: ignore[no-any-return]
        except KeyError:  # some not sent
            found: _Found = tuple(map(table.get, _NAMES))
    else:
        found = _fill(raw, lower=False)
    if found[_REQUESTS] is not None and found[_INPUT_TOKENS] is not None:
        return found
    return _fill(raw, lower=True)


def _fill(raw: list[tuple[bytes, bytes]], *, lower: bool) -> list[bytes | None]:
    found: list[bytes | None] = [None] * len(_NAMES)
    for name, value in raw:
        at = _FIELDS.get(name.lower() if lower else name)
        if at is not None:
            found[at] = value if found[at] is None else b""
    return found


def _as_headers(headers: Mapping[str, str]) -> httpx.Headers:
    return headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers)
