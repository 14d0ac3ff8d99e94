"""Benchmark tools: schema build time per tool, and per-call validation + dispatch overhead.

Run: python benchmarks/bench_tools.py
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import anyio
from pydantic import BaseModel, Field

from agentkit import RunContext, tool
from agentkit.tools import ToolRuntime


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Address(BaseModel):
    street: str
    city: str
    zip: str | None = None


def simple(city: str, days: int = 1) -> str:
    """Get the weather.

    Args:
        city: The city.
        days: Days ahead.
    """
    return city


def rich(
    city: str,
    units: Literal["c", "f"] = "c",
    limit: int | None = None,
    color: Color = Color.red,
    tags: Annotated[list[str], Field(description="Tags.")] = [],  # noqa: B006
    addr: Address | None = None,
    ctx: RunContext[None] | None = None,
) -> str:
    """Look up a city.

    Args:
        city: The city.
        units: Units.
        limit: Max results.
        color: Marker color.
        addr: Address.
    """
    return city


def per_call(fn: Callable[[], Any], n: int) -> float:
    """Seconds per call: the best of 5 rounds of n calls (least disturbed by other load)."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - start) / n)
    return min(rounds)


async def per_async_call(fn: Callable[[], Any], n: int) -> float:
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        rounds.append((time.perf_counter() - start) / n)
    return min(rounds)


def main() -> None:
    rows: list[tuple[str, float]] = []
    for label, fn, opts in [
        ("build: 2 scalar params", simple, {}),
        ("build: 6 params, enum/model/Annotated", rich, {}),
        ("build: same, strict=True", rich, {"strict": True}),
    ]:
        rows.append((label, per_call(lambda fn=fn, opts=opts: tool(fn, **opts), 40)))

    rich_tool = tool(rich)
    good = {"city": "Oslo", "limit": "3", "addr": {"street": "s", "city": "c"}}
    rows.append(
        ("validate: 6-param input", per_call(lambda: rich_tool.schema.validate(good), 5000))
    )

    @tool
    def sync_tool(city: str, days: int = 1) -> str:
        """Sync."""
        return city

    @tool
    async def async_tool(city: str, days: int = 1) -> str:
        """Async."""
        return city

    runtime = ToolRuntime([sync_tool, async_tool])
    sync_call = [{"type": "tool_use", "id": "t1", "name": "sync_tool", "input": {"city": "x"}}]
    async_call = [{"type": "tool_use", "id": "t1", "name": "async_tool", "input": {"city": "x"}}]
    ten_async = [
        {"type": "tool_use", "id": f"t{i}", "name": "async_tool", "input": {"city": "x"}}
        for i in range(10)
    ]

    async def dispatch() -> None:
        rows.append(("plain call of the function (baseline)", per_call(lambda: simple("x"), 20000)))
        rows.append(
            (
                "run_calls: 1 async tool",
                await per_async_call(lambda: runtime.run_calls(async_call), 2000),
            )
        )
        rows.append(
            (
                "run_calls: 1 sync tool (worker thread)",
                await per_async_call(lambda: runtime.run_calls(sync_call), 1000),
            )
        )
        per_batch = await per_async_call(lambda: runtime.run_calls(ten_async), 300)
        rows.append(("run_calls: 10 async tools, per call", per_batch / 10))

    anyio.run(dispatch)

    width = max(len(label) for label, _ in rows)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (other load inflates the figures)")
    print(f"{'measurement':<{width}}  {'time':>10}")
    print(f"{'-' * width}  {'-' * 10}")
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds * 1e6:>7.1f} us")


if __name__ == "__main__":
    main()
