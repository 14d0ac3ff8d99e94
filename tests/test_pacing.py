"""Rate-limit pacing: the pure `RateLimiter` with a stepped clock, the client's use of it, and
200 concurrent conversations against the fake at a scaled-down limit."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
import respx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentkit
from agentkit import Agent, ConfigurationError, RateLimitError
from agentkit.client import PacingWait, RateLimiter, RetryPolicy
from agentkit.testing import FakeClaude, FakeRateLimits

BASE = "https://api.anthropic.com"
MODEL = "claude-sonnet-4-5"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")


def budget_headers(
    now: float, *, requests: int, left: int, tokens: int, tokens_left: int
) -> dict[str, str]:
    """What the API sends: each budget refills to full by its reset, at limit per 60 s."""
    return {
        "anthropic-ratelimit-requests-limit": str(requests),
        "anthropic-ratelimit-requests-remaining": str(left),
        "anthropic-ratelimit-requests-reset": stamp(now + (requests - left) * 60 / requests),
        "anthropic-ratelimit-input-tokens-limit": str(tokens),
        "anthropic-ratelimit-input-tokens-remaining": str(tokens_left),
        "anthropic-ratelimit-input-tokens-reset": stamp(now + (tokens - tokens_left) * 60 / tokens),
    }


def test_first_request_goes_alone_then_the_budget_paces() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    first, wait = limiter.reserve(100)
    assert first > 0 and wait == 0
    # Until the first response says what the budget is, the others ask again shortly.
    assert limiter.reserve(100) == (-1, pytest.approx(0.02))
    limiter.update(
        first,
        budget_headers(clock.now, requests=60, left=2, tokens=100_000, tokens_left=99_900),
        200,
    )
    assert limiter.limits.requests is not None and limiter.limits.requests.remaining == 2
    # Two requests left, refilling at one a second: the third waits a second, the fourth two.
    waits = [limiter.reserve(100)[1] for _ in range(4)]
    assert waits == [0, 0, pytest.approx(1.0), pytest.approx(2.0)]
    clock.now += 10
    budget = limiter.limits.requests
    assert budget is not None and budget.limit == 60
    assert budget.remaining == pytest.approx(8.0)  # -2 (queued) + 10 s at one a second


def test_the_input_token_budget_paces_too() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    ticket, _ = limiter.reserve(1_000)
    # The server counted 1,000 tokens for the first request (as estimated): no rescaling.
    limiter.update(
        ticket,
        budget_headers(clock.now, requests=1000, left=999, tokens=6_000, tokens_left=5_000),
        200,
    )
    assert limiter.reserve(4_000)[1] == 0
    # 1,000 left, refilling 100 a second: 3,000 more need 20 s.
    assert limiter.reserve(3_000)[1] == pytest.approx(20.0)


def test_header_names_are_read_in_any_case_and_a_repeated_one_is_unreadable() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    ticket, _ = limiter.reserve(10)
    sent = budget_headers(clock.now, requests=60, left=50, tokens=100_000, tokens_left=90_000)
    pairs = [(name.title(), value) for name, value in sent.items()]
    # The token budget's remaining count comes twice: its two values joined are no number.
    pairs.append(("anthropic-ratelimit-input-tokens-remaining", "89000"))
    limiter.update(ticket, httpx.Headers(pairs), 200)
    limits = limiter.limits
    assert limits.requests is not None and limits.requests.remaining == 50
    assert limits.input_tokens is None


def test_the_combined_token_budget_is_reported_not_paced() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    ticket, _ = limiter.reserve(1_000)
    headers = budget_headers(clock.now, requests=1000, left=999, tokens=6_000, tokens_left=5_000)
    headers |= {
        "anthropic-ratelimit-tokens-limit": "8000",
        "anthropic-ratelimit-tokens-remaining": "2000",
        "anthropic-ratelimit-tokens-reset": stamp(clock.now + 45),
    }
    limiter.update(ticket, headers, 200)
    tokens = limiter.limits.tokens
    assert tokens is not None
    assert (tokens.limit, tokens.remaining) == (8_000, 2_000)
    assert tokens.reset == pytest.approx(clock.now + 45, abs=0.01)
    # It refills towards its reset: 6,000 short over 45 s.
    clock.now += 15
    refilled = limiter.limits.tokens
    assert refilled is not None and refilled.limit == 8_000 and refilled.reset == tokens.reset
    assert refilled.remaining == pytest.approx(4_000)
    # The input budget paces; the combined one (2,000 + refill left) does not hold 4,000 back.
    assert limiter.reserve(4_000)[1] == 0


def test_the_client_reports_every_budget_the_fake_sends() -> None:
    fake = FakeClaude(
        lambda body: "ok",
        rate_limits=FakeRateLimits(
            requests=50, input_tokens=20_000, output_tokens=4_000, tokens=24_000
        ),
    )
    client = agentkit.Client(api_key="k", http_client=fake.http_client())
    assert client.rate_limits is not None and client.rate_limits.tokens is None  # none yet
    Agent(MODEL, client=client, max_tokens=64).run("hi")
    limits = client.rate_limits
    assert limits.requests is not None and limits.requests.limit == 50
    assert limits.input_tokens is not None and limits.input_tokens.limit == 20_000
    assert limits.output_tokens is not None and limits.output_tokens.limit == 4_000
    assert limits.tokens is not None and limits.tokens.limit == 24_000
    # The fake charged the request's input tokens to the combined budget as well.
    assert limits.tokens.remaining < 24_000
    assert limits.tokens.limit - limits.tokens.remaining == pytest.approx(
        limits.input_tokens.limit - limits.input_tokens.remaining, abs=2
    )


def test_a_response_resyncs_without_drift_and_a_429_pauses_everyone() -> None:
    clock = Clock()
    waited: list[PacingWait] = []
    limiter = RateLimiter(clock=clock, on_wait=waited.append)
    a, _ = limiter.reserve(10)
    limiter.update(
        a, budget_headers(clock.now, requests=60, left=50, tokens=100_000, tokens_left=90_000), 200
    )
    b, _ = limiter.reserve(10)
    c, _ = limiter.reserve(10)
    # The response to b says 40 left (another process spent some): c, sent after b, still
    # counts against it.
    limiter.update(
        b, budget_headers(clock.now, requests=60, left=40, tokens=100_000, tokens_left=80_000), 200
    )
    assert limiter.limits.requests is not None and limiter.limits.requests.remaining == 39
    limiter.update(c, {"retry-after": "7"}, 429)
    assert limiter.limits.paused_until == clock.now + 7
    _, wait = limiter.reserve(10)
    assert wait == pytest.approx(7.0)
    assert waited == [PacingWait(pytest.approx(7.0), "retry-after", 10)]  # type: ignore[arg-type]
    # The request that got the 429 waited its retry-after in the retry policy already.
    assert limiter.reserve(10, retry=True)[1] == 0
    clock.now += 8
    assert limiter.limits.paused_until is None


@pytest.mark.parametrize("case", [str.lower, str.title, str.upper])
def test_response_headers_are_read_in_any_casing(case: Any) -> None:
    """The client hands the limiter the response's `httpx.Headers`; the API sends lower-case
    names, and a proxy that recases them changes nothing."""
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    sent = budget_headers(clock.now, requests=60, left=30, tokens=100_000, tokens_left=90_000)
    headers = httpx.Headers([(case(k), v) for k, v in [*sent.items(), ("Server", "x")]])
    ticket, _ = limiter.reserve(10)
    limiter.update(ticket, headers, 200)
    limits = limiter.limits
    assert limits.requests is not None and limits.requests.limit == 60
    assert limits.requests.remaining == 30
    assert limits.input_tokens is not None and limits.input_tokens.remaining == 90_000
    later, _ = limiter.reserve(10)
    limiter.update(later, httpx.Headers([(case("retry-after"), "7")]), 429)
    assert limiter.limits.paused_until == clock.now + 7


def test_responses_out_of_order_subtract_only_the_requests_reserved_after_them() -> None:
    # The limiter keeps a running total of what pending requests reserve (so a response costs
    # the same with thousands waiting): the older requests still out must not be subtracted,
    # nor a request that got no response, whatever order the responses come back in.
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    first, _ = limiter.reserve(10)
    limiter.update(
        first,
        budget_headers(clock.now, requests=1000, left=999, tokens=10**6, tokens_left=10**6 - 10),
        200,
    )  # charged as estimated: the input-token estimate is not scaled
    a, b, c, d, e = (limiter.reserve(tokens)[0] for tokens in (100, 200, 300, 400, 500))
    limiter.release(d)  # a connection error: d is forgotten, not subtracted by later responses

    def answer(ticket: int, left: int, tokens_left: int) -> tuple[float, float]:
        headers = budget_headers(
            clock.now, requests=1000, left=left, tokens=10**6, tokens_left=tokens_left
        )
        limiter.update(ticket, headers, 200)
        limits = limiter.limits
        assert limits.requests is not None and limits.input_tokens is not None
        return limits.requests.remaining, limits.input_tokens.remaining

    # c answers first: a and b (older, still out) are the server's business; e is after it.
    assert answer(c, 800, 800_000) == (799, 800_000 - 500)
    assert answer(a, 790, 790_000) == (788, 790_000 - 200 - 500)  # b and e after a
    assert answer(e, 780, 780_000) == (780, 780_000)  # b, older, was counted with e
    assert answer(b, 770, 770_000) == (770, 770_000)  # nothing after b is pending
    f, _ = limiter.reserve(600)
    assert answer(f, 760, 760_000) == (760, 760_000)


@pytest.mark.parametrize(
    "headers",
    [
        {
            "anthropic-ratelimit-requests-limit": "many",
            "anthropic-ratelimit-requests-remaining": "3",
        },
        {
            "anthropic-ratelimit-requests-limit": "60",
            "anthropic-ratelimit-requests-remaining": "-4",
        },
        {
            "anthropic-ratelimit-requests-limit": "nan",
            "anthropic-ratelimit-requests-remaining": "inf",
        },
        {
            "anthropic-ratelimit-requests-limit": "60",
            "anthropic-ratelimit-requests-remaining": "5",
            "anthropic-ratelimit-requests-reset": "next tuesday",
        },
        {"retry-after": "soon"},
        {"retry-after": "99999999"},
    ],
)
def test_malformed_headers_never_fail_and_are_skipped(headers: dict[str, str]) -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    ticket, _ = limiter.reserve(10)
    limiter.update(ticket, headers, 429)
    limits = limiter.limits
    if "anthropic-ratelimit-requests-reset" in headers:
        assert limits.requests is not None and limits.requests.reset is None
    else:
        assert limits.requests is None
    # A huge retry-after is capped at 300 s; a broken one is ignored.
    assert limits.paused_until in (None, clock.now + 300)


@respx.mock
def test_the_client_paces_from_headers_and_survives_malformed_ones() -> None:
    now = datetime.now(timezone.utc).timestamp()
    good = budget_headers(now, requests=60, left=0, tokens=100_000, tokens_left=99_000)
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    respx.post(f"{BASE}/v1/messages").mock(
        side_effect=[
            httpx.Response(200, json=message, headers=good),
            httpx.Response(200, json=message, headers={"anthropic-ratelimit-requests-limit": "x"}),
        ]
    )
    sleeps: list[float] = []
    client = agentkit.Client(api_key="k", retry=RetryPolicy(sleep=sleeps.append))
    params: Any = {
        "model": MODEL,
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    client.messages.create(**params)
    assert client.rate_limits is not None and client.rate_limits.requests is not None
    assert client.rate_limits.requests.limit == 60
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("app").start_as_current_span("handler"):
        client.messages.create(**params)  # none left: waits ~1 s (one a second refills)
    assert len(sleeps) == 1 and 0.5 < sleeps[0] <= 1.0
    (span,) = exporter.get_finished_spans()
    (event,) = span.events  # the wait is an event on the current span
    assert event.name == "agentkit.rate_limit.wait"
    assert event.attributes is not None
    assert event.attributes["agentkit.rate_limit.wait_s"] == sleeps[0]
    assert agentkit.Client(api_key="k", rate_limiter=False).rate_limits is None


_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": MODEL,
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 5, "output_tokens": 1},
}
_PARAMS: Any = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def test_a_paced_request_waits_without_holding_an_in_flight_slot() -> None:
    """Pacing waits come before `max_in_flight`'s slot: while a paced request sleeps, the
    client's only slot serves a request that is not paced (here, counting tokens)."""
    now = datetime.now(timezone.utc).timestamp()
    none_left = budget_headers(now, requests=60, left=0, tokens=100_000, tokens_left=99_000)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/count_tokens"):
            return httpx.Response(200, json={"input_tokens": 5})
        return httpx.Response(200, json=_MESSAGE, headers=none_left)

    counted: list[int] = []

    async def sleep(seconds: float) -> None:
        count = await client.messages.count_tokens(model=MODEL, messages=_PARAMS["messages"])
        counted.append(count.input_tokens)

    client = agentkit.AsyncClient(
        api_key="k",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        retry=RetryPolicy(sleep=sleep),
        max_in_flight=1,
    )

    async def main() -> None:
        await client.messages.create(**_PARAMS)  # the budget: none left
        with anyio.fail_after(10):  # a wait inside the slot would never end
            await client.messages.create(**_PARAMS)

    anyio.run(main)
    assert counted == [5]


