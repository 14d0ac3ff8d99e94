"""Rate-limit pacing: N concurrent conversations against a fake Claude with a small limit.

The fake (in process) allows 50 requests and 20,000 input tokens per `--per` seconds (the
issue's per-minute limits, scaled down in time), as continuously refilling budgets, and answers
a 429 with `retry-after` past them. Each conversation is one `Agent.arun` turn of about 400
input tokens, so both budgets bind. Rows:

- `paced`: the default client (`RateLimiter` on), `max_retries=0`, so any 429 is a failure;
- `unpaced, no retries`: `rate_limiter=False`, `max_retries=0`: the 429s a burst collects;
- `unpaced, default retries`: `rate_limiter=False` with the default 2 retries (which honour
  `retry-after`): how many still fail, and how many 429s the server sent.

For each: conversations completed, 429s the fake sent, wall time, and the throughput against
the limit. The fastest any client can finish is when every budget is spent as soon as it
refills: the first `limit` requests at once, then `limit` per period
(`best = max(over budgets: (N x cost - limit) / (limit / per))`); `x limit` is `best / wall`:
1.00 is the limit's own throughput.

Run: `python benchmarks/bench_pacing.py [--conversations 200] [--per 1.0]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import anyio

import agentkit
from agentkit import Agent, RateLimitError
from agentkit.testing import FakeClaude, FakeRateLimits
from agentkit.testing._tokens import count_input_tokens

MODEL = "claude-sonnet-4-5"
SYSTEM = "Be brief. " * 150


def run(conversations: int, per: float, *, paced: bool, retries: int) -> dict[str, Any]:
    limits = FakeRateLimits(requests=50, input_tokens=20_000, per=per)
    fake = FakeClaude(lambda body: "ok", rate_limits=limits)
    client = agentkit.AsyncClient(
        api_key="bench",
        http_client=fake.async_http_client(),
        max_retries=retries,
        rate_limiter=None if paced else False,
    )
    agent = Agent(MODEL, client=client, max_tokens=64, system=SYSTEM)
    failed = 0

    async def one(i: int) -> None:
        nonlocal failed
        try:
            result = await agent.arun(f"question {i:04d}")
            assert result.text == "ok"
        except RateLimitError:
            failed += 1

    async def main() -> float:
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for i in range(conversations):
                tg.start_soon(one, i)
        return time.monotonic() - started

    wall = anyio.run(main)
    tokens = count_input_tokens(fake.message_bodies[0])
    best = max(
        (conversations - limits.requests) * per / limits.requests,
        (conversations * tokens - limits.input_tokens) * per / limits.input_tokens,
        0.0,
    )
    return {
        "done": conversations - failed,
        "failed": failed,
        "429s": fake.rate_limited,
        "wall": wall,
        "tokens": tokens,
        "x_limit": best / wall if wall else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--per", type=float, default=1.0)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = {
        "paced": run(args.conversations, args.per, paced=True, retries=0),
        "unpaced, no retries": run(args.conversations, args.per, paced=False, retries=0),
        "unpaced, default retries": run(args.conversations, args.per, paced=False, retries=2),
    }
    print(
        f"bench_pacing.py, {time.strftime('%Y-%m-%d')}, CPython {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; load average (1 min) {load:.2f} at start"
    )
    print(f"command: python benchmarks/bench_pacing.py --conversations {args.conversations} "
          f"--per {args.per}")  # fmt: skip
    tokens = rows["paced"]["tokens"]
    print(
        f"{args.conversations} concurrent conversations, ~{tokens} input tokens each; limits: 50 "
        f"requests and 20,000 input tokens per {args.per:g} s"
    )
    print(f"{'row':<28}{'completed':>10}{'failed':>8}{'429s sent':>11}{'wall s':>9}{'x limit':>9}")
    print("-" * 75)
    for name, row in rows.items():
        print(
            f"{name:<28}{row['done']:>10}{row['failed']:>8}{row['429s']:>11}"
            f"{row['wall']:>9.2f}{row['x_limit']:>9.2f}"
        )


if __name__ == "__main__":
    main()