def test_a_request_cancelled_before_its_response_gives_its_reservation_back() -> None:
    """The pacer sends one request alone until a response tells the budgets; a first request
    cancelled in flight must not leave every later request waiting for its headers."""
    started = anyio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        if not started.is_set():
            started.set()
            await anyio.sleep_forever()
        return httpx.Response(200, json=_MESSAGE)

    client = agentkit.AsyncClient(
        api_key="k", http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer))
    )

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(client.messages.create, **_PARAMS))
            await started.wait()
            tg.cancel_scope.cancel()
        with anyio.fail_after(10):  # without giving it back: polls for headers forever
            reply = await client.messages.create(**_PARAMS)
        assert reply.id == "msg_1"

    anyio.run(main)


def test_rate_limiter_option_is_checked() -> None:
    shared = RateLimiter()
    a = agentkit.Client(api_key="k", rate_limiter=shared)
    b = agentkit.AsyncClient(api_key="k", rate_limiter=shared)
    assert a.rate_limiter is shared and b.rate_limiter is shared
    assert a.with_options(timeout=5).rate_limiter is shared
    assert (
        agentkit.Client(api_key="k").rate_limiter is not agentkit.Client(api_key="k").rate_limiter
    )
    with pytest.raises(ConfigurationError, match="rate_limiter must be a RateLimiter"):
        agentkit.Client(api_key="k", rate_limiter="on")  # type: ignore[typeddict-item]
    with pytest.raises(TypeError, match="rate_limiter"):
        agentkit.Client(api_key="k", rate_limitor=False)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="on_wait"):
        RateLimiter(on_waiting=print)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="on_wait must be callable"):
        RateLimiter(on_wait=3)  # type: ignore[arg-type]


def test_fake_rate_limits_are_checked() -> None:
    with pytest.raises(TypeError, match="requests"):
        FakeRateLimits(request=5)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="requests must be a whole number"):
        FakeRateLimits(requests=0)
    with pytest.raises(ConfigurationError, match="per must be seconds"):
        FakeRateLimits(per=0)


def _burst(paced: bool, count: int = 200) -> tuple[FakeClaude, list[BaseException], int]:
    """`count` conversations at once against a fake allowing 50 requests and 20,000 input
    tokens a second (the issue's per-minute limits, 60 times faster)."""
    fake = FakeClaude(
        lambda body: "ok", rate_limits=FakeRateLimits(requests=50, input_tokens=20_000, per=1.0)
    )
    errors: list[BaseException] = []
    limiter = RateLimiter() if paced else False
    client = agentkit.AsyncClient(
        api_key="k", http_client=fake.async_http_client(), max_retries=0, rate_limiter=limiter
    )
    agent = Agent(MODEL, client=client, max_tokens=64, system="Be brief. " * 150)
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        try:
            await agent.arun(f"question {i}")
            done += 1
        except RateLimitError as exc:
            errors.append(exc)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(count):
                tg.start_soon(one, i)

    anyio.run(main)
    return fake, errors, done


def test_200_concurrent_conversations_get_no_429_with_pacing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="agentkit"):
        fake, errors, done = _burst(paced=True)
    assert errors == [] and fake.rate_limited == 0 and done == 200
    assert any("rate limit: waiting" in r.getMessage() for r in caplog.records)
    unpaced, unpaced_errors, _ = _burst(paced=False)
    # Without pacing the same burst collects 429s (benchmarks/bench_pacing.py reports how many).
    assert len(unpaced_errors) > 0 and unpaced.rate_limited == len(unpaced_errors)


@pytest.mark.parametrize(
    "reset",
    [
        "2026-12-05T01:00:00Z",
        "2026-12-05T01:00:00.123Z",
        "2026-12-05T01:00:00.999Z",
        "2026-12-05T01:00:00.000Z",
        "1969-12-31T23:59:59.001Z",
        "2026-12-05T01:00:00.1Z",
        "2026-12-05T01:00:00.123456Z",
        "2026-12-05T01:00:00.123+00:00",
        "2026-12-05T01:00:00.123+05:30",
        "2026-12-05T01:00:00.123",
        "2026-12-05 01:00:00.123Z",
        "2026-12-05T01:00:00.12xZ",
        "2026-12-05T01:00:00.1_2Z",
        "2026-12-05T01:00:00. 12Z",
        "2026-12-05T23:59:60.000Z",
        "2026-13-05T01:00:00.123Z",
        "2026-12-05T01:00:00.123z",
        "2026-12-05T01:00:00.123ZZ",
        "next tuesday",
    ],
)
def test_a_reset_time_reads_as_fromisoformat_reads_it(reset: str) -> None:
    """The API's forms of reset time are read from cached whole seconds: the same float as
    `datetime.fromisoformat`, and any other form read by it (None when it reads none)."""
    try:
        expected: float | None = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp()
    except ValueError:
        expected = None
    limiter = RateLimiter(clock=Clock())
    for _ in range(
        2
    ):  # the second time from the cache of whole seconds, if it is in the API's form
        for api_form in ("2026-12-05T01:00:00.500Z", reset):
            ticket, _ = limiter.reserve(10)
            headers = {
                "anthropic-ratelimit-requests-limit": "60",
                "anthropic-ratelimit-requests-remaining": "59",
                "anthropic-ratelimit-requests-reset": api_form,
            }
            limiter.update(ticket, headers, 200)
        budget = limiter.limits.requests
        assert budget is not None and budget.reset == expected


def test_the_reported_budgets_are_read_from_the_last_response_that_sent_them() -> None:
    """Nothing paces on the output and combined budgets: their headers are parsed when
    `rate_limits` is read, as of the response that sent them, refilled since."""
    clock = Clock()
    limiter = RateLimiter(clock=clock)

    def respond(**extra: str) -> None:
        ticket, _ = limiter.reserve(10)
        headers = budget_headers(clock.now, requests=60, left=50, tokens=10**6, tokens_left=10**6)
        limiter.update(ticket, headers | extra, 200)

    tokens = "anthropic-ratelimit-tokens"
    respond(**{f"{tokens}-limit": "8000", f"{tokens}-remaining": "1000"})
    respond(**{f"{tokens}-limit": "8000", f"{tokens}-remaining": "2000"})
    at = clock.now
    respond(**{f"{tokens}-reset": stamp(at + 99)})  # no limit: the budget is not in it
    assert limiter.limits.output_tokens is None
    # The last response with the budget: 2,000 of 8,000, refilling at 8,000 a minute since.
    clock.now += 15
    budget = limiter.limits.tokens
    assert budget is not None and (budget.limit, budget.reset) == (8_000, None)
    assert budget.remaining == pytest.approx(4_000)
    respond(**{f"{tokens}-limit": "8000", f"{tokens}-remaining": "lots"})  # skipped
    assert limiter.limits.tokens == budget
    respond(
        **{
            f"{tokens}-limit": "9000",
            f"{tokens}-remaining": "3000",
            f"{tokens}-reset": stamp(clock.now + 30),
            "anthropic-ratelimit-output-tokens-limit": "500",
            "anthropic-ratelimit-output-tokens-remaining": "500",
        }
    )
    clock.now += 10
    limits = limiter.limits
    assert limits.tokens is not None and limits.tokens.limit == 9_000
    assert limits.tokens.remaining == pytest.approx(3_000 + 10 * 6_000 / 30)
    assert limits.output_tokens == agentkit.client.Budget(500, 500.0, None)
    assert "output-tokens" in repr(limiter) and "tokens" in repr(limiter)


def test_a_header_sent_twice_is_unreadable_whichever_it_is() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    ticket, _ = limiter.reserve(10)
    sent = budget_headers(clock.now, requests=60, left=50, tokens=100_000, tokens_left=90_000)
    pairs = [*sent.items(), ("set-cookie", "a=1"), ("set-cookie", "b=2")]
    pairs += [("anthropic-ratelimit-tokens-limit", "8000")] * 2
    pairs += [("anthropic-ratelimit-tokens-remaining", "7000")]
    limiter.update(ticket, httpx.Headers(pairs), 200)
    limits = limiter.limits
    # Another header sent twice changes nothing; the budget's limit twice is no number.
    assert limits.requests is not None and limits.requests.remaining == 50
    assert limits.input_tokens is not None and limits.input_tokens.remaining == 90_000
    assert limits.tokens is None
